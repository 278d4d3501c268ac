"""A day of switch traffic for millions of lines: ``write_volume_traffic``.

Writes the landing files of the first ``days`` days of a month for the lines of the
reference under ``layout.reference`` (any size; read by ``traffic_lines``): the MSC/PGW's
TS 32.297 files of TS 32.298 BER records (mobile calls, SMS and data sessions cut into
partial records) and the Asterisk switch's ``cdr_csv`` files of the fixed VoIP lines'
calls. The per-object generator draws and encodes a record at a time (about a millisecond
each with pycrate); this one draws an hour of every line at once with NumPy
(``traffic_events``), encodes with the Numba kernel of ``kernels.ber_encode_api`` and
renders Asterisk rows with polars (``traffic_files``), so hundreds of millions of records
take minutes.

It works hour by hour, in memory only what the hour needs: the events that start in the
hour are drawn, the records that end in it written; calls and data sessions still going on
are carried to the hours they end in. Every event starts and ends inside the window and
inside its lines' service, so every data session is complete (its last partial ends it),
every record is of a line in service, provisioned in the HLR, with its own number, IMSI,
a stable IMEI and cells of its city, calling numbers that rate. No anomaly is injected:
no duplicates, no bad records, no unknown numbers (the per-object generator's job).

Deterministic: one random stream of the seed for the numbers and handsets, one for the
traffic; the same arguments and reference write byte-identical files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from kernels.ber_encode_api import RecordKind
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.generate.traffic import FIRST_CALL_REFERENCE, FIRST_CHARGING_ID
from pipelines.generate.volume.traffic_columns import (
    DataSessions,
    FixedCalls,
    MobileRecords,
    no_sessions,
)
from pipelines.generate.volume.traffic_events import fixed_calls, mobile_calls, mobile_sms
from pipelines.generate.volume.traffic_files import AsteriskFiles, BerFiles, SwitchFiles
from pipelines.generate.volume.traffic_lines import read_network, read_table
from pipelines.generate.volume.traffic_plan import (
    FIXED_CALLS_FROM_ABROAD,
    MOBILE_CALLS_FROM_ABROAD,
    PARTIAL_RECORD_SECONDS,
    SMS_FROM_ABROAD,
    local_midnight,
    plan_day,
)
from pipelines.generate.volume.traffic_sessions import data_sessions, session_records
from pipelines.periods import parse_period
from pipelines.schema import Feed
from pipelines.storage import mirror_directory

#: Random streams of one seed (``default_rng([seed, stream])``), apart from the other
#: generators' streams.
NETWORK_STREAM = 201
TRAFFIC_STREAM = 202
#: A switch closes a file at this many records even before its hour ends.
MAX_RECORDS_PER_FILE = 500_000
#: Records are written in slices of an hour this long (a divisor of 3600).
TICK_SECONDS = 600
RECORD_TYPES = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")


@dataclass(frozen=True)
class VolumeTraffic:
    """What one ``write_volume_traffic`` wrote."""

    days: tuple[date, ...]
    lines: int  # rows of subscribers.csv: the base of records_per_line_day
    partial_record_seconds: int
    records: dict[str, int] = field(default_factory=dict)  # per record type; fixed: asterisk
    files: dict[str, int] = field(default_factory=dict)  # per feed
    records_by_feed: dict[str, int] = field(default_factory=dict)
    bytes_by_feed: dict[str, int] = field(default_factory=dict)

    @property
    def total_records(self) -> int:
        return sum(self.records_by_feed.values())


def _switch(layout: Layout, feed: Feed) -> tuple[str, ZoneInfo]:
    """The first switch of ``feed`` in switches.csv and its clock."""
    switches = read_table(layout, "switches.csv").filter(pl.col("feed") == feed.value)
    if switches.is_empty():
        raise ValueError(f"switches.csv lists no {feed.value} switch")
    return switches["switch_id"][0], ZoneInfo(switches["timezone"][0])


@dataclass
class _Numbering:
    """The switches' counters, in start order over the window: MSC call references, PGW
    charging ids, Asterisk CDR sequence numbers (Asterisk's channels are 2s and 2s + 1)."""

    call_reference: int = FIRST_CALL_REFERENCE
    charging_id: int = FIRST_CHARGING_ID
    cdr_sequence: int = 0

    def msc(self, records: MobileRecords) -> MobileRecords:
        """New MSC records by start, numbered (an on-net call's or SMS's two records get
        two references: the MSC writes a record per party)."""
        ordered = records.take(np.lexsort((records.line, records.kind, records.started)))
        first, self.call_reference = self.call_reference, self.call_reference + len(ordered)
        return replace(ordered, reference=first + np.arange(len(ordered), dtype=np.int64))

    def asterisk(self, calls: FixedCalls) -> FixedCalls:
        ordered = calls.take(np.argsort(calls.started, kind="stable"))
        first, self.cdr_sequence = self.cdr_sequence, self.cdr_sequence + len(ordered)
        return replace(ordered, sequence=first + np.arange(len(ordered), dtype=np.int64))

    def pgw(self, sessions: DataSessions) -> DataSessions:
        ordered = sessions.take(np.argsort(sessions.start, kind="stable"))
        first, self.charging_id = self.charging_id, self.charging_id + len(ordered)
        return replace(ordered, charging_id=first + np.arange(len(ordered), dtype=np.int64))


@dataclass
class _Switches:
    """The two switches' files, and what has started but not yet ended."""

    ber: BerFiles
    asterisk: AsteriskFiles
    partial_seconds: int
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(len(RecordKind), dtype=np.int64))
    mobile_due: MobileRecords | None = None
    fixed_due: FixedCalls | None = None
    sessions: DataSessions = field(default_factory=no_sessions)

    def write_hour(
        self,
        rng: np.random.Generator,
        hour_start: int,
        switched: MobileRecords,
        calls: FixedCalls,
        started: DataSessions,
    ) -> None:
        """Add the hour's new events and write the records that end in it: the MSC/PGW's
        a tick at a time (a busy hour's data partials are never all in memory at once)."""
        network = self.ber.network
        self.sessions = DataSessions.concat([self.sessions, started])
        pending = (
            switched
            if self.mobile_due is None
            else MobileRecords.concat([self.mobile_due, switched])
        )
        for since in range(hour_start, hour_start + 3600, TICK_SECONDS):
            until = since + TICK_SECONDS
            ending = pending.ended < until
            partials = session_records(
                rng, network, self.sessions, since, until, self.partial_seconds
            )
            records = MobileRecords.concat([pending.take(ending), partials])
            pending = pending.take(~ending)
            self.sessions = self.sessions.take(self.sessions.start + self.sessions.length >= until)
            self.ber.append(records, hour_start)
            self.kinds += np.bincount(records.kind, minlength=len(RecordKind))
        self.ber.close_hour()
        self.mobile_due = pending
        due = calls if self.fixed_due is None else FixedCalls.concat([self.fixed_due, calls])
        ending = due.ended < hour_start + 3600
        self.asterisk.write_hour(due.take(ending), hour_start)
        self.fixed_due = due.take(~ending)

    def carried(self) -> int:
        """Events started and not yet written."""
        due = sum(len(x) for x in (self.mobile_due, self.fixed_due) if x is not None)
        return len(self.sessions) + due


def write_volume_traffic(
    layout: Layout,
    *,
    days: int = 1,
    records_per_line_day: float = 100.0,
    seed: int = 7,
    month: str = "2026-10",
    partial_record_seconds: int = PARTIAL_RECORD_SECONDS,
    max_records_per_file: int = MAX_RECORDS_PER_FILE,
) -> VolumeTraffic:
    """Write the landing files of the first ``days`` days of ``month`` (``YYYY-MM``).

    Each day holds exactly ``round(records_per_line_day x lines)`` records, lines being the
    rows of ``subscribers.csv``; ``partial_record_seconds`` is the PGW's partial record
    interval (docs/generator.md, "Traffic at scale", for the mix they give). Deletes and
    rewrites ``landing/`` (a landing area in a bucket is made to hold the same files).
    Raises ValueError when the calls and SMS of the lines already exceed a day's records.
    """
    first_day, last_day = parse_period(month)
    if not 1 <= days <= (last_day - first_day).days + 1:
        raise ValueError(f"days must be between 1 and the days of {month}, got {days}")
    if partial_record_seconds < 1 or max_records_per_file < 1:
        raise ValueError("partial_record_seconds and max_records_per_file must be positive")
    tz = ZoneInfo(OPERATOR_TIMEZONE)
    window = tuple(first_day + timedelta(days=n) for n in range(days))
    window_end = local_midnight(window[-1] + timedelta(days=1), tz)
    network = read_network(layout, np.random.default_rng([seed, NETWORK_STREAM]), tz, first_day)
    rng = np.random.default_rng([seed, TRAFFIC_STREAM])
    if layout.landing.exists():
        shutil.rmtree(layout.landing)
    layout.landing.mkdir(parents=True)
    ber_switch, ber_tz = _switch(layout, Feed.TS32298_BER)
    asterisk_switch, asterisk_tz = _switch(layout, Feed.ASTERISK_CDR_CSV)
    switches = _Switches(
        BerFiles(
            SwitchFiles(layout.landing, Feed.TS32298_BER, ber_switch, ber_tz, max_records_per_file),
            network,
        ),
        AsteriskFiles(
            SwitchFiles(
                layout.landing,
                Feed.ASTERISK_CDR_CSV,
                asterisk_switch,
                asterisk_tz,
                max_records_per_file,
            ),
            network,
        ),
        partial_record_seconds,
    )
    numbering = _Numbering()
    day_records = round(records_per_line_day * network.lines)
    for day in window:
        plan = plan_day(network, day, tz, window_end, day_records, partial_record_seconds)
        for hour in plan.hours:
            calls = mobile_calls(
                rng,
                network,
                plan.mobile,
                hour.calls,
                hour.start,
                window_end,
                MOBILE_CALLS_FROM_ABROAD,
            )
            sms = mobile_sms(
                rng, network, plan.mobile, hour.sms, hour.start, window_end, SMS_FROM_ABROAD
            )
            fixed = fixed_calls(
                rng,
                network,
                plan.fixed,
                hour.fixed,
                hour.start,
                window_end,
                FIXED_CALLS_FROM_ABROAD,
            )
            sessions = data_sessions(
                rng,
                network,
                plan.mobile,
                hour.data_records,
                hour.start,
                window_end,
                partial_record_seconds,
            )
            switches.write_hour(
                rng,
                hour.start,
                numbering.msc(MobileRecords.concat([calls, sms])),
                numbering.asterisk(fixed),
                numbering.pgw(sessions),
            )
    if switches.carried():
        raise RuntimeError("events outlast the window they were confined to")
    if layout.landing_store.url != str(layout.landing):
        # The landing area is in a bucket (docs/storage.md): the switches deliver there.
        mirror_directory(layout.landing, layout.landing_store)
    by_feed = {
        Feed.TS32298_BER.value: switches.ber.switch,
        Feed.ASTERISK_CDR_CSV.value: switches.asterisk.switch,
    }
    kinds = switches.kinds
    return VolumeTraffic(
        days=window,
        lines=network.lines,
        partial_record_seconds=partial_record_seconds,
        records={
            **{name: int(kinds[kind]) for name, kind in zip(RECORD_TYPES, RecordKind, strict=True)},
            "fixed_voip": switches.asterisk.switch.records,
        },
        files={feed: switch.files for feed, switch in by_feed.items()},
        records_by_feed={feed: switch.records for feed, switch in by_feed.items()},
        bytes_by_feed={feed: switch.bytes_written for feed, switch in by_feed.items()},
    )
