"""The tax stage of a bill run: tax every charge of a billing period into the lake.

Reads the period's rated partitions, the credits granted for it (``adjustments.csv``) and
the reference rule set (``reference/tax_rules/``), writes ``adjustments`` (each credit,
applied or held with its reason), ``billed_charges`` (every charge, with its net and tax
status), ``billed_charge_usage`` (the rated records and aggregate-priced charges behind each
usage charge) and ``tax_lines`` (one line per charge and applicable rule) for the period.
Rerunning replaces the partitions with identical bytes. A charge the engine cannot tax
keeps its row in ``billed_charges`` with the reason as ``tax_status`` and no tax lines: the
billing checks refuse to let it pass unseen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import lake
from pipelines.billing import run as bill_run
from pipelines.billing.adjustments import APPLIED, HELD, period_adjustments
from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.rating import rerate
from pipelines.reference import TAX_RULES_DIR
from pipelines.taxes.billed_charges import billed_charges
from pipelines.taxes.engine import tax_charges
from pipelines.taxes.model import PPM
from pipelines.taxes.rules_files import load_ruleset

OK = "ok"
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"


@dataclass(frozen=True)
class TaxPeriodResult:
    billing_period: str
    ruleset_version: str
    charges: int
    taxed: int
    untaxed_by_status: dict[str, int] = field(default_factory=dict)
    tax_lines: int = 0
    billable_tax_micros: int = 0
    compliance_tax_micros: int = 0
    adjustments_applied: int = 0
    adjustments_held: int = 0
    invoices: int = 0


def share_of(amount_micros: np.ndarray, share_ppm: np.ndarray) -> np.ndarray:
    """``amount x share / 1e6`` rounded half away from zero to the micro, as the engine's
    share step does (docs/taxes.md), without overflowing int64 on large amounts."""
    magnitude = np.abs(amount_micros)
    whole, part = np.divmod(magnitude, PPM)
    shared = whole * share_ppm + (part * share_ppm + PPM // 2) // PPM
    return np.where(amount_micros < 0, -shared, shared)


@locked_partition("tax", "billing_period")
def tax_period(
    layout: Layout, billing_period: str, *, rerate_run_id: str | None = None
) -> TaxPeriodResult:
    """Tax the period's billed charges and replace its billed_charges and tax_lines.

    A closed period is refused (its invoices are issued) unless ``rerate_run_id`` names the
    re-rating that kept its current version (pipelines.rating.rerate).
    """
    if rerate_run_id is None:
        rerate.refuse_closed_period(layout, billing_period)
    ruleset = load_ruleset(layout.reference / TAX_RULES_DIR)
    adjustments = period_adjustments(layout, billing_period)
    run = bill_run.start(layout, billing_period)
    charges, usage_links = billed_charges(
        layout, billing_period, ruleset, bill_run.other_charges(layout, run, adjustments)
    )
    n = charges.num_rows
    result = tax_charges(
        ruleset,
        charges.select(
            [
                "charge_id",
                "amount_micros",
                "category",
                "charge_date",
                "customer_class",
                "tax_area_id",
                "lines",
                "minutes_micros",
                "interstate_share_ppm",
            ]
        )
        # The bill run prices net of tax.
        .append_column("is_tax_inclusive", pa.array([False] * n, pa.bool_())),
    )
    outcome = result.charges.rename_columns(["charge_id", "net_micros", "tax_status"])
    if outcome.num_rows != charges.num_rows or not outcome["charge_id"].equals(
        charges["charge_id"]
    ):
        raise RuntimeError(f"the tax engine lost or reordered charges of {billing_period}")
    # The rule set's amounts (fixed fees, brackets) are in its currency: a charge billed in
    # another is not taxed with them, and says so. (No currency: no account, no tax area.)
    foreign = pc.fill_null(pc.not_equal(charges["currency"], ruleset.currency), False)
    outcome = outcome.set_column(
        2, "tax_status", pc.if_else(foreign, CURRENCY_MISMATCH, outcome["tax_status"])
    ).set_column(1, "net_micros", pc.if_else(foreign, 0, outcome["net_micros"]))
    foreign_ids = pc.filter(charges["charge_id"], foreign)
    taxed_charges = (
        charges.append_column(
            "interstate_micros",
            pa.array(
                share_of(
                    charges["amount_micros"].to_numpy(zero_copy_only=False),
                    charges["interstate_share_ppm"].to_numpy(zero_copy_only=False),
                )
            ),
        )
        .append_column("net_micros", outcome["net_micros"])
        .append_column("tax_status", outcome["tax_status"])
        .append_column(
            "ruleset_version", pa.array([ruleset.version] * charges.num_rows, pa.string())
        )
    )
    lines = result.lines
    # The engine's lines are copied once, sorted, below: let them go with it.
    del result
    if len(foreign_ids):
        lines = lines.filter(pc.invert(pc.is_in(lines["charge_id"], foreign_ids)))
    # Each line's account, looked up by its charge's row: a join would copy every line.
    charge_rows = pc.index_in(lines["charge_id"], value_set=charges["charge_id"])
    lines = lines.append_column("account_id", charges["account_id"].take(charge_rows)).sort_by(
        [("charge_id", "ascending"), ("calc_order", "ascending"), ("tax_id", "ascending")]
    )
    lines = lines.append_column(
        "billing_period", pa.repeat(pa.scalar(billing_period, pa.string()), lines.num_rows)
    )
    partition = {"billing_period": billing_period}
    lake.write_partition(layout, "billed_charges", partition, taxed_charges)
    lake.write_partition(layout, "billed_charge_usage", partition, usage_links)
    lake.write_partition(layout, "tax_lines", partition, lines)
    lake.write_partition(layout, "adjustments", partition, adjustments.to_arrow())
    # A re-rated closed period keeps the invoices it issued: they are never rewritten.
    invoices = bill_run.issue(layout, run, taxed_charges, lines) if rerate_run_id is None else 0
    statuses = Counter(outcome["tax_status"].to_pylist())
    billable = pc.filter(lines["tax_micros"], lines["is_billable"])
    compliance = pc.filter(lines["tax_micros"], pc.invert(lines["is_billable"]))
    return TaxPeriodResult(
        billing_period=billing_period,
        ruleset_version=ruleset.version,
        charges=charges.num_rows,
        taxed=statuses.pop(OK, 0),
        untaxed_by_status=dict(sorted(statuses.items())),
        tax_lines=lines.num_rows,
        billable_tax_micros=int(pc.sum(billable).as_py() or 0),
        compliance_tax_micros=int(pc.sum(compliance).as_py() or 0),
        adjustments_applied=adjustments.filter(pl.col("adjustment_status") == APPLIED).height,
        adjustments_held=adjustments.filter(pl.col("adjustment_status") == HELD).height,
        invoices=invoices,
    )
