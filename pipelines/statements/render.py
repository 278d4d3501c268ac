"""Statements to HTML (a Jinja2 template) and PDF (fpdf2), and a PNG of a PDF page.

Both documents show the same ``Statement`` in the same order; the HTML is the template in
``templates/statement.html.j2``, the PDF is drawn with fpdf2's core fonts (so no font file
is needed), and ``page_png`` renders a page with PDFium to check what a customer sees.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.statements.data import ChargeLine, Statement, money

TEMPLATES = Path(__file__).parent / "templates"
BLUE = (11, 92, 173)
GREY = (90, 107, 125)


def statement_html(statement: Statement) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    template = environment.get_template("statement.html.j2")
    return template.render(s=statement, money=lambda micros: money(micros, statement.currency))


def statement_pdf(statement: Statement, created: datetime | None = None) -> bytes:
    """The statement as PDF; ``created`` stamps the document (default: now)."""
    pdf = _Document(statement)
    if created is not None:
        pdf.set_creation_date(created)
    pdf.add_page()
    pdf.header_block()
    pdf.summary()
    pdf.section("Charges by service line")
    for line in statement.service_lines:
        pdf.subheading(f"{line.service_type.replace('_', ' ')} {line.number}")
        pdf.charges(line.charges, "Line total", line.total_micros)
    pdf.section("Usage summary")
    if statement.usage:
        pdf.usage()
    else:
        pdf.note("No usage this period.")
    pdf.section("Taxes and fees")
    if statement.taxes:
        pdf.charges(statement.taxes, "Total taxes and fees", statement.tax_micros)
    else:
        pdf.note("No taxes or fees apply.")
    pdf.section("Credits and adjustments")
    if statement.credits:
        pdf.charges(
            statement.credits, "Total credits", sum(c.amount_micros for c in statement.credits)
        )
    else:
        pdf.note("No credits or adjustments this period.")
    pdf.ln(4)
    pdf.note(
        "Every line is rounded to the cent; taxes are computed on each charge and rounded "
        "once per tax."
    )
    return bytes(pdf.output())


def page_png(pdf: bytes, path: Path, page: int = 0, scale: float = 1.5) -> Path:
    """Render one page of a PDF to a PNG file (PDFium), as a customer's viewer would."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        document[page].render(scale=scale).to_pil().save(path)
    finally:
        document.close()
    return path


def _latin(text: str) -> str:
    # The PDF core fonts are Latin-1: anything else shows as "?" rather than failing.
    return text.encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    def __init__(self, statement: Statement) -> None:
        super().__init__(format="Letter")
        self.statement = statement
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(f"Statement {statement.invoice_id}")
        self.set_author("telcolake")

    def money(self, micros: int) -> str:
        return money(micros, self.statement.currency)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*GREY)
        self.cell(0, 6, _latin(f"{self.statement.invoice_id}  page {self.page_no()}"), align="C")

    def header_block(self) -> None:
        s = self.statement
        self.set_font("Helvetica", "B", 20)
        self.set_text_color(*BLUE)
        self.cell(95, 10, "telcolake")
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(0)
        self.cell(0, 10, _latin(s.account_name), new_x="LMARGIN", new_y="NEXT", align="R")
        self.set_font("Helvetica", size=10)
        self.set_text_color(*GREY)
        self.cell(95, 5, "Statement of account")
        self.set_text_color(0)
        self.cell(0, 5, _latin(s.address), new_x="LMARGIN", new_y="NEXT", align="R")
        self.cell(0, 5, _latin(f"Account {s.account_id}"), new_x="LMARGIN", new_y="NEXT", align="R")
        self.set_draw_color(*BLUE)
        self.set_line_width(0.8)
        self.line(self.l_margin, self.get_y() + 2, self.w - self.r_margin, self.get_y() + 2)
        self.ln(6)
        self.set_font("Helvetica", size=9)
        with self.table(
            col_widths=(30, 40, 20, 20),
            headings_style=FontFace(color=GREY),
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(["Invoice", "Usage period", "Invoice date", "Due date"])
            table.row(
                [
                    s.invoice_id,
                    f"{s.period_start} to {s.period_end}",
                    str(s.invoice_date),
                    str(s.due_date),
                ]
            )
        self.ln(4)

    def summary(self) -> None:
        s = self.statement
        payments = "Payments received" + ("" if s.payments_micros else " (none recorded)")
        rows = [
            ("Previous balance", self.money(s.previous_balance_micros)),
            (payments, self.money(-s.payments_micros)),
            *((note.description, self.money(note.amount_micros)) for note in s.corrections),
            ("Charges this period", self.money(s.charges_micros)),
            *(
                [("Credits and adjustments", self.money(s.credit_micros))]
                if s.credit_micros
                else []
            ),
            ("Taxes and fees", self.money(s.tax_micros)),
        ]
        self.set_fill_color(238, 244, 251)
        self.set_font("Helvetica", size=10)
        for label, amount in rows:
            self.cell(130, 6, label, fill=True)
            self.cell(0, 6, amount, fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "B", 12)
        self.cell(130, 9, f"Amount due by {s.due_date}", fill=True)
        self.cell(
            0,
            9,
            self.money(s.amount_due_micros),
            fill=True,
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def section(self, title: str) -> None:
        # A heading never ends a page alone: start the next one when little room is left.
        if self.get_y() > self.h - 55:
            self.add_page()
        self.ln(5)
        self.set_font("Helvetica", "B", 12)
        self.set_text_color(*BLUE)
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)

    def subheading(self, title: str) -> None:
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 6, _latin(title), new_x="LMARGIN", new_y="NEXT")

    def note(self, text: str) -> None:
        self.set_font("Helvetica", size=9)
        self.set_text_color(*GREY)
        self.multi_cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)

    def charges(self, charges: tuple[ChargeLine, ...], total_label: str, total: int) -> None:
        self.set_font("Helvetica", size=9)
        with self.table(
            col_widths=(110, 40, 36),
            text_align=("LEFT", "LEFT", "RIGHT"),
            headings_style=FontFace(color=GREY),
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(["Description", "Quantity", "Amount"])
            for charge in charges:
                table.row(
                    [_latin(charge.description), charge.quantity, self.money(charge.amount_micros)]
                )
            table.row([total_label, "", self.money(total)], style=FontFace(emphasis="BOLD"))
        self.ln(2)

    def usage(self) -> None:
        self.set_font("Helvetica", size=9)
        with self.table(
            col_widths=(50, 34, 34, 34, 34),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=FontFace(color=GREY),
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(["Line", "Calls", "Minutes", "Messages", "Data (MB)"])
            for u in self.statement.usage:
                table.row(
                    [
                        u.subscriber_id,
                        f"{u.calls:,}",
                        f"{u.minutes:,}",
                        f"{u.messages:,}",
                        f"{u.data_megabytes:,}",
                    ]
                )
