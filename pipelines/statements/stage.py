"""Write the period's statements: one HTML and one PDF per invoice, under
``reports/statements/<period>/`` (``<invoice_id>.html``, ``<invoice_id>.pdf``).

Rerunning replaces them with the same bytes: the PDF's creation date is the invoice date,
not the clock's, so a statement is a function of the marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.statements.data import load_statements, statements_dir
from pipelines.statements.render import page_png, statement_html, statement_pdf


@dataclass(frozen=True)
class StatementsResult:
    billing_period: str
    folder: Path
    statements: int


@locked_partition("statements", "billing_period")
def write_statements(
    layout: Layout,
    billing_period: str,
    account_ids: list[str] | None = None,
    *,
    png: bool = False,
) -> StatementsResult:
    """Render the period's statements (of ``account_ids`` only, if given); with ``png``, also
    a picture of each statement's first PDF page."""
    folder = statements_dir(layout, billing_period)
    folder.mkdir(parents=True, exist_ok=True)
    statements = load_statements(layout.duckdb_path, billing_period, account_ids)
    for statement in statements:
        (folder / f"{statement.invoice_id}.html").write_text(
            statement_html(statement), encoding="utf-8"
        )
        issued = datetime.combine(statement.invoice_date, datetime.min.time(), tzinfo=UTC)
        pdf = statement_pdf(statement, created=issued)
        (folder / f"{statement.invoice_id}.pdf").write_bytes(pdf)
        if png:
            page_png(pdf, folder / f"{statement.invoice_id}.png")
    return StatementsResult(billing_period, folder, len(statements))
