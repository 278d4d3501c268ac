"""Validated entry point to the tax kernel (``kernels.tax_nb``).

``tax_charges`` computes the tax lines of a batch of charges against a ``CompiledRuleSet``
with the semantics of docs/taxes.md (``tests/taxes/reference_taxes.py`` rule for rule).
Arrays must have the exact dtypes documented (C-contiguous, one dimension): a silent cast
on a money path hides the bug that produced it. Money is integer micro-units, rates and
shares parts per million, minutes micro-minutes, dates day numbers since 1970-01-01.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from kernels.api import _check
from kernels.tax_nb import tax_charges_nb
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
    Raises TypeError on a wrong dtype and ValueError on a value out of its range.
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
        compiled.rule_effective_from,
        compiled.rule_effective_to,
        compiled.rule_categories,
        compiled.rule_exempt_classes,
        compiled.rule_method,
        compiled.rule_base_share,
        compiled.rule_rounding,
        compiled.rule_rounding_step,
        compiled.rule_rate_ppm,
        compiled.rule_amount_micros,
        compiled.rule_max_base_micros,
        compiled.rule_max_tax_micros,
        compiled.rule_tier_on_lines,
        compiled.rule_is_usf,
        compiled.rule_is_billable,
        compiled.tier_offsets,
        compiled.tier_lower,
        compiled.tier_rate_ppm,
        compiled.tier_amount_micros,
        compiled.tax_on_offsets,
        compiled.tax_on_rules,
        compiled.area_offsets,
        compiled.area_rules,
        compiled.usf_from_day,
        compiled.usf_to_day,
        compiled.usf_factor_ppm,
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
