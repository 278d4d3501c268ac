"""``telcolake tax-charges``: a CSV of charges in, a CSV of tax lines out (docs/taxes.md,
"Charges in, tax lines out").

Amounts are decimal currency units in the files and exact micro-units in between: a value
with more than 6 decimals is refused, never rounded. A row that does not parse (a bad
amount, date, count or share, a duplicate or missing charge_id) is not taxed: its status in
``<out>.charges.csv`` is ``BAD_INPUT: <reason>``, and the other rows are taxed as usual.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from pipelines.taxes.compile import compile_ruleset
from pipelines.taxes.engine import CHARGE_INPUT_SCHEMA, tax_charges
from pipelines.taxes.model import PPM, RuleSet
from pipelines.taxes.rules_files import TaxAreaIndex, load_ruleset

MICROS = Decimal(PPM)
REQUIRED_COLUMNS = ("charge_id", "amount", "category", "charge_date")
ADDRESS_COLUMNS = ("state", "county", "city", "postal_code")
LINE_CSV_COLUMNS = (
    "charge_id",
    "tax_id",
    "rule_effective_from",
    "jurisdiction_level",
    "jurisdiction_code",
    "jurisdiction_name",
    "tax_type",
    "tax_name",
    "kind",
    "method",
    "taxable_base",
    "rate",
    "amount_per_unit",
    "tax_amount",
    "billable",
    "calc_order",
)
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


class ChargesFileError(ValueError):
    """A charges file that cannot be read at all (missing file or columns)."""


class _BadInput(Exception):
    """A row that does not parse; args[0] says why."""


@dataclass(frozen=True)
class TaxChargesSummary:
    charges: int
    taxed: int  # status ok
    errors: int  # a tax error or BAD_INPUT
    lines: int
    ruleset_version: str


def micros(text: str, column: str) -> int:
    """Exact micro-units of a decimal string (at most 6 decimals)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _BadInput(f"{column} {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise _BadInput(f"{column} {text!r} is not a decimal number")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise _BadInput(f"{column} {text!r} has more than 6 decimals")
    return int(value * MICROS)


def decimal_text(value: int) -> str:
    """Micro-units (or ppm) as a decimal string with 6 decimals, e.g. -1500000 -> -1.500000."""
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), PPM)
    return f"{sign}{whole}.{fraction:06d}"


def _parse_row(row: dict[str, str | None], index: TaxAreaIndex) -> dict[str, object]:
    def text(column: str) -> str:
        return (row.get(column) or "").strip()

    for column in REQUIRED_COLUMNS:
        if not text(column):
            raise _BadInput(f"{column} is empty")
    try:
        charge_date = date.fromisoformat(text("charge_date"))
    except ValueError:
        raise _BadInput(f"charge_date {text('charge_date')!r} is not an ISO date") from None
    lines = 1
    if text("lines"):
        try:
            lines = int(text("lines"))
        except ValueError:
            raise _BadInput(f"lines {text('lines')!r} is not a whole number") from None
        if lines < 0:
            raise _BadInput(f"lines {lines} is negative")
    minutes = micros(text("minutes"), "minutes") if text("minutes") else 0
    if minutes < 0:
        raise _BadInput("minutes is negative")
    share = None
    if text("interstate_share"):
        share = micros(text("interstate_share"), "interstate_share")
        if not 0 <= share <= PPM:
            raise _BadInput(f"interstate_share {text('interstate_share')!r} is not in [0, 1]")
    inclusive = text("tax_inclusive").lower()
    if inclusive not in _TRUE | _FALSE:
        raise _BadInput(f"tax_inclusive {text('tax_inclusive')!r} is not true or false")
    area = text("tax_area_id") or index.resolve(
        state=text("state"),
        county=text("county"),
        city=text("city"),
        postal_code=text("postal_code"),
    )
    return {
        "charge_id": text("charge_id"),
        "amount_micros": micros(text("amount"), "amount"),
        "category": text("category"),
        "charge_date": charge_date,
        "tax_area_id": area,  # None: NO_TAX_AREA
        "customer_class": text("customer_class") or "standard",
        "lines": lines,
        "minutes_micros": minutes,
        "interstate_share_ppm": share,
        "is_tax_inclusive": inclusive in _TRUE,
    }


def read_charges(path: Path, ruleset: RuleSet) -> tuple[list[str], pa.Table, dict[str, str]]:
    """(each charge_id once, in file order; the charges that parse, as the engine takes them;
    the status of each refused charge_id). A row without a charge_id is named ``line <n>``."""
    index = TaxAreaIndex(ruleset)
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        header = set(reader.fieldnames or ())
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ChargesFileError(f"{path}: missing columns {', '.join(missing)}")
        if not header & {"tax_area_id", *ADDRESS_COLUMNS}:
            raise ChargesFileError(f"{path}: needs tax_area_id or address columns")
        order: list[str] = []
        seen: set[str] = set()
        parsed: list[dict[str, object]] = []
        bad: dict[str, str] = {}
        for row in reader:
            charge_id = (row.get("charge_id") or "").strip() or f"line {reader.line_num}"
            if charge_id in seen:
                # Neither row can be told apart in the output: both are refused.
                bad[charge_id] = "BAD_INPUT: duplicate charge_id"
                continue
            order.append(charge_id)
            seen.add(charge_id)
            try:
                parsed.append(_parse_row(row, index))
            except _BadInput as reason:
                bad[charge_id] = f"BAD_INPUT: {reason.args[0]}"
    kept = [charge for charge in parsed if charge["charge_id"] not in bad]
    return order, pa.Table.from_pylist(kept, schema=CHARGE_INPUT_SCHEMA), bad


def charges_out_path(out: Path) -> Path:
    """``<out>.charges.csv``: tax_lines.csv -> tax_lines.charges.csv."""
    return out.with_name(f"{out.stem}.charges.csv")


def tax_charges_file(rules: Path, charges: Path, out: Path) -> TaxChargesSummary:
    """Tax the charges CSV against the rule set folder; write the lines and the statuses.

    Raises RuleSetError (a bad rule set) or ChargesFileError (an unreadable charges file),
    both ValueErrors, and OSError.
    """
    ruleset = load_ruleset(rules)
    order, table, bad = read_charges(charges, ruleset)
    result = tax_charges(ruleset, table, compile_ruleset(ruleset))
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(LINE_CSV_COLUMNS)
        for line in result.lines.to_pylist():
            writer.writerow(
                (
                    line["charge_id"],
                    line["tax_id"],
                    line["rule_effective_from"].isoformat(),
                    line["jurisdiction_level"],
                    line["jurisdiction_code"],
                    line["jurisdiction_name"],
                    line["tax_type"],
                    line["tax_name"],
                    line["kind"],
                    line["method"],
                    decimal_text(line["taxable_base_micros"]),
                    decimal_text(line["rate_ppm"]),
                    decimal_text(line["amount_per_unit_micros"]),
                    decimal_text(line["tax_micros"]),
                    "true" if line["is_billable"] else "false",
                    line["calc_order"],
                )
            )
    taxed = {row["charge_id"]: row for row in result.charges.to_pylist()}
    with charges_out_path(out).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(("charge_id", "net_amount", "status"))
        for charge_id in order:
            if charge_id in bad:
                writer.writerow((charge_id, "", bad[charge_id]))
            else:
                row = taxed[charge_id]
                net = decimal_text(row["net_micros"]) if row["status"] == "ok" else ""
                writer.writerow((charge_id, net, row["status"]))
    statuses = [bad.get(c) or taxed[c]["status"] for c in order]
    ok = sum(1 for status in statuses if status == "ok")
    return TaxChargesSummary(
        charges=len(statuses),
        taxed=ok,
        errors=len(statuses) - ok,
        lines=result.lines.num_rows,
        ruleset_version=ruleset.version,
    )
