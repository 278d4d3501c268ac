"""telcolake rate-events: events of every public CGRateS sample plan rated in both money
modes against costs computed by hand, the errors, and the command end to end.

Hand computations: exact mode adds exact fractions and rounds once per event; cgrates mode
prices each span as CGRateS does (cgrates_money): span cost rounded to G = 5 decimals
(*middle), divided by its increments, each increment's cost rounded to G again, then the
rating's own rounding of the total.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.tariffs.cgrates import import_plan
from pipelines.tariffs.cgrates_money import cgrates_cost, go_round
from pipelines.tariffs.events import (
    COST_COLUMNS,
    EventRow,
    EventsFileError,
    InputError,
    MoneyMode,
    cost_record,
    parse_answer_time,
    parse_usage,
    rate_rows,
    read_events,
)

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
HEADER = "event_id,tenant,category,subject,destination,tor,answer_time,usage\n"


def sample(name: str) -> Path:
    folder = SAMPLES / name
    if not folder.is_dir():
        pytest.skip(f"../shared/samples/cgrates/{name} not available")
    return folder


def rate(folder: str, line: str, money: str, decimals: int = 5, tmp: Path | None = None):
    """The output record of one events line (tenant,...,usage) against a sample plan."""
    catalog = import_plan(sample(folder)).catalog
    assert tmp is not None
    events = tmp / "events.csv"
    events.write_text(HEADER + "e1," + line + "\n")
    (record,) = rate_rows(catalog, read_events(events), MoneyMode(money), decimals)
    return record


# (plan, events line, exact cost, cgrates cost); dates: 2024-03-04 and 2019-03-04 are
# Mondays, 2013-10-01 and 2014-03-04 Tuesdays.
CASES = [
    # costs1: +4915123 -> longest prefix 4915 (GERMANY_MOBILE, not GERMANY +49), RT_1CENT
    # is 1 per 1s: 90 s * 1 = 90 in both modes (1 per increment has no decimals to lose).
    ("costs1", "cgrates.org,call,x,+4915123,*voice,2024-03-04T10:00:00+01:00,90s", "90", "90"),
    # costs1 data: 25 units in increments of 10 -> 30 billed; 3 * 0.002 = 0.006.
    ("costs1", "cgrates.org,data,x,,*data,2024-03-04T10:00:00+01:00,25", "0.006", "0.006"),
    # datachrg1, the costs CGRateS's own general_tests/datachrg1_test.go expects: TM1 from
    # 00:00 prices 0.002 per 10 (20 -> 0.004); TM2 from 01:00, same weight, starts later so
    # wins: 0.001 per 10 (20 -> 0.002); data takes the band at its start (00:59:50 -> TM1).
    ("datachrg1", "cgrates.org,data,12345,,*data,2014-03-04T00:00:00Z,20", "0.004", "0.004"),
    ("datachrg1", "cgrates.org,data,12345,,*data,2014-03-04T01:00:00Z,20", "0.002", "0.002"),
    ("datachrg1", "cgrates.org,data,12345,,*data,2014-03-04T00:59:50Z,20s", "0.004", "0.004"),
    # engine_unit, CUSTOMER_1/0/rif:from:tm: STANDARD from 2012-02-28, Tuesday 10:00 is
    # WORKDAYS_00 -> GERMANY (49) -> R1 0.2 per 60 s by 1 s. Exact: 60 * 0.2/60 = 0.2.
    # cgrates: 0.2 / 60 increments = 0.0033333 -> 0.00333 each; 60 * 0.00333 = 0.1998.
    (
        "engine_unit",
        "CUSTOMER_1,0,rif:from:tm,49123,*voice,2013-10-01T10:00:00Z,60s",
        "0.2",
        "0.1998",
    ),
    # engine_unit max at 19:00: WORKDAYS_18 (MX_FREE) beats WORKDAYS_00 (MX_DISC) at equal
    # weight by its later start; 20 s * 1 = 20 capped at MaxCost 10 (*free).
    ("engine_unit", "cgrates.org,call,max,0723123,*voice,2013-10-01T19:00:00Z,20s", "10", "10"),
    # ... and at 10:00 MX_DISC: *disconnect leaves the cost at 20.
    ("engine_unit", "cgrates.org,call,max,0723123,*voice,2013-10-01T10:00:00Z,20s", "20", "20"),
    # engine_unit dy: DY connect fee 0.15, 0.05 per 60 s by 1 s, *up to 2 decimals.
    # Exact: 0.15 + 61 * 0.05/60 = 0.200833.. -> 0.21. cgrates: 0.0508333 -> 0.05083 over
    # 61 increments = 0.00083 each; 0.15 + 61 * 0.00083 = 0.20063 -> *up 2 -> 0.21.
    ("engine_unit", "cgrates.org,call,dy,0723123,*voice,2015-03-03T10:00:00Z,61s", "0.21", "0.21"),
    # issue118_30_6, the three calls of cgrates/cgrates#118 (0.006 per 60 s, 30 s blocks
    # then 6 s blocks from 30 s): 32 s = 0.003 + 1 * 0.0006 = 0.0036; 57 s = 0.003 +
    # 5 * 0.0006 = 0.006; 75 s = 0.003 + 8 * 0.0006 = 0.0078. Block prices have 4 decimals,
    # so G = 5 loses nothing and both modes agree (the difference needs G < 4, below).
    (
        "issue118_30_6",
        "cgrates.org,call,a,15551234567,*voice,2024-03-04T10:00:00Z,32s",
        "0.0036",
        "0.0036",
    ),
    (
        "issue118_30_6",
        "cgrates.org,call,a,15551234567,*voice,2024-03-04T10:00:00Z,57s",
        "0.006",
        "0.006",
    ),
    (
        "issue118_30_6",
        "cgrates.org,call,a,15551234567,*voice,2024-03-04T10:00:00Z,75s",
        "0.0078",
        "0.0078",
    ),
    # oldtutorial 1001 -> 1002 Tuesday 10:00 (PEAK): RT_20CNT fee 0.4, first 60 s block 0.2,
    # then 0.1 per 60 s by 1 s. Exact: 0.4 + 0.2 + 30 * 0.1/60 = 0.65. cgrates: 0.05 over
    # 30 increments = 0.0016667 -> 0.00167; 30 * 0.00167 = 0.0501; 0.6501.
    (
        "oldtutorial",
        "cgrates.org,call,1001,1002,*voice,2014-03-04T10:00:00+01:00,90s",
        "0.65",
        "0.6501",
    ),
    # oldtutorial 1005 (-> *any, RP_RETAIL1) -> 1002 Tuesday 20:00: prefix 10 (DST_FS),
    # OFFPEAK_EVENING (19:00) beats OFFPEAK_MORNING; RT_10CNT fee 0.2, 0.1 first minute,
    # then 0.05 per 60 s by 1 s. Exact: 0.2 + 0.1 + 30 * 0.05/60 = 0.325. cgrates: 0.025 over
    # 30 = 0.00083333 -> 0.00083; 30 * 0.00083 = 0.0249; 0.3249 (here CGRateS charges less).
    (
        "oldtutorial",
        "cgrates.org,call,1005,1002,*voice,2014-03-04T20:00:00+01:00,90s",
        "0.325",
        "0.3249",
    ),
    # oldtutorial 1001 -> 1007: 0.01 per s, 70 s = 0.7 capped at MaxCost 0.62 (*free); the
    # *any subject gets DR_1007_MAXCOST_DISC, which leaves 0.7.
    (
        "oldtutorial",
        "cgrates.org,call,1001,1007,*voice,2014-03-04T10:00:00+01:00,70s",
        "0.62",
        "0.62",
    ),
    (
        "oldtutorial",
        "cgrates.org,call,1005,1007,*voice,2014-03-04T10:00:00+01:00,70s",
        "0.7",
        "0.7",
    ),
    # smschrg1: 0.005 per message.
    ("smschrg1", "cgrates.org,sms,x,,*sms,2024-03-04T10:00:00+01:00,5", "0.025", "0.025"),
    ("smschrg1", "cgrates.org,sms,x,,*sms,2024-03-04T10:00:00+01:00,1", "0.005", "0.005"),
    # tutorial 1001 -> 1002, 2 min: RP_1001 (activated 2014, later than RP_1002 of 2010),
    # RT_20CNT: 0.4 + 0.2 + 60 * 0.1/60 = 0.7; cgrates: 0.1 over 60 = 0.0016667 -> 0.00167;
    # 60 * 0.00167 = 0.1002; 0.7002.
    ("tutorial", "cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00+01:00,2m", "0.7", "0.7002"),
    # tutorial 1001 -> 1003: 0.01 per s, 20 s = 0.2; MaxCost 0.12 *disconnect keeps 0.2.
    ("tutorial", "cgrates.org,call,1001,1003,*voice,2024-03-04T10:00:00+01:00,20s", "0.2", "0.2"),
    ("tutorial", "cgrates.org,sms,1001,,*sms,2024-03-04T10:00:00+01:00,3", "0.03", "0.03"),
    # tutorial2 1002 (-> *any, RP_STANDARD) -> 1005 Monday 10:00: DST_10 at PEAK, RT_120C:
    # fee 0.2, first minute 1.2, then 1.2 per 60 s by 1 s: 0.2 + 1.2 + 30 * 0.02 = 2.
    ("tutorial2", "cgrates.org,call,1002,1005,*voice,2019-03-04T10:00:00+01:00,90s", "2", "2"),
    # ... starting 07:59:30: 30 s OFFPEAK_MORNING at RT_60C (fee 0.1, 0.01 per s) = 0.3,
    # then PEAK RT_120C's first block (60 s, 1.2) from 30 s into the call: GroupIntervalStart
    # counts from the call's start, and the fee is the first span's: 0.1 + 0.3 + 1.2 = 1.6.
    ("tutorial2", "cgrates.org,call,1002,1005,*voice,2019-03-04T07:59:30+01:00,90s", "1.6", "1.6"),
    # tutorial2 data: 2049 bytes in 1024 blocks -> 3 blocks at 1 = 3.
    ("tutorial2", "cgrates.org,data,1001,,*data,2019-03-04T10:00:00+01:00,2049", "3", "3"),
    # tutorial2 RPF_SPECIAL_BLC: RT_10C_CN is a connect fee of 0.1 and a rate of 0.
    (
        "tutorial2",
        "cgrates.org,call,RPF_SPECIAL_BLC,1005,*voice,2019-03-04T10:00:00+01:00,90s",
        "0.1",
        "0.1",
    ),
    # tutorial2 1001 -> 1002 at 23:59:30, 60 s (RP_1001: RT_60C, fee 0.1, 0.01 per s). The
    # call is split at midnight into two alike 30 s spans. Exact: 0.1 + 60 * 0.01 = 0.7.
    # CGRateS compresses alike timespans into one with factor 2 before it adds the fee to
    # the first, and multiplies: (0.1 + 30 * 0.01) * 2 = 0.8 (engine/calldesc.go GetCost).
    ("tutorial2", "cgrates.org,call,1001,1002,*voice,2019-03-04T23:59:30+01:00,60s", "0.7", "0.8"),
]


@pytest.mark.parametrize(("folder", "line", "exact", "cgrates"), CASES)
def test_sample_plan_events_in_both_money_modes(tmp_path, folder, line, exact, cgrates):
    exact_record = rate(folder, line, "exact", tmp=tmp_path)
    cgrates_record = rate(folder, line, "cgrates", tmp=tmp_path)
    assert exact_record["error"] == cgrates_record["error"] == ""
    assert exact_record["cost"] == exact
    assert cgrates_record["cost"] == cgrates
    assert int(exact_record["cost_micros"]) == round(float(exact) * 1_000_000)
    assert (exact_record["money_mode"], cgrates_record["money_mode"]) == ("exact", "cgrates")


def test_every_sample_plan_has_two_hand_computed_events():
    folders = [case[0] for case in CASES]
    for name in SAMPLE_PLANS:
        assert folders.count(name) >= 2, name


def test_issue118_differs_when_the_engine_keeps_3_decimals(tmp_path):
    # With rounding_decimals 3 a 6 s block (0.0006) costs 0.001 in CGRateS: a 32 s call is
    # 0.003 + 0.001 = 0.004 instead of the exact 0.003 + 0.0006 = 0.0036.
    line = "cgrates.org,call,a,15551234567,*voice,2024-03-04T10:00:00Z,32s"
    assert rate("issue118_30_6", line, "exact", 3, tmp=tmp_path)["cost"] == "0.0036"
    assert rate("issue118_30_6", line, "cgrates", 3, tmp=tmp_path)["cost"] == "0.004"


def test_the_output_names_what_priced_the_event(tmp_path):
    record = rate(
        "tutorial2",
        "cgrates.org,call,1002,1005,*voice,2019-03-04T07:59:30+01:00,90s",
        "exact",
        tmp=tmp_path,
    )
    assert record == {
        "event_id": "e1",
        "cost": "1.6",
        "cost_micros": "1600000",
        "error": "",
        "error_detail": "",
        "subject": "*any",
        "rating_plan": "RP_STANDARD",
        "destination_id": "DST_10",
        "prefix": "10",
        "rate": "RT_60C;RT_120C",
        "timing": "OFFPEAK_MORNING;PEAK",
        "billed_usage": "90",
        "allowance_units": "0",
        "money_mode": "exact",
    }


def test_fallback_subject_is_reported(tmp_path):
    # vdf/0/fall: PREMIUM has no NAT destination, so its fallback subject rif (EVENING) rates
    # 0256123: R4 connect fee 1 + 60 s * 1 = 61.
    record = rate(
        "engine_unit", "vdf,0,fall,0256123,*voice,2013-10-01T10:00:00Z,60s", "exact", tmp=tmp_path
    )
    assert (record["cost"], record["subject"], record["rating_plan"]) == ("61", "rif", "EVENING")


def test_profile_activation_is_utc_and_bands_are_local(tmp_path):
    # tutorial: 1001 has RP_1002 from 2010 and RP_1001 from 2014-01-14T00:00Z. 00:30 at +01:00
    # is 23:30Z the day before, so RP_1002 still applies; it prices 1001 only (RT_20CNT:
    # 0.4 + 0.2 for a first minute) and 1002 is unauthorized.
    before = "cgrates.org,call,1001,{},*voice,2014-01-14T00:30:00+01:00,60s"
    after = "cgrates.org,call,1001,{},*voice,2014-01-14T01:30:00+01:00,60s"
    assert rate("tutorial", before.format("1001"), "exact", tmp=tmp_path)["cost"] == "0.6"
    assert (
        rate("tutorial", before.format("1002"), "exact", tmp=tmp_path)["error"]
        == "UNAUTHORIZED_DESTINATION"
    )
    assert rate("tutorial", after.format("1002"), "exact", tmp=tmp_path)["cost"] == "0.6"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        # tutorial's RP_1001 prices 1002 and 1003 only.
        ("cgrates.org,call,1001,1004,*voice,2024-03-04T10:00:00Z,20s", "UNAUTHORIZED_DESTINATION"),
        # no profile for subject 9999 and no *any for category call.
        ("cgrates.org,call,9999,1002,*voice,2024-03-04T10:00:00Z,20s", "RATING_PLAN_NOT_FOUND"),
        ("cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00Z,2x", "BAD_USAGE"),
        ("cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00Z,1.5s", "BAD_USAGE"),
        ("cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00,20s", "BAD_ANSWER_TIME"),
        ("cgrates.org,call,1001,1002,*voice,yesterday,20s", "BAD_ANSWER_TIME"),
        ("cgrates.org,call,1001,1002,*fax,2024-03-04T10:00:00Z,20s", "BAD_TOR"),
        ("cgrates.org,call,,1002,*voice,2024-03-04T10:00:00Z,20s", "MISSING_FIELD"),
    ],
)
def test_errors_are_written_not_raised(tmp_path, line, error):
    for money in ("exact", "cgrates"):
        record = rate("tutorial", line, money, tmp=tmp_path)
        assert record["error"] == error
        assert record["cost"] == record["cost_micros"] == ""


def test_bad_rows_carry_their_reason():
    record = cost_record(
        EventRow("7", None, InputError.BAD_USAGE, "usage '2x' is ..."), MoneyMode.EXACT
    )
    assert (record["event_id"], record["error"], record["error_detail"]) == (
        "7",
        "BAD_USAGE",
        "usage '2x' is ...",
    )


def test_event_id_defaults_to_the_line_number(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(
        "tenant,category,subject,destination,tor,answer_time,usage\n"
        "cgrates.org,sms,1001,,*sms,2024-03-04T10:00:00Z,1\n"
        "cgrates.org,sms,1001,,,2024-03-04T10:00:00Z,1\n"
    )
    rows = list(read_events(events))
    assert [row.event_id for row in rows] == ["2", "3"]
    assert rows[0].event is not None and not rows[0].event.time_based
    # An empty tor is CGRateS's default, *voice.
    assert rows[1].event is not None and rows[1].event.time_based


def test_a_file_without_the_columns_is_refused(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("tenant,subject\nx,y\n")
    with pytest.raises(EventsFileError, match="missing column"):
        list(read_events(events))


@pytest.mark.parametrize(
    ("text", "units"),
    [("90s", 90), ("1m30s", 90), ("1h", 3600), ("1024", 1024), ("0", 0), (" 60s ", 60)],
)
def test_parse_usage(text, units):
    assert parse_usage(text) == units


@pytest.mark.parametrize("text", ["", "2x", "1.5s", "-3", "90 s"])
def test_parse_usage_refuses(text):
    with pytest.raises(ValueError, match="is not a whole number"):
        parse_usage(text)


def test_answer_time_keeps_the_wall_clock_and_gives_utc():
    local, utc = parse_answer_time("2024-03-04T00:30:00+01:00")
    assert local.isoformat() == "2024-03-04T00:30:00"
    assert utc.isoformat() == "2024-03-03T23:30:00+00:00"


# --- Go's utils.Round ---------------------------------------------------------------------


def test_go_round():
    # *middle: 0.0016666.. * 1e5 = 166.67 -> 167 -> 0.00167.
    assert go_round(0.1 / 60, 5, "*middle") == 0.00167
    assert go_round(0.00125, 4, "*middle") == 0.0013
    # *up rounds up only a fraction of at least 1e-7 of the last decimal: 0.123400000001 is
    # 1234.00000001 ten-thousandths, so it stays 0.1234 (exact *up would give 0.1235).
    assert go_round(0.123400000001, 4, "*up") == 0.1234
    assert go_round(0.12341, 4, "*up") == 0.1235
    assert go_round(0.12349, 4, "*down") == 0.1234
    # No method (0 decimals in every rating): CGRateS does not round.
    assert go_round(0.123456, 0, "") == 0.123456


def test_cgrates_cost_refuses_an_unrated_event(tmp_path):
    catalog = import_plan(sample("tutorial")).catalog
    events = tmp_path / "events.csv"
    events.write_text(HEADER + "e,cgrates.org,call,1001,1004,*voice,2024-03-04T10:00:00Z,20s\n")
    from pipelines.tariffs.reference import rate_event

    (row,) = read_events(events)
    assert row.event is not None
    with pytest.raises(ValueError, match="unrated"):
        cgrates_cost(rate_event(catalog, row.event), time_based=True)


# --- the command ----------------------------------------------------------------------------


def test_rate_events_command_writes_the_costs_csv(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text(
        HEADER
        + "a1,cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00+01:00,2m\n"
        + "a2,cgrates.org,call,1001,1004,*voice,2024-03-04T10:00:00+01:00,20s\n"
        + "a3,cgrates.org,sms,1001,,*sms,2024-03-04T10:00:00+01:00,3\n"
        + "a4,cgrates.org,call,1001,1002,*voice,2024-03-04T10:00:00+01:00,2x\n"
    )
    out = tmp_path / "out" / "costs.csv"
    plan = str(sample("tutorial"))
    args = ["rate-events", "--plan", plan, "--events", str(events), "--out", str(out)]
    assert main([*args, "--money", "cgrates"]) == 0
    assert "rated 2 of 4 events" in capsys.readouterr().out
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COST_COLUMNS
    assert [(r["event_id"], r["cost"], r["error"]) for r in rows] == [
        ("a1", "0.7002", ""),
        ("a2", "", "UNAUTHORIZED_DESTINATION"),
        ("a3", "0.03", ""),
        ("a4", "", "BAD_USAGE"),
    ]
    assert main(args) == 0  # exact money by default
    with out.open(newline="") as handle:
        assert next(csv.DictReader(handle))["cost"] == "0.7"


def test_rate_events_command_refuses_a_bad_plan(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text(HEADER)
    code = main(
        ["rate-events", "--plan", str(tmp_path / "none"), "--events", str(events), "--out", "x"]
    )
    assert code == 2
    assert "cannot rate" in capsys.readouterr().out


def test_import_cgrates_then_rate_the_catalog_folder(tmp_path):
    pytest.importorskip("pipelines.tariffs.catalog_files")
    catalog = tmp_path / "catalog"
    assert main(["import-cgrates", str(sample("oldtutorial")), "--out", str(catalog)]) == 0
    assert (catalog / "catalog.yaml").is_file()
    events = tmp_path / "events.csv"
    events.write_text(
        HEADER + "b1,cgrates.org,call,1001,1002,*voice,2014-03-04T10:00:00+01:00,90s\n"
    )
    out = tmp_path / "costs.csv"
    assert (
        main(["rate-events", "--plan", str(catalog), "--events", str(events), "--out", str(out)])
        == 0
    )
    with out.open(newline="") as handle:
        assert next(csv.DictReader(handle))["cost"] == "0.65"


def test_naive_and_aware_activations_compare_as_utc():
    # model.RatingProfile reads a naive activation as UTC; a catalog may hold both kinds.
    import dataclasses
    from datetime import UTC, datetime

    from pipelines.tariffs.reference import active_profile

    catalog = import_plan(sample("tutorial")).catalog
    profiles = tuple(
        dataclasses.replace(p, activation=p.activation.replace(tzinfo=None))
        if p.rating_plan_id == "RP_1002"
        else p
        for p in catalog.profiles
    )
    mixed = dataclasses.replace(catalog, profiles=profiles)
    at = datetime(2020, 1, 1, tzinfo=UTC)
    chosen = active_profile(mixed, "cgrates.org", "call", "1001", at)
    assert chosen is not None and chosen.rating_plan_id == "RP_1001"
