"""CGRateS tariff plan import: every public sample plan, and a clear refusal of what the
model cannot hold (file, line and value named)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.tariffs.cgrates import (
    DEFAULT_CURRENCY,
    CgratesImportError,
    import_plan,
    parse_duration,
    parse_micros,
)
from pipelines.tariffs.model import ANY, MaxCostStrategy, RateSlot, RoundingMethod

SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "cgrates"
SAMPLE_PLANS = (
    "costs1",
    "datachrg1",
    "engine_unit",
    "issue118_30_6",
    "oldtutorial",
    "smschrg1",
    "tutorial",
    "tutorial2",
)


def sample(name: str) -> Path:
    folder = SAMPLES / name
    if not folder.is_dir():
        pytest.skip(f"../shared/samples/cgrates/{name} not available")
    return folder


# --- the public sample plans ------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_PLANS)
def test_every_sample_plan_imports(name):
    imported = import_plan(sample(name))
    catalog = imported.catalog
    assert catalog.version.startswith("cgrates-")
    assert catalog.currency == DEFAULT_CURRENCY
    assert catalog.profiles and catalog.rating_plans
    # Every reference resolves: the reference engine never meets an unknown id.
    for plan in catalog.rating_plans.values():
        for entry in plan.entries:
            assert entry.timing_id in catalog.timings
            for binding in catalog.destination_rates[entry.destination_rates_id]:
                assert binding.rate_id in catalog.rates
                assert binding.destination_id == ANY or binding.destination_id in (
                    catalog.destinations
                )
    for profile in catalog.profiles:
        assert profile.rating_plan_id in catalog.rating_plans
        assert profile.activation.tzinfo is not None


def test_version_is_the_same_for_the_same_files_and_changes_with_them(tmp_path):
    folder = sample("smschrg1")
    assert import_plan(folder).catalog.version == import_plan(folder).catalog.version
    copy = tmp_path / "plan"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    assert import_plan(copy).catalog.version == import_plan(folder).catalog.version
    rates = copy / "Rates.csv"
    rates.write_text(rates.read_text().replace("0.005", "0.006"))
    assert import_plan(copy).catalog.version != import_plan(folder).catalog.version


def test_engine_unit_timings_weekdays_fallbacks_and_categories():
    catalog = import_plan(sample("engine_unit")).catalog
    # WeekDays 1;2;3;4;5 (Go: Monday..Friday) and 6;7 (Go reads 7 % 7 = 0, Sunday).
    assert catalog.timings["WORKDAYS_18"].week_days == {1, 2, 3, 4, 5}
    assert catalog.timings["WORKDAYS_18"].start_second == 18 * 3600
    assert catalog.timings["WEEKENDS"].week_days == {6, 7}
    # ONE_TIME_RUN,2012,,,,*asap: an action-plan timing, imported but used by no plan.
    assert catalog.timings["ONE_TIME_RUN"].years == {2012}
    trp = next(p for p in catalog.profiles if p.subject == "trp")
    assert trp.fallback_subjects == ("rif", "danb")
    assert trp.activation == datetime(2013, 10, 1, tzinfo=UTC)
    assert {p.category for p in catalog.profiles} >= {"0", "call", "data", "LCR_STANDARD"}
    assert any(p.subject == "rif:from:tm" for p in catalog.profiles)
    # Two rows of one rate id are its slots, ordered by GroupIntervalStart (60s then 1s).
    assert catalog.rates["LANDLINE_OFFPEAK"].slots == (
        RateSlot(0, 1_000_000, 1, 60),
        RateSlot(60, 1_000_000, 1, 1),
    )
    # GBP_71: 5.55555 a second; connect fee written 0.000000.
    assert catalog.rates["GBP_71"].slots == (RateSlot(0, 5_555_550, 1, 1),)
    # MaxCost 10 *free / *disconnect; an empty MaxCost is none.
    free = catalog.destination_rates["MX_FREE"][0]
    assert (free.max_cost_micros, free.max_cost_strategy) == (10_000_000, MaxCostStrategy.FREE)
    disconnect = catalog.destination_rates["MX_DISC"][0]
    assert disconnect.max_cost_strategy is MaxCostStrategy.DISCONNECT
    assert catalog.destination_rates["DR_UK_Mobile_BIG5"][0].max_cost_strategy is None
    dy = catalog.destination_rates["RT_DY"]
    assert [(b.rounding_method, b.rounding_decimals) for b in dy] == [
        (RoundingMethod.UP, 2),
        (RoundingMethod.HALF_UP, 4),
    ]
    # Prefixes lose their "+": NAT holds 0256 and +49 as digits.
    assert catalog.destinations["NAT"].prefixes == ("0256", "0257", "0723", "49")


def test_plans_without_destinations_or_timings_files():
    # datachrg1 and smschrg1 have no Destinations.csv: *any destinations only.
    data = import_plan(sample("datachrg1")).catalog
    assert data.destinations == {}
    # 10s and 10 are both 10 units (seconds or bytes): 0.002 per 10.
    assert data.rates["RT_DATA_2c"].slots == (RateSlot(0, 2_000, 10, 10),)
    assert data.rates["RT_DATA_1c"].slots == (RateSlot(0, 1_000, 10, 10),)
    assert data.timings["TM2"].start_second == 3600
    # issue118_30_6 and tutorial have a Timings.csv of comments only; *any is built in.
    canada = import_plan(sample("issue118_30_6")).catalog
    assert set(canada.timings) == {ANY}
    assert canada.rates["RT_Canada"].slots == (
        RateSlot(0, 6_000, 60, 30),
        RateSlot(30, 6_000, 60, 6),
    )


def test_tutorial2_blank_fee_zero_rate_unit_and_the_voicemail_destination():
    imported = import_plan(sample("tutorial2"))
    catalog = imported.catalog
    # RT_120C,,1.2,1m,1s,1m: an empty ConnectFee is 0, 1m is 60.
    assert catalog.rates["RT_120C"].slots[1] == RateSlot(60, 1_200_000, 60, 1)
    # RT_10C_CN,0.1,0,0,1s,0: CGRateS prices a RateUnit of 0 as 1.
    assert catalog.rates["RT_10C_CN"].slots == (RateSlot(0, 0, 1, 1, 100_000),)
    # NEW_YEAR,*any,1,1,*any,00:00:00
    new_year = catalog.timings["NEW_YEAR"]
    assert (new_year.months, new_year.month_days, new_year.week_days) == ({1}, {1}, set())
    # DST_VOICEMAIL's prefix is the word "voicemail": no number can match it, so it is left
    # out with the destination rate and plan entry that only it uses, each with a warning.
    assert "DST_VOICEMAIL" not in catalog.destinations
    assert "DR_VOICEMAIL_FREE" not in catalog.destination_rates
    entries = {e.destination_rates_id for e in catalog.rating_plans["RP_STANDARD"].entries}
    assert "DR_VOICEMAIL_FREE" not in entries and "DR_20_60C" in entries
    assert len(imported.warnings) == 4
    assert "'voicemail'" in imported.warnings[0]


def test_currency_is_an_option():
    assert import_plan(sample("smschrg1"), currency="EUR").catalog.currency == "EUR"


def test_written_as_a_catalog_folder_it_loads_back_the_same(tmp_path):
    catalog_files = pytest.importorskip("pipelines.tariffs.catalog_files")
    for name in SAMPLE_PLANS:
        catalog = import_plan(sample(name)).catalog
        catalog_files.write_catalog(catalog, tmp_path / name)
        loaded = catalog_files.load_catalog(tmp_path / name)
        assert loaded.rates == catalog.rates and loaded.profiles == catalog.profiles, name
        assert loaded.rating_plans == catalog.rating_plans, name
        assert loaded.destination_rates == catalog.destination_rates, name


# --- durations and amounts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("60s", 60),
        ("1m", 60),
        ("1m30s", 90),
        ("1.5m", 90),
        ("1h", 3600),
        ("10", 10),
        ("0", 0),
        ("0s", 0),
        ("", 0),
        ("1500ms", None),  # not whole seconds
        ("60 s", None),
        ("-5", None),
        ("ten", None),
    ],
)
def test_parse_duration(text, units):
    assert parse_duration(text) == units


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("0.4", 400_000),
        ("5.55555", 5_555_550),
        ("0.000001", 1),
        ("0.0000010", 1),  # trailing zeros are no precision
        ("", 0),
        ("0.0000001", None),
        ("1.1234567", None),
        ("abc", None),
        ("NaN", None),
    ],
)
def test_parse_micros(text, micros):
    assert parse_micros(text) == micros


# --- refusals ---------------------------------------------------------------------------


def plan(folder: Path, **files: str) -> Path:
    """A small valid plan (one destination, one rate), with ``files`` replacing its own."""
    base = {
        "Destinations.csv": "#Id,Prefix\nDST_1002,1002\n",
        "Timings.csv": "#Id,Years,Months,MonthDays,WeekDays,Time\n",
        "Rates.csv": "#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart\n"
        "RT_1,0,0.01,1s,1s,0s\n",
        "DestinationRates.csv": "#Id,DestinationId,RatesTag,RoundingMethod,RoundingDecimals,"
        "MaxCost,MaxCostStrategy\nDR_1,DST_1002,RT_1,*up,4,0,\n",
        "RatingPlans.csv": "#Id,DestinationRatesId,TimingTag,Weight\nRP_1,DR_1,*any,10\n",
        "RatingProfiles.csv": "#Tenant,Category,Subject,ActivationTime,RatingPlanId,"
        "RatesFallbackSubject\ncgrates.org,call,*any,2014-01-14T00:00:00Z,RP_1,\n",
    }
    folder.mkdir(exist_ok=True)
    for name, text in {**base, **{f"{k}.csv": v for k, v in files.items()}}.items():
        (folder / name).write_text(text)
    return folder


def test_the_small_plan_imports(tmp_path):
    assert import_plan(plan(tmp_path / "p")).catalog.rates["RT_1"].slots == (
        RateSlot(0, 10_000, 1, 1),
    )


RATES_HEADER = "#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart\n"
DR_HEADER = "#Id,DestinationId,RatesTag,RoundingMethod,RoundingDecimals,MaxCost,MaxCostStrategy\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"Rates": RATES_HEADER + "RT_1,0,0.0000001,1s,1s,0s\n"},
            "Rates.csv line 2: Rate '0.0000001' is not an amount with at most 6 decimals",
        ),
        (
            {"Rates": RATES_HEADER + "RT_1,0.12345678,0.01,1s,1s,0s\n"},
            "Rates.csv line 2: ConnectFee '0.12345678'",
        ),
        (
            {"Rates": RATES_HEADER + "RT_1,0,0.01,1s,1500ms,0s\n"},
            "Rates.csv line 2: RateIncrement '1500ms' is not a whole number of seconds",
        ),
        (
            {"Rates": RATES_HEADER + "RT_1,0,0.01,1s,1s,60s\n"},
            "rate RT_1 has no row with GroupIntervalStart 0",
        ),
        (
            {"DestinationRates": DR_HEADER + "DR_1,DST_1003,RT_1,*up,4,0,\n"},
            "DestinationRates.csv line 2: DestinationId 'DST_1003' is not in Destinations.csv",
        ),
        (
            {"DestinationRates": DR_HEADER + "DR_1,DST_1002,RT_2,*up,4,0,\n"},
            "RatesTag 'RT_2' is not in Rates.csv",
        ),
        (
            {"DestinationRates": DR_HEADER + "DR_1,DST_1002,RT_1,*up,7,0,\n"},
            "RoundingDecimals '7' is outside 0..6",
        ),
        (
            {"DestinationRates": DR_HEADER + "DR_1,DST_1002,RT_1,*nearest,4,0,\n"},
            "RoundingMethod '*nearest'",
        ),
        (
            {"DestinationRates": DR_HEADER + "DR_1,DST_1002,RT_1,*up,4,0.1234567,*free\n"},
            "MaxCost '0.1234567'",
        ),
        (
            {"RatingPlans": "RP_1,DR_2,*any,10\n"},
            "RatingPlans.csv line 1: DestinationRatesId 'DR_2' is not in DestinationRates.csv",
        ),
        ({"RatingPlans": "RP_1,DR_1,PEAK,10\n"}, "TimingTag 'PEAK' is not in Timings.csv"),
        (
            {"RatingPlans": "RP_1,DR_1,ASAP,10\n", "Timings": "ASAP,*any,*any,*any,*any,*asap\n"},
            "TimingTag 'ASAP' starts *asap",
        ),
        (
            {"RatingProfiles": "cgrates.org,call,*any,2014-01-14T00:00:00Z,RP_2,\n"},
            "RatingProfiles.csv line 1: RatingPlanId 'RP_2' is not in RatingPlans.csv",
        ),
        (
            {"RatingProfiles": "cgrates.org,call,*any,2014-01-14 00:00:00,RP_1,\n"},
            "ActivationTime '2014-01-14 00:00:00' is not an RFC 3339 time with an offset",
        ),
        (
            {"Timings": "T,*any,*any,*any,1;8,00:00:00\n"},
            "Timings.csv line 1: WeekDays '8' is outside 0..7",
        ),
        ({"Timings": "T,*any,*any,*any,*any,25:00:00\n"}, "Time '25:00:00' is not a time"),
        ({"RatingPlans": "RP_1,DR_1,*any\n"}, "RatingPlans.csv line 1: expected 4 columns"),
        ({"RatingPlans": "RP_1,DR_1,*any,ten\n"}, "Weight 'ten' is not a whole number"),
    ],
)
def test_refusals_name_file_line_and_value(tmp_path, files, message):
    with pytest.raises(CgratesImportError) as refused:
        import_plan(plan(tmp_path / "p", **files))
    assert message in str(refused.value)


def test_a_missing_required_file_is_named(tmp_path):
    folder = plan(tmp_path / "p")
    (folder / "Rates.csv").unlink()
    with pytest.raises(CgratesImportError, match=r"Rates\.csv: missing"):
        import_plan(folder)
    with pytest.raises(CgratesImportError, match="not a folder"):
        import_plan(tmp_path / "nothing")
