"""The mediation stage: raw landing files of one (feed, file_date) in, three lake partitions out.

For every raw file of the partition it writes one ``file_registry`` row, and for every record
in the file exactly one of: a ``usage`` row (accepted), a ``rejects`` row (refused, with a
reason code) or a count in ``records_duplicate``. The arithmetic is checked before anything
is written. docs/mediation.md explains the rules.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from pipelines.config import Layout
from pipelines.lake import write_partition
from pipelines.mediation.numbering import classify_number
from pipelines.mediation.records import (
    PARSER_COLUMNS,
    FileContext,
    ParsedRecord,
    RejectedRecord,
)
from pipelines.reference import read_reference
from pipelines.schema import (
    FILE_REGISTRY_SCHEMA,
    REJECT_SCHEMA,
    USAGE_SCHEMA,
    Feed,
    FileStatus,
    RejectReason,
)

#: Feed -> module holding its ``parse_file``. Imported on first use, so that a feed's
#: parser (and its decoder libraries) loads only when that feed is mediated.
PARSER_MODULES: dict[str, str] = {
    Feed.ASTERISK_CDR_CSV: "pipelines.mediation.asterisk_cdr_csv",
    # The Numba fast path yields exactly the library parser's items (proven in
    # tests/kernels/test_ber_fast_path.py) at about 100x its speed.
    Feed.TS32298_BER: "pipelines.mediation.ts32298_ber_fast",
    Feed.FREESWITCH_CDR_CSV: "pipelines.mediation.freeswitch_cdr_csv",
    Feed.CISCO_CUCM_CDR: "pipelines.mediation.cisco_cucm_cdr",
    Feed.TAP3: "pipelines.mediation.tap3",
    Feed.OPENSIPS_FLATSTORE: "pipelines.mediation.opensips_flatstore",
}

#: Feeds whose files land under the switch's own documented name rather than the
#: `<...>_<YYYYMMDDHH>_<seq>.<ext>` convention: feed -> module whose
#: ``parse_file_name(name)`` returns (..., closed_at UTC, file sequence number).
NATIVE_FILE_NAMES: dict[str, str] = {
    Feed.CISCO_CUCM_CDR: "pipelines.mediation.cisco_cucm_cdr",
}

# `<anything>_<YYYYMMDDHH>_<seq>.<ext>`: the switch-local hour the file was closed and the
# switch's file sequence number (docs/data-contracts.md, raw usage files).
_LANDING_NAME = re.compile(r".*_(?P<hour>[0-9]{10})_(?P<seq>[0-9]+)\.[A-Za-z0-9]+")

Parser = Callable[[bytes, FileContext], Iterable[ParsedRecord | RejectedRecord]]


class MediationError(RuntimeError):
    """Mediation cannot run or has a bug: bad landing layout, reference gap, broken parser
    contract, or records that do not add up. Bad records never raise; they are rejected."""


@dataclass(frozen=True)
class LandingFile:
    """One raw file in ``landing/<feed>/<switch_id>/``, placed by its name."""

    path: Path
    feed: str
    switch_id: str
    file_date: date
    file_sequence_number: int


@dataclass
class MediationResult:
    """Totals of one mediated (feed, file_date) partition."""

    feed: str
    file_date: date
    files: int = 0
    duplicate_files: int = 0
    records_in: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)


def landing_partitions(layout: Layout) -> list[tuple[str, date]]:
    """Every (feed, file_date) that has at least one raw file in the landing area, sorted."""
    partitions = {(f.feed, f.file_date) for f in _landing_files(layout)}
    return sorted(partitions)


def mediate_partition(layout: Layout, feed: str, file_date: date) -> MediationResult:
    """Parse, validate and de-duplicate every raw file of (feed, file_date) into the lake.

    Replaces the ``usage``, ``rejects`` and ``file_registry`` partitions of (feed,
    file_date), also when the partition has no files (then with empty tables). A rerun on
    the same landing files writes byte-identical partitions.
    """
    parser = _parser(feed)
    timezones = _switch_timezones(layout, feed)
    files = sorted(
        (f for f in _landing_files(layout, feed) if f.file_date == file_date),
        key=lambda f: (f.path.name, f.switch_id),
    )
    missing = sorted({f.switch_id for f in files} - set(timezones))
    if missing:
        raise MediationError(
            f"switch(es) {', '.join(missing)} of feed {feed} are not in switches.csv: "
            "their clock time zone is unknown"
        )

    usage: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    registry: list[dict[str, Any]] = []
    # Bytes already delivered in an earlier partition of the feed, or earlier in this one.
    seen_file_ids = _delivered_before(layout, feed, file_date, files)
    kept_keys: set[tuple[str, str]] = set()  # (switch_id, record_key) accepted so far

    for landing in files:
        data = landing.path.read_bytes()
        file_id = hashlib.sha256(data).hexdigest()
        common = {
            "file_id": file_id,
            "file_name": landing.path.name,
            "feed": feed,
            "switch_id": landing.switch_id,
            "file_date": file_date,
        }
        context = FileContext(
            file_name=landing.path.name,
            switch_id=landing.switch_id,
            timezone=timezones[landing.switch_id],
            file_sequence_number=landing.file_sequence_number,
        )
        records, file_rejects, failure = _read_file(parser, data, context)
        is_copy = file_id in seen_file_ids
        seen_file_ids.add(file_id)

        accepted = rejected = duplicate = 0
        if not records:
            gave_up = failure is not None or any(
                r.reason != RejectReason.EMPTY_FILE for r in file_rejects
            )
            status = FileStatus.UNREADABLE if gave_up else FileStatus.EMPTY
            if not gave_up and not file_rejects:
                file_rejects = [
                    RejectedRecord(0, RejectReason.EMPTY_FILE, "the parser found no record", "")
                ]
        elif is_copy:
            # The original carries these records' usage and rejects; the copy adds nothing.
            status = FileStatus.DUPLICATE_FILE
            duplicate = len(records)
            file_rejects = []
        else:
            status = FileStatus.UNREADABLE if failure is not None else FileStatus.PROCESSED
            for parsed in records:
                record = _check_event_time(parsed, feed, file_date)
                if isinstance(record, RejectedRecord):
                    rejects.append({**common, **_reject_row(record)})
                    rejected += 1
                    continue
                key = (landing.switch_id, record.values["record_key"])
                if key in kept_keys:
                    duplicate += 1
                    continue
                kept_keys.add(key)
                region, number_type = classify_number(record.values["other_party_number"])
                usage.append(
                    {
                        **common,
                        **record.values,
                        "usage_id": f"{file_id[:16]}-{record.record_number}",
                        "record_number": record.record_number,
                        "other_party_region": region,
                        "other_party_number_type": number_type,
                    }
                )
                accepted += 1
        if failure is not None and status != FileStatus.DUPLICATE_FILE:
            last = records[-1].record_number if records else 0
            file_rejects = [
                *file_rejects,
                RejectedRecord(
                    0,
                    RejectReason.UNREADABLE_FILE,
                    f"the {feed} parser failed after record {last} ({failure}); "
                    "the rest of the file was not read",
                    "",
                ),
            ]
        rejects.extend({**common, **_reject_row(r)} for r in file_rejects)
        registry.append(
            {
                **common,
                "file_sequence_number": landing.file_sequence_number,
                "file_bytes": len(data),
                "file_status": str(status),
                "duplicate_of_file_id": file_id if status == FileStatus.DUPLICATE_FILE else None,
                "records_in": len(records),
                "records_accepted": accepted,
                "records_rejected": rejected,
                "records_duplicate": duplicate,
            }
        )

    check_conservation(registry, usage, rejects)
    partition = {"feed": feed, "file_date": file_date.isoformat()}
    write_partition(layout, "usage", partition, _table(usage, USAGE_SCHEMA, _USAGE_ORDER))
    write_partition(layout, "rejects", partition, _table(rejects, REJECT_SCHEMA, _REJECT_ORDER))
    write_partition(
        layout, "file_registry", partition, _table(registry, FILE_REGISTRY_SCHEMA, _FILE_ORDER)
    )
    return MediationResult(
        feed=feed,
        file_date=file_date,
        files=len(registry),
        duplicate_files=sum(r["file_status"] == FileStatus.DUPLICATE_FILE for r in registry),
        records_in=sum(r["records_in"] for r in registry),
        accepted=sum(r["records_accepted"] for r in registry),
        rejected=sum(r["records_rejected"] for r in registry),
        duplicates=sum(r["records_duplicate"] for r in registry),
        rejects_by_reason=dict(sorted(Counter(r["reason_code"] for r in rejects).items())),
    )


def check_conservation(
    registry: list[dict[str, Any]], usage: list[dict[str, Any]], rejects: list[dict[str, Any]]
) -> None:
    """Raise MediationError unless every file's records add up.

    For each registry row: records_in = accepted + rejected + duplicate, accepted equals the
    file's rows in ``usage`` and rejected its record-level rows in ``rejects`` (counted here
    from the rows, not taken from the stage's own counters).
    """
    usage_rows = Counter((r["switch_id"], r["file_name"]) for r in usage)
    reject_rows = Counter((r["switch_id"], r["file_name"]) for r in rejects if r["record_number"])
    problems = []
    for row in registry:
        key = (row["switch_id"], row["file_name"])
        counts = (row["records_accepted"], row["records_rejected"], row["records_duplicate"])
        if row["records_in"] != sum(counts):
            problems.append(
                f"{key[1]}: records_in {row['records_in']} != "
                f"accepted + rejected + duplicate {counts}"
            )
        if usage_rows.pop(key, 0) != row["records_accepted"]:
            problems.append(f"{key[1]}: usage rows differ from records_accepted")
        if reject_rows.pop(key, 0) != row["records_rejected"]:
            problems.append(f"{key[1]}: reject rows differ from records_rejected")
    orphans = usage_rows + reject_rows
    problems.extend(f"{name}: rows without a registry entry" for _, name in orphans)
    if problems:
        raise MediationError("conservation broken (a mediation bug): " + "; ".join(problems))


def _read_file(
    parser: Parser, data: bytes, context: FileContext
) -> tuple[list[ParsedRecord | RejectedRecord], list[RejectedRecord], str | None]:
    """Run the parser over one file: (records by number, file-level rejects, failure).

    A parser exception ends the file, never the partition: the records yielded before it
    are kept and the failure is returned as text for an UNREADABLE_FILE reject.
    """
    items: list[ParsedRecord | RejectedRecord] = []
    failure = None
    try:
        items.extend(parser(data, context))
    except Exception as exc:  # any parser bug must become a reject, never stop the partition
        failure = f"{type(exc).__name__}: {exc}"
    for item in items:
        _check_parser_output(item, context)
    records = sorted((i for i in items if i.record_number > 0), key=lambda i: i.record_number)
    numbers = [r.record_number for r in records]
    if len(set(numbers)) != len(numbers):
        raise MediationError(f"parser yielded a record number twice in {context.file_name}")
    file_rejects = [i for i in items if i.record_number == 0 and isinstance(i, RejectedRecord)]
    return records, file_rejects, failure


def _check_parser_output(item: object, context: FileContext) -> None:
    where = f"parser output for {context.file_name}"
    if isinstance(item, RejectedRecord):
        if item.record_number < 0:
            raise MediationError(f"{where}: negative record number {item.record_number}")
        return
    if not isinstance(item, ParsedRecord):
        raise MediationError(f"{where}: {type(item).__name__} is not a parser record")
    if item.record_number < 1:
        raise MediationError(f"{where}: accepted record with number {item.record_number}")
    if set(item.values) != set(PARSER_COLUMNS):
        raise MediationError(f"{where}: record {item.record_number} has the wrong columns")
    if not item.values["record_key"]:
        raise MediationError(f"{where}: record {item.record_number} has no record_key")
    for column in ("started_at", "answered_at", "ended_at"):
        value = item.values[column]
        # A naive time would be stored as if it were UTC, silently shifting the call.
        if isinstance(value, datetime) and value.tzinfo is None:
            raise MediationError(f"{where}: record {item.record_number} {column} is naive")


#: How far before its file's date an event may start: roaming partners may send TAP
#: records up to 30 days late (TD.57), switches replay at most a few days.
EVENT_WINDOW_PAST: dict[str, timedelta] = {Feed.TAP3: timedelta(days=35)}
DEFAULT_EVENT_WINDOW_PAST = timedelta(days=7)
#: How far after its file's date an event may start: a wrong switch clock, not traffic.
EVENT_WINDOW_FUTURE = timedelta(days=1)


def _check_event_time(
    record: ParsedRecord | RejectedRecord, feed: str, file_date: date
) -> ParsedRecord | RejectedRecord:
    """Reject a record whose start is implausibly far from its file's date.

    A future time is a switch clock gone wrong; an ancient one, a replayed or corrupted
    record. Either would land in a billing period long closed or not yet open, so it is
    quarantined with its values (a parsed record has no raw text left) for an analyst.
    """
    if isinstance(record, RejectedRecord):
        return record
    started: datetime = record.values["started_at"]
    day = started.date()
    earliest = file_date - EVENT_WINDOW_PAST.get(feed, DEFAULT_EVENT_WINDOW_PAST)
    latest = file_date + EVENT_WINDOW_FUTURE
    if earliest <= day <= latest:
        return record
    reason = RejectReason.FUTURE_TIMESTAMP if day > latest else RejectReason.ANCIENT_TIMESTAMP
    return RejectedRecord(
        record.record_number,
        reason,
        f"started_at {started.isoformat()} is outside {earliest}..{latest} for a file of "
        f"{file_date}",
        json.dumps(record.values, default=str, sort_keys=True),
    )


def _reject_row(record: RejectedRecord) -> dict[str, Any]:
    return {
        "record_number": record.record_number,
        "reason_code": str(record.reason),
        "reason_detail": record.detail,
        "raw_text": record.raw_text,
    }


_USAGE_ORDER = ("file_name", "switch_id", "record_number")
_REJECT_ORDER = ("file_name", "switch_id", "record_number", "reason_code", "reason_detail")
_FILE_ORDER = ("file_name", "switch_id")


def _table(rows: list[dict[str, Any]], schema: pa.Schema, order: tuple[str, ...]) -> pa.Table:
    ordered = sorted(rows, key=lambda row: tuple(row[column] for column in order))
    return pa.Table.from_pylist(ordered, schema=schema)


def _delivered_before(
    layout: Layout, feed: str, file_date: date, files: list[LandingFile]
) -> set[str]:
    """Checksums of this partition's files that the feed delivered on an earlier file date.

    A file delivered again later (any name) must be processed once, whichever partition is
    mediated first: the copy on the earliest file date wins, so this looks at the landing
    zone, not at what earlier runs wrote. Only files of a size found in this partition can
    be copies, so only those are hashed.
    """
    sizes = {landing.path.stat().st_size for landing in files}
    earlier = (
        landing
        for landing in _landing_files(layout, feed)
        if landing.file_date < file_date and landing.path.stat().st_size in sizes
    )
    return {hashlib.sha256(landing.path.read_bytes()).hexdigest() for landing in earlier}


def _parser(feed: str) -> Parser:
    module = PARSER_MODULES.get(feed)
    if module is None:
        raise MediationError(f"no parser for feed {feed!r}; known: {', '.join(PARSER_MODULES)}")
    parse_file: Parser = importlib.import_module(module).parse_file
    return parse_file


def _switch_timezones(layout: Layout, feed: str) -> dict[str, str]:
    switches = read_reference(layout, "switches.csv")
    return {
        row["switch_id"]: row["timezone"]
        for row in switches.iter_rows(named=True)
        if row["feed"] == feed
    }


def _landing_files(layout: Layout, feed: str | None = None) -> Iterator[LandingFile]:
    """Raw files under landing/<feed>/<switch_id>/, skipping dot-files (uploads in flight).

    A file whose name does not follow the contract raises: it cannot be placed in a
    partition, and skipping it would lose its records without a trace.
    """
    if not layout.landing.is_dir():
        return
    timezones: dict[str, dict[str, str]] = {}
    feed_dirs = [layout.landing / feed] if feed else sorted(layout.landing.iterdir())
    for feed_dir in feed_dirs:
        if feed_dir.name.startswith(".") or not feed_dir.is_dir():
            continue
        if feed_dir.name not in PARSER_MODULES:
            raise MediationError(f"landing folder {feed_dir} is not a known feed")
        for switch_dir in sorted(feed_dir.iterdir()):
            if switch_dir.name.startswith(".") or not switch_dir.is_dir():
                continue
            for path in sorted(switch_dir.iterdir()):
                if path.name.startswith(".") or not path.is_file():
                    continue
                if feed_dir.name in NATIVE_FILE_NAMES:
                    if feed_dir.name not in timezones:
                        timezones[feed_dir.name] = _switch_timezones(layout, feed_dir.name)
                    zone = timezones[feed_dir.name].get(switch_dir.name)
                    yield _place_native(path, feed_dir.name, switch_dir.name, zone)
                else:
                    yield _place(path, feed_dir.name, switch_dir.name)


def _place_native(path: Path, feed: str, switch_id: str, zone: str | None) -> LandingFile:
    """Place a file named by its switch: its UTC closing time, seen on the switch's clock,
    gives the file date, as the hour in a conventional name does."""
    if zone is None:
        raise MediationError(
            f"switch {switch_id} of feed {feed} is not in switches.csv: its clock time zone "
            "is unknown"
        )
    name_parser = importlib.import_module(NATIVE_FILE_NAMES[feed]).parse_file_name
    try:
        *_, closed_at, sequence = name_parser(path.name)
    except ValueError as exc:
        raise MediationError(f"landing file {path} has an unplaceable name: {exc}") from exc
    file_date = closed_at.astimezone(ZoneInfo(zone)).date()
    return LandingFile(path, feed, switch_id, file_date, int(sequence))


def _place(path: Path, feed: str, switch_id: str) -> LandingFile:
    match = _LANDING_NAME.fullmatch(path.name)
    try:
        if match is None:
            raise ValueError("expected <...>_<YYYYMMDDHH>_<seq>.<ext>")
        hour = datetime.strptime(match["hour"], "%Y%m%d%H")
    except ValueError as exc:
        raise MediationError(f"landing file {path} has an unplaceable name: {exc}") from exc
    return LandingFile(path, feed, switch_id, hour.date(), int(match["seq"]))
