"""Carrier invoices: the carriers' own rater on hand-worked calls, the invoice files'
arithmetic, and a generated operator's invoices checked against the pipeline's rated legs:
equal row for row outside the manifest, different on each manifest cell as its type says.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from generated_operator import mediate_period

from pipelines import lake
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.generate.carrier_invoices import (
    LOST_FILE,
    RATE_MISMATCH,
    RECORDS_MISSING,
    CarriedCall,
    Line,
    MonthInvoices,
    ignore_rate_change,
    invoice_rows,
)
from pipelines.generate.carrier_rating import CarrierRater, billable_seconds, call_amount_micros
from pipelines.rating.stage import rate_period

CHICAGO = ZoneInfo("America/Chicago")
PERIOD = "2026-10"


def _rows(header: str, *lines: str) -> list[dict[str, str]]:
    return list(csv.DictReader([header, *lines]))


CARRIERS = _rows(
    "carrier_id,currency,rounding_method,rounding_decimals,dispute_tolerance_micros,"
    "dispute_tolerance_bp",
    "CR-LEC,USD,half_up,4,500000,100",
    "CR-MOB,USD,up,4,500000,100",
    "CR-INTL,USD,half_up,4,1000000,50",
    "CR-SAT,USD,up,2,250000,0",
)
RATES = _rows(
    "carrier_id,direction,prefix,destination_name,price_micros,first_increment,increment,"
    "effective_from,effective_to",
    "CR-LEC,termination,1,United States and Canada,4000,6,6,2019-01-01,",
    "CR-LEC,origination,1,From United States and Canada,2500,6,6,2019-01-01,",
    "CR-MOB,termination,1,United States and Canada (transit),9000,6,6,2019-01-01,",
    "CR-MOB,termination,1312998,Prairie Wireless numbers,5000,6,6,2019-01-01,",
    "CR-INTL,termination,44,United Kingdom,12000,1,1,2019-01-01,",
    "CR-INTL,termination,447,United Kingdom mobile,45000,1,1,2019-01-01,",
    "CR-INTL,termination,63,Philippines,150000,1,1,2019-01-01,2026-10-15",
    "CR-INTL,termination,63,Philippines,130000,1,1,2026-10-16,",
    "CR-SAT,termination,881,Global Mobile Satellite System,3800000,60,60,2019-01-01,",
)
PORTED = _rows(
    "number,lrn,spid,effective_from,effective_to",
    "17735550123,13129980000,7202,2025-03-01,",
    "13125550199,13129980000,7202,2024-01-01,2024-06-30",
)
DAY = date(2026, 10, 5)


@pytest.fixture(scope="module")
def rater() -> CarrierRater:
    return CarrierRater(CARRIERS, RATES, PORTED)


# --- the carriers' rater ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "first", "increment", "billed"),
    [
        (61, 1, 1, 61), (1, 1, 1, 1), (0, 1, 1, 0),
        (61, 6, 6, 66), (6, 6, 6, 6), (1, 6, 6, 6), (7, 6, 6, 12), (0, 6, 6, 0),
        (60, 60, 60, 60), (61, 60, 60, 120), (1, 60, 60, 60),
        (10, 30, 6, 30), (31, 30, 6, 36), (36, 30, 6, 36),
    ],
)  # fmt: skip
def test_billable_seconds_are_the_first_block_then_every_started_increment(
    duration: int, first: int, increment: int, billed: int
) -> None:
    assert billable_seconds(duration, first, increment) == billed


@pytest.mark.parametrize(
    ("price", "seconds", "decimals", "method", "micros"),
    [
        # 45_000 * 7 / 60 = 5_250 micros: 52.5 hundredths of a cent, half a cent and a quarter
        (45_000, 7, 4, "half_up", 5_300), (45_000, 7, 4, "up", 5_300),
        (45_000, 7, 4, "down", 5_200), (45_000, 7, 2, "half_up", 10_000),
        (45_000, 7, 2, "up", 10_000), (45_000, 7, 2, "down", 0),
        # 12_000 * 13 / 60 = 2_600 micros: exact in 4 decimals, 0.26 of a cent
        (12_000, 13, 4, "half_up", 2_600), (12_000, 13, 4, "up", 2_600),
        (12_000, 13, 2, "half_up", 0), (12_000, 13, 2, "up", 10_000),
        # 20_000 * 7 / 60 = 2_333.33... micros: never exact
        (20_000, 7, 4, "half_up", 2_300), (20_000, 7, 4, "up", 2_400),
        (20_000, 7, 6, "half_up", 2_333), (20_000, 7, 6, "up", 2_334),
        # 3_000 / 60 = 50 micros: exactly half a unit of the 4th decimal
        (3_000, 1, 4, "half_up", 100), (3_000, 1, 4, "down", 0),
        (0, 120, 2, "up", 0),
    ],
)  # fmt: skip
def test_each_call_is_rounded_once_to_the_agreements_decimals(
    price: int, seconds: int, decimals: int, method: str, micros: int
) -> None:
    assert call_amount_micros(price, seconds, decimals, method) == micros


def test_calls_are_priced_with_the_deck_and_agreement_of_their_carrier(
    rater: CarrierRater,
) -> None:
    lec = rater.rate("CR-LEC", "13125550100", DAY, 61)  # 6/6: 66 s at 4_000 a minute
    assert lec is not None
    assert (lec.rate.prefix, lec.billable_seconds, lec.amount_micros) == ("1", 66, 4_400)
    sat = rater.rate("CR-SAT", "881612345678", DAY, 61)  # two started minutes at $3.80
    assert sat is not None
    assert (sat.billable_seconds, sat.amount_micros) == (120, 7_600_000)
    # UK mobile wins over UK by the longest prefix; no row at all means no bill.
    uk = rater.rate("CR-INTL", "447700900123", DAY, 7)
    assert uk is not None
    assert (uk.rate.prefix, uk.amount_micros) == ("447", 5_300)
    assert rater.rate("CR-INTL", "6882012345", DAY, 60) is None
    # Origination rows are what we charge a carrier, never what it bills us.
    assert rater.deck_rate("CR-LEC", "13125550100", DAY) == rater.decks["CR-LEC"]["1"][0]
    assert rater.decks["CR-LEC"]["1"][0].price_micros == 4_000


def test_a_ported_number_is_rated_on_its_lrn_while_its_porting_is_in_force(
    rater: CarrierRater,
) -> None:
    ported = rater.rate("CR-MOB", "17735550123", DAY, 61)
    assert ported is not None
    assert (ported.rated_number, ported.rate.prefix) == ("13129980000", "1312998")
    assert ported.amount_micros == 5_500  # 66 s at 5_000 a minute
    neighbour = rater.rate("CR-MOB", "17735550124", DAY, 61)
    assert neighbour is not None
    assert (neighbour.rate.prefix, neighbour.amount_micros) == ("1", 9_900)
    # Ported once and back: rated on its own digits now, on the LRN while it was away.
    back = rater.rate("CR-MOB", "13125550199", DAY, 61)
    away = rater.rate("CR-MOB", "13125550199", date(2024, 5, 1), 61)
    assert back is not None and away is not None
    assert (back.rate.prefix, away.rate.prefix) == ("1", "1312998")


def test_the_version_in_force_on_the_local_start_date_prices_the_call(
    rater: CarrierRater,
) -> None:
    before = rater.rate("CR-INTL", "639171234567", date(2026, 10, 15), 100)
    after = rater.rate("CR-INTL", "639171234567", date(2026, 10, 16), 100)
    assert before is not None and after is not None
    assert before.amount_micros == 250_000  # 150_000 * 100 / 60
    assert after.amount_micros == 216_700  # 216_666.67 half up to 4 decimals


# --- a month built by hand --------------------------------------------------------------------


def _at(day: int, hour: int) -> int:
    return int(datetime(2026, 10, day, hour, 30, tzinfo=CHICAGO).timestamp())


def _call(day: int, hour: int, seconds: int, missing: str | None = None) -> CarriedCall:
    start = _at(day, hour)
    return CarriedCall("CR-INTL", "639171234567", start, seconds, start, missing)


def test_the_ignored_rate_change_bills_every_later_day_not_already_recorded(
    rater: CarrierRater,
) -> None:
    calls = [_call(15, 10, 60), _call(16, 10, 60), _call(17, 10, 60),
             _call(17, 20, 30, LOST_FILE), _call(18, 2, 120)]  # fmt: skip
    days = [date(2026, 10, d) for d in range(14, 19)]
    month = MonthInvoices(rater, calls, days, CHICAGO)
    ignore_rate_change(month)
    found = {(d.type, d.cell[2].day) for d in month.discrepancies}
    assert found == {(RECORDS_MISSING, 17), (RATE_MISMATCH, 16), (RATE_MISMATCH, 18)}
    billed = {(line.traffic_date.day, line.batch): line for line in month.lines()}
    assert {key: line.price_micros for key, line in billed.items()} == {
        (15, 2): 150_000,
        (16, 2): 150_000,  # should be 130_000
        (17, 2): 130_000,
        (17, 4): 130_000,  # the call the operator never received
        (18, 1): 150_000,
    }
    assert billed[18, 1].amount_micros == 300_000  # 120 s at the old price
    assert month.ours[("CR-INTL", "63", date(2026, 10, 18))].amount_micros == 260_000


def test_a_retry_answered_after_midnight_is_the_carriers_next_day_and_our_day_before(
    rater: CarrierRater,
) -> None:
    # The congested first leg began at 23:59:59; the retry the carrier took, 3 s later.
    first_leg = int(datetime(2026, 10, 4, 23, 59, 59, tzinfo=CHICAGO).timestamp())
    retry = CarriedCall("CR-LEC", "13125550100", first_leg + 3, 61, first_leg)
    month = MonthInvoices(rater, [retry], [date(2026, 10, 4), date(2026, 10, 5)], CHICAGO)
    found = sorted((d.type, d.cell[2].day) for d in month.discrepancies)
    assert found == [("retry_started_next_day", 4), ("retry_started_next_day", 5)]
    [line] = month.lines()
    assert (line.traffic_date.day, line.batch, line.exact_micros) == (5, 1, 4_400)
    assert line.amount_micros == 0  # $0.0044 half up to cents
    assert list(month.ours) == [("CR-LEC", "1", date(2026, 10, 4))]


def test_an_invoice_is_its_detail_rows_a_summary_per_destination_and_a_total() -> None:
    day = date(2026, 10, 5)
    lines = [
        Line("CR-LEC", day, "1", 2, 4_000, "United States and Canada", 2, 66 + 61, 8_500, 10_000),
        Line("CR-LEC", day, "1", 3, 4_000, "United States and Canada", 1, 6, 400, 0),
        Line("CR-LEC", day, "1800", 3, 0, "Toll free 800", 1, 60, 0, 0),
    ]
    rows = invoice_rows("CR-LEC", lines, PERIOD, date(2026, 11, 5), "USD", 2)
    head = ["INV-CR-LEC-202610", "CR-LEC", PERIOD, "2026-11-05", "USD"]
    assert rows == [
        ["detail", *head, "2026-10-05", "1", "United States and Canada", "CR-LEC-20261005-2",
         "2", "2.1167", "0.004000", "0.01"],
        ["detail", *head, "2026-10-05", "1", "United States and Canada", "CR-LEC-20261005-3",
         "1", "0.1000", "0.004000", "0.00"],
        ["detail", *head, "2026-10-05", "1800", "Toll free 800", "CR-LEC-20261005-3",
         "1", "1.0000", "0.000000", "0.00"],
        ["summary", *head, "", "1", "United States and Canada", "", "3", "2.2167", "", "0.01"],
        ["summary", *head, "", "1800", "Toll free 800", "", "1", "1.0000", "", "0.00"],
        ["total", *head, "", "", "", "", "4", "3.2167", "", "0.01"],
    ]  # fmt: skip


# --- a generated operator against its pipeline -----------------------------------------------


def _micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def _seconds(minutes: str) -> int:
    return int((Decimal(minutes) * 60).to_integral_value())


def generate(root: Path) -> Layout:
    """A small operator (seed 11, 40 lines, 3 days): every injected type but the repeated
    batch, which needs a batch above a carrier's tolerance, has room."""
    layout = Layout(root)
    generate_operator(layout, seed=11, subscribers=40, days=3)
    return layout


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    return generate(tmp_path_factory.mktemp("operator"))


@pytest.fixture(scope="module")
def manifest(operator: Layout) -> dict:
    return json.loads((operator.manifest / "carrier_invoices.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def invoices(operator: Layout) -> dict[str, list[dict[str, str]]]:
    """Each carrier's invoice rows, as written."""
    found = {}
    for path in sorted(operator.carrier_invoices.glob("*/*.csv")):
        assert path.name == f"{path.parent.name}_{PERIOD}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            found[path.parent.name] = list(csv.DictReader(handle))
    return found


@pytest.fixture(scope="module")
def agreements(operator: Layout) -> dict[str, dict[str, str]]:
    with (operator.reference / "carriers.csv").open(encoding="utf-8", newline="") as handle:
        return {row["carrier_id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def legs(operator: Layout) -> pl.DataFrame:
    """The operator mediated and rated as ``telcolake mediate`` and ``rate`` do: its rated
    outbound legs, with the carrier batch of their local start."""
    mediate_period(operator, PERIOD)
    rate_period(operator, PERIOD)
    local = pl.col("started_at").dt.convert_time_zone("America/Chicago")
    legs = pl.from_arrow(lake.read_table(operator, "interconnect_legs", {"billing_period": PERIOD}))
    assert isinstance(legs, pl.DataFrame)
    return legs.filter(
        (pl.col("leg_direction") == "outbound") & (pl.col("rating_status") == "rated")
    ).with_columns((local.dt.hour() // 6 + 1).alias("batch"))


Key = tuple[str, str, str]  # carrier_id, destination_code, traffic_date


def _cell(row: dict) -> Key:
    return row["carrier_id"], row["destination_code"], row["traffic_date"]


def _decimals(manifest: dict, carrier: str) -> int:
    return next(i["amount_decimals"] for i in manifest["invoices"] if i["carrier_id"] == carrier)


def _unit(manifest: dict, carrier: str) -> int:
    return 10 ** (6 - _decimals(manifest, carrier))


def _round(micros: int, unit: int, method: str) -> int:
    whole, rest = divmod(micros, unit)
    return (whole + (rest > 0 if method == "up" else 2 * rest >= unit)) * unit


def _expected_rows(legs: pl.DataFrame, manifest: dict, agreements: dict) -> dict[Key, list]:
    """Per cell, the detail rows a correct invoice holds for the legs: (batch, rate, calls,
    seconds, amount), each line's summed amount rounded to the invoice's decimals the
    agreement's way."""
    lines: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for leg in legs.iter_rows(named=True):
        key = (leg["carrier_id"], leg["destination_prefix"], leg["event_date"].isoformat(),
               leg["batch"], leg["price_micros"])  # fmt: skip
        line = lines[key]
        line[0] += 1
        line[1] += leg["billable_seconds"]
        line[2] += leg["amount_micros"]
    cells: dict[Key, list] = defaultdict(list)
    for (carrier, code, day, batch, price), (calls, seconds, amount) in sorted(lines.items()):
        method = agreements[carrier]["rounding_method"]
        rounded = _round(amount, _unit(manifest, carrier), method)
        cells[carrier, code, day].append((batch, price, calls, seconds, rounded))
    return cells


def _billed_rows(invoices: dict[str, list[dict[str, str]]]) -> dict[Key, list]:
    cells: dict[Key, list] = defaultdict(list)
    for rows in invoices.values():
        for row in rows:
            if row["record_type"] == "detail":
                cells[_cell(row)].append(
                    (int(row["batch_id"].rsplit("-", 1)[1]), _micros(row["rate"]),
                     int(row["calls"]), _seconds(row["minutes"]), _micros(row["amount"]))
                )  # fmt: skip
    return cells


def test_every_invoice_adds_up(invoices: dict, manifest: dict) -> None:
    assert sorted(invoices) == sorted(i["carrier_id"] for i in manifest["invoices"])
    for carrier, rows in invoices.items():
        decimals = _decimals(manifest, carrier)
        details = [row for row in rows if row["record_type"] == "detail"]
        summaries = [row for row in rows if row["record_type"] == "summary"]
        [total] = [row for row in rows if row["record_type"] == "total"]
        assert [row["record_type"] for row in rows] == (
            ["detail"] * len(details) + ["summary"] * len(summaries) + ["total"]
        )
        assert len({(row["invoice_number"], row["invoice_date"]) for row in rows}) == 1
        for row in rows:
            assert len(row["amount"].partition(".")[2]) == decimals, row
            assert len(row["minutes"].partition(".")[2]) == 4, row
        for summary in summaries:
            code = summary["destination_code"]
            mine = [row for row in details if row["destination_code"] == code]
            assert mine, summary
            assert int(summary["calls"]) == sum(int(row["calls"]) for row in mine)
            assert _seconds(summary["minutes"]) == sum(_seconds(row["minutes"]) for row in mine)
            assert Decimal(summary["amount"]) == sum(Decimal(row["amount"]) for row in mine)
        assert int(total["calls"]) == sum(int(row["calls"]) for row in summaries)
        assert _seconds(total["minutes"]) == sum(_seconds(row["minutes"]) for row in summaries)
        assert Decimal(total["amount"]) == sum(Decimal(row["amount"]) for row in summaries)


def test_the_manifest_lists_each_cell_once_with_the_files_amounts(
    invoices: dict, manifest: dict
) -> None:
    billed = _billed_rows(invoices)
    entries = manifest["discrepancies"]
    assert len({_cell(d) for d in entries}) == len(entries)
    assert manifest["counts"] == {
        kind: sum(d["type"] == kind for d in entries) for kind in manifest["counts"]
    }
    for d in entries:
        their = sum(row[4] for row in billed.get(_cell(d), []))
        assert d["their_amount_micros"] == their, d
        assert d["difference_micros"] == their - d["our_amount_micros"], d
    injected = {"rounding", "missing_day", "extra_day", "rate_mismatch", "timing"}
    assert injected <= set(manifest["counts"])  # duplicate_batch needs more traffic


def test_invoices_agree_with_the_pipelines_legs_outside_the_manifest(
    legs: pl.DataFrame, invoices: dict, manifest: dict, agreements: dict
) -> None:
    expected = _expected_rows(legs, manifest, agreements)
    billed = _billed_rows(invoices)
    listed = {_cell(d) for d in manifest["discrepancies"]}
    for cell in sorted(set(expected) | set(billed)):
        if cell not in listed:
            assert billed.get(cell) == expected.get(cell), cell
    for d in manifest["discrepancies"]:
        ours = sum(row[4] for row in expected.get(_cell(d), []))
        assert d["our_amount_micros"] == sum(
            leg["amount_micros"]
            for leg in legs.iter_rows(named=True)
            if (leg["carrier_id"], leg["destination_prefix"], leg["event_date"].isoformat())
            == _cell(d)
        ), d
        assert ours >= 0


def test_each_discrepancy_is_on_the_invoice_as_its_type_says(
    legs: pl.DataFrame, invoices: dict, manifest: dict, agreements: dict
) -> None:
    expected = _expected_rows(legs, manifest, agreements)
    billed = _billed_rows(invoices)
    by_cell = {_cell(d): d for d in manifest["discrepancies"]}
    for cell, d in by_cell.items():
        ours, theirs = expected.get(cell, []), billed.get(cell, [])
        tolerance = int(agreements[cell[0]]["dispute_tolerance_micros"])
        kind = d["type"]
        if kind == "rounding":
            differ = [(o, t) for o, t in zip(ours, theirs, strict=True) if o != t]
            assert len(differ) == 1, d
            (o, t), unit = differ[0], _unit(manifest, cell[0])
            assert o[:4] == t[:4] and abs(o[4] - t[4]) == unit, d
            assert abs(d["difference_micros"]) < tolerance and not d["expected_dispute"]
        elif kind == "missing_day":
            assert ours and not theirs and not d["expected_dispute"], d
        elif kind == "extra_day":
            assert theirs and not ours, d
            assert d["difference_micros"] > tolerance and d["expected_dispute"], d
        elif kind == "rate_mismatch":
            assert [r[2:4] for r in ours] == [r[2:4] for r in theirs], d
            assert all(o[1] != t[1] for o, t in zip(ours, theirs, strict=True)), d
            assert d["difference_micros"] > tolerance and d["expected_dispute"], d
        elif kind == "duplicate_batch":
            batch = int(d["batch_id"].rsplit("-", 1)[1])
            repeated = [row for row in theirs if row[0] == batch]
            assert repeated and repeated[::2] == repeated[1::2], d
            assert sorted(set(theirs)) == sorted(ours), d
            assert d["difference_micros"] > tolerance and d["expected_dispute"], d
        elif kind == "timing":
            pair = by_cell[(cell[0], cell[1], d["paired_traffic_date"])]
            assert d["difference_micros"] + pair["difference_micros"] == 0, d
            if d["traffic_date"] < d["paired_traffic_date"]:  # the day that lost its evening
                assert any(row[0] == 4 for row in ours), d
                assert not any(row[0] == 4 for row in theirs), d
            assert not d["expected_dispute"]
        else:  # the carrier bills calls we have no leg of
            assert kind in ("records_missing_at_operator", "trunk_group_missing_at_operator"), d
            assert sum(r[2] for r in theirs) > sum(r[2] for r in ours), d
            assert d["expected_class"] == "volume"


def test_the_same_seed_writes_byte_identical_invoices(operator: Layout, tmp_path: Path) -> None:
    def digests(layout: Layout) -> dict[str, str]:
        files = [*sorted(layout.carrier_invoices.rglob("*.csv")),
                 layout.manifest / "carrier_invoices.json"]  # fmt: skip
        return {
            str(path.relative_to(layout.root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files
        }

    assert digests(generate(tmp_path)) == digests(operator)
