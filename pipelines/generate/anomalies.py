"""Injected anomalies and their ground truth, ``data/manifest/anomalies.json``.

Anomalies draw from their own random stream, after normal traffic is drawn, so the normal
events of a seed are the same whatever is injected around them. Each injected record is
tagged where it is created; the manifest is read back from the planned files, so it states
the file names and record numbers that were actually written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers

from pipelines.formats.cdr_events import MobileCdr
from pipelines.generate.catalog import DESTINATIONS, MOBILE_NODE_ADDRESS, UNRATEABLE_REGIONS
from pipelines.generate.customers import CITIES_BY_NAME, HANDSET_TACS, CustomerBase, Subscriber
from pipelines.generate.failover import MULTI_LEG_CALL
from pipelines.generate.landing import (
    UNCLOSED_QUOTE,
    FileEntry,
    LandingFile,
    ber_payloads,
    encode_ber,
    file_name,
    file_path,
    local_hour_start,
)
from pipelines.generate.numbering import random_imei, random_imsi, random_nanp_number
from pipelines.generate.traffic import (
    VOICE_BY_HOUR,
    AsteriskCall,
    MobileIdentity,
    MobileSession,
    Traffic,
    TrafficBuilder,
    draw_party,
)
from pipelines.schema import Feed

DUPLICATE_RECORD = "duplicate_record"
REPLAYED_RECORD = "replayed_record"
PROVISIONED_NOT_BILLED = "provisioned_not_billed"
UNRATEABLE = "unrateable_destination"
FRAUD_BURST = "fraud_burst"
CORRUPTED_RECORD = "corrupted_record"
MALFORMED_PREFIX = "malformed_row:"

ASTERISK_DUPLICATE_RECORDS = 10
MOBILE_DUPLICATE_RECORDS = 4
ASTERISK_REPLAYED_RECORDS = 4
MOBILE_REPLAYED_RECORDS = 3
REPLAY_DAYS = (1, 2, 3)  # days after the original's file date: inside the 7-day dedup window
LATE_FILE_DAYS = 2
LOST_PARTIAL_MIN_PARTIALS = 3
UNBILLED_LINES = 3
MISSING_FROM_HLR = 2
FRAUD_WINDOW_SECONDS = 2 * 3600
FRAUD_WINDOW_START_HOUR = 1  # local; IRSF is pumped at night when nobody watches
MALFORMED_KINDS = ("unclosed_quote", "invalid_start", "invalid_billsec", "extra_columns")
# A CallEventRecord tag (pGWRecord, [79] constructed) claiming a 4 GiB length: no decoder
# can read it, yet the file structure around it stays intact.
GARBAGE_RECORD_HEAD = bytes([0xBF, 0x4F, 0x84, 0xFF, 0xFF, 0xFF, 0xFF])


@dataclass(frozen=True)
class NetworkAnomalies:
    """Lines whose network and billing views disagree, and the fraudulent line."""

    missing_from_hlr: tuple[Subscriber, ...]  # billed, absent from the HLR snapshot
    unbilled_lines: tuple[MobileIdentity, ...]  # in the HLR, no subscriber, still in use
    fraud_line: Subscriber


def choose_network_anomalies(
    rng: np.random.Generator, base: CustomerBase, days: list[date]
) -> NetworkAnomalies:
    """Pick the lines missing from the HLR and the fraud line, and invent unbilled lines.

    They are picked among lines active the whole period so every one of them has usage.
    """
    eligible = [
        s
        for s in base.subscribers
        if s.service_type == "mobile"
        and s.status == "active"
        and s.cancelled_date is None
        and s.activated_date <= days[0]
    ]
    if len(eligible) < MISSING_FROM_HLR + 1:
        raise ValueError("too few active mobile lines to inject the HLR and fraud anomalies")
    picks = [eligible[i] for i in rng.choice(len(eligible), MISSING_FROM_HLR + 1, replace=False)]
    used_numbers = {s.msisdn for s in base.subscribers}  # membership only
    used_imsis = {s.imsi for s in base.subscribers}
    chicago = CITIES_BY_NAME["Chicago"]
    unbilled = []
    for _ in range(UNBILLED_LINES):
        msisdn = imsi = ""
        while not msisdn or msisdn in used_numbers:
            msisdn = random_nanp_number(rng, chicago.area_codes[rng.integers(3)])
        while not imsi or imsi in used_imsis:
            imsi = random_imsi(rng)
        used_numbers.add(msisdn)
        used_imsis.add(imsi)
        imei = random_imei(rng, HANDSET_TACS[rng.integers(len(HANDSET_TACS))])
        location_area = chicago.location_area + int(rng.integers(0, 20))
        cell = f"310-260-{location_area}-{int(rng.integers(10000, 65536))}"
        unbilled.append(MobileIdentity(msisdn, imsi, imei, (cell,)))
    return NetworkAnomalies(tuple(picks[:MISSING_FROM_HLR]), tuple(unbilled), picks[-1])


def _tag(sessions: list[MobileSession], anomaly: str) -> list[MobileSession]:
    return [replace(session, anomaly=anomaly) for session in sessions]


def anomaly_traffic(
    builder: TrafficBuilder, base: CustomerBase, days: list[date], network: NetworkAnomalies
) -> Traffic:
    """Usage that carries an anomaly: unbilled lines' traffic, calls to unrateable
    countries, the fraud burst and the malformed Asterisk rows; each event tagged."""
    rng = builder.rng
    calls: list[AsteriskCall] = []
    sessions: list[MobileSession] = []
    off_net = {"domestic": 0.85, "international": 0.15}

    # (c) Provisioned but not billed: SIMs live in the HLR that billing never heard of.
    for who in network.unbilled_lines:
        for day in days:
            for _ in range(max(1, rng.poisson(3))):
                start = builder.local_time(day, VOICE_BY_HOUR)
                party = builder.party(off_net, [], who.msisdn)
                sessions.extend(
                    _tag(
                        builder.mobile_call(who, start, party, builder.outcome()),
                        PROVISIONED_NOT_BILLED,
                    )
                )
            for _ in range(rng.poisson(2)):
                start = builder.local_time(day, VOICE_BY_HOUR)
                sessions.append(
                    replace(builder.mobile_data(who, start), anomaly=PROVISIONED_NOT_BILLED)
                )

    special = {s.subscriber_id for s in (*network.missing_from_hlr, network.fraud_line)}
    fixed_by_day = {
        day: [s for s in base.subscribers if s.service_type == "fixed_voip" and s.is_active_on(day)]
        for day in days
    }

    # (e) Calls to countries in no rate deck and no interconnect agreement.
    for _ in range(int(rng.integers(13, 18))):
        day = days[rng.integers(len(days))]
        region = UNRATEABLE_REGIONS[rng.integers(len(UNRATEABLE_REGIONS))]
        party = draw_party(rng, region, phonenumbers.PhoneNumberType.FIXED_LINE, 1, "unrateable")
        start = builder.local_time(day, VOICE_BY_HOUR)
        outcome = builder.talk_outcome(30, 900)
        fixed = fixed_by_day[day]
        if fixed and rng.random() < 0.35:
            line = fixed[rng.integers(len(fixed))]
            calls.append(builder.fixed_outbound(line, start, party, outcome, UNRATEABLE))
            continue
        mobile = [
            s
            for s in base.subscribers
            if s.service_type == "mobile" and s.is_active_on(day) and s.subscriber_id not in special
        ]
        line = mobile[rng.integers(len(mobile))]
        sessions.extend(
            _tag(builder.mobile_call(_identity(line), start, party, outcome), UNRATEABLE)
        )

    # (f) IRSF: one line pumps answered calls to satellite and premium ranges at night.
    day = days[len(days) // 2]
    window_start = builder.at(day, FRAUD_WINDOW_START_HOUR, 0)
    premium = [d for d in DESTINATIONS if d.prefix in ("881", "979")]
    targets = [
        draw_party(rng, d.region, d.number_type, d.keep_digits, "premium")
        for d in (premium[0], premium[0], premium[1])
    ]
    for _ in range(int(rng.integers(38, 43))):
        outcome = builder.talk_outcome(120, 600)
        latest = FRAUD_WINDOW_SECONDS - outcome.ring_seconds - outcome.talk_seconds
        start = window_start + int(rng.integers(0, latest))
        party = targets[rng.integers(len(targets))]
        sessions.extend(
            _tag(
                builder.mobile_call(_identity(network.fraud_line), start, party, outcome),
                FRAUD_BURST,
            )
        )

    # (g) Malformed rows: each in its own daytime hour, short enough to end in that hour
    # so no two land in the same file.
    slots = rng.choice(len(days) * 9, size=len(MALFORMED_KINDS), replace=False)
    for kind, slot in zip(MALFORMED_KINDS, slots, strict=True):
        day = days[int(slot) // 9]
        fixed = fixed_by_day[day] or [s for s in base.subscribers if s.service_type == "fixed_voip"]
        line = fixed[rng.integers(len(fixed))]
        start = builder.at(day, 9 + int(slot) % 9, int(rng.integers(0, 3000)))
        party = builder.external_party("domestic")
        calls.append(
            builder.fixed_outbound(
                line, start, party, builder.talk_outcome(20, 240), MALFORMED_PREFIX + kind
            )
        )
    return Traffic(calls, sessions)


def _identity(line: Subscriber) -> MobileIdentity:
    return MobileIdentity(line.msisdn, line.imsi, line.imei, line.cells)


def inject_duplicate_records(
    rng: np.random.Generator,
    asterisk: list[LandingFile],
    mobile: list[LandingFile],
    tz: ZoneInfo,
) -> None:
    """(b) Re-write some Asterisk rows in the next hour's file and some MSC/PGW records in
    a later file of the same day, as a switch does after a failover."""
    by_hour = {f.hour_start: f for f in asterisk}
    candidates = [
        (f, entry)
        for f in asterisk
        if (target := by_hour.get(f.hour_start + 3600)) is not None
        and not any(e.anomaly for e in target.entries)
        for entry in f.entries
        if entry.anomaly is None
    ]
    count = min(ASTERISK_DUPLICATE_RECORDS, len(candidates))
    for index in sorted(rng.choice(len(candidates), count, replace=False)):
        source, entry = candidates[int(index)]
        source.touched = True
        by_hour[source.hour_start + 3600].entries.append(
            FileEntry(entry.payload, entry.record_key, DUPLICATE_RECORD)
        )

    def day_of(f: LandingFile) -> date:
        return datetime.fromtimestamp(f.hour_start, tz).date()

    later = {
        id(f): [g for g in mobile if g.hour_start > f.hour_start and day_of(g) == day_of(f)]
        for f in mobile
    }
    singles = [
        (f, entry)
        for f in mobile
        if later[id(f)]
        for entry in f.entries
        if entry.anomaly is None
        and isinstance(entry.payload, MobileCdr)
        and entry.payload.record_sequence_number is None
    ]
    count = min(MOBILE_DUPLICATE_RECORDS, len(singles))
    for index in sorted(rng.choice(len(singles), count, replace=False)):
        source, entry = singles[int(index)]
        source.touched = True
        targets = later[id(source)]
        targets[rng.integers(len(targets))].entries.append(
            FileEntry(entry.payload, entry.record_key, DUPLICATE_RECORD)
        )


def inject_corrupted_record(rng: np.random.Generator, mobile: list[LandingFile]) -> None:
    """(g) Put one undecodable CDR in the middle of a BER file."""
    clean = [f for f in mobile if f.is_clean() and len(f.entries) >= 2]
    target = clean[rng.integers(len(clean))]
    garbage = GARBAGE_RECORD_HEAD + bytes(rng.integers(0, 256, size=25, dtype=np.uint8))
    target.entries.insert(len(target.entries) // 2, FileEntry(garbage, "", CORRUPTED_RECORD))


def add_empty_file(
    rng: np.random.Generator,
    asterisk: list[LandingFile],
    days: list[date],
    tz: ZoneInfo,
    switch_id: str,
) -> None:
    """(g) A zero-byte Master.csv, in an hour without calls when there is one."""
    window_hours = [
        local_hour_start(int(datetime(d.year, d.month, d.day, h, tzinfo=tz).timestamp()), tz)
        for d in days
        for h in range(24)
    ]
    taken = {f.hour_start for f in asterisk}
    free = [h for h in window_hours if h not in taken] or window_hours
    empty = LandingFile(Feed.ASTERISK_CDR_CSV, switch_id, free[rng.integers(len(free))], [])
    empty.touched = True
    asterisk.append(empty)


def plan_redeliveries(
    rng: np.random.Generator, switches: list[list[LandingFile]], tz: ZoneInfo
) -> list[tuple[LandingFile, LandingFile]]:
    """(a) Pick one clean file per switch to land again, byte-identical, under the switch's
    next free sequence number in the same hour: (original, copy) pairs. A switch all of
    whose files other anomalies touched (a short run of a large operator) redelivers
    nothing. Call after the files are numbered; ``land_redeliveries`` writes the copies."""
    pairs = []
    for files in switches:
        clean = [f for f in files if f.is_clean() and f.entries]
        if not clean:
            continue
        original = clean[rng.integers(len(clean))]
        original.touched = True
        copy = LandingFile(
            original.feed,
            original.switch_id,
            original.hour_start,
            original.entries,
            max(f.sequence for f in files) + 1,
            duplicate_of=original.name,
        )
        copy.name = file_name(copy, tz)
        pairs.append((original, copy))
    return pairs


def land_redeliveries(
    landing: Path, pairs: list[tuple[LandingFile, LandingFile]]
) -> list[LandingFile]:
    """Write each copy with its original's bytes. Call after the originals are written."""
    for original, copy in pairs:
        copy.payload = original.payload
        file_path(landing, copy).write_bytes(copy.payload)
    return [copy for _, copy in pairs]


@dataclass(frozen=True)
class Truncation:
    landing_file: LandingFile
    truncated_record_number: int  # 1-based: the CDR cut in its middle
    original_bytes: int
    kept_bytes: int


def choose_truncation(rng: np.random.Generator, mobile: list[LandingFile]) -> LandingFile:
    """(g) Pick the clean BER file (three records or more) that ``truncate_ber_file`` cuts."""
    clean = [f for f in mobile if f.is_clean() and len(f.entries) >= 3]
    target = clean[rng.integers(len(clean))]
    target.touched = True
    return target


def truncate_ber_file(landing: Path, target: LandingFile, tz: ZoneInfo) -> Truncation:
    """(g) Cut a written BER file in the middle of one of its CDRs, as an interrupted
    transfer leaves it.

    Where that CDR starts and ends is found by encoding the file's first k and k+1 records
    with the same encoder: the difference is exactly that CDR with its header, whatever the
    header layout.
    """
    cut_index = len(target.entries) // 2
    payloads = ber_payloads(target.entries)
    begin, end = (
        len(
            encode_ber(
                payloads[:records], sequence=target.sequence, hour_start=target.hour_start, tz=tz
            )
        )
        for records in (cut_index, cut_index + 1)
    )
    kept = begin + (end - begin) // 2
    file_path(landing, target).write_bytes(target.payload[:kept])
    return Truncation(target, cut_index + 1, len(target.payload), kept)


def choose_lost_file(rng: np.random.Generator, mobile: list[LandingFile]) -> LandingFile:
    """(h) Pick one clean MSC file to lose in transfer: it is written and numbered by the
    switch but never reaches the landing zone (``withhold_file``), so its sequence number is
    missing. Not the switch's first or last file: a gap needs numbers on both sides."""
    numbers = [f.sequence for f in mobile]
    inner = [
        f for f in mobile if f.is_clean() and f.entries and min(numbers) < f.sequence < max(numbers)
    ]
    lost = inner[rng.integers(len(inner))]
    lost.touched = True
    return lost


def withhold_file(landing: Path, lost: LandingFile) -> None:
    """Remove the lost file from the landing zone. Call after it is written."""
    file_path(landing, lost).unlink()


def _local_day(f: LandingFile, tz: ZoneInfo) -> date:
    """The local day of the hour a file covers (its file date, but for a late file)."""
    return datetime.fromtimestamp(f.hour_start, tz).date()


def _is_whole_record(entry: FileEntry) -> bool:
    """A normal record that is not one partial of a longer session."""
    payload = entry.payload
    return entry.anomaly is None and not (
        isinstance(payload, MobileCdr) and payload.record_sequence_number is not None
    )


def _untouched(f: LandingFile) -> bool:
    """Every record of the file reaches mediation as written: no other anomaly takes
    records from it, re-delivers, truncates or loses it, and it holds no corrupt CDR.
    Records of other anomalies (unbilled lines, unrateable calls ...) may be in it."""
    return not f.touched and all(entry.anomaly != CORRUPTED_RECORD for entry in f.entries)


def inject_replayed_records(
    rng: np.random.Generator,
    asterisk: list[LandingFile],
    mobile: list[LandingFile],
    tz: ZoneInfo,
) -> None:
    """(i) Re-send some whole records at the end of a file 1-3 days later, as a switch
    replays its records after a failover. Mediation de-duplicates within one file date, so
    only consolidation, across file dates, can tell these from new records."""
    for files, wanted in ((asterisk, ASTERISK_REPLAYED_RECORDS), (mobile, MOBILE_REPLAYED_RECORDS)):
        by_day: dict[date, list[LandingFile]] = {}
        for f in files:
            if _untouched(f) and f.entries:
                by_day.setdefault(_local_day(f, tz), []).append(f)
        # A row appended after an unclosed quote would be swallowed by it.
        later = {
            day: [
                g
                for n in REPLAY_DAYS
                for g in by_day.get(day + timedelta(days=n), [])
                if all(entry.anomaly != UNCLOSED_QUOTE for entry in g.entries)
            ]
            for day in by_day
        }
        candidates = [
            (f, entry)
            for day in sorted(by_day)
            if later[day]
            for f in by_day[day]
            for entry in f.entries
            if _is_whole_record(entry)
        ]
        count = min(wanted, len(candidates))
        for index in sorted(rng.choice(len(candidates), count, replace=False)):
            source, entry = candidates[int(index)]
            source.touched = True
            targets = later[_local_day(source, tz)]
            targets[rng.integers(len(targets))].entries.append(
                FileEntry(entry.payload, entry.record_key, REPLAYED_RECORD)
            )


def _start_dates(f: LandingFile) -> set[str]:
    """Local start dates of an Asterisk file's rows (``start``, YYYY-MM-DD HH:MM:SS)."""
    return {row[9][:10] for row in csv.reader(str(e.payload) for e in f.entries)}


def deliver_late(
    rng: np.random.Generator, asterisk: list[LandingFile], tz: ZoneInfo, last_day: date
) -> LandingFile | None:
    """(j) Deliver one clean Asterisk file two days late: its records are of day D, but its
    closing (and so the hour in its name, and its delivery) slipped to the same hour of D+2.

    The switch numbered the file when it opened it, on D, so it keeps that sequence number:
    the switch's sequence has neither a gap nor a repeat, only one number whose date is out
    of order. Its records all started on D, and D+2 is no later than ``last_day`` (the
    period's last day), so the file is mediated and billed with the period. None when no
    file qualifies (a very small operator).
    """
    candidates = [
        f
        for f in asterisk
        if f.is_clean()
        and f.entries
        and _local_day(f, tz) + timedelta(days=LATE_FILE_DAYS) <= last_day
        and _start_dates(f) == {_local_day(f, tz).isoformat()}
    ]
    if not candidates:
        return None
    late = candidates[rng.integers(len(candidates))]
    late.touched = True
    covered = datetime.fromtimestamp(late.hour_start, tz)
    closed = datetime.combine(
        covered.date() + timedelta(days=LATE_FILE_DAYS), time(covered.hour), tzinfo=tz
    )
    late.closed_hour_start = int(closed.timestamp())
    late.name = file_name(late, tz)
    return late


@dataclass(frozen=True)
class LostPartial:
    """The last partial of a session, never written."""

    landing_file: LandingFile  # the file it would have been written in
    record_key: str
    charging_id: int
    record_sequence_number: int
    partials_written: int


def drop_last_partial(rng: np.random.Generator, mobile: list[LandingFile]) -> LostPartial | None:
    """(k) Lose the last partial record of one data session of 3 or more partials: the PGW
    never writes it, so consolidation holds the session, then sends it on as incomplete.

    Every partial of the session is in an untouched file, so this is the only thing wrong
    with it, and the file that loses the partial keeps at least one record (its sequence
    number stays). None when no session qualifies (a very small operator).
    """
    sessions: dict[int, list[tuple[LandingFile, FileEntry, MobileCdr]]] = {}
    for f in mobile:
        for entry in f.entries:
            cdr = entry.payload
            if (
                entry.anomaly is None
                and isinstance(cdr, MobileCdr)
                and cdr.record_sequence_number is not None
                and cdr.charging_id is not None
            ):
                sessions.setdefault(cdr.charging_id, []).append((f, entry, cdr))
    candidates = []
    for charging_id in sorted(sessions):
        partials = sessions[charging_id]
        last = max(partials, key=lambda partial: partial[2].record_sequence_number or 0)
        if (
            len(partials) >= LOST_PARTIAL_MIN_PARTIALS
            and len(last[0].entries) >= 2
            and all(_untouched(f) for f, _, _ in partials)
        ):
            candidates.append((last, len(partials)))
    if not candidates:
        return None
    (target, entry, cdr), partial_count = candidates[rng.integers(len(candidates))]
    target.touched = True
    del target.entries[next(i for i, e in enumerate(target.entries) if e is entry)]
    assert cdr.charging_id is not None and cdr.record_sequence_number is not None
    return LostPartial(
        target, entry.record_key, cdr.charging_id, cdr.record_sequence_number, partial_count - 1
    )


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _location(f: LandingFile, number: int, entry: FileEntry) -> dict[str, object]:
    location: dict[str, object] = {
        "feed": f.feed.value,
        "switch_id": f.switch_id,
        "file_name": f.name,
        "record_number": number,
        "record_key": entry.record_key,
    }
    if isinstance(entry.payload, MobileCdr):
        location["record_type"] = entry.payload.record_type
        location["call_reference"] = entry.payload.call_reference
        location["record_sequence_number"] = entry.payload.record_sequence_number
    return location


def build_manifest(
    *,
    generator: dict[str, object],
    files: list[LandingFile],
    copies: list[LandingFile],
    truncation: Truncation,
    lost: LandingFile,
    late: LandingFile | None,
    lost_partial: LostPartial | None,
    network: NetworkAnomalies,
    tz: ZoneInfo,
) -> tuple[dict[str, object], dict[str, int]]:
    """The ground truth of every injected anomaly, read back from the planned files, and
    its counts (also in the manifest under ``counts``)."""
    originals: dict[tuple[str, str], dict[str, object]] = {}
    tagged: dict[str, list[tuple[LandingFile, int, FileEntry]]] = {}
    for f in files:
        for number, entry in enumerate(f.entries, start=1):
            if entry.anomaly is None:
                originals.setdefault(
                    (f.switch_id, entry.record_key), {"file_name": f.name, "record_number": number}
                )
            else:
                tagged.setdefault(entry.anomaly, []).append((f, number, entry))

    duplicate_records = [
        {
            "feed": f.feed.value,
            "switch_id": f.switch_id,
            "record_key": entry.record_key,
            "original": originals[(f.switch_id, entry.record_key)],
            "duplicate": {"file_name": f.name, "record_number": number},
        }
        for f, number, entry in tagged.get(DUPLICATE_RECORD, [])
    ]
    replayed_records = [
        {
            "feed": f.feed.value,
            "switch_id": f.switch_id,
            "record_key": entry.record_key,
            "original": originals[(f.switch_id, entry.record_key)],
            "repeat": {"file_name": f.name, "record_number": number},
        }
        for f, number, entry in tagged.get(REPLAYED_RECORD, [])
    ]
    unbilled = []
    unbilled_records = 0
    for who in network.unbilled_lines:
        records = [
            _location(f, n, e)
            for f, n, e in tagged.get(PROVISIONED_NOT_BILLED, [])
            if isinstance(e.payload, MobileCdr) and e.payload.served_imsi == who.imsi
        ]
        unbilled_records += len(records)
        unbilled.append(
            {
                "imsi": who.imsi,
                "msisdn": who.msisdn,
                "record_count": len(records),
                "records": records,
            }
        )
    unrateable = []
    for f, n, entry in tagged.get(UNRATEABLE, []):
        location = _location(f, n, entry)
        if isinstance(entry.payload, MobileCdr):
            location["served_msisdn"] = entry.payload.served_msisdn
            location["other_party_number"] = entry.payload.other_party_number
        else:
            row = next(csv.reader([str(entry.payload)]))
            location["served_msisdn"] = "1" + row[1]  # src: the caller's 10-digit number
            location["other_party_number"] = row[2].removeprefix("011")
        parsed = phonenumbers.parse("+" + str(location["other_party_number"]))
        location["country_code"] = str(parsed.country_code)
        unrateable.append(location)

    fraud_entries = tagged.get(FRAUD_BURST, [])
    fraud_cdrs = [e.payload for _, _, e in fraud_entries if isinstance(e.payload, MobileCdr)]
    line = network.fraud_line
    fraud = {
        "subscriber_id": line.subscriber_id,
        "msisdn": line.msisdn,
        "imsi": line.imsi,
        "window_start_at": _utc_iso(min(c.started_at for c in fraud_cdrs)),
        "window_end_at": _utc_iso(max(c.ended_at for c in fraud_cdrs)),
        "call_count": len(fraud_cdrs),
        "total_seconds": sum(
            int((c.ended_at - c.answered_at).total_seconds())
            for c in fraud_cdrs
            if c.answered_at is not None
        ),
        "destinations": sorted({str(c.other_party_number) for c in fraud_cdrs}),
        "records": [_location(f, n, e) for f, n, e in fraud_entries],
    }

    malformed = [
        {**_location(f, n, e), "kind": str(e.anomaly).removeprefix(MALFORMED_PREFIX)}
        for anomaly in sorted(tagged)
        if anomaly.startswith(MALFORMED_PREFIX)
        for f, n, e in tagged[anomaly]
    ]
    malformed += [
        {**_location(f, n, e), "kind": "undecodable_ber_record"}
        for f, n, e in tagged.get(CORRUPTED_RECORD, [])
    ]
    cut = truncation.landing_file
    truncated = [
        {
            "feed": cut.feed.value,
            "switch_id": cut.switch_id,
            "file_name": cut.name,
            "records_declared": len(cut.entries),
            "complete_records": truncation.truncated_record_number - 1,
            "truncated_record_number": truncation.truncated_record_number,
            "records_lost": len(cut.entries) - truncation.truncated_record_number + 1,
            "original_file_bytes": truncation.original_bytes,
            "file_bytes": truncation.kept_bytes,
        }
    ]
    empty = [
        {"feed": f.feed.value, "switch_id": f.switch_id, "file_name": f.name}
        for f in files
        if not f.entries
    ]
    duplicate_files = [
        {
            "feed": c.feed.value,
            "switch_id": c.switch_id,
            "file_name": c.name,
            "duplicate_of": c.duplicate_of,
            "records": len(c.entries),
        }
        for c in copies
    ]
    missing = [
        {"subscriber_id": s.subscriber_id, "imsi": s.imsi, "msisdn": s.msisdn}
        for s in network.missing_from_hlr
    ]

    lost_files = [
        {
            "feed": lost.feed.value,
            "switch_id": lost.switch_id,
            "file_name": lost.name,
            "file_sequence_number": lost.sequence,
            "records": len(lost.entries),
        }
    ]
    late_files = [
        {
            "feed": f.feed.value,
            "switch_id": f.switch_id,
            "file_name": f.name,
            "file_sequence_number": f.sequence,
            "file_date": datetime.fromtimestamp(f.closing_hour_start, tz).date().isoformat(),
            "event_date": _local_day(f, tz).isoformat(),
            "records": len(f.entries),
        }
        for f in ([late] if late else [])
    ]
    lost_last_partials = [
        {
            "feed": p.landing_file.feed.value,
            "switch_id": p.landing_file.switch_id,
            "session_key": _session_key(p.charging_id),
            "record_key": p.record_key,
            "file_name": p.landing_file.name,
            "partials_written": p.partials_written,
            "partials_lost": 1,
        }
        for p in ([lost_partial] if lost_partial else [])
    ]
    incomplete = _incomplete_sessions(files, truncation, lost, lost_partial)
    multi_leg = _multi_leg_calls(tagged.get(MULTI_LEG_CALL, []))

    counts = {
        "duplicate_files": len(duplicate_files),
        "duplicate_records": len(duplicate_records),
        "provisioned_not_billed_lines": len(unbilled),
        "provisioned_not_billed_records": unbilled_records,
        "billed_not_provisioned_lines": len(missing),
        "unrateable_records": len(unrateable),
        "fraud_burst_calls": len(fraud_cdrs),
        "malformed_records": len(malformed),
        "truncated_files": len(truncated),
        "empty_files": len(empty),
        "lost_files": len(lost_files),
        "replayed_records": len(replayed_records),
        "late_files": len(late_files),
        "lost_last_partials": len(lost_last_partials),
        "incomplete_sessions": len(incomplete),
        "multi_leg_calls": len(multi_leg),
    }
    return {
        "generator": generator,
        "counts": counts,
        "duplicate_files": duplicate_files,
        "duplicate_records": duplicate_records,
        "provisioned_not_billed": unbilled,
        "billed_not_provisioned": missing,
        "unrateable_destinations": unrateable,
        "fraud_bursts": [fraud],
        "malformed_records": malformed,
        "truncated_files": truncated,
        "empty_files": empty,
        "lost_files": lost_files,
        "replayed_records": replayed_records,
        "late_files": late_files,
        "lost_last_partials": lost_last_partials,
        "incomplete_sessions": incomplete,
        "multi_leg_calls": multi_leg,
    }, counts


def _multi_leg_calls(legs: list[tuple[LandingFile, int, FileEntry]]) -> list[dict[str, object]]:
    """The calls Asterisk wrote as several legs (failover retries, all outbound), from
    their rows: the party mediation serves (the caller, in E.164 digits), the legs in
    sequence order, and the seconds the call is billed for, its answered leg's billsec."""
    by_call: dict[tuple[str, str], list[tuple[int, list[str], dict[str, object]]]] = {}
    for f, number, entry in legs:
        row = next(csv.reader([str(entry.payload)]))
        sequence, linkedid = int(row[20]), row[19]
        leg = {**_location(f, number, entry), "disposition": row[14]}
        by_call.setdefault((f.switch_id, linkedid), []).append((sequence, row, leg))
    calls = []
    for (switch_id, linkedid), call_legs in sorted(
        by_call.items(), key=lambda item: (item[0][0], min(leg[0] for leg in item[1]))
    ):
        call_legs.sort(key=lambda leg: leg[0])
        calls.append(
            {
                "feed": Feed.ASTERISK_CDR_CSV.value,
                "switch_id": switch_id,
                "linkedid": linkedid,
                "direction": "outbound",
                "served_msisdn": "1" + call_legs[0][1][1],  # src: the caller's 10 digits
                "billable_seconds": sum(
                    int(row[13]) for _, row, _ in call_legs if row[14] == "ANSWERED"
                ),
                "legs": [leg for _, _, leg in call_legs],
            }
        )
    return calls


def _session_key(charging_id: int) -> str:
    """The session key mediation gives a PGW partial: P-GW address and charging id."""
    return f"{MOBILE_NODE_ADDRESS}-{charging_id}"


def _incomplete_sessions(
    files: list[LandingFile],
    truncation: Truncation,
    lost: LandingFile,
    lost_partial: LostPartial | None,
) -> list[dict[str, object]]:
    """Data sessions some of whose partials never reach mediation intact (lost with their
    file, cut off by the truncation, or never written) while at least one does: the
    sessions consolidation cannot complete. A session none of whose partials arrives
    leaves no trace in the lake and is not listed. The corrupted record is inserted
    garbage, not a partial, so no session loses one there."""
    cut = truncation.landing_file
    partials: dict[tuple[str, str, int], dict[int, str | None]] = {}
    for f in files:
        for number, entry in enumerate(f.entries, start=1):
            cdr = entry.payload
            if (
                not isinstance(cdr, MobileCdr)
                or cdr.record_sequence_number is None
                or cdr.charging_id is None
                or entry.anomaly in (DUPLICATE_RECORD, REPLAYED_RECORD)
            ):
                continue
            cause = None
            if f is lost:
                cause = "lost_file"
            elif f is cut and number >= truncation.truncated_record_number:
                cause = "truncated_file"
            key = (f.feed.value, f.switch_id, cdr.charging_id)
            partials.setdefault(key, {})[cdr.record_sequence_number] = cause
    if lost_partial is not None:
        f = lost_partial.landing_file
        key = (f.feed.value, f.switch_id, lost_partial.charging_id)
        partials[key][lost_partial.record_sequence_number] = "lost_last_partial"
    sessions = []
    for (feed, switch_id, charging_id), causes in sorted(partials.items()):
        missing = sorted(n for n, cause in causes.items() if cause)
        if missing and len(missing) < len(causes):
            sessions.append(
                {
                    "feed": feed,
                    "switch_id": switch_id,
                    "session_key": _session_key(charging_id),
                    "partials": len(causes),
                    "partials_missing": missing,
                    "causes": sorted({str(causes[n]) for n in missing}),
                }
            )
    return sessions
