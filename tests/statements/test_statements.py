"""Statements of the tiny operator (tests/dbt_tiny_operator.py): what each shows, in HTML
and in the PDF a customer gets (its text read back with PDFium, its first page rendered to
a picture). The invoice figures are worked out in tests/dbt_project/test_dbt_build.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pypdfium2
import pytest
from dbt_tiny_operator import PERIOD, write_fixture
from PIL import Image

from pipelines.build import build_warehouse
from pipelines.config import Layout
from pipelines.statements.data import load_statements, money
from pipelines.statements.stage import write_statements

INVOICE = "INV-202503-A001"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = write_fixture(tmp_path_factory.mktemp("statements") / "data")
    assert build_warehouse(layout).success
    return layout


def _pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (45_000_000, "$45.00"),
        (8_064_516, "$8.064516"),  # 10/31 of a $25 fee: exact, not rounded at display
        (453_869, "$0.453869"),
        (1_500_000, "$1.50"),
        (-1_500_000, "-$1.50"),
        (0, "$0.00"),
        (1_234_567_890_000, "$1,234,567.89"),
    ],
)
def test_money_is_shown_exactly(micros, shown):
    assert money(micros) == shown


@pytest.mark.slow
def test_a_statement_shows_the_invoice(built: Layout) -> None:
    result = write_statements(built, PERIOD, ["A001"], png=True)
    assert result.statements == 1
    html = (result.folder / f"{INVOICE}.html").read_text()
    pdf_text = _pdf_text(result.folder / f"{INVOICE}.pdf")
    # A001: S001 mobile (April in advance 20.00, usage 2.01) and S002 broadband (April
    # 50.00): subtotal 72.01; taxes as invoiced 7.44 (Chicago 911 3.90, Cook 0.45, IL excise
    # 0.13, FUSF 2.96); the first invoice, so nothing carried forward.
    for text in (
        INVOICE,
        "Ada Consumer",
        "Chicago, IL 60601",
        "2025-04-22",
        "13125550101",
        "Mobile S monthly fee, 2025-04-01 to 2025-04-30",
        "Broadband 500 monthly fee, 2025-04-01 to 2025-04-30",
        "$72.01",
        "Chicago 911 surcharge",
        "$3.90",
        "Cook County telecom tax",
        "$0.45",
        "Federal Universal Service Fund",
        "$2.96",
        "$7.44",
        "Amount due by 2025-04-22",
        "$79.45",
        "Payments received (none recorded)",
        "No credits or adjustments this period.",
    ):
        assert text in html, text
        assert text in pdf_text, text
    # The usage summary: S001's 3 rated calls (120 + 61 s billed, and 300 s within its
    # plan: 2 + 2 + 5 minutes), 1 SMS and 1 data session of 5 MB.
    [usage] = [u for u in load_statements(built.duckdb_path, PERIOD, ["A001"])[0].usage]
    assert (usage.subscriber_id, usage.calls, usage.minutes, usage.messages) == ("S001", 3, 9, 1)
    assert usage.data_megabytes == 5

    picture = Image.open(result.folder / f"{INVOICE}.png")
    assert picture.width > 800 and picture.height > 1000
    low, high = picture.convert("L").getextrema()
    assert low < 64 and high > 192  # printed text on a white page, not a blank one


@pytest.mark.slow
def test_statements_are_rewritten_identically(built: Layout) -> None:
    first = write_statements(built, PERIOD)
    before = {path.name: path.read_bytes() for path in sorted(first.folder.iterdir())}
    write_statements(built, PERIOD)
    after = {path.name: path.read_bytes() for path in sorted(first.folder.iterdir())}
    assert first.statements == 3
    assert before == after


@pytest.mark.slow
def test_the_balance_forward_and_payments_come_from_the_invoice(
    built: Layout, tmp_path: Path
) -> None:
    copy = Layout(tmp_path / "data")
    copy.warehouse.mkdir(parents=True)
    copy.duckdb_path.write_bytes(built.duckdb_path.read_bytes())
    with duckdb.connect(str(copy.duckdb_path)) as con:
        # The bill run brought 12.35 forward after a 5.00 payment since the last bill.
        con.execute(
            "update fct_invoices set previous_balance_micros = 12_345_678,"
            " payments_micros = 5_000_000, amount_due_micros = 12_345_678 + total_micros"
            " where invoice_id = ?",
            [INVOICE],
        )
    [statement] = load_statements(copy.duckdb_path, PERIOD, ["A001"])
    assert statement.previous_balance_micros == 17_345_678
    assert statement.payments_micros == 5_000_000
    assert statement.amount_due_micros == 12_345_678 + 79_450_000
