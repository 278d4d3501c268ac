"""A tax rule set compiled to flat NumPy arrays for the Numba tax kernel (``kernels.tax_api``).

``compile_ruleset`` turns the model's objects into arrays the kernel indexes by integer:
one row per rule version in the order lines are computed and listed (``calc_order``, then
``tax_id``), per tax area the CSR list of the rules its jurisdictions levy, the tiers and
the ``tax_on`` references as CSR lists of rule rows, the FUSF factors by quarter, and the
default interstate share of every category. What the kernel cannot index by integer
(tax ids, jurisdiction names) stays in ``CompiledRuleSet.rules``, an Arrow table with one
row per rule row, from which the engine decodes the lines.

Compiling refuses, with ValueError, what the kernel's integer arithmetic does not cover:
negative rates, amounts or caps, rates or amounts above ``MAX_RULE_MICROS``, decimals
outside 0..6, and names (jurisdictions, categories, customer classes) the model does not
know. The rule files loader refuses these already; the check keeps a hand-built RuleSet
from reaching the kernel with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from kernels.tax_nb import (
    RULE_AMOUNT_MICROS,
    RULE_BASE_SHARE,
    RULE_CATEGORIES,
    RULE_COLUMNS,
    RULE_EFFECTIVE_FROM,
    RULE_EFFECTIVE_TO,
    RULE_EXEMPT_CLASSES,
    RULE_IS_BILLABLE,
    RULE_IS_USF,
    RULE_MAX_BASE_MICROS,
    RULE_MAX_TAX_MICROS,
    RULE_METHOD,
    RULE_RATE_PPM,
    RULE_ROUNDING,
    RULE_ROUNDING_STEP,
    RULE_TIER_ON_LINES,
    TIER_AMOUNT_MICROS,
    TIER_COLUMNS,
    TIER_LOWER,
    TIER_RATE_PPM,
    USF_COLUMNS,
    USF_FACTOR_PPM,
    USF_FROM_DAY,
    USF_TO_DAY,
)
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

#: Kernel codes, by position.
METHODS = tuple(Method)
BASE_SHARES = tuple(BaseShare)
ROUNDINGS = tuple(Rounding)
EPOCH = date(1970, 1, 1)
#: effective_to of an open rule, as a day number.
OPEN_DAY = int(np.iinfo(np.int32).max)
#: Largest rate, amount or cap a rule may hold: the kernel's products of a rule constant
#: and a bounded base stay within int64 (``kernels.tax_api.MAX_MONEY_MICROS``).
MAX_RULE_MICROS = 10**15


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - EPOCH).days


def quarter_start(day: date) -> date:
    """First day of the calendar quarter holding ``day``."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(start: date) -> date:
    return date(start.year + 1, 1, 1) if start.month == 10 else date(start.year, start.month + 3, 1)


@dataclass(frozen=True)
class CompiledRuleSet:
    """A rule set as the kernel reads it.

    Rule rows (r,) are the rule versions sorted by (calc_order, tax_id, effective_from):
    the order lines are computed in and listed in. ``rules`` (Arrow, r rows) holds what a
    line names: tax_id, rule_effective_from (date32), jurisdiction_id, jurisdiction_level,
    jurisdiction_code, jurisdiction_name, tax_type, tax_name, kind, method, is_billable,
    calc_order (int64).

    rule_table: int64 (r, RULE_COLUMNS), C-contiguous, one row per rule row, columns the
    ``kernels.tax_nb`` constants: RULE_EFFECTIVE_FROM / RULE_EFFECTIVE_TO day numbers since
    1970-01-01 (to exclusive, OPEN_DAY when open); RULE_CATEGORIES (bit c for
    ``categories[c]``, every bit when the rule names none) and RULE_EXEMPT_CLASSES (bit c
    for ``customer_classes[c]``), uint64 masks stored as their int64 bit patterns; codes
    RULE_METHOD (METHODS), RULE_BASE_SHARE (BASE_SHARES), RULE_ROUNDING (ROUNDINGS);
    RULE_ROUNDING_STEP (10 ** (6 - decimals) micro-units), RULE_RATE_PPM,
    RULE_AMOUNT_MICROS, RULE_MAX_BASE_MICROS, RULE_MAX_TAX_MICROS (0: no cap); flags (1 or 0)
    RULE_TIER_ON_LINES (tier_basis ``lines``), RULE_IS_USF, RULE_IS_BILLABLE.

    Tiers: rule row k's are rows ``tier_offsets[k]:tier_offsets[k + 1]`` (int64 (r + 1,)) of
    tier_table, int64 (t, TIER_COLUMNS) with columns TIER_LOWER, TIER_RATE_PPM,
    TIER_AMOUNT_MICROS, ascending by lower.
    Tax on tax: the rule rows whose taxes join row k's base are
    ``tax_on_rules[tax_on_offsets[k]:tax_on_offsets[k + 1]]`` (int32): every version of each
    named tax_id (at most one applies on a date), a name the rule set lacks naming none.

    Tax areas: the rule rows of area a's jurisdictions are
    ``area_rules[area_offsets[a]:area_offsets[a + 1]]`` (int32, ascending: in calc order);
    ``tax_area_ids[a]`` names area a, and max_area_rules is the longest such list.

    FUSF: usf_table, int64 (q, USF_COLUMNS): quarter q runs from day USF_FROM_DAY to day
    USF_TO_DAY (day numbers, to exclusive, ascending) with contribution factor
    USF_FACTOR_PPM.
    category_share_ppm: int64 (len(categories),), each category's default interstate share
    (0 when the rule set gives none).
    """

    version: str
    currency: str
    iterate: bool
    max_iterations: int
    tax_area_ids: tuple[str, ...]
    categories: tuple[str, ...]
    customer_classes: tuple[str, ...]
    rules: pa.Table

    rule_table: np.ndarray

    tier_offsets: np.ndarray
    tier_table: np.ndarray

    tax_on_offsets: np.ndarray
    tax_on_rules: np.ndarray

    area_offsets: np.ndarray
    area_rules: np.ndarray
    max_area_rules: int

    usf_table: np.ndarray

    category_share_ppm: np.ndarray

    @property
    def n_rules(self) -> int:
        return int(self.rule_table.shape[0])


def _mask(names: frozenset[str], universe: tuple[str, ...], what: str, tax_id: str) -> int:
    unknown = sorted(names - set(universe))
    if unknown:
        raise ValueError(f"tax {tax_id}: unknown {what} {', '.join(unknown)}")
    return sum(1 << universe.index(name) for name in names)


def _check_rule(rule: TaxRule) -> None:
    if not 0 <= rule.decimals <= 6:
        raise ValueError(f"tax {rule.tax_id}: decimals must lie in 0..6, got {rule.decimals}")
    values = [
        ("rate_ppm", rule.rate_ppm),
        ("amount_micros", rule.amount_micros),
        ("max_base_micros", rule.max_base_micros),
        ("max_tax_micros", rule.max_tax_micros),
    ]
    for tier in rule.tiers:
        values += [
            ("tier lower", tier.lower),
            ("tier rate_ppm", tier.rate_ppm),
            ("tier amount_micros", tier.amount_micros),
        ]
    for name, value in values:
        if not 0 <= value <= MAX_RULE_MICROS:
            raise ValueError(f"tax {rule.tax_id}: {name} must lie in [0, {MAX_RULE_MICROS}]")


def _rules_table(ruleset: RuleSet, rules: list[TaxRule]) -> pa.Table:
    jurisdictions = [ruleset.jurisdictions[rule.jurisdiction_id] for rule in rules]
    return pa.table(
        {
            "tax_id": pa.array([rule.tax_id for rule in rules], pa.string()),
            "rule_effective_from": pa.array([rule.effective_from for rule in rules], pa.date32()),
            "jurisdiction_id": pa.array([rule.jurisdiction_id for rule in rules], pa.string()),
            "jurisdiction_level": pa.array([str(j.level) for j in jurisdictions], pa.string()),
            "jurisdiction_code": pa.array([j.code for j in jurisdictions], pa.string()),
            "jurisdiction_name": pa.array([j.name for j in jurisdictions], pa.string()),
            "tax_type": pa.array([rule.tax_type for rule in rules], pa.string()),
            "tax_name": pa.array([rule.tax_name for rule in rules], pa.string()),
            "kind": pa.array([str(rule.kind) for rule in rules], pa.string()),
            "method": pa.array([str(rule.method) for rule in rules], pa.string()),
            "is_billable": pa.array([rule.is_billable for rule in rules], pa.bool_()),
            "calc_order": pa.array([rule.calc_order for rule in rules], pa.int64()),
        }
    )


def _offsets(sizes: list[int]) -> np.ndarray:
    """CSR offsets (int64 (len(sizes) + 1,)) of consecutive lists of these sizes."""
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    return offsets


def _csr(lists: list[list[int]], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    values: np.ndarray = np.array([v for items in lists for v in items], dtype=dtype)
    return _offsets([len(items) for items in lists]), values


def _table(rows: int, columns: dict[int, list[int] | np.ndarray], width: int) -> np.ndarray:
    """An int64 (rows, width) C-contiguous table from its columns, keyed by column index."""
    if sorted(columns) != list(range(width)):
        raise ValueError(f"a kernel table needs exactly columns 0..{width - 1}")
    table = np.zeros((rows, width), dtype=np.int64)
    for index, values in columns.items():
        table[:, index] = values
    return table


def _bits(masks: list[int]) -> np.ndarray:
    """uint64 bit masks as int64 bit patterns (a mask with bit 63 set reads negative)."""
    return np.array(masks, dtype=np.uint64).view(np.int64)


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    """Compile a rule set for ``kernels.tax_api.tax_charges`` (ValueError if it cannot)."""
    if ruleset.max_iterations < 1:
        raise ValueError("max_iterations must be at least 1")
    rules = sorted(ruleset.rules, key=lambda r: (r.calc_order, r.tax_id, r.effective_from))
    for rule in rules:
        _check_rule(rule)
        if rule.jurisdiction_id not in ruleset.jurisdictions:
            raise ValueError(f"tax {rule.tax_id}: unknown jurisdiction {rule.jurisdiction_id}")
    rows_of_tax: dict[str, list[int]] = {}
    for k, rule in enumerate(rules):
        rows_of_tax.setdefault(rule.tax_id, []).append(k)

    every_category = (1 << len(CATEGORIES)) - 1
    tier_lists = [sorted(rule.tiers, key=lambda tier: tier.lower) for rule in rules]
    tier_offsets = _offsets([len(tiers) for tiers in tier_lists])
    tax_on_offsets, tax_on_rules = _csr(
        [[k for name in rule.tax_on for k in rows_of_tax.get(name, [])] for rule in rules],
        np.int32,
    )

    rows_of_jurisdiction: dict[str, list[int]] = {}
    for k, rule in enumerate(rules):
        rows_of_jurisdiction.setdefault(rule.jurisdiction_id, []).append(k)
    area_lists = []
    for area in ruleset.tax_areas:
        unknown = sorted(set(area.jurisdiction_ids) - set(ruleset.jurisdictions))
        if unknown:
            raise ValueError(f"tax area {area.tax_area_id}: unknown jurisdictions {unknown}")
        listed = set(area.jurisdiction_ids)
        area_lists.append(sorted(k for j in listed for k in rows_of_jurisdiction.get(j, [])))
    area_offsets, area_rules = _csr(area_lists, np.int32)

    quarters = sorted(ruleset.usf_factors.items())
    if any(day != quarter_start(day) for day, _ in quarters):
        raise ValueError("USF factors must be keyed by the first day of their quarter")
    unknown_shares = sorted(set(ruleset.interstate_shares) - set(CATEGORIES))
    if unknown_shares:
        raise ValueError(f"interstate shares of unknown categories {unknown_shares}")
    if not all(0 <= share <= PPM for share in ruleset.interstate_shares.values()):
        raise ValueError(f"interstate shares must lie in [0, {PPM}] ppm")
    if not all(0 <= factor <= PPM for _, factor in quarters):
        raise ValueError(f"USF contribution factors must lie in [0, {PPM}] ppm")

    tier_rows = [tier for tiers in tier_lists for tier in tiers]
    rule_table = _table(
        len(rules),
        {
            RULE_EFFECTIVE_FROM: [day_number(r.effective_from) for r in rules],
            RULE_EFFECTIVE_TO: [
                OPEN_DAY if r.effective_to is None else day_number(r.effective_to) for r in rules
            ],
            RULE_CATEGORIES: _bits(
                [
                    _mask(r.categories, CATEGORIES, "categories", r.tax_id) or every_category
                    for r in rules
                ]
            ),
            RULE_EXEMPT_CLASSES: _bits(
                [_mask(r.exempt_classes, CUSTOMER_CLASSES, "classes", r.tax_id) for r in rules]
            ),
            RULE_METHOD: [METHODS.index(r.method) for r in rules],
            RULE_BASE_SHARE: [BASE_SHARES.index(r.base_share) for r in rules],
            RULE_ROUNDING: [ROUNDINGS.index(r.rounding) for r in rules],
            RULE_ROUNDING_STEP: [10 ** (6 - r.decimals) for r in rules],
            RULE_RATE_PPM: [r.rate_ppm for r in rules],
            RULE_AMOUNT_MICROS: [r.amount_micros for r in rules],
            RULE_MAX_BASE_MICROS: [r.max_base_micros for r in rules],
            RULE_MAX_TAX_MICROS: [r.max_tax_micros for r in rules],
            RULE_TIER_ON_LINES: [int(r.tier_basis == TierBasis.LINES) for r in rules],
            RULE_IS_USF: [int(r.is_usf) for r in rules],
            RULE_IS_BILLABLE: [int(r.is_billable) for r in rules],
        },
        RULE_COLUMNS,
    )
    tier_table = _table(
        len(tier_rows),
        {
            TIER_LOWER: [t.lower for t in tier_rows],
            TIER_RATE_PPM: [t.rate_ppm for t in tier_rows],
            TIER_AMOUNT_MICROS: [t.amount_micros for t in tier_rows],
        },
        TIER_COLUMNS,
    )
    usf_table = _table(
        len(quarters),
        {
            USF_FROM_DAY: [day_number(start) for start, _ in quarters],
            USF_TO_DAY: [day_number(_next_quarter(start)) for start, _ in quarters],
            USF_FACTOR_PPM: [factor for _, factor in quarters],
        },
        USF_COLUMNS,
    )

    return CompiledRuleSet(
        version=ruleset.version,
        currency=ruleset.currency,
        iterate=ruleset.tax_on_tax == TaxOnTaxMode.ITERATE,
        max_iterations=ruleset.max_iterations,
        tax_area_ids=tuple(area.tax_area_id for area in ruleset.tax_areas),
        categories=CATEGORIES,
        customer_classes=CUSTOMER_CLASSES,
        rules=_rules_table(ruleset, rules),
        rule_table=rule_table,
        tier_offsets=tier_offsets,
        tier_table=tier_table,
        tax_on_offsets=tax_on_offsets,
        tax_on_rules=tax_on_rules,
        area_offsets=area_offsets,
        area_rules=area_rules,
        max_area_rules=max((len(rows) for rows in area_lists), default=0),
        usf_table=usf_table,
        category_share_ppm=np.array(
            [ruleset.interstate_shares.get(category, 0) for category in CATEGORIES], np.int64
        ),
    )
