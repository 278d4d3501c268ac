"""Catalog files: the documented example loads as written by hand, round trips, and every
problem in a file is reported with its file and line."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.tariffs.catalog_files import (
    CatalogError,
    catalog_checksum,
    load_catalog,
    write_catalog,
)
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    AggregatePrice,
    Allowance,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    Event,
    ExchangeRate,
    HolidayCalendar,
    HolidayRule,
    MaxCostStrategy,
    Offer,
    PlanEntry,
    PricingModel,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Tier,
    Timing,
)
from pipelines.tariffs.reference import rate_event

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "tariff-catalog"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(EXAMPLE, folder)
    return folder


def _append(folder: Path, name: str, row: str) -> int:
    """Add ``row`` to a CSV and return its line number."""
    path = folder / name
    text = path.read_text()
    path.write_text(text + row + "\n")
    return text.count("\n") + 1


def _replace(folder: Path, name: str, old: str, new: str) -> int:
    """Replace the first line containing ``old`` with ``new``; return its line number."""
    path = folder / name
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if old in line)
    lines[index] = lines[index].replace(old, new)
    path.write_text("\n".join(lines) + "\n")
    return index + 1


def _problems(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    return raised.value.problems


# --- the documented example ------------------------------------------------------------


def test_example_loads_as_documented():
    catalog = load_catalog(EXAMPLE)

    assert re.fullmatch(r"2026\.11\+[0-9a-f]{12}", catalog.version)
    assert catalog.currency == "USD"
    assert catalog.holidays == HolidayCalendar("US", None, frozenset({date(2026, 12, 24)}))
    assert catalog.roaming_zones == {
        "eu": frozenset({"DEU", "FRA", "ESP", "ITA"}),
        "world": frozenset({"MEXTC", "CHNCT"}),
    }
    assert catalog.timings == {
        ANY: ALWAYS,
        "peak": Timing(
            "peak",
            week_days=frozenset({1, 2, 3, 4, 5}),
            start_second=8 * 3600,
            end_second=20 * 3600,
            holidays=HolidayRule.NEVER,
        ),
        "christmas": Timing("christmas", months=frozenset({12}), month_days=frozenset({25})),
    }
    assert catalog.destinations["US_FIXED"] == Destination(
        "US_FIXED", ("1212", "1646"), "New York fixed", DestinationGroup.DOMESTIC
    )
    assert catalog.destinations["ON_NET"].prefixes == ()
    assert catalog.destinations["ON_NET"].group is DestinationGroup.ON_NET
    # 60/1 is two slots: the first minute as a block, then per second.
    assert catalog.rates["DOMESTIC_PEAK"] == Rate(
        "DOMESTIC_PEAK", (RateSlot(0, 20_000, 60, 60), RateSlot(60, 20_000, 60, 1))
    )
    assert catalog.rates["INTERNATIONAL"].slots[0] == RateSlot(0, 150_000, 60, 30, 50_000)
    assert catalog.destination_rates["DR_OTHER"][:2] == (
        DestinationRate(
            "UK",
            "INTERNATIONAL",
            RoundingMethod.UP,
            2,
            max_cost_micros=5_000_000,
            max_cost_strategy=MaxCostStrategy.FREE,
            min_charge_micros=100_000,
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 12, 31),
        ),
        DestinationRate(
            "UK",
            "INTERNATIONAL_2027",
            RoundingMethod.UP,
            2,
            max_cost_micros=5_000_000,
            max_cost_strategy=MaxCostStrategy.FREE,
            min_charge_micros=100_000,
            effective_from=date(2027, 1, 1),
        ),
    )
    assert catalog.destination_rates["DR_OTHER"][3].min_usage == 60
    assert catalog.rating_plans["RP_VOICE"].entries[:2] == (
        PlanEntry("DR_DOMESTIC_PEAK", "peak", 20),
        PlanEntry("DR_DOMESTIC_OFFPEAK", ANY, 10),
    )
    assert catalog.profiles[-1] == RatingProfile(
        "telcolake",
        "voice",
        "MOB-TALK-PROMO",
        datetime(2026, 11, 1, 5, tzinfo=UTC),  # written as midnight at -05:00
        "RP_VOICE",
        ("MOB-TALK",),
    )
    assert catalog.offers[1] == Offer(
        offer_id="MOB-TALK",
        name="Mobile Talk",
        kind="plan",
        service_type="mobile",
        monthly_fee_micros=27_500_000,
        subject="MOB-TALK",
        effective_from=date(2026, 7, 1),
        allowances=(
            Allowance(
                "voice",
                30_000,
                destination_groups=frozenset({DestinationGroup.DOMESTIC, DestinationGroup.MOBILE}),
            ),
            Allowance("data", 2_000_000_000, pooled=True, rollover_cap=1_000_000_000),
        ),
        aggregate_prices=(
            AggregatePrice(
                "data",
                PricingModel.GRADUATED,
                1_000_000,
                (Tier(1000, 10_000), Tier(None, 5_000, flat_fee_micros=2_000_000)),
            ),
        ),
    )
    assert catalog.offers[2].aggregate_prices == (
        AggregatePrice("sms", PricingModel.PACKAGE, 1, (Tier(None, 1_000_000),), 100, 50),
    )
    assert catalog.exchange_rates[0] == ExchangeRate(
        date(2026, 1, 1), "EUR", "USD", Fraction(10845, 10000)
    )


def test_the_doc_shows_the_example_files_as_they_are():
    doc = (EXAMPLE.parents[1] / "tariff-catalog.md").read_text()
    for path in sorted(EXAMPLE.iterdir()):
        language = "yaml" if path.suffix == ".yaml" else "csv"
        assert f"`{path.name}`:\n\n```{language}\n{path.read_text()}```" in doc, path.name


def test_example_rates_a_call_as_the_doc_computes_it():
    """The doc's worked example: a 61 s peak call to London on the 30/6 international rate."""
    catalog = load_catalog(EXAMPLE)
    call = Event(
        tenant="telcolake",
        category="voice",
        subject="MOB-TALK",
        destination="+442071234567",
        start=datetime(2026, 11, 2, 10, 0),
        usage=61,
        start_utc=datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
    )
    rating = rate_event(catalog, call)
    # 0.05 connect + 30 s + 36 s (31 s rounded up to 6 s steps) at 0.15 a minute = 0.215,
    # rounded up to cents.
    assert rating.error is None
    assert [span.billed for span in rating.spans] == [30, 36]
    assert rating.cost_micros == 220_000


# --- writing -------------------------------------------------------------------------------


def test_write_then_load_gives_the_same_catalog_and_the_same_bytes(tmp_path):
    catalog = load_catalog(EXAMPLE)
    write_catalog(catalog, tmp_path / "one")
    assert load_catalog(tmp_path / "one") == catalog
    write_catalog(load_catalog(tmp_path / "one"), tmp_path / "two")
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_awkward_values_round_trip(tmp_path):
    catalog = Catalog(
        version="2027.1 beta",
        currency="EUR",
        destinations={
            'Z,"odd"': Destination('Z,"odd"', ("49", "4915"), 'Düsseldorf, "Altstadt"'),
            "A": Destination("A", ("1",), "", DestinationGroup.PREMIUM),
        },
        timings={
            ANY: ALWAYS,
            "late night": Timing(
                "late night",
                years=frozenset({2027}),
                start_second=22 * 3600 + 30,
                holidays=HolidayRule.ONLY,
            ),
            "true": Timing("true", end_second=1),
        },
        rates={"R": Rate("R", (RateSlot(0, 1, 1, 1, 999_999),))},
        destination_rates={"DR": (DestinationRate(ANY, "R"), DestinationRate("A", "R"))},
        rating_plans={"RP": RatingPlan("RP", (PlanEntry("DR", "late night", -5),))},
        profiles=(
            RatingProfile("t", "voice", ANY, datetime(2027, 1, 1, 0, 0, 1, 5, tzinfo=UTC), "RP"),
        ),
        holidays=HolidayCalendar("NO", None, frozenset(), frozenset({date(2027, 5, 17)})),
        exchange_rates=(ExchangeRate(date(2027, 1, 1), "USD", "EUR", Fraction(1, 3)),),
    )
    write_catalog(catalog, tmp_path)
    loaded = load_catalog(tmp_path)
    assert loaded.version.startswith("2027.1 beta+")
    assert replace(loaded, version=catalog.version) == catalog


def test_version_names_the_content_not_the_formatting(example):
    before = load_catalog(example)
    assert before.version.endswith("+" + catalog_checksum(example)[:12])
    _replace(example, "rates.csv", "DOMESTIC_PEAK,0,0.02,", "DOMESTIC_PEAK,0,0.0200,")
    shutil.move(example / "exchange_rates.csv", example / "fx.csv")
    with (example / "catalog.yaml").open("a") as settings:
        settings.write("files: {exchange_rates: fx.csv}\n")
    assert load_catalog(example).version == before.version
    _replace(example, "rates.csv", "DOMESTIC_PEAK,0,0.0200,", "DOMESTIC_PEAK,0,0.021,")
    assert load_catalog(example).version != before.version


def test_yaml_means_what_a_pricing_team_means(example):
    """YAML 1.1 would read 2026.10 as 2026.1, 20:00 as 1200 and NO (Norway) as false."""
    text = (example / "catalog.yaml").read_text()
    text = text.replace('version: "2026.11"', "version: 2026.10")
    text = text.replace('end: "20:00"', "end: 20:00")
    text = text.replace("country: US", "country: NO")
    text = text.replace('extra: ["2026-12-24"]', "extra: [2026-12-24]")
    (example / "catalog.yaml").write_text(text)
    catalog = load_catalog(example)
    assert catalog.version.startswith("2026.10+")
    assert catalog.timings["peak"].end_second == 20 * 3600
    assert catalog.holidays.country == "NO"
    assert catalog.holidays.extra == frozenset({date(2026, 12, 24)})


# --- problems ----------------------------------------------------------------------------

ROW_PROBLEMS = [
    ("destinations.csv", "X,12a,X,domestic", "prefix is not digits"),
    ("destinations.csv", "X,,X,domestic", "prefix is blank (only on_net may be)"),
    ("destinations.csv", "X,99,X,on_net", "an on_net destination takes an empty prefix"),
    ("destinations.csv", "X,99,X,local", "group is not one of"),
    ("destinations.csv", "UK,44,United Kingdom,international", "repeats an earlier row"),
    ("destinations.csv", "UK,4420,London,international", "name or group differs"),
    ("destinations.csv", "*any,1,X,other", "matches every number"),
    ("rates.csv", "NEW,1,0.01,60,60,0", "rate 'NEW': first slot not at 0"),
    ("rates.csv", "DATA,0,0.01,60,60,0", "group_interval_start 0 is not after"),
    ("rates.csv", "NEW,0,0.01,0,60,0", "rate_unit '0' is below 1"),
    ("rates.csv", "NEW,0,0.01,60,0,0", "increment '0' is below 1"),
    ("rates.csv", "NEW,0,0.0000001,60,60,0", "price '0.0000001' has more than 6 decimals"),
    ("rates.csv", "NEW,0,1.5 EUR,60,60,0", "price '1.5 EUR' is not an amount"),
    ("destination_rates.csv", "DR,NOWHERE,FREE,,,,,,,,", "destination_id 'NOWHERE' is not"),
    ("destination_rates.csv", "DR,UK,NONE,,,,,,,,", "rate_id 'NONE' is not in rates"),
    ("destination_rates.csv", "DR,UK,FREE,up,7,,,,,,", "rounding_decimals '7' is above 6"),
    ("destination_rates.csv", "DR,UK,FREE,bankers,2,,,,,,", "rounding_method 'bankers'"),
    ("destination_rates.csv", "DR,UK,FREE,,,,cut,,,,", "max_cost_strategy 'cut'"),
    (
        "destination_rates.csv",
        "DR,UK,FREE,,,,,,,2026-02-01,2026-01-31",
        "effective_to 2026-01-31 is before effective_from 2026-02-01",
    ),
    ("destination_rates.csv", "DR_OTHER,UK,FREE,,,,,,,2026-06-01,", "prices 'UK' twice"),
    ("rating_plans.csv", "RP,DR_NONE,*any,10", "destination_rates_id 'DR_NONE' is not"),
    ("rating_plans.csv", "RP,DR_SMS,weekend,10", "timing_id 'weekend' is not"),
    ("rating_plans.csv", "RP,DR_SMS,*any,high", "weight 'high' is not a whole number"),
    ("rating_profiles.csv", "t,voice,X,2026-01-01,RP_NONE,", "rating_plan_id 'RP_NONE' is not"),
    ("rating_profiles.csv", "t,voice,X,01/02/2026,RP_SMS,", "activation '01/02/2026'"),
    (
        "rating_profiles.csv",
        "telcolake,voice,MOB-TALK,2026-01-01T00:00:00+00:00,RP_SMS,",
        "repeats an earlier profile",
    ),
    ("offers.csv", "MOB-TALK,Mobile Talk,plan,mobile,30,MOB-TALK,2027-01-01,", "versions of"),
    ("offers.csv", "X,X,bundle,mobile,30,X,2027-01-01,", "kind 'bundle' is not one of"),
    ("allowances.csv", "MOB-TALK,2026-02-01,voice,60,false,0,", "has no version from 2026-02-01"),
    ("allowances.csv", "DATA-PACK,2026-01-01,sms,60,yes,0,", "pooled 'yes' is not true or false"),
    ("allowances.csv", "DATA-PACK,2026-01-01,sms,60,,,domestic;local", "destination_groups"),
    ("aggregate_prices.csv", "DATA-PACK,2026-01-01,mms,tiered,1,,,1,,1,", "model 'tiered'"),
    ("exchange_rates.csv", "2026-01-01,EUR,USD,1.10", "repeats an earlier row"),
    ("exchange_rates.csv", "2026-01-01,EUR,JPY,-160", "rate '-160' is not a positive"),
    ("exchange_rates.csv", "2026-01-01,eur,JPY,160", "source 'eur' is not an ISO 4217"),
]


@pytest.mark.parametrize(("name", "row", "message"), ROW_PROBLEMS)
def test_a_bad_row_is_named_by_file_and_line(example, name, row, message):
    line = _append(example, name, row)
    problems = _problems(example)
    assert any(p.startswith(f"{name}:{line}: ") and message in p for p in problems), problems


def test_tiers_must_grow_and_only_the_last_may_be_open(example):
    line = _append(
        example, "aggregate_prices.csv", "MOB-TALK,2026-07-01,data,graduated,1000000,1,0,3,500,1,0"
    )
    assert any(
        p.startswith(f"aggregate_prices.csv:{line}: 'MOB-TALK' 'data' tier 3: up_to must grow")
        for p in _problems(example)
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("week_days: [mon,", "week_days: [monday,", "timings.peak: week_days"),
        ('start: "08:00"', 'start: "21:00"', "timings.peak: start '21:00' is not before end"),
        ('end: "20:00"', 'end: "25:00"', "timings.peak: '25:00' is not a time of day"),
        ("holidays: never", "holidays: sometimes", "holidays 'sometimes' is not one of"),
        ("country: US", "country: XX", "holidays: Country XX not available"),
        ("  christmas:", "  '*any':", "timings.*any: *any is built in"),
        ("format: telcolake-catalog/1", "format: 2", "format is 2, expected"),
        ("currency: USD", "currency: dollars", "currency 'dollars' is not an ISO 4217 code"),
        ("timings:", "timing:", "unknown setting 'timing'"),
        ("world: [MEXTC,", "world: [mextc,", "'mextc' is neither a TADIG code nor a TADIG country"),
        ("world: [MEXTC,", "world: [DEU, MEXTC,", "roaming_zones: DEU is in zones eu and world"),
    ],
)
def test_a_bad_setting_is_named_in_catalog_yaml(example, old, new, message):
    path = example / "catalog.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    assert any(p.startswith("catalog.yaml: ") and message in p for p in _problems(example))


def test_allowance_destinations_must_name_destinations(example):
    path = example / "allowances.csv"
    lines = path.read_text().splitlines()
    rows = [lines[0] + ",destinations", *(line + "," for line in lines[1:])]
    rows.append("DATA-PACK,2026-01-01,voice,600,false,0,,UK;XX")
    path.write_text("\n".join(rows) + "\n")
    assert any(
        p.startswith(f"allowances.csv:{len(rows)}: ") and "'XX' is not in destinations" in p
        for p in _problems(example)
    )
    rows[-1] = "DATA-PACK,2026-01-01,voice,600,false,0,,UK"
    path.write_text("\n".join(rows) + "\n")
    pack = [o for o in load_catalog(example).offers if o.offer_id == "DATA-PACK"]
    assert [a.destinations for a in pack[0].allowances if a.category == "voice"] == [
        frozenset({"UK"})
    ]


def test_missing_and_malformed_files_are_named(example):
    (example / "rates.csv").unlink()
    (example / "offers.csv").write_text("")
    _replace(example, "rating_plans.csv", "weight", "priority")
    problems = _problems(example)
    assert any(p.startswith("rates.csv: missing in ") for p in problems)
    assert any(p.startswith("offers.csv: empty; the header is offer_id,") for p in problems)
    assert "rating_plans.csv:1: unknown column(s) priority" in problems
    assert "rating_plans.csv:1: missing column(s) weight" in problems


def test_optional_tables_and_columns_may_be_left_out(example):
    for name in ("offers.csv", "allowances.csv", "aggregate_prices.csv", "exchange_rates.csv"):
        (example / name).unlink()
    (example / "rates.csv").write_text("rate_id,group_interval_start,price,rate_unit,increment\n")
    (example / "destination_rates.csv").write_text("destination_rates_id,destination_id,rate_id\n")
    (example / "rating_plans.csv").write_text(
        "rating_plan_id,destination_rates_id,timing_id,weight\n"
    )
    (example / "rating_profiles.csv").write_text(
        "tenant,category,subject,activation,rating_plan_id\n"
    )
    catalog = load_catalog(example)
    assert catalog.offers == () and catalog.exchange_rates == () and catalog.rates == {}


# --- a large deck --------------------------------------------------------------------------


def test_a_deck_of_200k_prefixes_loads(example):
    destinations = ["destination_id,prefix,name,group"]
    bindings = ["destination_rates_id,destination_id,rate_id"]
    for number in range(200_000):
        destination = f"D{number // 10}"
        destinations.append(
            f"{destination},{10_000_000 + number},Zone {number // 10},international"
        )
        if number % 10 == 0:
            bindings.append(f"DR_BIG,{destination},INTERNATIONAL")
    (example / "destinations.csv").write_text("\n".join(destinations) + "\n")
    (example / "destination_rates.csv").write_text("\n".join(bindings) + "\n")
    (example / "rating_plans.csv").write_text(
        "rating_plan_id,destination_rates_id,timing_id,weight\nRP_VOICE,DR_BIG,*any,10\n"
    )
    (example / "rating_profiles.csv").write_text(
        "tenant,category,subject,activation,rating_plan_id\nt,voice,*any,2026-01-01,RP_VOICE\n"
    )

    catalog = load_catalog(example)

    assert len(catalog.destinations) == 20_000
    assert sum(len(d.prefixes) for d in catalog.destinations.values()) == 200_000
    assert catalog.destinations["D12345"] == Destination(
        "D12345",
        tuple(str(10_123_450 + i) for i in range(10)),
        "Zone 12345",
        DestinationGroup.INTERNATIONAL,
    )
    assert len(catalog.destination_rates["DR_BIG"]) == 20_000
    assert catalog.destination_rates["DR_BIG"][12345] == DestinationRate("D12345", "INTERNATIONAL")


# --- the command -------------------------------------------------------------------------


def test_catalog_check_prints_version_and_counts(capsys):
    assert main(["catalog", "check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert load_catalog(EXAMPLE).version in out
    assert "destinations 8 (8 prefixes), timings 3, rates 8, destination rates 13" in out


def test_catalog_check_prints_the_problems(example, capsys):
    line = _append(example, "rates.csv", "NEW,1,0.01,60,60,0")
    assert main(["catalog", "check", str(example)]) == 1
    assert f"rates.csv:{line}: rate 'NEW': first slot not at 0" in capsys.readouterr().out
