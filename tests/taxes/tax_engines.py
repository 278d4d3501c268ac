"""Tax tests: the engines under test, and terse builders of rules, rule sets and charges.

Every engine in ENGINES computes the same hand-checked cases through the ``tax_engine``
fixture (conftest.py); an engine is a callable (rule set, charges) -> one ChargeTaxes per
charge. A module of its own, not conftest.py: test modules import from it, and another
folder's conftest would answer to that name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from reference_taxes import Charge, ChargeTaxes, tax_charge

from pipelines.taxes.model import (
    BaseShare,
    Jurisdiction,
    JurisdictionLevel,
    Method,
    Rounding,
    RuleSet,
    TaxArea,
    TaxKind,
    TaxOnTaxMode,
    TaxRule,
    Tier,
    TierBasis,
)

TaxEngine = Callable[[RuleSet, list[Charge]], list[ChargeTaxes]]


def _reference(ruleset: RuleSet, charges: list[Charge]) -> list[ChargeTaxes]:
    return [tax_charge(ruleset, charge) for charge in charges]


ENGINES: dict[str, TaxEngine] = {
    "reference": _reference,
    "kernel": lambda rules, charges: _kernel(rules, charges),  # the adapter is at the end
}


# --- builders ------------------------------------------------------------------------------

#: The test area "SF": San Francisco, taxed by the US, California and the city; New York
#: taxes elsewhere.
JURISDICTIONS = {
    "US": Jurisdiction("US", JurisdictionLevel.FEDERAL, "US", "United States", None),
    "CA": Jurisdiction("CA", JurisdictionLevel.STATE, "CA", "California", "US"),
    "SF": Jurisdiction("SF", JurisdictionLevel.CITY, "SAN FRANCISCO", "San Francisco", "CA"),
    "NY": Jurisdiction("NY", JurisdictionLevel.STATE, "NY", "New York", "US"),
}
AREA = TaxArea("SF", "CA", "", "San Francisco", "", ("US", "CA", "SF"))
#: FCC contribution factors of 2025 (OMD public notices), ppm.
USF_FACTORS_2025 = {
    date(2025, 1, 1): 363_000,
    date(2025, 4, 1): 366_000,
    date(2025, 7, 1): 360_000,
    date(2025, 10, 1): 381_000,
}
#: docs/taxes.md's default interstate shares (FCC 06-94 safe harbors for wireless and VoIP).
INTERSTATE_SHARES = {
    "interstate_voice": 1_000_000,
    "international_voice": 1_000_000,
    "wireless_access": 371_000,
    "wireless_usage": 371_000,
    "voip_access": 649_000,
    "voip_line": 649_000,
    "voip_usage": 649_000,
}


def rule(**overrides: Any) -> TaxRule:
    """A California 0% sales tax on everything from 2020, cents half up; override any field.

    ``categories`` and ``exempt_classes`` take any iterable, ``tiers`` (lower, rate_ppm,
    amount_micros) triples.
    """
    for name in ("categories", "exempt_classes"):
        if name in overrides:
            overrides[name] = frozenset(overrides[name])
    if "tiers" in overrides:
        overrides["tiers"] = tuple(Tier(*tier) for tier in overrides["tiers"])
    defaults = TaxRule(
        tax_id="T",
        effective_from=date(2020, 1, 1),
        effective_to=None,
        jurisdiction_id="CA",
        tax_type="sales",
        tax_name="Test tax",
        kind=TaxKind.TAX,
        categories=frozenset(),
        method=Method.PERCENT,
        rate_ppm=0,
        amount_micros=0,
        base_share=BaseShare.FULL,
        tax_on=(),
        calc_order=1,
        exempt_classes=frozenset(),
        is_billable=True,
        rounding=Rounding.HALF_UP,
        decimals=2,
        max_base_micros=0,
        max_tax_micros=0,
        tier_basis=TierBasis.AMOUNT,
        is_usf=False,
    )
    return replace(defaults, **overrides)


def ruleset(
    *rules: TaxRule,
    tax_on_tax: TaxOnTaxMode = TaxOnTaxMode.ORDERED,
    max_iterations: int = 20,
    usf_factors: dict[date, int] | None = None,
    tax_areas: Iterable[TaxArea] = (AREA,),
) -> RuleSet:
    """A rule set of ``rules`` on the one area "SF", with the 2025 FUSF factors."""
    return RuleSet(
        name="test",
        version="test+000000000000",
        currency="USD",
        tax_on_tax=tax_on_tax,
        max_iterations=max_iterations,
        jurisdictions=dict(JURISDICTIONS),
        tax_areas=tuple(tax_areas),
        rules=rules,
        usf_factors=dict(USF_FACTORS_2025 if usf_factors is None else usf_factors),
        interstate_shares=dict(INTERSTATE_SHARES),
    )


def charge(**overrides: Any) -> Charge:
    """A 100.00 local voice charge in "SF" on 2025-05-15 (2025Q2); override any field."""
    defaults = Charge(
        charge_id="c1",
        amount_micros=100_000_000,
        category="local_voice",
        charge_date=date(2025, 5, 15),
        tax_area_id="SF",
    )
    return replace(defaults, **overrides)


def _kernel(ruleset: RuleSet, charges: list[Charge]) -> list[ChargeTaxes]:
    """The Numba engine (``pipelines.taxes.engine``) on an Arrow table of the charges.

    Rows are named by position, so charges sharing an id keep their own lines.
    """
    import pyarrow as pa
    from reference_taxes import TaxLine

    from pipelines.taxes.engine import CHARGE_INPUT_SCHEMA, tax_charges

    rows = [dict(vars(c), charge_id=str(i)) for i, c in enumerate(charges)]
    result = tax_charges(ruleset, pa.Table.from_pylist(rows, schema=CHARGE_INPUT_SCHEMA))
    names = list(TaxLine.__dataclass_fields__)
    lines: dict[int, list[TaxLine]] = {}
    for row in result.lines.to_pylist():
        lines.setdefault(int(row["charge_id"]), []).append(TaxLine(**{n: row[n] for n in names}))
    return [
        ChargeTaxes(c.charge_id, row["status"], row["net_micros"], tuple(lines.get(i, ())))
        for i, (c, row) in enumerate(zip(charges, result.charges.to_pylist(), strict=True))
    ]
