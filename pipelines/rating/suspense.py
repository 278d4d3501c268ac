"""Suspense and recycling: usage the rate stage could not price waits in the lake table
``rating_suspense`` with its reason and age; once reference data is fixed, a recycle run
prices it exactly once. docs/rating.md (Suspense and recycling) states the rules.

The period's ``rated_usage`` partitions (one per rating bucket) stay the one place a
record is billed from: a suspended record is a ``suspense`` row there, and recycling
replaces that row in place (one atomic write of its bucket's partition), so every usage_id
is in them exactly once throughout.
``rating_suspense`` keeps the history: when a record was first suspended, how often it was
tried, and what priced it in the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.rating import aggregates, buckets, retail, tariff
from pipelines.schema import (
    RATED_USAGE_SCHEMA,
    RATING_SUSPENSE_SCHEMA,
    USAGE_AGGREGATE_CHARGE_SCHEMA,
    USAGE_SCHEMA,
    RatingStatus,
    SuspenseState,
)

#: Suspense columns taken from the rated row of the latest attempt.
RECORD_COLUMNS = [
    "usage_id",
    "billing_period",
    "event_date",
    "started_at",
    "record_type",
    "service",
    "served_msisdn",
    "other_party_number",
    "subscriber_id",
    "account_id",
    "plan_id",
    "suspense_reason",
]


def reference_checksums(layout: Layout) -> dict[str, str]:
    """SHA-256 of every reference file, keyed by its path under the reference directory."""
    root = layout.reference
    return {
        path.relative_to(root).as_posix(): _file_checksum(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


#: Checksums of files already read in this process, by path, inode, size, mtime and ctime:
#: rating asks for the reference checksums for every bucket and again to complete the
#: period, and a large operator's reference files are hundreds of megabytes.
_CHECKSUMS: dict[tuple[str, int, int, int, int], str] = {}
#: A file changed this recently could change again within the file system's timestamp
#: resolution without its size or times showing it, so its checksum is not kept.
_SETTLED_NS = 2_000_000_000


def _file_checksum(path: Path) -> str:
    status = path.stat()
    key = (
        str(path.absolute()),
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )
    checksum = _CHECKSUMS.get(key)
    if checksum is None:
        with path.open("rb") as file:
            checksum = hashlib.file_digest(file, "sha256").hexdigest()
        if time.time_ns() - max(status.st_mtime_ns, status.st_ctime_ns) > _SETTLED_NS:
            _CHECKSUMS[key] = checksum
    return checksum


def checksums_text(checksums: dict[str, str]) -> str:
    """The checksums as canonical JSON, the form the lake stores them in."""
    return json.dumps(checksums, sort_keys=True, separators=(",", ":"))


def reference_fingerprint(checksums: dict[str, str]) -> str:
    """One checksum for the whole reference data set."""
    return hashlib.sha256(checksums_text(checksums).encode()).hexdigest()


def read_suspense(layout: Layout, billing_period: str) -> pl.DataFrame:
    table = lake.read_partition(layout, "rating_suspense", {"billing_period": billing_period})
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _write_suspense(layout: Layout, billing_period: str, rows: list[dict[str, Any]]) -> None:
    rows.sort(key=lambda row: row["usage_id"])
    table = pa.Table.from_pylist(rows, schema=RATING_SUSPENSE_SCHEMA)
    lake.write_partition(layout, "rating_suspense", {"billing_period": billing_period}, table)


def _apply_attempt(
    suspense: pl.DataFrame,
    attempted: pl.DataFrame,
    fingerprint: str,
    at: datetime,
    resolved_state: SuspenseState,
    run_id: str | None,
    whole_period: bool,
) -> list[dict[str, Any]]:
    """The suspense rows after one rating attempt of ``attempted`` (rated_usage rows).

    An open record tried again counts an attempt only when the reference data differs from
    its last attempt's: the same data gives the same outcome, so a rerun changes nothing.
    ``whole_period``: ``attempted`` is every record of the period, so an open record absent
    from it is no longer billable usage of the period (withdrawn).
    """
    rows = {row["usage_id"]: row for row in suspense.to_dicts()}
    relevant = attempted.filter(
        (pl.col("rating_status") == RatingStatus.SUSPENSE.value)
        | pl.col("usage_id").is_in(list(rows))
    )
    outcomes = {row["usage_id"]: row for row in relevant.to_dicts()}
    for usage_id, outcome in outcomes.items():
        record = {column: outcome[column] for column in RECORD_COLUMNS}
        row = rows.get(usage_id)
        if outcome["rating_status"] == RatingStatus.SUSPENSE.value:
            if row is None:
                rows[usage_id] = {
                    **record,
                    "suspense_state": SuspenseState.OPEN.value,
                    "first_suspended_at": at,
                    "last_attempt_at": at,
                    "attempts": 1,
                    "reference_checksum": fingerprint,
                }
            elif row["suspense_state"] != SuspenseState.OPEN.value:
                # Priced or withdrawn before, unrateable again (reference data went back):
                # open once more, keeping when it first waited.
                row.update(
                    record,
                    suspense_state=SuspenseState.OPEN.value,
                    last_attempt_at=at,
                    attempts=row["attempts"] + 1,
                    reference_checksum=fingerprint,
                    resolved_at=None,
                    resolved_run_id=None,
                    resolved_status=None,
                    resolved_charge_micros=None,
                )
            elif row["reference_checksum"] != fingerprint:
                row.update(
                    record,
                    last_attempt_at=at,
                    attempts=row["attempts"] + 1,
                    reference_checksum=fingerprint,
                )
            else:
                row.update(record)
        elif row is not None and row["suspense_state"] == SuspenseState.OPEN.value:
            row.update(
                record,
                suspense_reason=row["suspense_reason"],
                suspense_state=resolved_state.value,
                last_attempt_at=at,
                attempts=row["attempts"] + 1,
                reference_checksum=fingerprint,
                resolved_at=at,
                resolved_run_id=run_id,
                resolved_status=outcome["rating_status"],
                resolved_charge_micros=outcome["charge_micros"],
            )
    if whole_period:
        for usage_id, row in rows.items():
            if usage_id not in outcomes and row["suspense_state"] == SuspenseState.OPEN.value:
                row.update(
                    suspense_state=SuspenseState.WITHDRAWN.value,
                    resolved_at=at,
                    resolved_run_id=run_id,
                )
    return list(rows.values())


def track_suspense(
    layout: Layout,
    billing_period: str,
    rated: pl.DataFrame,
    reference: dict[str, str],
    rerate_run_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Bring ``rating_suspense`` up to date after a full rating of the period.

    ``rated`` is every rated_usage row the rating wrote; ``reference`` the checksums of the
    reference data it read. Records suspended for the first time open a row; open records
    now priced are closed as ``rated`` (or ``rerated`` when ``rerate_run_id`` names the
    re-rating). A rerun on the same inputs rewrites the same bytes.
    """
    rows = _apply_attempt(
        read_suspense(layout, billing_period),
        rated,
        reference_fingerprint(reference),
        at or datetime.now(UTC),
        SuspenseState.RERATED if rerate_run_id else SuspenseState.RATED,
        rerate_run_id,
        whole_period=True,
    )
    _write_suspense(layout, billing_period, rows)


@dataclass(frozen=True)
class RecycleResult:
    """What one recycle run of a period did; money in micros."""

    billing_period: str
    recycle_run_id: str
    open_before: int
    #: Open records whose reference data has not changed since their last attempt: not
    #: tried, since they would fail the same way.
    unchanged_reference: int
    attempted: int
    #: Open records not priced because rating them would move allowance units their
    #: account's priced records drew: they wait for a full rating (rate or rerate).
    awaiting_full_rating: int
    recycled: int
    recycled_by_reason: dict[str, int]
    recycled_charge_micros: int
    still_open: int
    still_open_by_reason: dict[str, int]


def _read_rated(layout: Layout, billing_period: str, bucket_count: int) -> pl.DataFrame:
    """The period's rated_usage rows with the ``bucket`` that holds each."""
    parts = []
    for bucket in range(bucket_count):
        rows = pl.from_arrow(
            lake.read_partition(
                layout, "rated_usage", buckets.bucket_partition(billing_period, bucket)
            )
        )
        assert isinstance(rows, pl.DataFrame)
        parts.append(rows.with_columns(pl.lit(bucket, dtype=pl.Int32).alias("bucket")))
    return pl.concat(parts)


def _by_reason(frame: pl.DataFrame) -> dict[str, int]:
    return dict(sorted(Counter(frame["suspense_reason"].to_list()).items()))


@locked_partition("rate", "billing_period")
def recycle_period(
    layout: Layout, billing_period: str, at: datetime | None = None
) -> RecycleResult:
    """Rate the period's open suspense records again with the current reference data.

    Records now rateable replace their suspense rows in the ``rated_usage`` partition of
    the rating bucket that holds them (one atomic write per bucket) and are closed as
    ``recycled``; the others stay open, one
    attempt more. Open records whose reference data is unchanged since their last attempt
    are not tried, so a second run with the same data writes nothing. Records already
    priced are never touched, in an open or a closed period.
    """
    # The rate stage calls back into this module (track_suspense): import it at call time.
    from pipelines.rating import stage

    at = at or datetime.now(UTC)
    run_id = f"recycle/{billing_period}/{at:%Y%m%dT%H%M%S%fZ}"
    reference = reference_checksums(layout)
    fingerprint = reference_fingerprint(reference)
    suspense = read_suspense(layout, billing_period)
    still_waiting = suspense.filter(pl.col("suspense_state") == SuspenseState.OPEN.value)
    candidates = still_waiting.filter(pl.col("reference_checksum") != fingerprint)
    unchanged = still_waiting.height - candidates.height
    if candidates.is_empty():
        return RecycleResult(
            billing_period=billing_period,
            recycle_run_id=run_id,
            open_before=still_waiting.height,
            unchanged_reference=unchanged,
            attempted=0,
            awaiting_full_rating=0,
            recycled=0,
            recycled_by_reason={},
            recycled_charge_micros=0,
            still_open=still_waiting.height,
            still_open_by_reason=_by_reason(still_waiting),
        )

    bucket_count = stage.planned_buckets(layout, billing_period)
    rated = _read_rated(layout, billing_period, bucket_count)
    is_candidate = pl.col("usage_id").is_in(candidates["usage_id"].implode())
    retry = rated.filter(is_candidate)
    if retry.height != candidates.height:
        raise RuntimeError(
            f"rating_suspense of {billing_period} names open records its rated_usage lacks: "
            "rate the period again before recycling"
        )
    priced = rated.filter(~is_candidate)

    plans = tariff.load_plans(layout)
    subscribers = retail.load_lines(layout)
    catalog = retail.load_retail_catalog(layout, billing_period)

    # The usage columns as the records were suspended, local time as read_bucket_usage
    # derives it: a recycle rates the same records, only with newer reference data.
    def as_usage(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.select(*USAGE_SCHEMA.names, "billing_period").with_columns(
            stage.local_seconds()
        )

    # Allowances are drawn per account in event order: the candidates are rated with the
    # priced records of their accounts, whose stored rows are kept as they are.
    attributed = stage._attribute(as_usage(retry), subscribers, plans)
    accounts = attributed["account_id"].drop_nulls().unique().implode()
    context = priced.filter(pl.col("account_id").is_in(accounts))
    batch = stage.rate_usage(
        stage._attribute(as_usage(pl.concat([retry, context])), subscribers, plans),
        catalog,
        subscribers,
        stage.read_rolled_in(layout, billing_period),
    )
    # A candidate that would take allowance units a priced record drew (it came first) is
    # not recycled: granting them twice overcharges nobody but loses revenue, and taking
    # them back reprices a record a bill may show. A full rating redraws in event order.
    stored = context.select("usage_id", pl.col("allowance_units").alias("stored_units"))
    moved = (
        batch.join(stored, on="usage_id")
        .filter(pl.col("allowance_units") != pl.col("stored_units"))["account_id"]
        .unique()
        .implode()
    )
    is_retry = pl.col("usage_id").is_in(retry["usage_id"].implode())
    outcome = batch.filter(is_retry & ~pl.col("account_id").is_in(moved).fill_null(False))
    # A recycled row stays in the bucket that holds it, even when its account now hashes to
    # another: moving it would write two partitions, and a crash between them would lose or
    # repeat it. The next full rating puts it in its account's bucket.
    outcome = outcome.select(RATED_USAGE_SCHEMA.names).join(
        retry.select("usage_id", "bucket"), on="usage_id"
    )
    kept = retry.filter(~pl.col("usage_id").is_in(outcome["usage_id"].implode()))
    priced = pl.concat([priced, kept])

    recycled_rows = pl.concat([priced, outcome.cast(priced.schema)], how="vertical").sort(
        "usage_id"
    )
    if not recycled_rows["usage_id"].equals(rated["usage_id"].sort()):
        raise RuntimeError(f"recycling lost or duplicated usage records of {billing_period}")
    for bucket in outcome["bucket"].unique().sort():
        lake.write_partition(
            layout,
            "rated_usage",
            buckets.bucket_partition(billing_period, bucket),
            recycled_rows.filter(pl.col("bucket") == bucket).drop("bucket").to_arrow(),
        )
    # Aggregate-priced usage is priced per cycle: a recycled record joins its cycle's sum,
    # whichever bucket holds it; the cycle's charge goes to its account's bucket.
    _, charges = aggregates.price_aggregates(
        recycled_rows.drop("bucket"), catalog.catalog, billing_period
    )
    charge_buckets = buckets.buckets_of(
        charges.select(pl.coalesce("account_id", "subscriber_id"))["account_id"], bucket_count
    )
    lake.replace_partitions(
        layout,
        "usage_aggregate_charges",
        {"billing_period": billing_period},
        "bucket",
        {
            str(bucket): charges.filter(charge_buckets == bucket)
            .to_arrow()
            .cast(USAGE_AGGREGATE_CHARGE_SCHEMA)
            for bucket in range(bucket_count)
        },
    )

    rows = _apply_attempt(
        suspense,
        outcome,
        fingerprint,
        at,
        SuspenseState.RECYCLED,
        run_id,
        whole_period=False,
    )
    _write_suspense(layout, billing_period, rows)

    now_priced = outcome.filter(pl.col("rating_status") != RatingStatus.SUSPENSE.value)
    recycled = candidates.filter(pl.col("usage_id").is_in(now_priced["usage_id"].implode()))
    open_after = pl.DataFrame(rows, schema=pl.Schema(suspense.schema)).filter(
        pl.col("suspense_state") == SuspenseState.OPEN.value
    )
    return RecycleResult(
        billing_period=billing_period,
        recycle_run_id=run_id,
        open_before=still_waiting.height,
        unchanged_reference=unchanged,
        attempted=candidates.height,
        awaiting_full_rating=kept.height,
        recycled=recycled.height,
        recycled_by_reason=_by_reason(recycled),
        recycled_charge_micros=int(now_priced["charge_micros"].sum()),
        still_open=open_after.height,
        still_open_by_reason=_by_reason(open_after),
    )
