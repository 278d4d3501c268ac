"""Fuzzing the carrier invoice reader, and the input fuzzing found that broke it
(docs/fuzzing.md)."""

from __future__ import annotations

import pytest
from fuzz_inputs import INVOICE_HEADER
from fuzz_targets import ci_test

from pipelines.interconnect.carrier_invoices import parse_invoice

test_invoice_rows_are_lines_or_rejects = ci_test("carrier_invoice", 600)


def test_rows_of_a_file_that_is_not_utf8_are_numbered_by_line() -> None:
    # Found by fuzzing (b"\x0b\x80"): the rows of a file that is not UTF-8 were split with
    # str.splitlines, which also breaks at vertical tabs, form feeds and other controls, so
    # a row was numbered past the file's lines, one row became two and a blank one counted.
    content = f"{INVOICE_HEADER}\ndetail,INV-1\x0bCR-A\xff\n\x0c\ntotal,INV-1\x1c\n".encode(
        "latin-1"
    )
    lines, rejects = parse_invoice(content, "CR-A", "2026-10", "USD")
    assert lines == []
    assert [(r["line_number"], r["reason_code"]) for r in rejects] == [
        (2, "invalid_encoding"),
        (4, "invalid_encoding"),
    ]


#: A valid detail row, field by field.
DETAIL = "detail,INV-1,CR-A,2026-10,2026-11-03,USD,2026-10-05,44,UK,B-1,2,2.5,0.0205,0.05125"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        # Found by fuzzing: calls of 4,301 digits made int() raise (Python's limit on
        # converting text), and amounts past 64 bits passed, to fail the lake's BIGINT
        # column and the findings' money_text later.
        ("calls", "9" * 4301),
        ("calls", "9223372036854775808"),
        ("amount", "9223372036854.775808"),
        ("minutes", "153722867280912931"),
    ],
)
def test_numbers_beyond_64_bits_are_rejected(column: str, value: str) -> None:
    row = dict(zip(INVOICE_HEADER.split(","), DETAIL.split(","), strict=True))
    row[column] = value
    content = f"{INVOICE_HEADER}\n{','.join(row.values())}\n".encode()
    lines, rejects = parse_invoice(content, "CR-A", "2026-10", "USD")
    assert lines == []
    assert [(r["line_number"], r["reason_code"]) for r in rejects] == [(2, "invalid_number")]
