"""The mediation stage: raw landing files of one (feed, file_date) in, lake partitions out.

For every raw file of the partition it writes one ``file_registry`` row, and for every record
in the file exactly one of: a ``usage`` row (accepted), a ``rejects`` row (refused, with a
reason code) or a count in ``records_duplicate``. Usage is partitioned by the records' event
date, so a late file adds to the days its records happened on, and by their served line's
bucket (line_buckets.py), so that later stages read a bucket at a time. The records pass
through a spill per line bucket on local disk, so memory holds a chunk of files' records
and one bucket's, never the partition's. The arithmetic is checked before anything is
written. docs/mediation.md explains the rules, docs/scale.md the memory bound.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.lake import partitions, replace_partition_set, write_partition
from pipelines.locks import locked_partition
from pipelines.mediation import quarantine
from pipelines.mediation.deliveries import refused_delivery
from pipelines.mediation.line_buckets import LINE_BUCKETS, LINE_COLUMNS, served_lines
from pipelines.mediation.line_spill import LineBucketSpill
from pipelines.mediation.number_classes import classify_numbers
from pipelines.mediation.records import (
    PARSED_SCHEMA,
    PARSER_COLUMNS,
    PARTIAL_COLUMNS,
    FileContext,
    ParsedBatch,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)
from pipelines.mediation.switch_layouts import SwitchLayoutError, layout_parser
from pipelines.reference import read_reference
from pipelines.schema import (
    FILE_REGISTRY_SCHEMA,
    LANDING_REJECT_SCHEMA,
    REJECT_SCHEMA,
    USAGE_SCHEMA,
    Feed,
    FileStatus,
    RejectReason,
)
from pipelines.storage import Location, StoredObject

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
# switch's file sequence number (docs/data-contracts.md, raw usage files). A compression
# suffix (`.csv.gz`) still places the file, so that it is refused by its content with the
# reason (deliveries.py) rather than quarantined for its name. The sequence number is
# stored as a BIGINT: a longer one is an unplaceable name, not a failed partition.
_LANDING_NAME = re.compile(
    r".*_(?P<hour>[0-9]{10})_(?P<seq>[0-9]{1,18})\.[A-Za-z0-9]+(\.(gz|bz2|xz|zst|zip|Z))?"
)

#: Feed -> module holding its columnar fast path ``parse_file_columnar``, for the feeds that
#: have one: it reads the files it is sure of into Arrow columns, at ten times and more the
#: row parser's speed, and declines the others (records.py states the contract).
COLUMNAR_MODULES: dict[str, str] = {
    Feed.ASTERISK_CDR_CSV: "pipelines.mediation.asterisk_cdr_csv_columnar",
    Feed.TS32298_BER: "pipelines.mediation.ts32298_ber_fast",
    Feed.FREESWITCH_CDR_CSV: "pipelines.mediation.freeswitch_cdr_csv_columnar",
    Feed.CISCO_CUCM_CDR: "pipelines.mediation.cisco_cucm_cdr_columnar",
    Feed.OPENSIPS_FLATSTORE: "pipelines.mediation.opensips_flatstore_columnar",
}

Parser = Callable[[bytes, FileContext], Iterable[ParsedRecord | RejectedRecord]]
ColumnarParser = Callable[[bytes, FileContext], ParsedBatch | None]


class MediationError(RuntimeError):
    """Mediation cannot run or has a bug: bad landing layout, reference gap, broken parser
    contract, or records that do not add up. Bad records never raise; they are rejected."""


class _UnplaceableName(ValueError):
    """A landing file name that does not say which partition the file belongs to."""


@dataclass(frozen=True)
class LandingFile:
    """One raw file in ``landing/<feed>/<switch_id>/``, placed by its name."""

    file: StoredObject  # in the layout's landing store
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
    #: Operator-local dates the partition's usage falls on, and those whose usage rows
    #: this run changed (new, different or removed): what downstream stages must redo.
    event_dates: list[str] = field(default_factory=list)
    changed_event_dates: list[str] = field(default_factory=list)


def landing_partitions(layout: Layout) -> list[tuple[str, date]]:
    """Every (feed, file_date) that has at least one raw file in the landing area, sorted."""
    partitions = {(f.feed, f.file_date) for f in _landing_files(layout)}
    return sorted(partitions)


@locked_partition("mediate", "feed", "file_date")
def mediate_partition(layout: Layout, feed: str, file_date: date) -> MediationResult:
    """Parse, validate and de-duplicate every raw file of (feed, file_date) into the lake.

    Replaces the ``rejects`` and ``file_registry`` partitions of (feed, file_date) and the
    ``usage`` partitions (feed, event_date, file_date, line_bucket) for every event date
    and line bucket its records fall on, also when the partition has no files (then with
    empty tables). A rerun on the same landing files writes byte-identical partitions.

    Memory is bounded by a chunk of files' records (MEDIATION_CHUNK_RECORDS) and one line
    bucket's: the accepted records are spilled to local disk by line bucket, then
    de-duplicated and written a bucket at a time (docs/scale.md).
    """
    _parser(feed)  # an unknown feed fails before anything is read
    switches = _feed_switches(layout, feed)
    timezones = {row["switch_id"]: row["timezone"] for row in switches}
    switch_parsers = _switch_parsers(layout, feed, switches)
    delivered = list(_landing_files(layout, feed))
    files = sorted(
        (f for f in delivered if f.file_date == file_date),
        key=lambda f: (f.file.name, f.switch_id),
    )
    missing = sorted({f.switch_id for f in files} - set(timezones))
    if missing:
        raise MediationError(
            f"switch(es) {', '.join(missing)} of feed {feed} are not in switches.csv: "
            "their clock time zone is unknown"
        )

    with LineBucketSpill(_scratch(layout, feed, file_date), SPILL_SCHEMA) as spill:
        registry, rejects = _read_files(
            layout, feed, file_date, (delivered, files), (timezones, switch_parsers), spill
        )
        spill.close()
        return _write_partition(layout, feed, file_date, spill, registry, rejects)


def _read_files(
    layout: Layout,
    feed: str,
    file_date: date,
    landed: tuple[list[LandingFile], list[LandingFile]],
    switches: tuple[dict[str, str], dict[str, SwitchParsers]],
    spill: LineBucketSpill,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parse and check every file of the partition (``landed``: every landing file of the
    feed, and the partition's, in order; ``switches``: each switch's time zone and
    parsers): each file's ``file_registry`` row and ``rejects`` rows are returned, and its
    records in the event window go to ``spill`` (SPILL_SCHEMA, a chunk of files at a time),
    marked with the file's place in the registry. records_accepted counts them all, before
    the partition's de-duplication."""
    delivered, files = landed
    rejects: list[dict[str, Any]] = []
    registry: list[dict[str, Any]] = []
    chunk = _Chunk(spill)
    # Bytes already delivered in an earlier partition of the feed, or earlier in this one.
    seen_file_ids = _delivered_before(delivered, file_date, files)
    reader = _FileReader(feed, switches, quarantine.fixes_by_file(layout, feed, file_date))

    for order, (landing, parsed) in enumerate(_in_order(files, reader.read)):
        batch, failure, file_id = parsed.batch, parsed.failure, parsed.file_id
        common = {
            "file_id": file_id,
            "file_name": landing.file.name,
            "feed": feed,
            "switch_id": landing.switch_id,
            "file_date": file_date,
        }
        record_rejects = [r for r in batch.rejects if r.record_number > 0]
        file_rejects = [r for r in batch.rejects if r.record_number == 0]
        records_in = batch.records.num_rows + len(record_rejects)
        is_copy = file_id in seen_file_ids
        seen_file_ids.add(file_id)

        accepted = rejected = duplicate = 0
        if not records_in:
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
            duplicate = records_in
            file_rejects = []
        else:
            status = FileStatus.UNREADABLE if failure is not None else FileStatus.PROCESSED
            in_window, out_of_window = _check_event_time(batch.records, feed, file_date)
            record_rejects.extend(out_of_window)
            rejected = len(record_rejects)
            accepted = in_window.num_rows  # until the partition's de-duplication below
            rejects.extend({**common, **_reject_row(r)} for r in record_rejects)
            chunk.add(order, in_window)
        if failure is not None and status != FileStatus.DUPLICATE_FILE:
            last = max([0, *batch.records["record_number"].to_pylist()[-1:]])
            last = max([last, *(r.record_number for r in record_rejects)])
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
                "file_bytes": parsed.file_bytes,
                "file_status": str(status),
                "duplicate_of_file_id": file_id if status == FileStatus.DUPLICATE_FILE else None,
                "records_in": records_in,
                "records_accepted": accepted,
                "records_rejected": rejected,
                "records_duplicate": duplicate,
                "records_fixed": 0 if status == FileStatus.DUPLICATE_FILE else parsed.fixes,
            }
        )

    chunk.flush()
    return registry, rejects


def _write_partition(
    layout: Layout,
    feed: str,
    file_date: date,
    spill: LineBucketSpill,
    registry: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
) -> MediationResult:
    """De-duplicate the spilled records, check the arithmetic, and write the partition's
    rejects, usage (a line bucket at a time) and, last, its registry."""
    duplicates = _find_duplicates(spill, registry)
    for order, count in enumerate(duplicates.per_file.tolist()):
        registry[order]["records_accepted"] -= count
        registry[order]["records_duplicate"] += count
    check_conservation(registry, _usage_rows(registry, duplicates.kept_per_file()), rejects)
    partition = {"feed": feed, "file_date": file_date.isoformat()}
    write_partition(layout, "rejects", partition, _table(rejects, REJECT_SCHEMA, _REJECT_ORDER))
    written = np.zeros(len(registry), dtype=np.int64)
    parts = _usage_partitions(spill, duplicates, registry, written)
    changed = replace_partition_set(layout, "usage", partition, parts)
    # Counted again from the rows written: the de-duplication and the writes agree.
    if not np.array_equal(written, duplicates.kept_per_file()):
        raise MediationError(
            f"conservation broken (a mediation bug): the usage written for {feed} "
            f"{file_date} differs from the records accepted"
        )
    # The registry is written last: a registry row means the file's records are in place.
    write_partition(
        layout, "file_registry", partition, _table(registry, FILE_REGISTRY_SCHEMA, _FILE_ORDER)
    )
    event_dates = {values["event_date"] for values in partitions(layout, "usage", partition)}
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
        event_dates=sorted(event_dates),
        changed_event_dates=sorted({values["event_date"] for values in changed}),
    )


#: How many accepted records mediation gathers before it splits them by line bucket into
#: its spill: with one bucket's records, what bounds the memory a partition takes,
#: whatever its size (docs/scale.md).
MEDIATION_CHUNK_RECORDS = 2_000_000

#: The spill's rows: a file's parsed records and the file's place in the registry.
SPILL_SCHEMA = pa.schema([*PARSED_SCHEMA, pa.field("file_order", pa.int32(), nullable=False)])


def _scratch(layout: Layout, feed: str, file_date: date) -> Path:
    """Where a partition's run spills its records (local disk under the data root, also
    with the lake in a bucket: the spill is read back at once, by this process only)."""
    return layout.root / "scratch" / "mediate" / feed / file_date.isoformat()


class _Chunk:
    """Files' accepted records gathered until MEDIATION_CHUNK_RECORDS, then spilled."""

    def __init__(self, spill: LineBucketSpill) -> None:
        self.spill = spill
        self.tables: list[pa.Table] = []
        self.records = 0

    def add(self, order: int, records: pa.Table) -> None:
        """Add one file's records (PARSED_SCHEMA); ``order`` is its place in the registry."""
        if not records.num_rows:
            return
        file_order = pa.array(np.full(records.num_rows, order, dtype=np.int32))
        self.tables.append(records.append_column(SPILL_SCHEMA.field("file_order"), file_order))
        self.records += records.num_rows
        if self.records >= MEDIATION_CHUNK_RECORDS:
            self.flush()

    def flush(self) -> None:
        """Spill what is gathered."""
        if self.tables:
            self.spill.append(pa.concat_tables(self.tables))
        self.tables, self.records = [], 0


@dataclass(frozen=True)
class _Duplicates:
    """What the partition's de-duplication found in its spill: per line bucket, the
    positions of the rows that repeat an earlier record; per file (registry order), the
    rows spilled and the rows that are duplicates."""

    positions: dict[int, np.ndarray]
    spilled_per_file: np.ndarray
    per_file: np.ndarray

    def kept_per_file(self) -> np.ndarray:
        """Per file, the rows that become usage."""
        return self.spilled_per_file - self.per_file


def _find_duplicates(spill: LineBucketSpill, registry: list[dict[str, Any]]) -> _Duplicates:
    """The records of the spill that repeat one of the partition (same switch, record key
    and served line: a repeated record carries its line, so both are in one line bucket),
    keeping the first in file order. Reads two columns of one bucket at a time."""
    switches = sorted({row["switch_id"] for row in registry})
    switch_of_file = np.array(
        [switches.index(row["switch_id"]) for row in registry], dtype=np.int32
    )
    files = len(registry)
    positions: dict[int, np.ndarray] = {}
    spilled = np.zeros(files, dtype=np.int64)
    duplicate = np.zeros(files, dtype=np.int64)
    for bucket in range(LINE_BUCKETS):
        keys = spill.read(bucket, ["file_order", *LINE_COLUMNS])
        file_order = keys["file_order"].to_numpy()
        spilled += np.bincount(file_order, minlength=files)
        repeated = _repeated_positions(
            switch_of_file[file_order], keys["record_key"], served_lines(keys)
        )
        if len(repeated):
            positions[bucket] = repeated
            duplicate += np.bincount(file_order[repeated], minlength=files)
    return _Duplicates(positions, spilled, duplicate)


def _repeated_positions(
    switch: np.ndarray, record_key: pa.ChunkedArray, served_line: pa.ChunkedArray
) -> np.ndarray:
    """Positions of the records whose (switch, record_key, served line) came before, in
    order."""
    keys = pl.Series(record_key)
    # Counting distinct keys costs a third of marking the first ones, and most partitions
    # repeat no key at all.
    if keys.n_unique() == len(keys):
        return np.empty(0, dtype=np.int64)
    frame = pl.DataFrame({"switch": switch, "record_key": keys, "line": pl.Series(served_line)})
    first = frame.select(pl.struct("switch", "record_key", "line").is_first_distinct()).to_series()
    return np.flatnonzero(~first.to_numpy())


def _usage_rows(registry: list[dict[str, Any]], kept: np.ndarray) -> dict[tuple[str, str], int]:
    """Rows each file gives usage, keyed as check_conservation counts them."""
    return {
        (row["switch_id"], row["file_name"]): int(count)
        for row, count in zip(registry, kept.tolist(), strict=True)
        if count
    }


def _usage_partitions(
    spill: LineBucketSpill,
    duplicates: _Duplicates,
    registry: list[dict[str, Any]],
    written: np.ndarray,
) -> Iterator[tuple[dict[str, object], pa.Table]]:
    """The partition's usage partitions, (event_date, line_bucket) -> rows (USAGE_SCHEMA),
    one at a time: each bucket's spill read back, its duplicates dropped, split by event
    date and completed. Adds each file's rows to ``written`` (registry order)."""
    for bucket in range(LINE_BUCKETS):
        records = spill.read(bucket)
        if not records.num_rows:
            continue
        repeated = duplicates.positions.get(bucket)
        if repeated is not None:
            keep = np.ones(records.num_rows, dtype=bool)
            keep[repeated] = False
            records = records.filter(pa.array(keep))
        started_at = pl.Series(records["started_at"])
        event_date = started_at.dt.convert_time_zone(OPERATOR_TIMEZONE).dt.date().to_arrow()
        records = records.append_column(USAGE_SCHEMA.field("event_date"), event_date)
        for day, rows in _by_event_date(records):
            file_order = rows["file_order"].to_numpy()
            written += np.bincount(file_order, minlength=len(registry))
            yield {"event_date": day, "line_bucket": bucket}, _usage(rows, file_order, registry)
        del records


def _usage(records: pa.Table, file_order: np.ndarray, registry: list[dict[str, Any]]) -> pa.Table:
    """Spilled records (SPILL_SCHEMA and their event_date) of one event date completed into
    usage rows (USAGE_SCHEMA): usage_id, the file's columns and the other party's region and
    number type.

    Stays in Arrow, the parsers' and the Parquet writer's format: only the columns a step
    reads go through polars, so no whole table is converted or copied on the way.
    """
    prefixes = pa.array([row["file_id"][:16] for row in registry], pa.string())
    usage_id = pc.binary_join_element_wise(
        prefixes.take(pa.array(file_order)),
        pc.cast(records["record_number"], pa.string()),
        "-",
    )
    region, number_type = _other_party_classes(records["other_party_number"])
    columns = {
        **{name: records[name] for name in (*PARSED_SCHEMA.names, "event_date")},
        **_file_columns(file_order, registry),
        "usage_id": usage_id,
        "other_party_region": region,
        "other_party_number_type": number_type,
    }
    return pa.table([columns[name] for name in USAGE_SCHEMA.names], schema=USAGE_SCHEMA)


#: The usage columns a file gives each of its records.
_FILE_COLUMNS = ("file_id", "file_name", "feed", "switch_id", "file_date")


def _file_columns(
    file_order: np.ndarray, registry: list[dict[str, Any]]
) -> dict[str, pa.ChunkedArray]:
    """The file columns of rows whose files are ``file_order`` (registry places, in runs:
    a bucket's rows are in file order), each run one repeated value."""
    bounds = (np.flatnonzero(np.diff(file_order)) + 1).tolist()
    chunks: dict[str, list[pa.Array]] = {name: [] for name in _FILE_COLUMNS}
    for start, end in zip([0, *bounds], [*bounds, len(file_order)], strict=True):
        row = registry[int(file_order[start])]
        for name in _FILE_COLUMNS:
            value = pa.scalar(row[name], USAGE_SCHEMA.field(name).type)
            chunks[name].extend(_repeated(value, end - start).chunks)
    return {
        name: pa.chunked_array(chunks[name], USAGE_SCHEMA.field(name).type)
        for name in _FILE_COLUMNS
    }


#: Rows in the one chunk a column of a file's constant value repeats.
_REPEATED_CHUNK_ROWS = 65_536


def _repeated(value: pa.Scalar, count: int) -> pa.ChunkedArray:
    """``value`` ``count`` times, as one shared chunk repeated: a 64-character file_id on a
    million rows takes 4 MiB rather than 64 (fresh memory is slow to fault in), and the
    Parquet file is the same, whatever the chunks."""
    chunk = pa.repeat(value, min(count, _REPEATED_CHUNK_ROWS))
    whole, rest = divmod(count, _REPEATED_CHUNK_ROWS)
    chunks = [chunk] * whole
    if rest:
        chunks.append(chunk.slice(0, rest))
    return pa.chunked_array(chunks, value.type)


def _by_event_date(records: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """Rows with an event_date per event date (ISO), in order, one date at a time."""
    days = sorted(pc.unique(records["event_date"]).to_pylist())
    if len(days) == 1:  # the common case: no copy
        yield days[0].isoformat(), records
        return
    for day in days:
        yield (
            day.isoformat(),
            records.filter(pc.equal(records["event_date"], pa.scalar(day, pa.date32()))),
        )


def _other_party_classes(numbers: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """other_party_region and other_party_number_type of every row."""
    # Each distinct number once (numbers repeat a lot), column-wise: equal to
    # numbering.classify_number number by number (tests/mediation/test_number_classes.py).
    distinct = pc.unique(numbers).drop_null()
    classes = classify_numbers(pl.Series(distinct))
    row_class = pc.index_in(numbers, value_set=distinct)  # null for a null number
    region, number_type = (
        classes[name].to_arrow().cast(pa.string()).take(row_class)
        for name in ("region", "number_type")
    )
    return region, number_type


def check_conservation(
    registry: list[dict[str, Any]],
    usage_rows: Mapping[tuple[str, str], int],
    rejects: list[dict[str, Any]],
) -> None:
    """Raise MediationError unless every file's records add up.

    For each registry row: records_in = accepted + rejected + duplicate, accepted equals the
    file's rows in usage (``usage_rows``: (switch_id, file_name) -> rows counted in the usage
    table) and rejected its record-level rows in ``rejects`` (counted here from the rows,
    not taken from the stage's own counters).
    """
    usage_rows = Counter(usage_rows)
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


#: Files of a partition read at once, on threads: a file is read, hashed and parsed while
#: the one before it is parsed or checked and spilled. Two keep the machine's two cores busy
#: and bound what is in flight, beyond the chunk, to two files' bytes and records.
FILES_IN_FLIGHT = 2

#: Feeds whose parsers may parse two files at the same time: their hot loops release the
#: GIL (Numba ``nogil`` kernels, Arrow) and call no ``parallel=True`` kernel, which two
#: threads would oversubscribe the cores with, and which Numba's workqueue threading layer
#: cannot run from two threads at all (it aborts the process). The other feeds' files are
#: still read and hashed ahead, but parsed one at a time.
CONCURRENT_PARSE_FEEDS = frozenset({Feed.TS32298_BER})


@dataclass(frozen=True)
class _ParsedFile:
    """A landing file read and parsed: its file_id (checksum), size, the quarantine fixes
    applied to it, its records and rejects, and its parser's failure if it raised."""

    file_id: str
    file_bytes: int
    fixes: int
    batch: ParsedBatch
    failure: str | None


class _FileReader:
    """Reads, hashes and parses the landing files of one feed; ``read`` runs on threads."""

    def __init__(
        self,
        feed: str,
        switches: tuple[dict[str, str], dict[str, SwitchParsers]],
        fixes: dict[str, dict[int, str]],
    ) -> None:
        self.feed = feed
        self.timezones, self.parsers = switches
        self.fixes = fixes
        self.parsing: AbstractContextManager[object] = (
            nullcontext() if feed in CONCURRENT_PARSE_FEEDS else threading.Lock()
        )

    def read(self, landing: LandingFile) -> _ParsedFile:
        """One file read and parsed (see _read_file); rejects its whole content when it is
        compressed or not in the feed's encoding."""
        data = landing.file.read_bytes()
        file_id = _checksum(data)
        file_fixes = self.fixes.get(file_id, {}) if self.fixes else {}
        refused = refused_delivery(self.feed, data)  # compressed, or not the feed's encoding
        if refused is not None:
            reject = RejectedRecord(0, RejectReason.UNREADABLE_FILE, refused, data[:64].hex())
            return _ParsedFile(file_id, len(data), len(file_fixes), parsed_batch([reject]), None)
        context = FileContext(
            file_name=landing.file.name,
            switch_id=landing.switch_id,
            timezone=self.timezones[landing.switch_id],
            file_sequence_number=landing.file_sequence_number,
        )
        fixed = quarantine.apply_fixes(self.feed, data, file_fixes)
        with self.parsing:
            batch, failure = _read_file(self.parsers[landing.switch_id], fixed, context)
        return _ParsedFile(file_id, len(data), len(file_fixes), batch, failure)


def _in_order(
    files: list[LandingFile], read: Callable[[LandingFile], _ParsedFile]
) -> Iterator[tuple[LandingFile, _ParsedFile]]:
    """Each file with what ``read`` made of it, in the files' order, FILES_IN_FLIGHT files
    being read at once on threads. The next file starts only once the caller has taken the
    one before (asks for the one after it), so no more than FILES_IN_FLIGHT files' bytes and
    records are held here; reading, hashing and Arrow work release the GIL."""
    with ThreadPoolExecutor(max_workers=FILES_IN_FLIGHT) as pool:
        reading: deque[Future[_ParsedFile]] = deque(
            pool.submit(read, landing) for landing in files[:FILES_IN_FLIGHT]
        )
        for index, landing in enumerate(files):
            parsed = reading.popleft().result()
            yield landing, parsed
            del parsed  # taken by the caller: not held while the next file is read
            if index + FILES_IN_FLIGHT < len(files):
                reading.append(pool.submit(read, files[index + FILES_IN_FLIGHT]))


def _checksum(data: bytes) -> str:
    """A file's identity: the SHA-256 of its bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def _read_file(
    parsers: SwitchParsers, data: bytes, context: FileContext
) -> tuple[ParsedBatch, str | None]:
    """Parse one file: its records and rejects, and the parser's failure if it raised.

    The switch's columnar fast path reads the file when it is sure of it; otherwise its row
    parser does. A row parser exception ends the file, never the partition: the records
    yielded before it are kept and the failure is returned as text for an UNREADABLE_FILE
    reject.
    """
    row_parser, columnar = parsers
    if columnar is not None:
        batch = columnar(data, context)
        if batch is not None:
            _check_batch(batch, context)
            return batch, None
    items: list[ParsedRecord | RejectedRecord] = []
    failure = None
    try:
        items.extend(row_parser(data, context))
    except Exception as exc:  # any parser bug must become a reject, never stop the partition
        failure = f"{type(exc).__name__}: {exc}"
    for item in items:
        _check_parser_output(item, context)
    batch = parsed_batch([_in_range(item) for item in items])
    _check_batch(batch, context)
    return batch, failure


#: The 64-bit columns a record's number may overflow, and the reason that rejects it.
_INT64_COLUMNS = {
    "duration_seconds": RejectReason.INVALID_DURATION,
    "uplink_bytes": RejectReason.INVALID_VOLUME,
    "downlink_bytes": RejectReason.INVALID_VOLUME,
    "data_volume_bytes": RejectReason.INVALID_VOLUME,
}


def _in_range(item: ParsedRecord | RejectedRecord) -> ParsedRecord | RejectedRecord:
    """A record whose duration or volume does not fit the lake's 64-bit column becomes a
    reject (a corrupt counter), rather than failing the whole partition's write."""
    if isinstance(item, RejectedRecord):
        return item
    for column, reason in _INT64_COLUMNS.items():
        value = item.values[column]
        if value is not None and not -(2**63) <= value < 2**63:
            return RejectedRecord(
                item.record_number,
                reason,
                f"{column} {value} does not fit a 64-bit integer",
                json.dumps(item.values, default=str, sort_keys=True),
            )
    return item


def _check_batch(batch: ParsedBatch, context: FileContext) -> None:
    where = f"parser output for {context.file_name}"
    if batch.records.schema != PARSED_SCHEMA:
        raise MediationError(f"{where}: records do not have the parsed-record schema")
    # numpy and Arrow compute: a partition has thousands of small files, where polars'
    # per-call cost would add up.
    numbers = batch.records["record_number"].to_numpy()
    rejected = [r.record_number for r in batch.rejects if r.record_number > 0]
    if (
        len(set(rejected)) != len(rejected)
        or (np.diff(numbers) <= 0).any()
        or np.isin(numbers, rejected).any()
    ):
        raise MediationError(f"parser yielded a record number twice in {context.file_name}")
    if len(numbers) and numbers.min() < 1:
        raise MediationError(f"{where}: record numbers must ascend from 1")
    keys = batch.records["record_key"]
    if keys.null_count or pc.any(pc.equal(keys, "")).as_py():
        raise MediationError(f"{where}: a record has no record_key")
    if any(r.record_number < 0 for r in batch.rejects):
        raise MediationError(f"{where}: a reject has a negative record number")


def _check_parser_output(item: object, context: FileContext) -> None:
    where = f"parser output for {context.file_name}"
    if isinstance(item, RejectedRecord):
        return
    if not isinstance(item, ParsedRecord):
        raise MediationError(f"{where}: {type(item).__name__} is not a parser record")
    if not set(PARSER_COLUMNS) <= set(item.values) <= {*PARSER_COLUMNS, *PARTIAL_COLUMNS}:
        raise MediationError(f"{where}: record {item.record_number} has the wrong columns")
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
    records: pa.Table, feed: str, file_date: date
) -> tuple[pa.Table, list[RejectedRecord]]:
    """Split off the records whose start is implausibly far from their file's date.

    A future time is a switch clock gone wrong; an ancient one, a replayed or corrupted
    record. Either would land in a billing period long closed or not yet open, so it is
    quarantined with its values (a parsed record has no raw text left) for an analyst.
    """
    earliest = file_date - EVENT_WINDOW_PAST.get(feed, DEFAULT_EVENT_WINDOW_PAST)
    latest = file_date + EVENT_WINDOW_FUTURE
    started_at = pl.Series(records["started_at"])
    inside = started_at.dt.date().is_between(earliest, latest).to_arrow()
    if pc.all(inside).as_py() is not False:
        return records, []
    rejects = []
    for values in records.filter(pc.invert(inside)).to_pylist():
        started: datetime = values["started_at"]
        reason = (
            RejectReason.FUTURE_TIMESTAMP
            if started.date() > latest
            else RejectReason.ANCIENT_TIMESTAMP
        )
        number = values.pop("record_number")
        rejects.append(
            RejectedRecord(
                number,
                reason,
                f"started_at {started.isoformat()} is outside {earliest}..{latest} for a "
                f"file of {file_date}",
                json.dumps(
                    {k: v for k, v in values.items() if k in PARSER_COLUMNS or v is not None},
                    default=str,
                    sort_keys=True,
                ),
            )
        )
    return records.filter(inside), rejects


#: The longest raw_text a reject row keeps. A "record" megabytes long (a file whose line
#: breaks were lost, a runaway field) would otherwise be copied whole into the lake and the
#: warehouse; the landing file keeps every byte, and the quarantine reads a record's text
#: from there (quarantine.py), so nothing is lost.
MAX_RAW_TEXT = 65_536


def _reject_row(record: RejectedRecord) -> dict[str, Any]:
    raw_text = record.raw_text
    if len(raw_text) > MAX_RAW_TEXT:
        raw_text = (
            f"{raw_text[:MAX_RAW_TEXT]}... (cut: {len(raw_text)} characters in all; the "
            "landing file holds the whole record)"
        )
    return {
        "record_number": record.record_number,
        "reason_code": str(record.reason),
        "reason_detail": record.detail,
        "raw_text": raw_text,
    }


_REJECT_ORDER = ("file_name", "switch_id", "record_number", "reason_code", "reason_detail")
_FILE_ORDER = ("file_name", "switch_id")


def _table(rows: list[dict[str, Any]], schema: pa.Schema, order: tuple[str, ...]) -> pa.Table:
    ordered = sorted(rows, key=lambda row: tuple(row[column] for column in order))
    return pa.Table.from_pylist(ordered, schema=schema)


def _delivered_before(
    delivered: list[LandingFile], file_date: date, files: list[LandingFile]
) -> set[str]:
    """Checksums of this partition's ``files`` that the feed delivered on an earlier file
    date (``delivered``: every landing file of the feed).

    A file delivered again later (any name) must be processed once, whichever partition is
    mediated first: the copy on the earliest file date wins, so this looks at the landing
    zone, not at what earlier runs wrote. Only files of a size found in this partition can
    be copies, so only those are hashed.
    """
    sizes = {landing.file.size for landing in files}
    earlier = (
        landing
        for landing in delivered
        if landing.file_date < file_date and landing.file.size in sizes
    )
    return {_checksum(landing.file.read_bytes()) for landing in earlier}


def _parser(feed: str) -> Parser:
    module = PARSER_MODULES.get(feed)
    if module is None:
        raise MediationError(f"no parser for feed {feed!r}; known: {', '.join(PARSER_MODULES)}")
    parse_file: Parser = importlib.import_module(module).parse_file
    return parse_file


def _columnar_parser(feed: str) -> ColumnarParser | None:
    module = COLUMNAR_MODULES.get(feed)
    if module is None:
        return None
    parse_file_columnar: ColumnarParser = importlib.import_module(module).parse_file_columnar
    return parse_file_columnar


#: A switch's row parser and columnar fast path (None: the row parser reads every file).
SwitchParsers = tuple[Parser, ColumnarParser | None]


def _switch_parsers(
    layout: Layout, feed: str, switches: list[dict[str, Any]]
) -> dict[str, SwitchParsers]:
    """The parsers of each of ``feed``'s ``switches`` (its switches.csv rows): the feed's
    own, or, for a switch with a ``cdr_layout``, the row parser of its configured layout
    (switch_layouts.py). Raises MediationError for a layout that cannot be used."""
    standard = (_parser(feed), _columnar_parser(feed))
    parsers: dict[str, SwitchParsers] = {}
    for row in switches:
        cdr_layout = (row.get("cdr_layout") or "").strip()
        if not cdr_layout:
            parsers[row["switch_id"]] = standard
            continue
        try:
            parsers[row["switch_id"]] = (layout_parser(layout.reference, feed, cdr_layout), None)
        except SwitchLayoutError as exc:
            raise MediationError(f"switch {row['switch_id']} in switches.csv: {exc}") from exc
    return parsers


def _feed_switches(layout: Layout, feed: str) -> list[dict[str, Any]]:
    """The switches.csv rows of ``feed``'s switches."""
    switches = read_reference(layout, "switches.csv")
    return [row for row in switches.iter_rows(named=True) if row["feed"] == feed]


def _switch_timezones(layout: Layout, feed: str) -> dict[str, str]:
    return {row["switch_id"]: row["timezone"] for row in _feed_switches(layout, feed)}


@dataclass(frozen=True)
class UnplaceableFile:
    """A landing file whose name does not say which partition it belongs to."""

    file: StoredObject  # in the layout's landing store
    feed: str
    switch_id: str
    detail: str

    @property
    def path(self) -> Location:
        """Where the file is, for messages: its path, or its URL in a bucket."""
        return self.file.location


def _landing_files(layout: Layout, feed: str | None = None) -> Iterator[LandingFile]:
    """The placeable raw files under landing/<feed>/<switch_id>/ (see _scan_landing)."""
    for found in _scan_landing(layout, feed):
        if isinstance(found, LandingFile):
            yield found


def _scan_landing(
    layout: Layout, feed: str | None = None
) -> Iterator[LandingFile | UnplaceableFile]:
    """Raw files under landing/<feed>/<switch_id>/, skipping dot-files (uploads in flight)
    and dot-folders, and what lies outside a switch's folder.

    A file whose name does not follow the contract cannot be placed in a partition: it
    comes out as an UnplaceableFile, for ``quarantine_unplaceable_files``. A feed folder
    without a parser raises: that is a deployment error, not bad input.
    """
    store = layout.landing_store
    timezones: dict[str, dict[str, str]] = {}
    for stored in store.objects(feed or ""):
        parts = stored.key.split("/")
        if any(part.startswith(".") for part in parts) or len(parts) == 1:
            continue
        feed_name = parts[0]
        if feed_name not in PARSER_MODULES:
            raise MediationError(f"landing folder {store.location(feed_name)} is not a known feed")
        if len(parts) != 3:
            continue
        switch_id = parts[1]
        try:
            if feed_name in NATIVE_FILE_NAMES:
                if feed_name not in timezones:
                    timezones[feed_name] = _switch_timezones(layout, feed_name)
                zone = timezones[feed_name].get(switch_id)
                yield _place_native(stored, feed_name, switch_id, zone)
            else:
                yield _place(stored, feed_name, switch_id)
        except _UnplaceableName as exc:
            yield UnplaceableFile(stored, feed_name, switch_id, str(exc))


def quarantine_unplaceable_files(layout: Layout) -> list[UnplaceableFile]:
    """Write every feed's ``landing_rejects`` partition: the landing files whose names
    place them in no partition, whole, with the reason. Rewritten on each call, so a
    renamed file leaves the quarantine (and is mediated with its partition)."""
    found: dict[str, list[UnplaceableFile]] = {}
    for item in _scan_landing(layout):
        if isinstance(item, UnplaceableFile):
            found.setdefault(item.feed, []).append(item)
    feeds = {values["feed"] for values in partitions(layout, "landing_rejects")}
    for feed in sorted(feeds | set(found)):
        rows = [
            {
                "feed": f.feed,
                "switch_id": f.switch_id,
                "file_name": f.file.name,
                "file_id": _checksum(f.file.read_bytes()),
                "file_bytes": f.file.size,
                "reason_code": RejectReason.UNPLACEABLE_FILE_NAME.value,
                "reason_detail": f.detail,
            }
            for f in found.get(feed, [])
        ]
        write_partition(
            layout,
            "landing_rejects",
            {"feed": feed},
            _table(rows, LANDING_REJECT_SCHEMA, ("switch_id", "file_name")),
        )
    return [f for feed in sorted(found) for f in found[feed]]


def _place_native(file: StoredObject, feed: str, switch_id: str, zone: str | None) -> LandingFile:
    """Place a file named by its switch: its UTC closing time, seen on the switch's clock,
    gives the file date, as the hour in a conventional name does."""
    if zone is None:
        raise MediationError(
            f"switch {switch_id} of feed {feed} is not in switches.csv: its clock time zone "
            "is unknown"
        )
    name_parser = importlib.import_module(NATIVE_FILE_NAMES[feed]).parse_file_name
    try:
        *_, closed_at, sequence = name_parser(file.name)
    except ValueError as exc:
        raise _UnplaceableName(f"{feed} file name {file.name!r}: {exc}") from exc
    file_date = closed_at.astimezone(ZoneInfo(zone)).date()
    return LandingFile(file, feed, switch_id, file_date, int(sequence))


def _place(file: StoredObject, feed: str, switch_id: str) -> LandingFile:
    match = _LANDING_NAME.fullmatch(file.name)
    try:
        if match is None:
            raise ValueError("expected <...>_<YYYYMMDDHH>_<seq>.<ext>")
        hour = datetime.strptime(match["hour"], "%Y%m%d%H")
    except ValueError as exc:
        raise _UnplaceableName(f"file name {file.name!r}: {exc}") from exc
    return LandingFile(file, feed, switch_id, hour.date(), int(match["seq"]))
