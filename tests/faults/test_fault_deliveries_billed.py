"""Deliveries that could bill a call twice or never, through mediation, rating and the bill
run of a small generated operator: the same file twice, files arriving out of order, and a
file arriving after its period was billed and closed (the late-usage rule,
pipelines/billing/late_usage.py)."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from generated_operator import mediate_period

from pipelines import lake
from pipelines.billing.late_usage import RATED_AGAIN, RERATED, RERATED_BY, bill_late_usage
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.rating.rerate import close_period, read_period
from pipelines.rating.stage import rate_period
from pipelines.taxes.stage import tax_period

OCTOBER, NOVEMBER = "2026-10", "2026-11"
MEDIATION_TABLES = ("usage", "rejects", "file_registry", "landing_rejects")
CONSOLIDATION_TABLES = ("usage_repeats", "sessions")
BILLED_TABLES = ("rated_usage", "billed_charges", "billed_charge_usage", "tax_lines", "invoices")


def bill(layout: Layout, period: str) -> None:
    """What the DAG does for a period up to its invoices: mediate every partition and
    consolidate, bring earlier periods up to date, rate, tax and issue."""
    mediate_period(layout, period)
    bill_late_usage(layout, period)
    rate_period(layout, period)
    tax_period(layout, period)


def table(layout: Layout, name: str, **where: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read_table(layout, name, where or None))
    assert isinstance(frame, pl.DataFrame)
    return frame


def content(layout: Layout, tables: tuple[str, ...]) -> dict[str, list[dict]]:
    """Each table's rows, in a stable order (row order in storage is not what is billed)."""
    return {name: sorted(table(layout, name).to_dicts(), key=repr) for name in tables}


def lake_files(layout: Layout, tables: tuple[str, ...]) -> dict[str, bytes]:
    return {
        str(path.relative_to(layout.lake)): path.read_bytes()
        for name in tables
        for path in sorted(layout.lake_table(name).rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed 11, 30 subscribers, the first 2 days of October: files only."""
    root = tmp_path_factory.mktemp("generated") / "operator"
    generate_operator(Layout(root), seed=11, subscribers=30, month=OCTOBER, days=2)
    return root


@pytest.fixture(scope="module")
def october(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated operator with October billed (invoices drafted, period open)."""
    root = tmp_path_factory.mktemp("october") / "operator"
    shutil.copytree(generated, root)
    bill(Layout(root), OCTOBER)
    return root


def closing_hour_and_sequence(path: Path) -> tuple[str, int]:
    """A landing file's closing hour and sequence number, from its name (the conventional
    ``..._YYYYMMDDHH_seq.ext`` or CUCM's ``..._YYYYMMDDhhmm_seq``)."""
    match = re.search(r"_(\d{10})\d*_(\d+)(\.\w+)?$", path.name)
    assert match, path.name
    return match[1], int(match[2])


def copy_of(root: Path, tmp_path: Path) -> Layout:
    shutil.copytree(root, tmp_path / "operator")
    return Layout(tmp_path / "operator")


@pytest.mark.slow
def test_a_file_delivered_again_the_same_day_and_the_next_is_billed_once(
    october: Path, tmp_path: Path
) -> None:
    layout = copy_of(october, tmp_path)
    ber = layout.landing / "ts32298_ber" / "msc-chi-01"
    asterisk = layout.landing / "asterisk_cdr_csv" / "ast-chi-01"
    first_ber, first_asterisk = sorted(ber.iterdir())[0], sorted(asterisk.iterdir())[0]
    again = {
        ber / "msc-chi-01_2026100123_000901.ber": first_ber,  # same day, new name
        ber / "msc-chi-01_2026100209_000902.ber": first_ber,  # next day
        asterisk / "Master_ast-chi-01_2026100209_000903.csv": first_asterisk,
    }
    for copy, original in again.items():
        shutil.copyfile(original, copy)

    bill(layout, OCTOBER)

    registry = {row["file_name"]: row for row in table(layout, "file_registry").to_dicts()}
    for copy, original in again.items():
        row, first = registry[copy.name], registry[original.name]
        assert row["file_status"] == "duplicate_file" and row["duplicate_of_file_id"]
        assert row["records_in"] == row["records_duplicate"] == first["records_in"] > 0
        assert first["file_status"] == "processed"
    # Everything the copies could have doubled is as it was without them.
    tables = MEDIATION_TABLES[:2] + CONSOLIDATION_TABLES + BILLED_TABLES
    assert content(layout, tables) == content(Layout(october), tables)


@pytest.mark.slow
def test_files_arriving_out_of_order_in_rounds_end_as_if_delivered_at_once(
    generated: Path, october: Path, tmp_path: Path
) -> None:
    layout = copy_of(generated, tmp_path)
    held = tmp_path / "in-transit"
    delivered = sorted(
        (path for path in layout.landing.rglob("*") if path.is_file()),
        key=closing_hour_and_sequence,
        reverse=True,  # the latest files first, each switch's sequence numbers reversed
    )
    for path in delivered:
        (held / path.relative_to(layout.landing)).parent.mkdir(parents=True, exist_ok=True)
        path.rename(held / path.relative_to(layout.landing))
    rounds = [delivered[i::3] for i in range(3)]  # each round a spread of days and feeds
    for arrivals in rounds:
        for path in arrivals:
            (held / path.relative_to(layout.landing)).rename(path)
        mediate_period(layout, OCTOBER)  # an hourly run on what has arrived so far

    tables = MEDIATION_TABLES + CONSOLIDATION_TABLES
    assert lake_files(layout, tables) == lake_files(Layout(october), tables)


# A call on the evening of 31 October (a Saturday) from SUB000001's fixed line to a UK
# number, in a file the PBX closed on 1 November: late, and within mediation's 7-day window.
LATE_FILE = "Master_ast-chi-01_2026110110_000900.csv"
LATE_CALL = (
    '"ACC000001","2173839324","011442079460123","from-internal","""Anna Novak"" <2173839324>",'
    '"PJSIP/2173839324-00000900","PJSIP/tg_intl-00000901","Dial",'
    '"PJSIP/011442079460123@tg_intl,60","2026-10-31 22:00:01","2026-10-31 22:00:05",'
    '"2026-10-31 22:10:05",604,600,"ANSWERED","DOCUMENTATION","1793502001.900","","",'
    '"1793502001.900",0\n'
)
LATE_SECONDS = 600


def uk_offpeak_price_micros(layout: Layout) -> int:
    """What the fixed-line deck charges a minute to the UK (prefix 44) off-peak."""
    with (layout.reference / "rate_deck.csv").open() as deck:
        (price,) = [
            int(row["price_micros"])
            for row in csv.DictReader(deck)
            if (row["rate_deck_id"], row["prefix"], row["time_band"])
            == ("RD-FIXED", "44", "offpeak")
        ]
    return price


def account_invoice(layout: Layout, period: str, account_id: str) -> dict:
    invoices = table(layout, "invoices", billing_period=period)
    (invoice,) = invoices.filter(pl.col("account_id") == account_id).to_dicts()
    return invoice


def late_call(layout: Layout) -> pl.DataFrame:
    """The late call's rated rows, in every period's current rating."""
    return table(layout, "rated_usage").filter(pl.col("file_name") == LATE_FILE)


@pytest.fixture(scope="module")
def closed_october(october: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("closed") / "operator"
    shutil.copytree(october, root)
    close_period(Layout(root), OCTOBER, "billing", "October invoices sent")
    return root


@pytest.mark.slow
def test_a_file_arriving_after_its_period_closed_is_billed_once_on_the_next_bill(
    closed_october: Path, tmp_path: Path
) -> None:
    layout = copy_of(closed_october, tmp_path)
    issued = table(layout, "invoices", billing_period=OCTOBER)
    (layout.landing / "asterisk_cdr_csv" / "ast-chi-01" / LATE_FILE).write_text(LATE_CALL)

    bill(layout, NOVEMBER)

    # Rated in its own period (a new, audited version of it), at its own time's tariff,
    # and nowhere else.
    (call,) = late_call(layout).to_dicts()
    expected_charge = LATE_SECONDS // 60 * uk_offpeak_price_micros(layout)
    assert (call["billing_period"], call["rating_status"]) == (OCTOBER, "rated")
    assert call["charge_micros"] == expected_charge > 0
    period = read_period(layout, OCTOBER)
    assert period is not None and (period["period_state"], period["rating_version"]) == (
        "closed",
        2,
    )
    (audit,) = table(layout, "rerate_runs", billing_period=OCTOBER).to_dicts()
    assert audit["rerated_by"] == RERATED_BY and audit["reason"].startswith("late usage: 1")
    # The invoice October issued is as sent; November's bill carries the difference.
    assert table(layout, "invoices", billing_period=OCTOBER).equals(issued)
    (note,) = table(layout, "credit_notes", billing_period=NOVEMBER).to_dicts()
    assert (note["note_type"], note["corrected_invoice_id"]) == (
        "debit_note",
        "INV-202610-ACC000001",
    )
    assert note["charges_delta_micros"] == expected_charge
    assert note["amount_micros"] == note["charges_delta_micros"] + note["tax_delta_micros"]

    # Billing November again changes nothing: no second re-rating, the same note.
    before = content(layout, ("rerate_runs", "credit_notes", *BILLED_TABLES))
    again = bill_late_usage(layout, NOVEMBER)
    assert [p.action for p in again.periods] == ["up_to_date"]
    bill(layout, NOVEMBER)
    assert content(layout, ("rerate_runs", "credit_notes", *BILLED_TABLES)) == before
    assert late_call(layout).height == 1


@pytest.mark.slow
def test_a_late_file_of_a_period_still_open_goes_on_its_draft_invoice(
    october: Path, tmp_path: Path
) -> None:
    layout = copy_of(october, tmp_path)
    drafted = account_invoice(layout, OCTOBER, "ACC000001")
    (layout.landing / "asterisk_cdr_csv" / "ast-chi-01" / LATE_FILE).write_text(LATE_CALL)

    mediate_period(layout, NOVEMBER)
    result = bill_late_usage(layout, NOVEMBER)

    (october_period,) = result.periods
    assert (october_period.action, october_period.records_added) == (RATED_AGAIN, 1)
    (call,) = late_call(layout).to_dicts()
    redrafted = account_invoice(layout, OCTOBER, "ACC000001")
    assert redrafted["charges_micros"] - drafted["charges_micros"] == call["charge_micros"] > 0
    assert RERATED not in {p.action for p in result.periods}
    assert table(layout, "rerate_runs").height == 0
