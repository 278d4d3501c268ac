"""Closed billing periods and their audited re-rating.

A period is open until someone closes it (``close_period``): the rate stage may rewrite an
open period at will, but refuses a closed one. A closed period changes only through
``rerate_period``, an explicit run with a reason that keeps the superseded version of the
period's rated partitions, writes a new one in their usual place (marts read only that),
and records the run and its difference per account. docs/rating.md (Re-rating a closed
period) states the rules.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.rating.buckets import read_period_table
from pipelines.rating.suspense import checksums_text
from pipelines.schema import (
    LAKE_TABLES,
    RATING_PERIOD_SCHEMA,
    RERATE_RUN_SCHEMA,
    VERSIONED_RATING_TABLES,
    LegDirection,
    PeriodState,
    RatingStatus,
)

#: What a rated record bills: a record whose values of these differ between two versions
#: changed. The tariff and catalog version are left out: a new catalog version pricing a
#: record the same does not change it.
PRICING_COLUMNS = (
    "subscriber_id",
    "account_id",
    "plan_id",
    "destination_prefix",
    "destination_name",
    "destination_group",
    "time_band",
    "billable_units",
    "allowance_units",
    "chargeable_units",
    "charge_micros",
    "rating_status",
    "suspense_reason",
)


class PeriodStateError(RuntimeError):
    """The billing period is not in the state the command needs."""


def read_period(layout: Layout, billing_period: str) -> dict[str, Any] | None:
    """The period's rating_periods row, or None before its first rating."""
    rows = lake.read_partition(layout, "rating_periods", {"billing_period": billing_period})
    return rows.to_pylist()[0] if rows.num_rows else None


def _write_period(layout: Layout, row: dict[str, Any]) -> None:
    table = pa.Table.from_pylist([row], schema=RATING_PERIOD_SCHEMA)
    lake.write_partition(layout, "rating_periods", {"billing_period": row["billing_period"]}, table)


def refuse_closed_period(layout: Layout, billing_period: str) -> None:
    """Raise PeriodStateError when the period is closed: only a re-rating may change it."""
    period = read_period(layout, billing_period)
    if period is not None and period["period_state"] == PeriodState.CLOSED.value:
        raise PeriodStateError(
            f"billing period {billing_period} is closed (by {period['closed_by']}: "
            f"{period['close_reason']}); change it with `telcolake rerate --period "
            f"{billing_period} --reason TEXT`"
        )


def _new_period(billing_period: str) -> dict[str, Any]:
    return {
        "billing_period": billing_period,
        "period_state": PeriodState.OPEN.value,
        "rating_version": 1,
    }


def record_buckets(layout: Layout, billing_period: str, bucket_count: int) -> None:
    """Note the number of buckets the period's rated tables are split into (its rating
    plan, pipelines.rating.stage.plan_rating); version 1 when the period is new."""
    period = read_period(layout, billing_period) or _new_period(billing_period)
    _write_period(layout, {**period, "rating_buckets": bucket_count})


def record_rating(layout: Layout, billing_period: str, reference: dict[str, str]) -> None:
    """Note the reference data a full rating of the period read (version 1 at the first)."""
    period = read_period(layout, billing_period) or _new_period(billing_period)
    _write_period(layout, {**period, "reference_checksums": checksums_text(reference)})


def close_period(
    layout: Layout, billing_period: str, by: str, reason: str, at: datetime | None = None
) -> dict[str, Any]:
    """Close a rated period: from now on only ``rerate_period`` changes its priced records.

    Closing a closed period changes nothing. Returns the period's rating_periods row.
    """
    period = read_period(layout, billing_period)
    # Planned but never completed (reference_checksums are noted last) is not rated.
    if period is None or period["reference_checksums"] is None:
        raise PeriodStateError(f"billing period {billing_period} has not been rated")
    if period["period_state"] == PeriodState.OPEN.value:
        period.update(
            period_state=PeriodState.CLOSED.value,
            closed_at=at or datetime.now(UTC),
            closed_by=by,
            close_reason=reason,
        )
        _write_period(layout, period)
    return period


def _version_values(billing_period: str, version: int) -> dict[str, object]:
    return {"billing_period": billing_period, "rating_version": version}


def _read_kept(layout: Layout, table: str, billing_period: str, version: int) -> pa.Table:
    kept = lake.read_partition(
        layout, f"{table}_versions", _version_values(billing_period, version)
    )
    schema, _ = LAKE_TABLES[table]
    return kept.select(schema.names)


def read_version(layout: Layout, table: str, billing_period: str, version: int) -> pa.Table:
    """One version of a rated table of the period (``table`` in VERSIONED_RATING_TABLES),
    the current one or a superseded one, in the table's own schema."""
    period = read_period(layout, billing_period)
    if period is not None and period["rating_version"] == version:
        return read_period_table(layout, table, billing_period)
    return _read_kept(layout, table, billing_period, version)


def _keep_current_version(
    layout: Layout, billing_period: str, version: int
) -> dict[str, pl.DataFrame]:
    """Copy the period's current version to ``<table>_versions`` and return it.

    rating_periods is copied last, so its copy proves the others complete. When it exists
    already, a re-rating was interrupted after keeping the version: the current partitions
    may be partly rewritten, and the kept copy is the version being replaced.
    """
    values = _version_values(billing_period, version)
    if not lake.partition_exists(layout, "rating_periods_versions", values):
        for table in VERSIONED_RATING_TABLES:
            current = read_period_table(layout, table, billing_period)
            if "rating_version" not in current.schema.names:
                current = current.append_column(
                    "rating_version", pa.array([version] * current.num_rows, pa.int32())
                )
            lake.write_partition(layout, f"{table}_versions", values, current)
    return {
        table: _frame(_read_kept(layout, table, billing_period, version))
        for table in VERSIONED_RATING_TABLES
    }


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def account_differences(
    rated_before: pl.DataFrame,
    rated_after: pl.DataFrame,
    recurring_before: pl.DataFrame,
    recurring_after: pl.DataFrame,
    aggregate_before: pl.DataFrame | None = None,
    aggregate_after: pl.DataFrame | None = None,
    taxes_before: pl.DataFrame | None = None,
    taxes_after: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int]:
    """Per account, usage and recurring charges before and after, and the records changed.

    Usage charges include the aggregate-priced usage (``usage_aggregate_charges``), whose
    records carry no charge of their own. ``taxes_*`` are the versions' ``tax_lines``: their
    billable taxes are reported beside the charges (not in ``difference_micros``).

    A record changed when it is in one version only or any of PRICING_COLUMNS differs; it
    counts for its account in each version (a record that moved counts in both). Accounts
    where nothing changed are left out; unattributed records (account_id null) form one
    row of their own. Returns the rows (columns of RERATE_ACCOUNT_DIFFERENCE_SCHEMA without
    the run's) and the number of changed records.
    """
    old = rated_before.select("usage_id", *PRICING_COLUMNS).with_columns(in_old=pl.lit(True))
    new = rated_after.select("usage_id", *PRICING_COLUMNS).with_columns(in_new=pl.lit(True))
    both = old.join(new, on="usage_id", how="full", suffix="_new", coalesce=True)
    changed = both.filter(
        pl.col("in_old").is_null()
        | pl.col("in_new").is_null()
        | pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in PRICING_COLUMNS)
    )
    changed_accounts = pl.concat(
        [
            changed.filter(pl.col("in_old")).select("usage_id", "account_id"),
            changed.filter(pl.col("in_new")).select(
                "usage_id", pl.col("account_id_new").alias("account_id")
            ),
        ]
    ).unique()

    def charges(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("account_id").agg(pl.col("charge_micros").sum().alias(name))

    measures = [
        charges(rated_before, "usage_charge_before_micros"),
        charges(rated_after, "usage_charge_after_micros"),
        *(
            [charges(aggregate_before, "usage_charge_before_micros")]
            if aggregate_before is not None
            else []
        ),
        *(
            [charges(aggregate_after, "usage_charge_after_micros")]
            if aggregate_after is not None
            else []
        ),
        charges(recurring_before, "recurring_charge_before_micros"),
        charges(recurring_after, "recurring_charge_after_micros"),
        _billable_taxes(taxes_before, "tax_before_micros"),
        _billable_taxes(taxes_after, "tax_after_micros"),
        changed_accounts.group_by("account_id").agg(pl.len().alias("records_changed")),
    ]
    totals = (
        pl.concat(measures, how="diagonal_relaxed")
        .group_by("account_id")
        .agg(pl.all().fill_null(0).sum().cast(pl.Int64))
        .with_columns(
            charge_before_micros=pl.col("usage_charge_before_micros")
            + pl.col("recurring_charge_before_micros"),
            charge_after_micros=pl.col("usage_charge_after_micros")
            + pl.col("recurring_charge_after_micros"),
        )
        .with_columns(
            difference_micros=pl.col("charge_after_micros") - pl.col("charge_before_micros")
        )
    )
    rows = totals.filter(
        (pl.col("records_changed") > 0)
        | (pl.col("usage_charge_before_micros") != pl.col("usage_charge_after_micros"))
        | (pl.col("recurring_charge_before_micros") != pl.col("recurring_charge_after_micros"))
        | (pl.col("tax_before_micros") != pl.col("tax_after_micros"))
    ).sort("account_id", nulls_last=True)
    return rows, changed.height


def _billable_taxes(tax_lines: pl.DataFrame | None, name: str) -> pl.DataFrame:
    """Per account, the billable tax of a version's tax lines (none: 0 for every account)."""
    if tax_lines is None or tax_lines.is_empty():
        return pl.DataFrame(schema={"account_id": pl.String, name: pl.Int64})
    return (
        tax_lines.filter(pl.col("is_billable"))
        .group_by("account_id")
        .agg(pl.col("tax_micros").sum().alias(name))
    )


@dataclass(frozen=True)
class RerateResult:
    """What one re-rating of a closed period changed; money in micros."""

    rerate_run_id: str
    billing_period: str
    previous_version: int
    rating_version: int
    records_changed: int
    accounts_changed: int
    usage_charge_before_micros: int
    usage_charge_after_micros: int
    recurring_charge_before_micros: int
    recurring_charge_after_micros: int
    interconnect_cost_before_micros: int
    interconnect_cost_after_micros: int
    tax_before_micros: int
    tax_after_micros: int


def _total(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column].sum())


def _payable(legs: pl.DataFrame) -> int:
    """What the carriers bill us: the outbound legs (inbound ones are what we bill them)."""
    return int(
        legs.filter(pl.col("leg_direction") == LegDirection.OUTBOUND.value)["amount_micros"].sum()
    )


def _billable_total(tax_lines: pl.DataFrame) -> int:
    return int(tax_lines.filter(pl.col("is_billable"))["tax_micros"].sum())


def _suspense_records(rated: pl.DataFrame) -> int:
    return rated.filter(pl.col("rating_status") == RatingStatus.SUSPENSE.value).height


@locked_partition("rate", "billing_period")
def rerate_period(
    layout: Layout,
    billing_period: str,
    reason: str,
    by: str | None = None,
    at: datetime | None = None,
) -> RerateResult:
    """Rate a closed period again with the current reference data, as a new version.

    The current version N of the rated tables (VERSIONED_RATING_TABLES: rated usage, charges,
    interconnect legs, billed charges and their tax lines, and rating_periods) is kept in
    ``<table>_versions`` (billing_period, rating_version=N); the rate and tax stages write
    version N + 1 in the usual partitions; ``rerate_runs`` gets the audit
    row and ``rerate_account_differences`` the difference per account, both partitioned
    (billing_period, rating_version=N + 1). An interrupted run, run again, finishes the
    same version from the same kept copy.
    """
    # The rate and tax stages call back into this module (refuse_closed_period, record_rating).
    from pipelines.rating import stage
    from pipelines.taxes.stage import tax_period

    if not reason.strip():
        raise ValueError("a re-rating needs a reason")
    period = read_period(layout, billing_period)
    if period is None or period["period_state"] != PeriodState.CLOSED.value:
        raise PeriodStateError(
            f"billing period {billing_period} is not closed: rate it with `telcolake rate`"
        )
    at = at or datetime.now(UTC)
    previous = period["rating_version"]
    version = previous + 1
    run_id = f"rerate/{billing_period}/v{version}"

    before = _keep_current_version(layout, billing_period, previous)
    stage.rate_period(layout, billing_period, rerate_run_id=run_id)
    # The new version's charges are taxed again: its invoices carry the taxes of its charges.
    tax_period(layout, billing_period, rerate_run_id=run_id)
    after = {
        table: _frame(read_period_table(layout, table, billing_period))
        for table in VERSIONED_RATING_TABLES
    }
    rated_before, rated_after = before["rated_usage"], after["rated_usage"]
    differences, records_changed = account_differences(
        rated_before,
        rated_after,
        before["recurring_charges"],
        after["recurring_charges"],
        before["usage_aggregate_charges"],
        after["usage_aggregate_charges"],
        before["tax_lines"],
        after["tax_lines"],
    )

    values = _version_values(billing_period, version)
    run = {"rerate_run_id": run_id, "billing_period": billing_period, "rating_version": version}
    lake.write_partition(
        layout,
        "rerate_account_differences",
        values,
        differences.with_columns(**{k: pl.lit(v) for k, v in run.items()}).to_arrow(),
    )
    result = RerateResult(
        rerate_run_id=run_id,
        billing_period=billing_period,
        previous_version=previous,
        rating_version=version,
        records_changed=records_changed,
        accounts_changed=differences.height,
        usage_charge_before_micros=_total(rated_before, "charge_micros")
        + _total(before["usage_aggregate_charges"], "charge_micros"),
        usage_charge_after_micros=_total(rated_after, "charge_micros")
        + _total(after["usage_aggregate_charges"], "charge_micros"),
        recurring_charge_before_micros=_total(before["recurring_charges"], "charge_micros"),
        recurring_charge_after_micros=_total(after["recurring_charges"], "charge_micros"),
        interconnect_cost_before_micros=_payable(before["interconnect_legs"]),
        interconnect_cost_after_micros=_payable(after["interconnect_legs"]),
        tax_before_micros=_billable_total(before["tax_lines"]),
        tax_after_micros=_billable_total(after["tax_lines"]),
    )
    audit = {
        **vars(result),
        "rerated_by": by or getpass.getuser(),
        "rerated_at": at,
        "reason": reason,
        "usage_records_before": rated_before.height,
        "usage_records_after": rated_after.height,
        "suspense_records_before": _suspense_records(rated_before),
        "suspense_records_after": _suspense_records(rated_after),
        "reference_checksums_before": before["rating_periods"]["reference_checksums"][0],
        "reference_checksums_after": after["rating_periods"]["reference_checksums"][0],
    }
    lake.write_partition(
        layout, "rerate_runs", values, pa.Table.from_pylist([audit], schema=RERATE_RUN_SCHEMA)
    )
    # Last: the new version is the period's only once its audit row is written.
    _write_period(layout, {**after["rating_periods"].to_dicts()[0], "rating_version": version})
    return result
