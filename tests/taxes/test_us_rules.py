"""The operator's US rule set: its published files, and bills worked out by hand.

Each expected figure carries its arithmetic; the rates and their sources are in
docs/taxes.md, "Example rule set: Illinois, Indiana, Wisconsin".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from reference_taxes import Charge

from pipelines.taxes.model import RuleSet
from pipelines.taxes.rules_files import TaxAreaIndex, load_ruleset, write_ruleset
from pipelines.taxes.us_rules import us_ruleset

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "tax-rules"
Q2_2025 = date(2025, 4, 1)  # FUSF factor 0.366; Illinois excise 7%
Q3_2025 = date(2025, 7, 1)  # FUSF factor 0.360; Illinois excise 8.65%


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset(EXAMPLE)


def test_published_files_are_the_rule_set_written(tmp_path):
    """docs/examples/tax-rules is write_ruleset(us_ruleset()): the docs cannot drift."""
    write_ruleset(us_ruleset(), tmp_path)
    written = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    published = {path.name: path.read_bytes() for path in EXAMPLE.iterdir()}
    assert written == published


def test_published_files_load(rules):
    assert rules.version.startswith("us-2026q2+")
    assert {rule.tax_id for rule in rules.rules} == {
        "US-FUSF", "IL-TET", "IL-TIMF", "IL-911", "CHI-SMTT", "CHI-911", "CHI-AMUSE",
        "IN-SALES", "IN-911", "WI-SALES", "WI-MKE-COUNTY-SALES", "WI-MKE-CITY-SALES", "WI-PFP",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("state", "county", "city", "area"),
    [
        ("IL", "Cook", "Chicago", "IL-CHICAGO"),
        ("IL", "DuPage", "Chicago", "IL-CHICAGO"),  # O'Hare: Chicago in DuPage County
        (" il ", "COOK", "chicago", "IL-CHICAGO"),  # case and spaces do not matter
        ("IL", "Sangamon", "Springfield", "IL-SPRINGFIELD"),
        ("IL", "Cook", "Evanston", "IL"),  # elsewhere in Illinois: the state 911 surcharge
        ("IN", "Lake", "Gary", "IN-GARY"),
        ("IN", "Marion", "Indianapolis", "IN"),
        ("WI", "Milwaukee", "Milwaukee", "WI-MILWAUKEE"),
        ("WI", "Milwaukee", "Wauwatosa", "WI-MILWAUKEE-COUNTY"),
        ("WI", "Dane", "Madison", "WI"),
        ("OH", "Franklin", "Columbus", None),  # NO_TAX_AREA: the operator serves no Ohio
    ],
)
def test_generator_addresses_find_their_areas(rules, state, county, city, area):
    found = TaxAreaIndex(rules).resolve(state=state, county=county, city=city, postal_code="")
    assert found == area


def _taxes(engine, rules: RuleSet, **fields) -> dict[str, int]:
    """tax_id -> tax micros of one charge, which must tax without error."""
    (result,) = engine(rules, [Charge(charge_id="c1", **fields)])
    assert result.status == "ok"
    return {line.tax_id: line.tax_micros for line in result.lines}


def test_chicago_wireless_line(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=50_000_000,
        category="wireless_access",
        charge_date=Q2_2025,
        tax_area_id="IL-CHICAGO",
    )
    assert taxes == {
        "US-FUSF": 6_780_000,  # 50.00 x 0.371 = 18.55 interstate; x 0.366 = 6.7893, down 6.78
        "IL-TET": 3_500_000,  # 50.00 x 7%
        "CHI-SMTT": 3_500_000,  # 50.00 x 7%
        "CHI-911": 5_000_000,  # 5.00 x 1 line; no Illinois 1.50 in Chicago, no TIMF on wireless
    }


def test_chicago_wireless_line_after_the_july_2025_changes(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=50_000_000,
        category="wireless_access",
        charge_date=Q3_2025,
        tax_area_id="IL-CHICAGO",
    )
    assert taxes == {
        "US-FUSF": 6_670_000,  # 18.55 x 0.360 = 6.678, down 6.67
        "IL-TET": 4_330_000,  # 50.00 x 8.65% = 4.325, half up 4.33
        "CHI-SMTT": 3_500_000,
        "CHI-911": 5_000_000,
    }


def test_springfield_voip_line(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=30_000_000,
        category="voip_access",
        charge_date=Q2_2025,
        tax_area_id="IL-SPRINGFIELD",
    )
    assert taxes == {
        "US-FUSF": 7_120_000,  # 30.00 x 0.649 = 19.47; x 0.366 = 7.12602, down 7.12
        "IL-TET": 2_100_000,  # 30.00 x 7%
        "IL-TIMF": 150_000,  # 30.00 x 0.5% (VoIP is not wireless)
        "IL-911": 1_500_000,  # 1.50 x 1 line outside Chicago
    }


def test_springfield_interstate_call(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=10_000_000,
        category="interstate_voice",
        charge_date=Q2_2025,
        tax_area_id="IL-SPRINGFIELD",
    )
    assert taxes == {
        "US-FUSF": 3_660_000,  # 10.00 x 100% interstate x 0.366
        "IL-TET": 700_000,  # 10.00 x 7%: 35 ILCS 630/4 taxes interstate calls too
        "IL-TIMF": 50_000,  # 10.00 x 0.5%
    }


def test_springfield_lifeline_line_has_no_usf(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=20_000_000,
        category="wireless_access",
        charge_date=Q2_2025,
        tax_area_id="IL-SPRINGFIELD",
        customer_class="lifeline",
    )
    assert taxes == {
        "IL-TET": 1_400_000,  # 20.00 x 7%
        "IL-911": 1_500_000,  # 1.50 x 1 line
    }


def test_indiana_voip_line(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=30_000_000,
        category="voip_access",
        charge_date=Q2_2025,
        tax_area_id="IN-GARY",
    )
    assert taxes == {
        "US-FUSF": 7_120_000,  # 30.00 x 0.649 x 0.366 = 7.12602, down 7.12
        "IN-SALES": 740_000,  # intrastate only: 30.00 x 0.351 = 10.53; x 7% = 0.7371 -> 0.74
        "IN-911": 1_000_000,  # 1.00 x 1 line
    }


def test_milwaukee_wireless_lines(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=40_000_000,
        category="wireless_access",
        charge_date=Q2_2025,
        tax_area_id="WI-MILWAUKEE",
        lines=2,
    )
    assert taxes == {
        "US-FUSF": 5_430_000,  # 40.00 x 0.371 = 14.84; x 0.366 = 5.43144, down 5.43
        "WI-SALES": 2_000_000,  # 40.00 x 5%
        "WI-MKE-COUNTY-SALES": 360_000,  # 40.00 x 0.9%
        "WI-MKE-CITY-SALES": 800_000,  # 40.00 x 2%
        "WI-PFP": 1_500_000,  # 0.75 x 2 lines
    }


def test_wisconsin_government_account_pays_only_the_usf(tax_engine, rules):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=40_000_000,
        category="wireless_access",
        charge_date=Q2_2025,
        tax_area_id="WI-MILWAUKEE",
        customer_class="government",
    )
    # State and local taxes and fees exempt the government; the FUSF line item does not.
    assert taxes == {"US-FUSF": 5_430_000}  # 40.00 x 0.371 x 0.366 = 5.43144, down 5.43


def test_broadband_is_untaxed(tax_engine, rules):
    """ITFA bars state and local tax on internet access; FUSF does not assess it."""
    for area in ("IL-CHICAGO", "IN-GARY", "WI-MILWAUKEE"):
        taxes = _taxes(
            tax_engine,
            rules,
            amount_micros=60_000_000,
            category="internet_access",
            charge_date=Q2_2025,
            tax_area_id=area,
        )
        assert taxes == {}


@pytest.mark.parametrize(
    ("charge_date", "tax"),
    [
        (date(2024, 12, 1), 7_200_000),  # 80.00 x 9%
        (date(2025, 1, 1), 8_200_000),  # 80.00 x 10.25%
    ],
)
def test_chicago_television(tax_engine, rules, charge_date, tax):
    taxes = _taxes(
        tax_engine,
        rules,
        amount_micros=80_000_000,
        category="video_service",
        charge_date=charge_date,
        tax_area_id="IL-CHICAGO",
    )
    assert taxes == {"CHI-AMUSE": tax}


def test_a_quarter_without_a_published_factor(tax_engine, rules):
    (result,) = tax_engine(
        rules,
        [
            Charge(
                charge_id="c1",
                amount_micros=50_000_000,
                category="wireless_access",
                charge_date=date(2026, 7, 1),  # 2026Q3: no OMD public notice yet
                tax_area_id="IL-CHICAGO",
            )
        ],
    )
    assert result.status == "NO_USF_FACTOR"


def test_the_generator_carries_the_last_published_factor_forward():
    # Published through 2026Q2 (37.0%); the operator billed for October 2026 gets 2026Q3 and
    # 2026Q4 at 37.0%, and nothing beyond the month it bills.
    factors = us_ruleset(usf_through=date(2026, 10, 1)).usf_factors
    assert factors[date(2026, 7, 1)] == factors[date(2026, 10, 1)] == 370_000
    assert max(factors) == date(2026, 10, 1)
    assert us_ruleset(usf_through=date(2026, 5, 1)).usf_factors == us_ruleset().usf_factors
