"""The retention purge of toll records (docs/privacy.md, Retention).

47 CFR 42.6 asks carriers to keep toll records 18 months; past that, CPNI no longer needed
is deleted. A record of event month M is kept through the last day of month M + 18; from
the first day of M + 19 its month is *due* and the purge deletes it, unless a legal hold
(pipelines/privacy/legal_holds.py) keeps it.

The unit of retention is the raw file. A switch file is evidence as it arrived, and every
count the pipeline checks (records in = accepted + rejected + duplicates, the end-to-end
reconciliation) is per file, so a file is kept or deleted whole, with everything read from
it: its landing file, registry row, rejects and quarantine fixes, its usage records, the
sessions they were joined into, their rated rows (current and superseded versions), and
the rows that name those records by usage_id (repeats, interconnect legs, roaming events,
rating suspense, re-rating checks, billed-charge links). A file is kept while

- a hold covers one of its records (the hold's subscriber, account or ``all``, on the
  hold's event dates), or it holds a partial of a session of a kept file (a session's
  partials may sit in several files: all of them are kept), or a record that repeats, or
  is repeated by, a record of a kept file;
- a hold of scope ``all`` covers its file date (its rejects cannot be told apart by
  subscriber);
- one of its records belongs to a month still kept (a March file with an April record).

So a held subscriber's records survive, and so do the other records of the files they are
in (counted as held, with the hold ids). Each partition and landing file looked at is a row
of the lake table ``retention_purges``, with ``records_before = records_purged +
records_held + records_not_due`` exactly. A rerun deletes nothing more and logs the same
held records again. The warehouse drops its copies at its next build (the purge DAG builds
it at once).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines import lake
from pipelines.config import Layout
from pipelines.privacy.legal_holds import HoldScope, LegalHold, read_legal_holds
from pipelines.reference import read_reference
from pipelines.schema import RETENTION_PURGE_SCHEMA

#: Months a toll record is kept after its event month (47 CFR 42.6).
RETENTION_MONTHS = 18
PURGE_LOG_TABLE = "retention_purges"

#: Tables whose rows name their raw file (file_id; a session: its first partial's).
FILE_TABLES = (
    "rejects",
    "quarantine_fixes",
    "usage",
    "sessions",
    "rating_input",
    "rated_usage",
    "rated_usage_versions",
    "file_registry",
)
#: Tables whose rows name a record (usage_id): they follow the record's file. All are
#: partitioned by billing period.
RECORD_LINK_TABLES = (
    "usage_repeats",
    "interconnect_legs",
    "interconnect_legs_versions",
    "roaming_events",
    "rating_suspense",
    "rerating_checks",
    "billed_charge_usage",
    "billed_charge_usage_versions",
)
#: Tables whose rows carry a subject (subscriber, account, numbers) and an event date:
#: where the holds find the records they keep.
SUBJECT_TABLES = ("usage", "sessions", "rating_input", "rated_usage", "rated_usage_versions")
#: Columns that hold a line's number or IMSI, when a table has them: the caller's, the
#: SIM's, the callee's.
_NUMBER_COLUMNS = ("served_msisdn", "served_imsi", "other_party_number")


@dataclass(frozen=True)
class PurgeResult:
    """What one purge run did (its rows are in ``retention_purges`` under ``purge_id``)."""

    purge_id: str
    as_of_date: date
    keep_from_month: str
    partitions_examined: int = 0
    partitions_changed: int = 0
    records_purged: int = 0
    records_held: int = 0
    files_purged: int = 0
    files_held: int = 0
    hold_ids: list[str] = field(default_factory=list)


def keep_from_month(as_of: date) -> str:
    """The oldest event month still kept on ``as_of`` (YYYY-MM): months before it are due."""
    months = as_of.year * 12 + as_of.month - 1 - RETENTION_MONTHS
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def check_legal_holds(layout: Layout) -> int:
    """Validate legal_holds.csv against the CRM; return how many holds it has. Raises
    LegalHoldsError naming every problem."""
    subjects = _read_subjects(layout)
    return len(read_legal_holds(layout, set(subjects.account_of), subjects.accounts))


def purge_toll_records(
    layout: Layout, as_of: date, purged_at: datetime | None = None
) -> PurgeResult:
    """Delete the toll records due on ``as_of`` whose raw file nothing keeps.

    Raises LegalHoldsError (before deleting anything) when legal_holds.csv has a problem.
    """
    subjects = _read_subjects(layout)
    holds = [
        hold
        for hold in read_legal_holds(layout, set(subjects.account_of), subjects.accounts)
        if hold.active_on(as_of)
    ]
    keep_from = keep_from_month(as_of)
    now = purged_at or datetime.now(UTC)
    purge_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    due = {
        table: [values for values in lake.partitions(layout, table) if _month(values) < keep_from]
        for table in (*FILE_TABLES, *RECORD_LINK_TABLES)
    }
    registry = [
        row
        for values in due["file_registry"]
        for row in lake.read_partition(layout, "file_registry", values).to_pylist()
    ]
    fates = _file_fates(layout, due, registry, holds, subjects, keep_from)
    # The log is written before anything is deleted, and the landing files go before the
    # registry rows that name them: a purge killed halfway leaves no deletion unlogged and
    # no raw file orphaned, and the next run finishes the work.
    entries = _walk(layout, due, registry, fates, delete=False)
    landing = _landing_entries(registry, fates)
    rows = [
        {
            "purge_id": purge_id,
            "purge_date": now.date().isoformat(),
            "purged_at": now,
            "as_of_date": as_of,
            "keep_from_month": keep_from,
            **entry,
        }
        for entry in (*entries, *landing)
    ]
    if rows:
        lake.write_partition(
            layout,
            PURGE_LOG_TABLE,
            {"purge_date": now.date().isoformat(), "purge_id": purge_id},
            pa.Table.from_pylist(rows, schema=RETENTION_PURGE_SCHEMA),
        )
    for entry in landing:
        if not entry["kept"]:
            layout.landing_store.delete(entry["partition"])
    _walk(layout, due, registry, fates, delete=True)
    return PurgeResult(
        purge_id=purge_id,
        as_of_date=as_of,
        keep_from_month=keep_from,
        partitions_examined=len(entries),
        partitions_changed=sum(1 for entry in entries if entry["records_purged"]),
        records_purged=sum(entry["records_purged"] for entry in entries),
        records_held=sum(entry["records_held"] for entry in entries),
        files_purged=sum(1 for entry in landing if not entry["kept"]),
        files_held=sum(1 for entry in landing if entry["hold_ids"]),
        hold_ids=sorted({hold for row in rows for hold in row["hold_ids"]}),
    )


def _walk(
    layout: Layout,
    due: Mapping[str, list[dict[str, str]]],
    registry: list[dict[str, Any]],
    fates: _FileFates,
    *,
    delete: bool,
) -> list[dict[str, Any]]:
    """Every due partition's log entry; with ``delete``, rewrite each with only the rows
    whose file stays. Rows that name records go first (their files are found through the
    file tables), the file registry last. Empty partitions (mediation writes one for a day
    without records) are left out of the log."""
    entries: list[dict[str, Any]] = []
    periods = {values["billing_period"] for table in RECORD_LINK_TABLES for values in due[table]}
    for period in sorted(periods):
        files_of = _record_files(layout, period, registry)
        for table in RECORD_LINK_TABLES:
            for values in due[table]:
                if values["billing_period"] == period:
                    data = lake.read_partition(layout, table, values)
                    entry = _apply(layout, table, values, data, files_of(data), fates, delete)
                    entries.append(entry)
    for table in FILE_TABLES:
        for values in due[table]:
            data = lake.read_partition(layout, table, values)
            entries.append(_apply(layout, table, values, data, data["file_id"], fates, delete))
    return [entry for entry in entries if entry["records_before"]]


def read_purge_log(layout: Layout) -> list[dict[str, Any]]:
    """Every row of ``retention_purges``, oldest run first."""
    rows = lake.read_table(layout, PURGE_LOG_TABLE).to_pylist()
    return sorted(rows, key=lambda row: (row["purged_at"], row["table_name"], row["partition"]))


def _month(values: Mapping[str, str]) -> str:
    """The event month a partition holds: its billing period, else its (event or file)
    date's month."""
    for key in ("billing_period", "event_date", "file_date"):
        if key in values:
            return values[key][:7]
    raise ValueError(f"a partition {dict(values)} has no month")


@dataclass(frozen=True)
class _Subjects:
    """The CRM's lines, to tell whose a record is from its subscriber, account or numbers."""

    account_of: dict[str, str]  # subscriber_id -> account_id
    numbers_of: dict[str, set[str]]  # subscriber_id -> its MSISDN and IMSI
    accounts: set[str]

    def of_hold(self, hold: LegalHold) -> dict[str, set[str]]:
        """Column -> the values a record of the hold's subject has in it (one is enough)."""
        if hold.scope is HoldScope.SUBSCRIBER:
            subscribers = {hold.subject_id} if hold.subject_id else set()
            accounts: set[str] = set()
        else:
            accounts = {hold.subject_id} if hold.subject_id else set()
            subscribers = {sub for sub, acct in self.account_of.items() if acct in accounts}
        numbers = set().union(*(self.numbers_of.get(sub, set()) for sub in subscribers))
        return {
            "subscriber_id": subscribers,
            "account_id": accounts,
            **{column: numbers for column in _NUMBER_COLUMNS},
        }


def _read_subjects(layout: Layout) -> _Subjects:
    subscribers = read_reference(layout, "subscribers.csv")
    accounts = read_reference(layout, "accounts.csv")
    account_of: dict[str, str] = {}
    numbers_of: dict[str, set[str]] = {}
    for row in subscribers.select("subscriber_id", "account_id", "msisdn", "imsi").iter_rows():
        subscriber_id, account_id, msisdn, imsi = row
        account_of[subscriber_id] = account_id
        numbers_of[subscriber_id] = {number for number in (msisdn, imsi) if number}
    return _Subjects(account_of, numbers_of, set(accounts["account_id"].to_list()))


@dataclass(frozen=True)
class _FileFates:
    """Which due raw files stay: hold id -> the files it keeps; files with records of a
    month still kept."""

    held: Mapping[str, set[str]]
    not_due: set[str]

    def holds_of(self, file_id: str) -> list[str]:
        return sorted(hold_id for hold_id, files in self.held.items() if file_id in files)


def _file_fates(
    layout: Layout,
    due: Mapping[str, list[dict[str, str]]],
    registry: list[dict[str, Any]],
    holds: list[LegalHold],
    subjects: _Subjects,
    keep_from: str,
) -> _FileFates:
    held: dict[str, set[str]] = defaultdict(set)
    # Records that name records of other files: a session its partials, a repeat the
    # record it repeats. Their files stay together.
    linked: list[list[str]] = []  # usage ids (a session: its own file id first)
    if holds:
        for values in due["usage_repeats"]:
            repeats = lake.read_partition(layout, "usage_repeats", values)
            pairs = zip(
                repeats["usage_id"].to_pylist(),
                repeats["repeat_of_usage_id"].to_pylist(),
                strict=True,
            )
            linked.extend([repeat, original] for repeat, original in pairs)
    wanted = {usage_id for ids in linked for usage_id in ids}
    file_of: dict[str, str] = {}  # usage id -> file, for the linked records only
    for table in SUBJECT_TABLES if holds else ():
        for values in due[table]:
            data = lake.read_partition(layout, table, values)
            for hold in holds:
                found = data.filter(_of_hold(data, hold, subjects))
                held[hold.hold_id].update(found["file_id"].to_pylist())
            if table == "sessions":
                for file_id, partials in zip(
                    data["file_id"].to_pylist(), data["partial_usage_ids"].to_pylist(), strict=True
                ):
                    file_of[f"file:{file_id}"] = file_id
                    linked.append([f"file:{file_id}", *(partials or ())])
            if table == "usage":
                # Partials (a session key) and repeated records are the linked ones.
                rows = zip(
                    data["usage_id"].to_pylist(),
                    data["file_id"].to_pylist(),
                    data["session_key"].to_pylist(),
                    strict=True,
                )
                file_of.update(
                    (usage_id, file_id)
                    for usage_id, file_id, session_key in rows
                    if session_key is not None or usage_id in wanted
                )
    for hold in holds:
        if hold.scope is HoldScope.ALL:
            held[hold.hold_id].update(
                entry["file_id"] for entry in registry if hold.covers_day(entry["file_date"])
            )
    # A held file keeps the files its linked records are in; those may link further.
    groups = [{file_of[uid] for uid in ids if uid in file_of} for ids in linked]
    for files in held.values():
        grown = True
        while grown:
            grown = False
            for group in groups:
                if group & files and not group <= files:
                    files |= group
                    grown = True
    not_due: set[str] = set()
    for feed, file_date in sorted({(entry["feed"], entry["file_date"]) for entry in registry}):
        where = {"feed": feed, "file_date": file_date}
        for values in lake.partitions(layout, "usage", where):
            if values["event_date"][:7] >= keep_from:
                usage = lake.read_partition(layout, "usage", values, columns=["file_id"])
                not_due.update(usage["file_id"].to_pylist())
    return _FileFates({hold: files for hold, files in held.items() if files}, not_due)


def _of_hold(data: pa.Table, hold: LegalHold, subjects: _Subjects) -> pa.ChunkedArray:
    """The rows of ``data`` that are the hold's subject's, on the hold's dates."""
    days = data["event_date"]
    mask = pc.greater_equal(days, pa.scalar(hold.from_date, pa.date32()))
    if hold.to_date is not None:
        mask = pc.and_(mask, pc.less_equal(days, pa.scalar(hold.to_date, pa.date32())))
    if hold.scope is not HoldScope.ALL:
        theirs = pa.chunked_array([pa.array([False] * data.num_rows, pa.bool_())])
        for column, values in subjects.of_hold(hold).items():
            if column in data.column_names:
                found = pc.is_in(data[column], pa.array(sorted(values), pa.string()))
                theirs = pc.or_(theirs, pc.fill_null(found, False))
        mask = pc.and_(mask, theirs)
    return pc.fill_null(mask, False)


def _record_files(
    layout: Layout, period: str, registry: Iterable[Mapping[str, Any]]
) -> Callable[[pa.Table], pa.ChunkedArray]:
    """A function giving, for rows that name records (usage_id), each record's raw file, as
    the period's usage, sessions and rated rows (all versions) say before anything is
    deleted. A roaming event mediation refused has no usage_id: its TAP file is found by
    name. A billed-charge link to an aggregate charge is no record: null. A record whose
    file is nowhere to be found is "" (it matches no file, so nothing keeps it)."""
    file_of: dict[str, str] = {}
    for table in ("usage", "sessions", "rating_input", "rated_usage", "rated_usage_versions"):
        for values in lake.partitions(layout, table):
            if _month(values) == period:
                data = lake.read_partition(layout, table, values, columns=["usage_id", "file_id"])
                pairs = zip(data["usage_id"].to_pylist(), data["file_id"].to_pylist(), strict=True)
                file_of.update(pairs)
    by_name = {entry["file_name"]: entry["file_id"] for entry in registry}

    def files_of(data: pa.Table) -> pa.ChunkedArray:
        usage_ids = data["usage_id"].to_pylist()
        names = (
            data["file_name"].to_pylist()
            if "file_name" in data.column_names
            else [None] * data.num_rows
        )
        files = [
            file_of.get(usage_id, "")
            if usage_id is not None
            else (by_name.get(name, "") if name is not None else None)
            for usage_id, name in zip(usage_ids, names, strict=True)
        ]
        return pa.chunked_array([pa.array(files, pa.string())])

    return files_of


def _apply(
    layout: Layout,
    table: str,
    values: Mapping[str, str],
    data: pa.Table,
    files: pa.ChunkedArray,
    fates: _FileFates,
    delete: bool,
) -> dict[str, Any]:
    """One partition's purge log entry; with ``delete``, rewrite the partition with only the
    rows whose file stays, or delete it when none is left. A row that names no file is not a
    record (a link to an aggregate charge): it stays, counted as not due."""
    holds = {
        hold_id: pc.is_in(files, pa.array(sorted(kept), pa.string()))
        for hold_id, kept in fates.held.items()
    }
    held = pa.chunked_array([pa.array([False] * data.num_rows, pa.bool_())])
    for mask in holds.values():
        held = pc.or_(held, pc.fill_null(mask, False))
    not_due = pc.or_(
        pc.is_null(files), pc.is_in(files, pa.array(sorted(fates.not_due), pa.string()))
    )
    kept = data.filter(pc.or_(held, pc.fill_null(not_due, False)))
    records_held = pc.sum(held).as_py() or 0
    entry: dict[str, Any] = {
        "table_name": table,
        "event_month": _month(values),
        "partition": lake.partition_key(table, values).rsplit("/", 1)[0].split("/", 1)[1],
        "records_before": data.num_rows,
        "records_purged": data.num_rows - kept.num_rows,
        "records_held": records_held,
        "records_not_due": kept.num_rows - records_held,
        "hold_ids": sorted(hold_id for hold_id, mask in holds.items() if pc.any(mask).as_py()),
    }
    if not delete or kept.num_rows == data.num_rows:
        return entry
    if kept.num_rows:
        lake.write_partition(layout, table, values, kept)
    else:
        layout.lake_store.delete(lake.partition_key(table, values))
    return entry


def _landing_entries(registry: list[dict[str, Any]], fates: _FileFates) -> list[dict[str, Any]]:
    """The log entry of every due raw file's landing file (``partition``: its key in the
    landing area), counting the switch records it held (records_in)."""
    entries: list[dict[str, Any]] = []
    for entry in registry:
        hold_ids = fates.holds_of(entry["file_id"])
        records = int(entry["records_in"] or 0)
        kept = bool(hold_ids) or entry["file_id"] in fates.not_due
        entries.append(
            {
                "table_name": "landing",
                "event_month": f"{entry['file_date']:%Y-%m}",
                "partition": f"{entry['feed']}/{entry['switch_id']}/{entry['file_name']}",
                "records_before": records,
                "records_purged": 0 if kept else records,
                "records_held": records if hold_ids else 0,
                "records_not_due": records if kept and not hold_ids else 0,
                "hold_ids": hold_ids,
                "kept": kept,
            }
        )
    return entries
