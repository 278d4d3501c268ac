"""Tax rule-set files: a rule set round trips through its canonical files, its version
follows its content and not its formatting, every problem is reported with its file and
line, the FCC factors file loads as it is, and addresses find their tax area."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from tax_engines import AREA, INTERSTATE_SHARES, USF_FACTORS_2025, rule, ruleset

from pipelines.taxes.model import (
    BaseShare,
    Method,
    Rounding,
    RuleSet,
    TaxArea,
    TaxKind,
    TaxOnTaxMode,
    TierBasis,
)
from pipelines.taxes.rules_files import (
    RuleSetError,
    TaxAreaIndex,
    load_ruleset,
    resolve_tax_area,
    write_ruleset,
)

FCC_FACTORS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "samples"
    / "us_tax"
    / "usf_contribution_factors_2024_2026.csv"
)
DOLLAR = 1_000_000


def _example() -> RuleSet:
    """Every feature of the format once: versions, tiers both ways, tax on tax, caps."""
    return ruleset(
        rule(
            tax_id="FUSF",
            jurisdiction_id="US",
            tax_type="usf",
            tax_name="Federal Universal Service Fee",
            kind=TaxKind.SURCHARGE,
            base_share=BaseShare.INTERSTATE,
            exempt_classes={"resale", "lifeline"},
            is_usf=True,
        ),
        rule(
            tax_id="CA_SALES",
            effective_to=date(2025, 6, 1),
            categories={"local_voice", "wireless_access"},
            rate_ppm=50_000,
            tax_on=("FUSF",),
            calc_order=2,
        ),
        rule(tax_id="CA_SALES", effective_from=date(2025, 6, 1), rate_ppm=60_000, calc_order=2),
        rule(
            tax_id="SF_911",
            jurisdiction_id="SF",
            tax_type="911",
            tax_name="San Francisco 911, access line",
            kind=TaxKind.FEE,
            method=Method.PER_LINE,
            amount_micros=350_000,
            calc_order=3,
        ),
        rule(
            tax_id="CA_GROSS",
            method=Method.BRACKET,
            tiers=[(0, 10_000, 0), (1_000 * DOLLAR, 5_000, 0)],
            is_billable=False,
            rounding=Rounding.DOWN,
            decimals=6,
            max_base_micros=5_000 * DOLLAR,
        ),
        rule(
            tax_id="NY_TRUNKS",
            jurisdiction_id="NY",
            method=Method.FIXED_ON_TIER,
            tier_basis=TierBasis.LINES,
            tiers=[(1, 0, 500_000), (10, 0, 4 * DOLLAR)],
            rounding=Rounding.UP,
            max_tax_micros=3 * DOLLAR,
        ),
        tax_areas=(
            AREA,
            TaxArea("CA_REST", "CA", "", "", "", ("US", "CA")),
            TaxArea("NYC", "NY", "", "New York", "", ("US", "NY")),
            TaxArea("NY_REST", "NY", "", "", "", ("US", "NY")),
        ),
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "rules"
    write_ruleset(_example(), path)
    return path


def _version_hash(path: Path) -> str:
    return load_ruleset(path).version.split("+")[1]


# --- round trip and version -------------------------------------------------------------


def test_round_trip(folder, tmp_path):
    loaded = load_ruleset(folder)

    assert re.fullmatch(r"test\+[0-9a-f]{12}", loaded.version)
    assert replace(loaded, version="test+000000000000") == _example()
    write_ruleset(loaded, tmp_path / "again")
    assert load_ruleset(tmp_path / "again") == loaded
    for path in folder.iterdir():
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_load_accepts_the_yaml_file_as_path(folder):
    assert load_ruleset(folder / "ruleset.yaml") == load_ruleset(folder)


def test_written_files_are_the_documented_layout(folder):
    assert sorted(path.name for path in folder.iterdir()) == [
        "interstate_shares.csv",
        "jurisdictions.csv",
        "ruleset.yaml",
        "tax_areas.csv",
        "taxes.csv",
        "tiers.csv",
        "usf_factors.csv",
    ]
    assert (folder / "usf_factors.csv").read_text().splitlines()[:3] == [
        "quarter,contribution_factor",
        "2025Q1,0.363",
        "2025Q2,0.366",
    ]
    assert "wireless_access,0.371," in (folder / "interstate_shares.csv").read_text()


def test_version_follows_content(folder):
    before = _version_hash(folder)
    _replace(folder, "taxes.csv", ",60000,", ",60001,")

    assert _version_hash(folder) != before


def test_version_follows_the_label_not_only_the_hash(folder):
    before = load_ruleset(folder).version
    _replace(folder, "ruleset.yaml", "label: test", "label: 2026.10")

    after = load_ruleset(folder).version
    assert after.startswith("2026.10+")
    assert after.split("+")[1] != before.split("+")[1]


def test_version_ignores_formatting(folder):
    before = _version_hash(folder)
    # Reordered columns and YAML keys, quoting, spaces, blank lines, extra FCC columns
    rows = list(csv.reader(io.StringIO((folder / "taxes.csv").read_text())))
    rotated = io.StringIO()
    csv.writer(rotated, quoting=csv.QUOTE_ALL).writerows([*row[1:], f" {row[0]} "] for row in rows)
    (folder / "taxes.csv").write_text(rotated.getvalue() + "\r\n\r\n")
    yaml_lines = (folder / "ruleset.yaml").read_text().splitlines()
    (folder / "ruleset.yaml").write_text(
        "# tax rules\n" + "\n".join(reversed(yaml_lines)).replace("name: test", 'name: "test"')
    )
    factors = (folder / "usf_factors.csv").read_text().replace("\n", ",approved,\n")
    (folder / "usf_factors.csv").write_text(
        factors.replace("contribution_factor,approved,", "contribution_factor,status,url")
    )
    _replace(folder, "tax_areas.csv", "US|CA|SF", "US | CA | SF")

    assert _version_hash(folder) == before


# --- problems, each with its file and line ------------------------------------------------


def _replace(folder: Path, name: str, old: str, new: str) -> int:
    """Replace ``old`` on the first line holding it; return that line's number."""
    path = folder / name
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if old in line)
    lines[index] = lines[index].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")
    return index + 1


def _append(folder: Path, name: str, row: str) -> int:
    """Add ``row`` to a file; return its line number."""
    path = folder / name
    text = path.read_text()
    path.write_text(text + row + "\n")
    return text.count("\n") + 1


TAX_DEFAULTS = {
    "tax_id": "X",
    "effective_from": "2020-01-01",
    "effective_to": "",
    "jurisdiction_id": "CA",
    "tax_type": "sales",
    "tax_name": "X tax",
    "kind": "tax",
    "categories": "",
    "method": "percent",
    "rate_ppm": "10000",
    "amount_micros": "0",
    "base_share": "full",
    "tax_on": "",
    "calc_order": "5",
    "exempt_classes": "",
    "billable": "true",
    "rounding": "half_up",
    "decimals": "2",
    "max_base_micros": "0",
    "max_tax_micros": "0",
    "tier_basis": "amount",
    "usf": "false",
}


def _tax(**fields: str) -> Callable[[Path], int]:
    """An edit appending a taxes.csv row: the percent tax X in California, with ``fields``."""
    row = ",".join({**TAX_DEFAULTS, **fields}.values())
    return lambda folder: _append(folder, "taxes.csv", row)


def _row(name: str, row: str) -> Callable[[Path], int]:
    return lambda folder: _append(folder, name, row)


def _change(name: str, old: str, new: str) -> Callable[[Path], int]:
    return lambda folder: _replace(folder, name, old, new)


def _problems(folder: Path) -> list[str]:
    with pytest.raises(RuleSetError) as raised:
        load_ruleset(folder)
    return raised.value.problems


@pytest.mark.parametrize(
    ("file", "edit", "fragment"),
    [
        # ruleset.yaml
        ("ruleset.yaml", _change("ruleset.yaml", "rules/1", "rules/2"), "is not telcolake-tax"),
        ("ruleset.yaml", _row("ruleset.yaml", "owner: finance"), "unknown key 'owner'"),
        ("ruleset.yaml", _change("ruleset.yaml", "ordered", "fixed"), "tax_on_tax: 'fixed'"),
        ("ruleset.yaml", _change("ruleset.yaml", "label: test", "label: a+b"), "has a '+'"),
        ("ruleset.yaml", _change("ruleset.yaml", "USD", "usd"), "ISO 4217"),
        ("ruleset.yaml", _change("ruleset.yaml", ": 20", ": many"), "not a whole number"),
        # jurisdictions.csv
        ("jurisdictions.csv", _row("jurisdictions.csv", "TX,province,TX,Texas,US"), "level"),
        ("jurisdictions.csv", _row("jurisdictions.csv", "NY,state,NY,New York,US"), "twice"),
        ("jurisdictions.csv", _row("jurisdictions.csv", "TX,state,TX,Texas,USA"), "parent_id"),
        ("jurisdictions.csv", _row("jurisdictions.csv", "TX,state,TX,Texas"), "4 fields"),
        # tax_areas.csv
        ("tax_areas.csv", _row("tax_areas.csv", "TX,TX,,,,US|TX"), "'TX' is not in juris"),
        ("tax_areas.csv", _row("tax_areas.csv", "TX,TX,,,,"), "jurisdiction_ids is blank"),
        ("tax_areas.csv", _row("tax_areas.csv", "SF2, ca ,,san francisco,,US|CA"), "ties with"),
        ("tax_areas.csv", _row("tax_areas.csv", "SF94,CA,,,94103,US|CA|SF"), "ties with"),
        (
            "tax_areas.csv",
            _row("tax_areas.csv", "SF,CA,,San Francisco,94103,US|CA"),
            "other jurisdictions",
        ),
        # taxes.csv
        ("taxes.csv", _tax(kind="levy"), "kind 'levy'"),
        ("taxes.csv", _tax(method="percentage"), "method 'percentage'"),
        ("taxes.csv", _tax(base_share="half"), "base_share 'half'"),
        ("taxes.csv", _tax(rounding="bankers"), "rounding 'bankers'"),
        ("taxes.csv", _tax(categories="local_voice|satellite"), "'satellite' is not a charge"),
        ("taxes.csv", _tax(exempt_classes="standard"), "exempt_classes: 'standard'"),
        ("taxes.csv", _tax(exempt_classes="veteran"), "exempt_classes: 'veteran'"),
        ("taxes.csv", _tax(decimals="7"), "decimals '7' is above 6"),
        ("taxes.csv", _tax(rate_ppm="-5"), "rate_ppm '-5' is below 0"),
        ("taxes.csv", _tax(jurisdiction_id="TX"), "jurisdiction_id 'TX'"),
        ("taxes.csv", _tax(effective_from="2025-13-01"), "not a date"),
        ("taxes.csv", _tax(effective_to="2020-01-01"), "is not after effective_from"),
        ("taxes.csv", _tax(tax_id="CA_SALES", effective_from="2025-05-01"), "overlap"),
        ("taxes.csv", _tax(tax_on="NOPE"), "'NOPE' is not a tax_id"),
        ("taxes.csv", _tax(tax_on="X"), "names the rule itself"),
        ("taxes.csv", _tax(tax_on="SF_911", calc_order="3"), "not of a lower calc_order"),
        ("taxes.csv", _tax(usf="true", method="fixed"), "a usf rule takes method percent"),
        ("taxes.csv", _tax(tier_basis="lines", method="bracket"), "only for method fixed_on"),
        ("taxes.csv", _tax(method="bracket"), "method bracket needs tiers"),
        ("taxes.csv", _tax(billable="yes"), "billable 'yes'"),
        # tiers.csv
        ("tiers.csv", _row("tiers.csv", "SF_911,2020-01-01,0,0,100"), "has method per_line"),
        ("tiers.csv", _row("tiers.csv", "CA_GROSS,2021-01-01,0,1,0"), "has no version"),
        ("tiers.csv", _row("tiers.csv", "CA_GROSS,2020-01-01,1000,1,0"), "is not above"),
        ("tiers.csv", _row("tiers.csv", "NY_TRUNKS,2020-01-01,20,0,100"), "may not decrease"),
        (
            "tiers.csv",
            _change("tiers.csv", "CA_GROSS,2020-01-01,0,", "CA_GROSS,2020-01-01,-1,"),
            "lower '-1' is below 0",
        ),
        # usf_factors.csv
        ("usf_factors.csv", _row("usf_factors.csv", "2026Q5,0.37"), "quarter '2026Q5'"),
        ("usf_factors.csv", _row("usf_factors.csv", "2026Q1,0.3761234"), "6 decimals"),
        ("usf_factors.csv", _row("usf_factors.csv", "2026Q1,1.2"), "above 1"),
        ("usf_factors.csv", _row("usf_factors.csv", "2025Q2,0.37"), "2025Q2 is given twice"),
        # interstate_shares.csv
        ("interstate_shares.csv", _row("interstate_shares.csv", "satellite,0.5,"), "satellite"),
        ("interstate_shares.csv", _row("interstate_shares.csv", "voip_line,0.5,"), "twice"),
        ("interstate_shares.csv", _row("interstate_shares.csv", "late_fee,50%,"), "0.371"),
    ],
)
def test_each_problem_names_its_file_and_line(folder, file, edit, fragment):
    line = edit(folder)

    (problem,) = _problems(folder)

    assert problem.startswith(f"{file}:{line}: "), problem
    assert fragment in problem, problem


def test_every_problem_is_reported_at_once(folder):
    kind = _tax(kind="levy")(folder)
    tier = _append(folder, "tiers.csv", "SF_911,2020-01-01,0,0,100")
    factor = _append(folder, "usf_factors.csv", "2026Q5,0.37")

    problems = _problems(folder)

    assert [p.split(": ")[0] for p in problems] == [
        f"usf_factors.csv:{factor}",
        f"taxes.csv:{kind}",
        f"tiers.csv:{tier}",
    ]


def test_file_level_problems(folder):
    (folder / "tax_areas.csv").unlink()
    _replace(folder, "taxes.csv", "max_tax_micros,", "")
    jurisdictions = folder / "jurisdictions.csv"
    lines = jurisdictions.read_text().splitlines()
    jurisdictions.write_text("".join(f"{line},population\n" for line in lines))
    (folder / "ruleset.yaml").write_text("format: telcolake-tax-rules/1\nname: test\n")

    problems = _problems(folder)

    assert problems[0] == "ruleset.yaml: missing key(s) label, currency, tax_on_tax, max_iterations"
    assert problems[1] == "jurisdictions.csv:1: unknown column(s) population"
    assert problems[2].startswith("tax_areas.csv: missing in ")
    assert problems[3] == "taxes.csv:1: missing column(s) max_tax_micros"


def test_optional_tables_may_be_left_out(folder):
    for name in ("tiers.csv", "usf_factors.csv", "interstate_shares.csv"):
        (folder / name).unlink()

    problems = _problems(folder)

    # only what needs them complains: the USF rule and the tiered rules
    assert [p.split(": ", 1)[1] for p in problems] == [
        "a usf rule needs the FUSF factors in usf_factors.csv",
        "method bracket needs tiers",
        "method fixed_on_tier needs tiers",
    ]


def test_iterate_allows_any_order_and_needs_two_passes(folder):
    _tax(tax_on="SF_911", calc_order="3")(folder)
    _replace(folder, "ruleset.yaml", "ordered", "iterate")

    assert load_ruleset(folder).tax_on_tax is TaxOnTaxMode.ITERATE
    line = _replace(folder, "ruleset.yaml", "max_iterations: 20", "max_iterations: 1")
    assert _problems(folder) == [f"ruleset.yaml:{line}: max_iterations: '1' is below 2"]


def test_a_more_specific_pattern_decides_a_tie(folder):
    # state + city and state + postal code tie on San Francisco 94103 ...
    _append(folder, "tax_areas.csv", "SF94,CA,,,94103,US|CA|SF")
    # ... unless state + city + postal code names that address
    _append(folder, "tax_areas.csv", "SF,CA,,San Francisco,94103,US|CA|SF")

    index = TaxAreaIndex(load_ruleset(folder))

    assert index.resolve(state="CA", county="", city="San Francisco", postal_code="94103") == "SF"
    assert index.resolve(state="CA", county="", city="Oakland", postal_code="94103") == "SF94"


def test_blank_factors_are_quarters_not_announced_yet(folder):
    _append(folder, "usf_factors.csv", "2026Q3,")

    assert date(2026, 7, 1) not in load_ruleset(folder).usf_factors


# --- the FCC facts file --------------------------------------------------------------------


@pytest.mark.skipif(not FCC_FACTORS.is_file(), reason="the shared samples are not here")
def test_the_fcc_factors_file_loads_as_usf_factors(folder):
    shutil.copyfile(FCC_FACTORS, folder / "usf_factors.csv")

    factors = load_ruleset(folder).usf_factors

    assert factors[date(2025, 4, 1)] == 366_000
    assert factors[date(2024, 1, 1)] == 346_000
    assert factors[date(2025, 10, 1)] == 381_000
    assert min(factors) == date(2024, 1, 1)
    assert max(factors) == date(2026, 4, 1)  # 2026Q3 has no factor in the file
    assert len(factors) == 10


# --- addresses --------------------------------------------------------------------------


@pytest.fixture
def areas() -> TaxAreaIndex:
    return TaxAreaIndex(
        ruleset(
            tax_areas=(
                TaxArea("CA", "CA", "", "", "", ("US", "CA")),
                TaxArea("SF", "CA", "", "San Francisco", "", ("US", "CA", "SF")),
                TaxArea("SF_MISSION", "CA", "", "San Francisco", "94110", ("US", "CA", "SF")),
                TaxArea("US", "", "", "", "", ("US",)),
            )
        )
    )


@pytest.mark.parametrize(
    ("address", "area"),
    [
        (("CA", "", "Fresno", "93650"), "CA"),
        (("CA", "", "San Francisco", "94103"), "SF"),
        (("CA", "", "San Francisco", "94110"), "SF_MISSION"),
        # a county the table does not name matches as any county
        (("CA", "San Francisco", "San Francisco", "94110"), "SF_MISSION"),
        # case and surrounding spaces do not matter; None is empty
        ((" ca ", None, "SAN FRANCISCO ", "94103"), "SF"),
        (("TX", "", "Austin", "78701"), "US"),
    ],
)
def test_the_most_specific_matching_pattern_wins(areas, address, area):
    state, county, city, postal_code = address

    found = areas.resolve(state=state, county=county, city=city, postal_code=postal_code)

    assert found == area


def test_no_matching_pattern_is_none():
    rules = ruleset(tax_areas=(AREA,))

    assert resolve_tax_area(rules, state="NY", county="", city="", postal_code="10001") is None
    assert resolve_tax_area(rules, state="CA", county="", city="Oakland", postal_code="") is None


def test_example_shares_and_factors_survive(folder):
    loaded = load_ruleset(folder)

    assert loaded.interstate_shares == INTERSTATE_SHARES
    assert loaded.usf_factors == USF_FACTORS_2025
