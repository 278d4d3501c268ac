"""Carrier invoice ingestion on hand-written files: exact decimals, every reject reason,
whole-file problems, the arithmetic findings, and the lake partitions a rerun replaces.

Amounts in the comments are USD; the code holds micro-units (0.0205 = 20_500).
"""

from __future__ import annotations

from datetime import date

import pytest
from tiny_settlement import CARRIERS, DECK, HEADER, PERIOD, write_agreements, write_invoice

from pipelines.interconnect.carrier_invoices import (
    INVOICE_ARITHMETIC,
    InvoiceRejectReason,
    check_arithmetic,
    parse_invoice,
    read_carrier_invoices,
    read_carrier_terms,
    write_carrier_invoices,
)
from pipelines.lake import partition_dir

DETAIL = "detail,INV-1,CR-A,2026-10,2026-11-03,USD"
SUMMARY = "summary,INV-1,CR-A,2026-10,2026-11-03,USD"
TOTAL = "total,INV-1,CR-A,2026-10,2026-11-03,USD"


def parse(*rows: str) -> tuple[list[dict], list[dict]]:
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    return parse_invoice(content, "CR-A", PERIOD, "USD")


def test_decimals_convert_exactly_to_micros_and_minutes_to_seconds():
    # 2.5 min = 150 s; 0.0205/min = 20_500 micros; 0.05125 USD = 51_250 micros, written with
    # 5 decimals. "0.10" keeps the two decimals the carrier wrote.
    lines, rejects = parse(
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,2,2.5,0.0205,0.05125",
        f"{SUMMARY},,44,United Kingdom,,2,2.5,,0.10",
    )
    assert rejects == []
    detail, summary = lines
    assert (detail["calls"], detail["billable_seconds"]) == (2, 150)
    assert (detail["rate_micros"], detail["amount_micros"], detail["amount_decimals"]) == (
        20_500,
        51_250,
        5,
    )
    assert (detail["minutes"], detail["rate"], detail["amount"]) == ("2.5", "0.0205", "0.05125")
    assert detail["traffic_date"] == date(2026, 10, 5)
    assert detail["batch_id"] == "CR-A-20261005-3"
    assert (summary["amount_micros"], summary["amount_decimals"]) == (100_000, 2)
    assert summary["traffic_date"] is None and summary["rate_micros"] is None


@pytest.mark.parametrize(
    ("minutes", "seconds"),
    [
        ("1.1", 66),  # exact
        ("1.0167", 61),  # 61 / 60 = 1.01666.. half up to 4 decimals
        ("1.0166", 61),  # ... or down
        ("0.0167", 1),
        ("1.02", 61),  # 2 decimals: 1.01666.. half up
        ("1.01", 61),  # ... or down (60 s would be 1.00)
        ("1.05", 63),  # exact
        ("120", 7_200),
    ],
)
def test_billed_minutes_give_back_whole_seconds(minutes, seconds):
    lines, rejects = parse(f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-3,1,{minutes},0.01,0.01")
    assert rejects == []
    assert (lines[0]["minutes"], lines[0]["billable_seconds"]) == (minutes, seconds)


@pytest.mark.parametrize(
    "minutes",
    [
        "0.005",  # 0.3 s; 0 s is 0.000 and 1 s 0.017, neither within 0.001 of it
        "1.0083",  # 60.498 s; 60 s is 1.0000 and 61 s 1.0167, neither within 0.0001
        "2.50833",  # 150.4998 s; 150 s is 2.50000, 151 s 2.51667
    ],
)
def test_minutes_that_no_whole_second_rounds_to_are_refused(minutes):
    lines, rejects = parse(f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-3,1,{minutes},0.01,0.01")
    assert lines == []
    assert [row["reason_code"] for row in rejects] == ["fractional_seconds"]


def test_every_malformed_row_is_rejected_with_its_reason_and_the_rest_kept():
    good = "2026-10-05,44,United Kingdom,CR-A-20261005-3,1,1.0,0.0205,0.0205"
    rows = [
        f"{DETAIL},{good}",  # line 2: kept
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,1,1.0",  # 3: 12 fields
        f"subtotal,INV-1,CR-A,2026-10,2026-11-03,USD,{good}",  # 4
        f"{DETAIL},2026-10-05,44,United Kingdom,,1,1.0,0.0205,0.0205",  # 5: no batch_id
        f"detail,INV-1,CR-X,2026-10,2026-11-03,USD,{good}",  # 6
        f"detail,INV-1,CR-A,2026-09,2026-11-03,USD,{good}",  # 7
        f"detail,INV-1,CR-A,2026-10,2026-11-03,EUR,{good}",  # 8
        f"{DETAIL},2026/10/05,44,United Kingdom,CR-A-20261005-3,1,1.0,0.0205,0.0205",  # 9
        f"{DETAIL},2026-02-30,44,United Kingdom,CR-A-20260230-3,1,1.0,0.0205,0.0205",  # 10
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,-1,1.0,0.0205,0.0205",  # 11
        f'{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,1,1.0,0.0205,"0,0205"',  # 12
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,1,1.0,0.0205,0.0000001",  # 13
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,1,0.005,0.0205,0.0001",  # 14
        f"{DETAIL},2026-10-05,44,United Kingdom,CR-A-20261005-3,1,1.0,2e-2,0.0205",  # 15
        "",  # 16: a blank line is no record
        f"{DETAIL},2026-11-01,44,United Kingdom,CR-A-20261101-1,1,1.0,0.0205,0.0205",  # 17: kept
        f"{SUMMARY},,44,United Kingdom,,2,2.0,,0.0410",  # 18: kept
        f"{SUMMARY},,44,United Kingdom,,2,2.0,,0.0410",  # 19: second summary of 44
        f"{TOTAL},,,,,2,2.0,,0.0410",  # 20: kept
        f"{TOTAL},,,,,2,2.0,,0.0410",  # 21: second total
        f'{DETAIL},2026-10-06,44,"United Kingdom,CR-A-20261006-1,1,1.0,0.0205,0.0205',  # 22
    ]
    lines, rejects = parse(*rows)
    assert [line["line_number"] for line in lines] == [2, 17, 18, 20]
    assert [(row["line_number"], row["reason_code"]) for row in rejects] == [
        (3, "malformed_row"),
        (4, "unknown_record_type"),
        (5, "missing_field"),
        (6, "carrier_mismatch"),
        (7, "period_mismatch"),
        (8, "currency_mismatch"),
        (9, "invalid_date"),
        (10, "invalid_date"),
        (11, "invalid_number"),
        (12, "invalid_number"),
        (13, "inexact_decimal"),
        (14, "fractional_seconds"),
        (15, "invalid_number"),
        (19, "repeated_summary"),
        (21, "repeated_total"),
        (22, "malformed_row"),
    ]
    # 20 non-blank records after the header: 4 kept + 16 refused.
    assert len(lines) + len(rejects) == 20
    by_line = {row["line_number"]: row for row in rejects}
    assert by_line[3]["reason_detail"] == "12 fields, the header has 14"
    assert by_line[5]["reason_detail"] == "detail row without batch_id"
    assert by_line[14]["reason_detail"] == (
        "minutes '0.005' is 0.300 seconds, and no one whole number of seconds rounds to it"
    )
    assert by_line[12]["raw_text"] == rows[10]
    assert by_line[22]["raw_text"] == rows[20]  # the unterminated quote runs to the end
    # A traffic date outside the period is billed traffic, not a reject.
    assert lines[1]["traffic_date"] == date(2026, 11, 1)


def test_a_file_that_is_not_utf8_rejects_every_row():
    content = (HEADER + "\n" + f"{DETAIL},2026-10-05,44,K\xf6ln,B-1,1,1.0,0.01,0.01\n").encode(
        "latin-1"
    ) + f"{TOTAL},,,,,1,1.0,,0.01\n".encode()
    lines, rejects = parse_invoice(content, "CR-A", PERIOD, "USD")
    assert lines == []
    assert [(row["line_number"], row["reason_code"]) for row in rejects] == [
        (2, "invalid_encoding"),
        (3, "invalid_encoding"),
    ]


def test_a_header_without_the_invoice_columns_rejects_every_row():
    header = HEADER.replace(",batch_id", ",batch")
    content = f"{header}\n{DETAIL},2026-10-05,44,UK,B-1,1,1.0,0.01,0.01\n".encode()
    lines, rejects = parse_invoice(content, "CR-A", PERIOD, "USD")
    assert lines == []
    assert [(r["line_number"], r["reason_code"], r["reason_detail"]) for r in rejects] == [
        (2, "unknown_column_layout", "the header lacks batch_id")
    ]


def test_arithmetic_errors_are_findings_on_kept_lines():
    # 44: details 1 + 2 calls, 60 + 120 s, 0.0205 + 0.0410 = 0.0615; the summary says 0.0625.
    # 49: details only, no summary. Total 0.0625 + 0.0100 (33's summary, no details) = 0.0725;
    # the total row says 0.0700.
    lines, rejects = parse(
        f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-1,1,1.0,0.0205,0.0205",
        f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-2,2,2.0,0.0205,0.0410",
        f"{DETAIL},2026-10-05,49,Germany,CR-A-20261005-2,1,1.0,0.0100,0.0100",
        f"{SUMMARY},,44,UK,,3,3.0,,0.0625",
        f"{SUMMARY},,33,France,,1,1.0,,0.0100",
        f"{TOTAL},,,,,,,,0.0700",
    )
    assert rejects == []
    findings = check_arithmetic(lines)
    by_line = {line["line_number"]: line for line in lines}
    assert by_line[5]["finding"] == INVOICE_ARITHMETIC
    assert by_line[5]["finding_detail"] == (
        "summary of 44 states 3 calls, 180 s, 0.0625; its detail rows add up to 3 calls, "
        "180 s, 0.0615"
    )
    assert by_line[6]["finding_detail"] == (
        "summary of 33 states 1 calls, 60 s, 0.01; its detail rows add up to 0 calls, 0 s, 0.00"
    )
    assert by_line[7]["finding_detail"] == "total row states amount 0.07 (summaries: 0.0725)"
    assert [line["finding"] for line in lines[:3]] == [None, None, None]
    assert findings == [
        f"line 5: {by_line[5]['finding_detail']}",
        f"line 6: {by_line[6]['finding_detail']}",
        "destination 49 is billed in detail rows without a summary row",
        f"line 7: {by_line[7]['finding_detail']}",
    ]


def test_an_invoice_without_a_total_row_is_a_finding():
    lines, _ = parse(f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-1,1,1.0,0.0205,0.0205")
    assert check_arithmetic(lines) == [
        "destination 44 is billed in detail rows without a summary row",
        "the invoice has no total row",
    ]


def test_period_read_counts_every_record_and_names_carriers_without_invoice(tmp_path):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_invoice(
        layout,
        "CR-A",
        [
            f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-1,1,1.0,0.0205,0.0205",
            f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-2,x,1.0,0.0205,0.0205",
            f"{SUMMARY},,44,UK,,1,1.0,,0.0205",
            f"{TOTAL},,,,,1,1.0,,0.0205",
        ],
    )
    # A file of another period is not this period's invoice.
    write_invoice(layout, "CR-B", [], period="2026-09")
    invoices = read_carrier_invoices(layout, PERIOD, read_carrier_terms(layout))
    (file,) = invoices.files
    assert (file.file_name, file.records_in, file.accepted, file.rejected) == (
        "CR-A/CR-A_2026-10.csv",
        4,
        3,
        1,
    )
    assert file.invoice_numbers == ("INV-1",)
    assert file.arithmetic_findings == ()
    assert invoices.carriers_without_invoice == ("CR-B", "CR-C")
    assert invoices.rejects.to_pylist() == [
        {
            "billing_period": PERIOD,
            "carrier_id": "CR-A",
            "file_name": "CR-A/CR-A_2026-10.csv",
            "line_number": 3,
            "reason_code": InvoiceRejectReason.INVALID_NUMBER.value,
            "reason_detail": "calls 'x' is not a whole number >= 0",
            "raw_text": f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-2,x,1.0,0.0205,0.0205",
        }
    ]


@pytest.mark.parametrize("table", ["carrier_invoice_lines", "carrier_invoice_rejects"])
def test_rewriting_a_period_gives_the_same_bytes(tmp_path, table):
    layout = write_agreements(tmp_path, CARRIERS, DECK)
    write_invoice(
        layout,
        "CR-A",
        [
            f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-1,1,1.0,0.0205,0.0205",
            f"{DETAIL},2026-10-05,44,UK,CR-A-20261005-2,1,0.005,0.0205,0.0205",
        ],
    )
    terms = read_carrier_terms(layout)
    write_carrier_invoices(layout, PERIOD, read_carrier_invoices(layout, PERIOD, terms))
    part = partition_dir(layout, table, {"billing_period": PERIOD}) / "part-0.parquet"
    first = part.read_bytes()
    write_carrier_invoices(layout, PERIOD, read_carrier_invoices(layout, PERIOD, terms))
    assert part.read_bytes() == first
