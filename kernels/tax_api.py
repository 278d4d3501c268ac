"""Validated entry point to the tax kernel (``kernels.tax_nb``).

``tax_charges`` computes the tax lines of a batch of charges against a ``CompiledRuleSet``
with the semantics of docs/taxes.md (``tests/taxes/reference_taxes.py`` rule for rule).
Arrays must have the exact dtypes documented (C-contiguous, one dimension): a silent cast
on a money path hides the bug that produced it. Money is integer micro-units, rates and
shares parts per million, minutes micro-minutes, dates day numbers since 1970-01-01.

The rule set reaches the kernel as C-contiguous int64 tables whose column indices are the
``kernels.tax_nb`` constants, with 1-D CSR offsets and lists beside them:

- ``rule_table`` (n_rules, RULE_COLUMNS), one row per rule row: RULE_EFFECTIVE_FROM,
  RULE_EFFECTIVE_TO (day numbers, to exclusive), RULE_CATEGORIES, RULE_EXEMPT_CLASSES
  (uint64 bit masks as int64 bit patterns), RULE_METHOD, RULE_BASE_SHARE, RULE_ROUNDING
  (codes), RULE_ROUNDING_STEP, RULE_RATE_PPM, RULE_AMOUNT_MICROS, RULE_MAX_BASE_MICROS,
  RULE_MAX_TAX_MICROS (0: no cap), RULE_TIER_ON_LINES, RULE_IS_USF, RULE_IS_BILLABLE (0/1);
- ``tier_table`` (n_tiers, TIER_COLUMNS): TIER_LOWER, TIER_RATE_PPM, TIER_AMOUNT_MICROS,
  rule row k's rows ``tier_offsets[k]:tier_offsets[k + 1]``;
- ``usf_table`` (q, USF_COLUMNS): USF_FROM_DAY, USF_TO_DAY (exclusive), USF_FACTOR_PPM, one
  row per FUSF quarter, ascending;
- the kernel's own scratch, per parallel block, (n_rules, SCRATCH_COLUMNS): SCRATCH_STAMP,
  SCRATCH_TAX, SCRATCH_BASE, SCRATCH_UNIT.

``pipelines.taxes.compile.CompiledRuleSet`` states what each column holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from kernels.api import _check
from kernels.tax_nb import RULE_COLUMNS, TIER_COLUMNS, USF_COLUMNS, tax_charges_nb
from pipelines.taxes.compile import CompiledRuleSet
from pipelines.taxes.model import PPM

#: Largest charge amount (magnitude) the engine taxes: larger is AMOUNT_OUT_OF_RANGE.
MAX_AMOUNT_MICROS = 10**15
#: Largest taxable base, tax, line count or micro-minute count the kernel computes with;
#: every partial product of two such values stays within int64 (``tax_nb.mul_div_nb``). A
#: charge whose base or tax would pass it (tax on tax compounding) is AMOUNT_OUT_OF_RANGE.
MAX_MONEY_MICROS = 10**18
#: Charges per parallel work item: each item allocates its own scratch rows once.
BLOCK_SIZE = 2048


class TaxStatus(IntEnum):
    """``ChargeTaxLines.status`` codes; ``STATUS_NAMES`` spells them as docs/taxes.md."""

    OK = 0
    NO_TAX_AREA = 1
    UNKNOWN_TAX_AREA = 2
    UNKNOWN_CATEGORY = 3
    UNKNOWN_CUSTOMER_CLASS = 4
    AMOUNT_OUT_OF_RANGE = 5
    NEGATIVE_INCLUSIVE_TOTAL = 6
    NO_USF_FACTOR = 7
    TAX_NOT_CONVERGED = 8
    TAX_EXCEEDS_INCLUSIVE_TOTAL = 9


#: Status names by code: ``ok`` and the error codes of docs/taxes.md.
STATUS_NAMES = tuple("ok" if s == TaxStatus.OK else s.name for s in TaxStatus)
#: ``tax_area`` codes that are not area indices.
NO_AREA = -1  # the address matched no tax area
UNKNOWN_AREA = -2  # a tax_area_id the rule set does not have


@dataclass(frozen=True)
class ChargeTaxLines:
    """Per charge (n,): status int8 (``TaxStatus``), net_micros int64 (0 on error).

    Per tax line (m,), charges in input order and each charge's lines in (calc_order,
    tax_id) order: line_charge int64 (the charge's row), line_rule int32 (the rule row of
    ``CompiledRuleSet.rules``), taxable_base_micros, rate_ppm, amount_per_unit_micros,
    tax_micros int64. A credit's bases and taxes are negative.
    """

    status: np.ndarray
    net_micros: np.ndarray
    line_charge: np.ndarray
    line_rule: np.ndarray
    taxable_base_micros: np.ndarray
    rate_ppm: np.ndarray
    amount_per_unit_micros: np.ndarray
    tax_micros: np.ndarray


def _check_range(name: str, array: np.ndarray, low: int, high: int) -> None:
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        raise ValueError(f"{name} must lie in [{low}, {high}]")


def _check_table(name: str, table: object, columns: int, rows: int | None = None) -> int:
    """Check a rule set table is a C-contiguous int64 (rows, columns) array; return its rows.

    The kernel indexes it without bounds checks, so a wrong shape would read past it."""
    if not isinstance(table, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(table).__name__}")
    if table.dtype != np.int64:
        raise TypeError(f"{name} must be int64, got {table.dtype}")
    if table.ndim != 2 or table.shape[1] != columns or not table.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous (rows, {columns}) array")
    if rows is not None and table.shape[0] != rows:
        raise ValueError(f"{name} has {table.shape[0]} rows, expected {rows}")
    return int(table.shape[0])


def _check_rule_set(compiled: CompiledRuleSet) -> None:
    n_rules = _check_table("rule_table", compiled.rule_table, RULE_COLUMNS)
    tier_offsets = _check("tier_offsets", compiled.tier_offsets, np.int64, n_rules + 1)
    _check_table("tier_table", compiled.tier_table, TIER_COLUMNS, int(tier_offsets[-1]))
    _check("tax_on_offsets", compiled.tax_on_offsets, np.int64, n_rules + 1)
    _check("tax_on_rules", compiled.tax_on_rules, np.int32)
    _check("area_offsets", compiled.area_offsets, np.int64, len(compiled.tax_area_ids) + 1)
    _check("area_rules", compiled.area_rules, np.int32)
    _check_table("usf_table", compiled.usf_table, USF_COLUMNS)
    _check("category_share_ppm", compiled.category_share_ppm, np.int64, len(compiled.categories))


def tax_charges(
    compiled: CompiledRuleSet,
    amount_micros: np.ndarray,
    tax_area: np.ndarray,
    category: np.ndarray,
    customer_class: np.ndarray,
    charge_day: np.ndarray,
    lines: np.ndarray,
    minutes_micros: np.ndarray,
    interstate_share_ppm: np.ndarray,
    is_tax_inclusive: np.ndarray,
) -> ChargeTaxLines:
    """Compute the tax lines of n charges (in parallel over charges).

    amount_micros: int64 (n,), negative for credits, tax-inclusive totals included;
    tax_area: int32 (n,) index into ``compiled.tax_area_ids``, NO_AREA or UNKNOWN_AREA;
    category: int32 (n,) index into ``compiled.categories``, -1 unknown;
    customer_class: int32 (n,) index into ``compiled.customer_classes``, -1 unknown;
    charge_day: int32 (n,) day number of the charge date;
    lines: int64 (n,) line count, 0..MAX_MONEY_MICROS;
    minutes_micros: int64 (n,) micro-minutes, 0..MAX_MONEY_MICROS;
    interstate_share_ppm: int64 (n,) 0..1e6, or -1 for the category's default share;
    is_tax_inclusive: bool (n,).
    Raises TypeError on a wrong dtype and ValueError on a value out of its range or a
    ``compiled`` array of the wrong shape.
    """
    n = _check("amount_micros", amount_micros, np.int64).size
    _check("tax_area", tax_area, np.int32, n)
    _check("category", category, np.int32, n)
    _check("customer_class", customer_class, np.int32, n)
    _check("charge_day", charge_day, np.int32, n)
    _check("lines", lines, np.int64, n)
    _check("minutes_micros", minutes_micros, np.int64, n)
    _check("interstate_share_ppm", interstate_share_ppm, np.int64, n)
    _check("is_tax_inclusive", is_tax_inclusive, np.bool_, n)
    _check_range("tax_area", tax_area, UNKNOWN_AREA, len(compiled.tax_area_ids) - 1)
    _check_range("category", category, -1, len(compiled.categories) - 1)
    _check_range("customer_class", customer_class, -1, len(compiled.customer_classes) - 1)
    _check_range("lines", lines, 0, MAX_MONEY_MICROS)
    _check_range("minutes_micros", minutes_micros, 0, MAX_MONEY_MICROS)
    _check_range("interstate_share_ppm", interstate_share_ppm, -1, PPM)
    _check_rule_set(compiled)
    status, net, line_charge, line_rule, base, rate, unit, tax = tax_charges_nb(
        amount_micros,
        tax_area,
        category,
        customer_class,
        charge_day,
        lines,
        minutes_micros,
        interstate_share_ppm,
        is_tax_inclusive,
        compiled.iterate,
        compiled.max_iterations,
        max(compiled.max_area_rules, 1),
        MAX_MONEY_MICROS,
        MAX_AMOUNT_MICROS,
        compiled.rule_table,
        compiled.tier_offsets,
        compiled.tier_table,
        compiled.tax_on_offsets,
        compiled.tax_on_rules,
        compiled.area_offsets,
        compiled.area_rules,
        compiled.usf_table,
        compiled.category_share_ppm,
        BLOCK_SIZE,
    )
    # Charges that failed while their lines were written (rare) leave rows marked -1.
    if line_rule.size and int(line_rule.min()) < 0:
        keep = line_rule >= 0
        line_charge, line_rule, base, rate, unit, tax = (
            a[keep] for a in (line_charge, line_rule, base, rate, unit, tax)
        )
    return ChargeTaxLines(
        status=status,
        net_micros=net,
        line_charge=line_charge,
        line_rule=line_rule,
        taxable_base_micros=base,
        rate_ppm=rate,
        amount_per_unit_micros=unit,
        tax_micros=tax,
    )
