"""The reference tax engine: docs/taxes.md "How a rule computes its tax", step by step.

Slow and plain on purpose: one charge at a time, exact fractions until the one rounding,
no precomputed tables. The Numba kernel is tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from pipelines.taxes.model import (
    CATEGORIES,
    CUSTOMER_CLASSES,
    PPM,
    BaseShare,
    Method,
    Rounding,
    RuleSet,
    TaxOnTaxMode,
    TaxRule,
    TierBasis,
)

MAX_AMOUNT_MICROS = 10**15


@dataclass(frozen=True)
class Charge:
    charge_id: str
    amount_micros: int
    category: str
    charge_date: date
    tax_area_id: str
    customer_class: str = "standard"
    lines: int = 1
    minutes_micros: int = 0  # micro-minutes
    interstate_share_ppm: int | None = None  # None: the category default from the rule set
    is_tax_inclusive: bool = False


@dataclass(frozen=True)
class TaxLine:
    tax_id: str
    rule_effective_from: date
    taxable_base_micros: int
    # rate_ppm, or the quarter's FUSF factor for usf rules; 0 for the per-unit methods
    rate_ppm: int
    # fixed/per_line/per_minute amount_micros, fixed_on_tier the tier's; 0 for percent/bracket
    amount_per_unit_micros: int
    tax_micros: int
    is_billable: bool
    calc_order: int


@dataclass(frozen=True)
class ChargeTaxes:
    charge_id: str
    status: str  # "ok" or an error code from docs/taxes.md "Errors"
    net_micros: int  # the amount, or the backed-out net for tax-inclusive; 0 on error
    lines: tuple[TaxLine, ...]  # (calc_order, tax_id) order; empty on error


class _ChargeError(Exception):
    """The charge cannot be taxed; args[0] is the status."""


def tax_charge(ruleset: RuleSet, charge: Charge) -> ChargeTaxes:
    """The tax lines of one charge, or its error status."""
    try:
        net, lines = _tax(ruleset, charge)
    except _ChargeError as error:
        return ChargeTaxes(charge.charge_id, error.args[0], 0, ())
    return ChargeTaxes(charge.charge_id, "ok", net, lines)


def _tax(ruleset: RuleSet, charge: Charge) -> tuple[int, tuple[TaxLine, ...]]:
    """(net, lines), raising _ChargeError; the checks in docs/taxes.md "Errors" order."""
    areas = {area.tax_area_id: area for area in ruleset.tax_areas}
    if charge.tax_area_id not in areas:
        raise _ChargeError("UNKNOWN_TAX_AREA")
    if charge.category not in CATEGORIES:
        raise _ChargeError("UNKNOWN_CATEGORY")
    if charge.customer_class not in CUSTOMER_CLASSES:
        raise _ChargeError("UNKNOWN_CUSTOMER_CLASS")
    if abs(charge.amount_micros) > MAX_AMOUNT_MICROS:
        raise _ChargeError("AMOUNT_OUT_OF_RANGE")
    if charge.is_tax_inclusive and charge.amount_micros < 0:
        raise _ChargeError("NEGATIVE_INCLUSIVE_TOTAL")
    jurisdictions = set(areas[charge.tax_area_id].jurisdiction_ids)
    rules = sorted(
        (
            rule
            for rule in ruleset.rules
            if rule.jurisdiction_id in jurisdictions
            and (not rule.categories or charge.category in rule.categories)
            and rule.effective_from <= charge.charge_date
            and (rule.effective_to is None or charge.charge_date < rule.effective_to)
            and charge.customer_class not in rule.exempt_classes
        ),
        key=lambda rule: (rule.calc_order, rule.tax_id),
    )
    if any(rule.is_usf for rule in rules) and _quarter(charge.charge_date) not in (
        ruleset.usf_factors
    ):
        raise _ChargeError("NO_USF_FACTOR")
    if charge.is_tax_inclusive:
        return _back_out(ruleset, charge, rules)
    # A credit reverses exactly the taxes of the charge it corrects.
    sign = -1 if charge.amount_micros < 0 else 1
    lines = _lines(ruleset, charge, rules, abs(charge.amount_micros))
    negated = tuple(
        replace(
            line,
            taxable_base_micros=sign * line.taxable_base_micros,
            tax_micros=sign * line.tax_micros,
        )
        for line in lines
    )
    return charge.amount_micros, negated


def _back_out(
    ruleset: RuleSet, charge: Charge, rules: list[TaxRule]
) -> tuple[int, tuple[TaxLine, ...]]:
    """The largest net B with B + billable taxes(B) <= total, by the documented bisection."""
    total = charge.amount_micros

    def billable(net: int) -> int:
        return sum(
            line.tax_micros for line in _lines(ruleset, charge, rules, net) if line.is_billable
        )

    if billable(0) > total:
        raise _ChargeError("TAX_EXCEEDS_INCLUSIVE_TOTAL")
    low, high = 0, total
    while low < high:
        middle = (low + high + 1) // 2
        if middle + billable(middle) <= total:
            low = middle
        else:
            high = middle - 1
    lines = _lines(ruleset, charge, rules, low)
    return total - sum(line.tax_micros for line in lines if line.is_billable), lines


def _lines(
    ruleset: RuleSet, charge: Charge, rules: list[TaxRule], amount: int
) -> tuple[TaxLine, ...]:
    """The lines of ``rules`` on a charge of ``amount`` >= 0 micro-units."""
    if ruleset.tax_on_tax is TaxOnTaxMode.ORDERED:
        taxes: dict[str, int] = {}
        lines = []
        for rule in rules:
            line = _line(ruleset, charge, rule, amount, taxes)
            taxes[rule.tax_id] = line.tax_micros
            lines.append(line)
        return tuple(lines)
    previous: dict[str, int] = {}
    for _ in range(ruleset.max_iterations):
        # The current pass's amounts for rules already computed, the previous pass's else.
        current = dict(previous)
        lines = []
        for rule in rules:
            line = _line(ruleset, charge, rule, amount, current)
            current[rule.tax_id] = line.tax_micros
            lines.append(line)
        if all(current[rule.tax_id] == previous.get(rule.tax_id, 0) for rule in rules):
            return tuple(lines)
        previous = current
    raise _ChargeError("TAX_NOT_CONVERGED")


def _line(
    ruleset: RuleSet, charge: Charge, rule: TaxRule, amount: int, taxes: dict[str, int]
) -> TaxLine:
    """Steps 1-7 of one rule on a charge of ``amount`` >= 0; ``taxes``: tax_id -> tax so far."""
    share = _interstate_share(ruleset, charge)
    share_ppm = {
        BaseShare.FULL: PPM,
        BaseShare.INTERSTATE: share,
        BaseShare.INTRASTATE: PPM - share,
    }[rule.base_share]
    base = _round_micros(Fraction(amount * share_ppm, PPM), Rounding.HALF_UP)
    base += sum(taxes.get(named, 0) for named in rule.tax_on)
    if rule.max_base_micros > 0 and abs(base) > rule.max_base_micros:
        base = rule.max_base_micros if base > 0 else -rule.max_base_micros
    factor = ruleset.usf_factors[_quarter(charge.charge_date)] if rule.is_usf else 0
    rate_ppm, per_unit = 0, rule.amount_micros
    exact: Fraction
    if rule.method is Method.PERCENT:
        rate_ppm, per_unit = factor if rule.is_usf else rule.rate_ppm, 0
        exact = Fraction(base * rate_ppm, PPM)
    elif rule.method is Method.FIXED:
        exact = Fraction(rule.amount_micros)
    elif rule.method is Method.PER_MINUTE:
        exact = Fraction(rule.amount_micros * charge.minutes_micros, PPM)
    elif rule.method is Method.PER_LINE:
        exact = Fraction(rule.amount_micros * charge.lines)
    elif rule.method is Method.BRACKET:
        rate_ppm, per_unit = rule.rate_ppm, 0
        exact = _bracket(rule, base)
    else:
        basis = charge.lines if rule.tier_basis is TierBasis.LINES else base
        reached = [tier for tier in rule.tiers if tier.lower <= basis]
        per_unit = reached[-1].amount_micros if reached else 0
        exact = Fraction(per_unit)
    step = 10 ** (6 - rule.decimals)
    rounding = rule.rounding
    # Floor is on the signed amount: this magnitude's tax rounds down on a charge and, being
    # negated afterwards, up on a credit, whose refund the USF ceiling does not hold back.
    refund_up = rounding is Rounding.FLOOR and charge.amount_micros < 0
    if rounding is Rounding.FLOOR:
        rounding = Rounding.UP if refund_up else Rounding.DOWN
    tax = _round_micros(exact / step, rounding) * step
    if rule.max_tax_micros > 0 and abs(tax) > rule.max_tax_micros:
        tax = rule.max_tax_micros if tax > 0 else -rule.max_tax_micros
    if rule.is_usf and not refund_up:
        # FCC: the USF line may not recover more than the factor times the interstate base.
        ceiling = _round_micros(Fraction(base * factor, PPM) / step, Rounding.DOWN) * step
        tax = min(tax, ceiling)
    return TaxLine(
        tax_id=rule.tax_id,
        rule_effective_from=rule.effective_from,
        taxable_base_micros=base,
        rate_ppm=rate_ppm,
        amount_per_unit_micros=per_unit,
        tax_micros=tax,
        is_billable=rule.is_billable,
        calc_order=rule.calc_order,
    )


def _bracket(rule: TaxRule, base: int) -> Fraction:
    """Each tier's slice of the base, from its lower to the next tier's (last open), x rate."""
    total = Fraction(0)
    for index, tier in enumerate(rule.tiers):
        upper = rule.tiers[index + 1].lower if index + 1 < len(rule.tiers) else base
        slice_micros = max(0, min(base, upper) - tier.lower)
        total += Fraction(slice_micros * tier.rate_ppm, PPM)
    return total


def _interstate_share(ruleset: RuleSet, charge: Charge) -> int:
    if charge.interstate_share_ppm is not None:
        return charge.interstate_share_ppm
    return ruleset.interstate_shares.get(charge.category, 0)


def _round_micros(value: Fraction, rounding: Rounding) -> int:
    """``value`` to a whole number by ``rounding``, mirrored for negative values."""
    magnitude = abs(value)
    whole = magnitude.numerator // magnitude.denominator
    rest = magnitude - whole
    if (rounding is Rounding.UP and rest > 0) or (
        rounding is Rounding.HALF_UP and rest >= Fraction(1, 2)
    ):
        whole += 1
    return -whole if value < 0 else whole


def _quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
