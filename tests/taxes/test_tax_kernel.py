"""The Numba tax engine (pipelines.taxes.engine, kernels.tax_api) against the reference
(reference_taxes.tax_charge): on generated rule sets and charges, field by field, and on the
kernel's own edges (money limits, empty batches, many lines, several parallel blocks)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_taxes import Charge, tax_charge
from tax_engines import AREA, ENGINES, charge, rule, ruleset

from kernels import tax_api
from pipelines.taxes.compile import compile_ruleset
from pipelines.taxes.engine import CHARGE_INPUT_SCHEMA, LINE_COLUMNS, tax_charges
from pipelines.taxes.model import (
    CATEGORIES,
    CUSTOMER_CLASSES,
    BaseShare,
    Method,
    Rounding,
    RuleSet,
    TaxArea,
    TaxOnTaxMode,
    TaxRule,
    TierBasis,
)

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
kernel = ENGINES["kernel"]
NEW_YORK = TaxArea("NYC", "NY", "", "New York", "", ("US", "NY"))
TAX_IDS = ("A", "B", "C", "D", "E", "F")
#: Rates of the generated rules stay below 10%: a tax on tax cycle of six then converges,
#: as the reference's exact integers and the kernel's bounded ones then agree.
MAX_RATE = 100_000
#: Charge dates: the 2025 FUSF quarters, and a few days beyond them.
DAYS = (date(2024, 12, 20), date(2026, 1, 10))
#: Round rates and amounts hit rounding ties (half a cent) often; random ones rarely do.
rates = st.one_of(st.sampled_from((0, 5_000, 50_000, 62_500, 100_000)), st.integers(0, MAX_RATE))


def reference(rules: RuleSet, charges: list[Charge]) -> list:
    return [tax_charge(rules, c) for c in charges]


@st.composite
def tiers(draw: st.DrawFn, increasing_amounts: bool) -> list[tuple[int, int, int]]:
    lowers = sorted(draw(st.sets(st.integers(0, 200_000_000), min_size=1, max_size=4)))
    amounts = sorted(
        draw(st.lists(st.integers(0, 5_000_000), min_size=len(lowers), max_size=len(lowers)))
    )
    rates_ = draw(st.lists(rates, min_size=len(lowers), max_size=len(lowers)))
    if not increasing_amounts:
        amounts = amounts[::-1]
    return list(zip(lowers, rates_, amounts, strict=True))


@st.composite
def tax_rules(
    draw: st.DrawFn, tax_id: str, calc_order: int, earlier: list[str], iterate: bool
) -> list[TaxRule]:
    """One tax in one or two versions (split at a date), naming earlier taxes (or any when
    iterating) in tax_on."""
    method = draw(st.sampled_from((Method.PERCENT, Method.PERCENT, *Method)))
    named = TAX_IDS if iterate else earlier
    fields = {
        "tax_id": tax_id,
        "jurisdiction_id": draw(st.sampled_from(("US", "CA", "CA", "SF", "NY"))),
        "categories": draw(st.sets(st.sampled_from(CATEGORIES[:6]), max_size=3))
        if draw(st.booleans())
        else (),
        "method": method,
        "rate_ppm": draw(rates),
        "amount_micros": draw(st.sampled_from((0, 1, 5_000, 499_999, 1_250_000, 12_345_678))),
        "base_share": draw(st.sampled_from(BaseShare)),
        "tax_on": tuple(draw(st.sets(st.sampled_from(named), max_size=2))) if named else (),
        "calc_order": calc_order,
        "exempt_classes": draw(st.sets(st.sampled_from(CUSTOMER_CLASSES[1:]), max_size=2)),
        "is_billable": draw(st.booleans()),
        "rounding": draw(st.sampled_from(Rounding)),
        "decimals": draw(st.sampled_from((2, 2, 2, 0, 3, 6))),
        "max_base_micros": draw(st.sampled_from((0, 0, 30_000_000, 10**14))),
        "max_tax_micros": draw(st.sampled_from((0, 0, 2_000_000))),
        "tier_basis": draw(st.sampled_from(TierBasis))
        if method == Method.FIXED_ON_TIER
        else TierBasis.AMOUNT,
        "is_usf": draw(st.integers(0, 5)) == 0,
    }
    if method in (Method.BRACKET, Method.FIXED_ON_TIER):
        fields["tiers"] = draw(tiers(method == Method.FIXED_ON_TIER))
    first = rule(**fields, effective_from=date(2024, 1, 1))
    if not draw(st.booleans()):
        return [first]
    split = DAYS[0] + timedelta(days=draw(st.integers(0, (DAYS[1] - DAYS[0]).days)))
    end = draw(st.sampled_from((None, date(2025, 12, 1))))
    second = replace(
        first,
        effective_from=split,
        effective_to=end if end is None or end > split else None,
        rate_ppm=draw(rates),
        is_billable=draw(st.booleans()),
    )
    return [replace(first, effective_to=split), second]


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    iterate = draw(st.booleans())
    n_taxes = draw(st.integers(1, len(TAX_IDS)))
    orders = sorted(draw(st.lists(st.integers(1, 4), min_size=n_taxes, max_size=n_taxes)))
    rules: list[TaxRule] = []
    for k in range(n_taxes):
        earlier = [TAX_IDS[j] for j in range(k) if orders[j] < orders[k]]
        rules += draw(tax_rules(TAX_IDS[k], orders[k], earlier, iterate))
    factors = ruleset().usf_factors
    dropped = draw(st.sampled_from((None, date(2025, 7, 1))))
    return ruleset(
        *rules,
        tax_on_tax=TaxOnTaxMode.ITERATE if iterate else TaxOnTaxMode.ORDERED,
        max_iterations=draw(st.sampled_from((1, 2, 3, 20))),
        usf_factors={q: f for q, f in factors.items() if q != dropped},
        tax_areas=(AREA, NEW_YORK),
    )


amounts = st.one_of(
    st.integers(-200_000_000, 200_000_000),
    st.integers(-20_000, 20_000).map(lambda cents: cents * 10_000),
    st.integers(-(10**15), 10**15),
    st.sampled_from((0, 1, -1, 10**15, -(10**15), 10**15 + 1, -(10**15) - 1)),
    st.integers(0, 200_000_000),
)
charges = st.builds(
    Charge,
    charge_id=st.sampled_from(("c1", "c2")),
    amount_micros=amounts,
    category=st.sampled_from(CATEGORIES[:7] * 2 + ("bogus",)),
    charge_date=st.dates(DAYS[0], DAYS[1]),
    tax_area_id=st.sampled_from(("SF",) * 6 + ("NYC", "XX")),
    customer_class=st.sampled_from(("standard",) * 6 + CUSTOMER_CLASSES[1:] + ("bogus",)),
    lines=st.integers(0, 5),
    minutes_micros=st.sampled_from((0, 1, 999_999, 1_500_000, 61_500_000, 10**9)),
    interstate_share_ppm=st.one_of(st.none(), st.integers(0, 1_000_000)),
    is_tax_inclusive=st.sampled_from((False, False, False, True)),
)


@SETTINGS
@given(rulesets(), st.lists(charges, min_size=1, max_size=16))
def test_engine_equals_reference(rules, batch):
    assert kernel(rules, batch) == reference(rules, batch)


def test_engine_equals_reference_across_blocks():
    """Several parallel blocks, tax-inclusive charges and credits mixed."""
    rules = ruleset(
        rule(tax_id="USF", jurisdiction_id="US", is_usf=True, base_share=BaseShare.INTERSTATE),
        rule(tax_id="SALES", rate_ppm=72_500, tax_on=("USF",), calc_order=2),
        rule(tax_id="E911", jurisdiction_id="SF", method=Method.PER_LINE, amount_micros=750_000),
    )
    rng = np.random.default_rng(5)
    n = 3 * tax_api.BLOCK_SIZE + 17
    batch = [
        charge(
            charge_id=f"c{i}",
            amount_micros=int(rng.integers(-(10**9), 10**9)),
            category=CATEGORIES[int(rng.integers(0, 8))],
            lines=int(rng.integers(0, 4)),
            is_tax_inclusive=bool(rng.integers(0, 2)),
        )
        for i in range(n)
    ]
    assert kernel(rules, batch) == reference(rules, batch)


def test_amounts_near_the_limit_are_exact():
    """1e15 micro-units at a 99.9999% rate: 999_999_000_000_000 x 1e6 would leave int64."""
    rules = ruleset(
        rule(tax_id="A", rate_ppm=999_999, decimals=6),
        rule(
            tax_id="B",
            rate_ppm=333_333,
            decimals=6,
            rounding=Rounding.UP,
            tax_on=("A",),
            calc_order=2,
        ),
        rule(
            tax_id="C",
            method=Method.PER_MINUTE,
            amount_micros=987_654_321,
            decimals=6,
            calc_order=3,
        ),
    )
    amount = 10**15 - 1
    minutes = 10**15 - 7
    batch = [charge(amount_micros=sign * amount, minutes_micros=minutes) for sign in (1, -1)]
    result = kernel(rules, batch)
    assert result == reference(rules, batch)
    tax_a = int(Fraction(amount * 999_999, 10**6) + Fraction(1, 2))
    tax_b = -(-(amount + tax_a) * 333_333 // 10**6)
    tax_c = int(Fraction(987_654_321 * minutes, 10**6) + Fraction(1, 2))
    assert [line.tax_micros for line in result[0].lines] == [tax_a, tax_b, tax_c]
    assert [line.tax_micros for line in result[1].lines] == [-tax_a, -tax_b, -tax_c]


def test_out_of_range_amounts_and_bases():
    """Above 1e15 the charge is refused; a tax on tax that compounds past the kernel's
    1e18 limit is AMOUNT_OUT_OF_RANGE there (the reference's integers have no limit)."""
    rules = ruleset(rule(rate_ppm=70_000))
    (high, low, top) = kernel(
        rules,
        [
            charge(amount_micros=10**15 + 1),
            charge(amount_micros=-(10**15) - 1),
            charge(amount_micros=10**15),
        ],
    )
    assert (high.status, low.status, top.status) == (
        "AMOUNT_OUT_OF_RANGE",
        "AMOUNT_OUT_OF_RANGE",
        "ok",
    )
    doubling = [
        rule(
            tax_id=f"T{k:02}",
            rate_ppm=1_000_000,
            calc_order=k,
            tax_on=tuple(f"T{j:02}" for j in range(k)),
        )
        for k in range(12)
    ]
    batch = [charge(amount_micros=10**15), charge(amount_micros=1_000_000)]
    (compounded, small) = kernel(ruleset(*doubling), batch)
    assert compounded.status == "AMOUNT_OUT_OF_RANGE" and compounded.lines == ()
    assert small == reference(ruleset(*doubling), batch)[1]


def test_failure_while_writing_drops_only_that_charges_lines():
    """A charge that fails in the kernel's second pass leaves no lines among the others'."""
    cycle = (
        rule(tax_id="A", rate_ppm=500_000, tax_on=("B",)),
        rule(tax_id="B", rate_ppm=500_000, tax_on=("A",)),
    )
    rules = ruleset(*cycle, tax_on_tax=TaxOnTaxMode.ITERATE, max_iterations=5)
    batch = [charge(amount_micros=0), charge(amount_micros=100_000_000), charge(amount_micros=0)]
    result = kernel(rules, batch)
    assert result == reference(rules, batch)
    assert [r.status for r in result] == ["ok", "TAX_NOT_CONVERGED", "ok"]


def test_many_lines_per_charge():
    rules = ruleset(
        *(
            rule(tax_id=f"R{k:03}", method=Method.FIXED, amount_micros=k, calc_order=k % 7)
            for k in range(300)
        )
    )
    batch = [charge(charge_id="a"), charge(charge_id="b", amount_micros=-5)]
    result = kernel(rules, batch)
    assert result == reference(rules, batch)
    assert [len(r.lines) for r in result] == [300, 300]


def test_empty_batch_has_the_columns():
    result = tax_charges(ruleset(rule(rate_ppm=1)), _table([]))
    assert result.lines.num_rows == result.charges.num_rows == 0
    assert tuple(result.lines.column_names) == LINE_COLUMNS
    assert result.lines.schema.field("rule_effective_from").type == pa.date32()
    assert tuple(result.charges.column_names) == ("charge_id", "net_micros", "status")


def test_lines_name_rule_and_ruleset():
    rules = ruleset(rule(tax_id="CA_SALES", rate_ppm=70_000, tax_name="Sales"))
    result = tax_charges(rules, _table([charge(charge_id="x")]))
    (row,) = result.lines.to_pylist()
    assert row["charge_id"] == "x"
    assert (row["jurisdiction_level"], row["jurisdiction_code"]) == ("state", "CA")
    assert (row["tax_name"], row["kind"], row["method"]) == ("Sales", "tax", "percent")
    assert row["ruleset_version"] == rules.version


def test_null_tax_area_is_no_tax_area():
    table = _table([charge(), charge()]).set_column(
        4, "tax_area_id", pa.array(["SF", None], pa.string())
    )
    statuses = tax_charges(ruleset(rule(rate_ppm=1)), table).charges["status"].to_pylist()
    assert statuses == ["ok", "NO_TAX_AREA"]


def test_the_kernel_refuses_wrong_dtypes():
    compiled = compile_ruleset(ruleset(rule(rate_ppm=1)))
    n = 2
    arrays = {
        "amount_micros": np.zeros(n, np.int64),
        "tax_area": np.zeros(n, np.int32),
        "category": np.zeros(n, np.int32),
        "customer_class": np.zeros(n, np.int32),
        "charge_day": np.zeros(n, np.int32),
        "lines": np.ones(n, np.int64),
        "minutes_micros": np.zeros(n, np.int64),
        "interstate_share_ppm": np.full(n, -1, np.int64),
        "is_tax_inclusive": np.zeros(n, np.bool_),
    }
    assert tax_api.tax_charges(compiled, **arrays).status.tolist() == [0, 0]
    with pytest.raises(TypeError, match="amount_micros must be int64"):
        tax_api.tax_charges(compiled, **{**arrays, "amount_micros": np.zeros(n, np.int32)})
    with pytest.raises(ValueError, match="interstate_share_ppm"):
        tax_api.tax_charges(compiled, **{**arrays, "interstate_share_ppm": np.full(n, 2_000_000)})


def _table(batch: list[Charge]) -> pa.Table:
    return pa.Table.from_pylist(
        [vars(c) for c in batch],
        schema=CHARGE_INPUT_SCHEMA,
    )
