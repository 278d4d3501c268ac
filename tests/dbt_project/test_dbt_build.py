"""The dbt project on the tiny fixture operator (conftest.py): marts, identities, lint, parse.

Expected numbers are worked out by hand from dbt_tiny_operator.py; the arithmetic is in the
comments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dbt_tiny_operator import (
    AST_DUP_FILE,
    AST_FILE,
    BER_FILE,
    BER_REPEAT_FILE,
    FILE_DATE,
    MB,
    PERIOD,
    PGW_FILE,
    PGW_NEXT_FILE,
    event_date,
    registry_row,
    write_fixture,
)
from usage_lake import write_usage

from pipelines.build import BuildError, build_warehouse, parse_project
from pipelines.config import PROJECT_ROOT, Layout
from pipelines.lake import read_partition, read_table, write_partition
from pipelines.schema import LAKE_TABLES
from pipelines.statements.stage import write_statements
from pipelines.taxes.stage import tax_period

# Recurring (cycle day 1: April in advance, S004's March days trued up): A001 20 000 000 +
# 50 000 000; A002 45 000 000 + 25 000 000 + 8 060 000 (25 000 000 x 10/31 = 8 064 516.13,
# to the cent); A003 20 000 000.
# Usage (rated), one line per subscriber and tax category, each rounded to the cent:
# A001 S001 wireless 1 200 000 + 200 000 + 610 000 = 2 010 000 (u21 is inbound, the repeat
# of u01 is not rated again, S001's held session not yet); its data 0 (in the allowance).
# A002 S003 wireless 600 000, data 20 000 + 2 x 20 000 (sessions A and B, once each) =
# 60 000; S004 local calls 90 000 + 45 000 = 135 000 -> 140 000 (13.5 cents rounds up),
# international 3 000 000: 3 800 000.
# A003 S005 wireless 10 x 1 000 000 + 200 000 = 10 200 000, data 35 000 -> 40 000:
# 10 240 000.
# Tax (TAX_RULES_FILES; March 2025: FUSF factor 36.3% on the interstate share, capped at
# floor(factor x share amount)):
# A001 (Chicago): S001 plan 20 000 000: FUSF 20 000 000 x 37.1% = 7 420 000 x 36.3% =
#      2 693 460; Chicago 911 3 900 000; Cook 2% x (20 000 000 + 2 693 460) = 453 869.2 ->
#      453 869 (tax on tax). S001 usage 2 010 000: FUSF 745 710 x 36.3% = 270 692.73, cap
#      270 692; IL excise 6.25% = 125 625. Broadband and data: no rule (ITFA).
#      -> 2 693 460 + 3 900 000 + 453 869 + 270 692 + 125 625 = 7 443 646
# A002 (Springfield: the Illinois state-wide area): S003 plan 45 000 000: FUSF 16 695 000 x
#      36.3% = 6 060 285. S004 VoIP April 25 000 000: share 64.9% = 16 225 000, x 36.3% =
#      5 889 675; its March days 8 060 000: share 5 230 940, x 36.3% = 1 898 831.22 ->
#      1 898 831. S003 usage 600 000: FUSF 222 600 x 36.3% = 80 803.8, cap 80 803; excise
#      37 500. S004 local calls (u16, u20: 217 to 217) 140 000: FUSF 0 (intrastate),
#      excise 8 750. S004 international call (u17) 3 000 000: FUSF 1 089 000, excise
#      187 500.
#      -> 6 060 285 + 5 889 675 + 1 898 831 + 80 803 + 37 500 + 8 750 + 1 089 000 + 187 500
#      = 15 252 344
# A003 (Lifeline, Texas): FUSF exempt; Texas 911 1 line x 500 000 -> 500 000
# IL gross receipts is compliance-only: never on an invoice.
# The invoice shows each tax's sum rounded to the cent, half away from zero, USF toward zero:
# A001 911 3 900 000; Cook 453 869 -> 450 000; excise 125 625 -> 130 000; FUSF 2 693 460 +
#      270 692 = 2 964 152 -> 2 960 000: 7 440 000.
# A002 excise 37 500 + 8 750 + 187 500 = 233 750 -> 230 000; FUSF 15 018 594 -> 15 010 000:
#      15 240 000.
EXPECTED_INVOICES = {
    # invoice_id: (line_count, recurring, usage, subtotal, tax, total); lines: one per
    # billed charge and one per billable tax.
    "INV-202503-A001": (8, 70_000_000, 2_010_000, 72_010_000, 7_440_000, 79_450_000),
    "INV-202503-A002": (9, 78_060_000, 3_800_000, 81_860_000, 15_240_000, 97_100_000),
    "INV-202503-A003": (4, 20_000_000, 10_240_000, 30_240_000, 500_000, 30_740_000),
}


def _query(layout: Layout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = write_fixture(tmp_path_factory.mktemp("dbt") / "data")
    result = build_warehouse(layout)
    assert result.success
    assert result.models_failed == 0 and result.tests_failed == 0
    assert result.models_passed >= 9 and result.tests_passed >= 40
    return layout


@pytest.mark.slow
def test_invoices_match_hand_computed_totals(built: Layout) -> None:
    rows = _query(
        built,
        "select invoice_id, line_count, recurring_micros, usage_micros, subtotal_micros,"
        " tax_micros, total_micros from fct_invoices order by invoice_id",
    )
    assert {row[0]: row[1:] for row in rows} == EXPECTED_INVOICES


@pytest.mark.slow
def test_usage_priced_on_aggregate_reaches_the_invoice(fixture_layout: Layout) -> None:
    # S003's data (u15 and sessions A and B, 2 MB each) priced on aggregate, as the rate
    # stage writes it: its records carry charge 0 and one usage_aggregate_charges row prices
    # their 6 MB, here 1 500 000 micros.
    values = {"billing_period": PERIOD, "bucket": 0}  # the fixture's one rating bucket
    table = read_partition(fixture_layout, "rated_usage", values)
    rated = table.to_pylist()
    for row in rated:
        if row["subscriber_id"] == "S003" and row["service"] == "data":
            row["charge_micros"] = 0
    write_partition(
        fixture_layout, "rated_usage", values, pa.Table.from_pylist(rated, table.schema)
    )
    charge = {
        "billing_period": PERIOD,
        "subscriber_id": "S003",
        "account_id": "A002",
        "plan_id": "P-MOB-L",
        "offer_effective_from": date(2024, 1, 1),
        "service": "data",
        "pricing_model": "graduated",
        "records": 3,
        "chargeable_units": 6 * MB,
        "priced_units": 6,
        "charge_micros": 1_500_000,
        "tiers": '[{"tier": 1, "units": 6, "quantity": 6, "amount_micros": 1500000}]',
    }
    schema, _ = LAKE_TABLES["usage_aggregate_charges"]
    write_partition(
        fixture_layout, "usage_aggregate_charges", values, pa.Table.from_pylist([charge], schema)
    )
    tax_period(fixture_layout, PERIOD)
    build_warehouse(fixture_layout)

    assert _query(
        fixture_layout,
        "select quantity, amount_micros from fct_invoice_lines"
        " where subscriber_id = 'S003' and category = 'internet_access'",
    ) == [(3, 1_500_000)]
    # A002 usage: 3 800 000 - 3 x 20 000 + 1 500 000 = 5 240 000. Data is internet
    # access, which no rule taxes: the invoiced tax stays 15 240 000.
    rows = _query(
        fixture_layout,
        "select invoice_id, line_count, recurring_micros, usage_micros, subtotal_micros,"
        " tax_micros, total_micros from fct_invoices order by invoice_id",
    )
    assert {row[0]: row[1:] for row in rows} == {
        **EXPECTED_INVOICES,
        "INV-202503-A002": (9, 78_060_000, 5_240_000, 83_300_000, 15_240_000, 98_540_000),
    }


@pytest.mark.slow
def test_credits_reach_the_invoice_the_ledger_and_the_statement(fixture_layout: Layout) -> None:
    # A $5.00 goodwill credit on A002's VoIP line, within its approver's $10.00, and a
    # $20.00 one above it (held).
    (fixture_layout.reference / "adjustments.csv").write_text(
        "adjustment_id,account_id,subscriber_id,billing_period,adjustment_type,category,"
        "amount_micros,description,approved_by,approval_limit_micros\n"
        "ADJ-1,A002,S004,2025-03,goodwill,voip_access,5000000,outage,agent-7,10000000\n"
        "ADJ-2,A002,,2025-03,goodwill,voip_access,20000000,outage,agent-7,10000000\n"
    )
    tax_period(fixture_layout, PERIOD)
    assert build_warehouse(fixture_layout).success

    # A002: subtotal 81 860 000 - 5 000 000 = 76 860 000; the credit reverses its FUSF,
    # 5 000 000 x 64.9% x 36.3% = 1 177 935: FUSF 15 018 594 - 1 177 935 = 13 840 659 ->
    # 13 840 000, excise 230 000: tax 14 070 000.
    assert _query(
        fixture_layout,
        "select line_count, credit_micros, subtotal_micros, tax_micros, total_micros"
        " from fct_invoices where account_id = 'A002'",
    ) == [(10, -5_000_000, 76_860_000, 14_070_000, 90_930_000)]
    assert _query(
        fixture_layout,
        "select line_type, description, amount_micros from fct_invoice_lines"
        " where line_type = 'credit'",
    ) == [("credit", "Goodwill credit: outage", -5_000_000)]
    assert _query(
        fixture_layout,
        "select adjustment_id, adjustment_status, hold_reason, invoice_id from fct_adjustments"
        " order by 1",
    ) == [
        ("ADJ-1", "applied", None, "INV-202503-A002"),
        ("ADJ-2", "held", "above_approval_limit", None),
    ]
    # The ledger debits the contra-revenue account with the credit.
    assert _query(
        fixture_layout,
        "select sum(debit_micros), sum(credit_micros) from fct_gl_journal"
        " where gl_account_code = '4900'",
    ) == [(5_000_000, 0)]
    statement = write_statements(fixture_layout, PERIOD, ["A002"])
    html = (statement.folder / "INV-202503-A002.html").read_text()
    assert "Goodwill credit: outage" in html and "-$5.00" in html and "$90.93" in html


@pytest.mark.slow
def test_invoice_dates_and_tax_lines(built: Layout) -> None:
    dates = _query(built, "select distinct invoice_date, due_date from fct_invoices")
    assert [(str(a), str(b)) for a, b in dates] == [("2025-04-01", "2025-04-22")]
    taxes = _query(
        built,
        "select account_id, tax_id, amount_micros from fct_invoice_lines"
        " where line_type = 'tax' order by account_id, tax_id",
    )
    assert taxes == [
        ("A001", "CHI-911", 3_900_000),
        ("A001", "COOK-TEL", 450_000),
        ("A001", "IL-EXCISE", 130_000),
        ("A001", "US-FUSF", 2_960_000),
        ("A002", "IL-EXCISE", 230_000),
        ("A002", "US-FUSF", 15_010_000),
        ("A003", "TX-911", 500_000),
    ]
    # 3% of each Illinois telecom charge, owed by the carrier, never invoiced:
    # A001 20 000 000 + 2 010 000 -> 600 000 + 60 300; A002 45 000 000 + 25 000 000 +
    # 8 060 000 + 600 000 + 140 000 + 3 000 000 -> 1 350 000 + 750 000 + 241 800 + 18 000 +
    # 4 200 + 90 000.
    compliance = _query(
        built,
        "select account_id, sum(tax_micros) from fct_tax_lines where not is_billable"
        " group by account_id order by 1",
    )
    assert compliance == [("A001", 660_300), ("A002", 2_454_000)]
    # The USF lines stay within the FCC cap on both Illinois invoices: A001 exactly at
    # floor(36.3% x (7 420 000 + 745 710)) = 2 964 152; A002 one micro below floor(36.3% x
    # (16 695 000 + 16 225 000 + 5 230 940 + 222 600 + 3 000 000)) = floor(15 018 595.02), as
    # each charge's line is rounded down on its own (6 060 285 + 5 889 675 + 1 898 831 +
    # 80 803 + 1 089 000 = 15 018 594).
    recovery = _query(
        built,
        "select invoice_id, sum(usf_billed_micros), sum(interstate_micros)"
        " from fct_billed_charges where has_usf_line group by invoice_id order by 1",
    )
    assert recovery == [
        ("INV-202503-A001", 2_964_152, 8_165_710),
        ("INV-202503-A002", 15_018_594, 41_373_540),
    ]


@pytest.mark.slow
def test_general_ledger_trial_balance(built: Layout) -> None:
    balances = dict(
        _query(
            built,
            "select gl_account_code, sum(debit_micros) - sum(credit_micros) from fct_gl_journal"
            " group by 1 order by 1",
        )
    )
    # Debit balances positive, credit balances negative.
    assert balances == {
        # Receivables: the invoice totals 79 450 000 + 97 100 000 + 30 740 000.
        "1200": 207_290_000,
        # Taxes invoiced other than USF: A001 3 900 000 + 450 000 + 130 000, A002 230 000,
        # A003 500 000; plus the carrier-paid IL gross receipts tax 660 300 + 2 454 000.
        "2300": -(4_480_000 + 230_000 + 500_000 + 3_114_300),
        # USF payable: what is owed (below), 2 960 000 + 15 010 000 of it invoiced.
        "2310": -22_049_872,
        # April, billed in advance on the March bill, is released within its month.
        "2400": 0,
        # Plans: mobile S001 + S003 + S005; VoIP S004 (April, and 10/31 of March);
        # broadband S002.
        "4100": -(20_000_000 + 45_000_000 + 20_000_000),
        "4110": -(25_000_000 + 8_060_000),
        "4120": -50_000_000,
        # Usage: mobile S001 2 010 000, S003 660 000, S005 10 240 000; VoIP S004 3 140 000.
        "4200": -(2_010_000 + 660_000 + 10_240_000),
        "4210": -3_140_000,
        "6100": 3_114_300,
        # The USF contribution at 36.3% of the interstate and international revenue, per
        # category: wireless access (7 420 000 + 16 695 000 + 7 420 000, Lifeline's too)
        # 11 447 205; wireless usage (745 710 + 222 600 + 3 784 200) 4 752 510 ->
        # 1 725 161.13 -> 1 725 161; VoIP access (16 225 000 + 5 230 940) 21 455 940 ->
        # 7 788 506.22 -> 7 788 506; international calls 3 000 000 -> 1 089 000; total
        # 22 049 872, minus the 17 970 000 invoiced.
        "6110": 4_079_872,
        # Interconnect termination accrued from the rated legs: C1 1 352 500, C2 9 000 000.
        "2100": -10_352_500,
        "5100": 10_352_500,
    }
    assert sum(balances.values()) == 0


@pytest.mark.slow
def test_settlement_findings_and_fraud(built: Layout) -> None:
    settlement = _query(
        built,
        "select carrier_id, settlement_side, destination_prefix, calls, billable_seconds,"
        " amount_micros from fct_interconnect_settlement order by carrier_id",
    )
    # C1: 120 + 60 + 61 + 300 s, 300 000 + 150 000 + 152 500 + 750 000; the suspense leg
    # is not settled. C2: 10 premium legs of 90 s at 900 000.
    assert settlement == [
        ("C1", "payable", "44", 4, 541, 1_352_500),
        ("C2", "payable", "882", 10, 900, 9_000_000),
    ]

    findings = _query(
        built,
        "select category, subject_id, record_count, amount_at_risk_micros"
        " from fct_leakage_findings order by category, subject_id",
    )
    assert findings == [
        # barred in the HLR: recurring 20 000 000 + rated usage 10 235 000 (see A003 above)
        ("billed_not_provisioned", "S005", 12, 30_235_000),
        ("duplicate_records", BER_FILE, 1, 0),
        ("duplicate_records", "Master_AST1_2025031012_000002.csv", 5, 0),
        ("provisioned_not_billed", "310260000000006", 0, 20_000_000),  # cancelled S006
        ("provisioned_not_billed", "310260000000099", 0, 20_000_000),  # nobody's IMSI
        ("rejected_records", BER_FILE, 1, 0),
        # Suspense of March 9-10 is 21-22 days old at the March 31 close: aged (> 14 days).
        # 600 s x 10 000 micros/s (UK peak 600 000 / 60 s) + 1 SMS x 200 000
        ("suspense_aged", "13125550777", 2, 6_200_000),
        ("suspense_aged", "S003", 1, 300_000),  # 30 s x 10 000
        # S001's hand-rated domestic call (300 s) and data session (600 B) carry chargeable
        # units at charge 0, outside any allowance: at the rate deck's prices, 300 x 30 000 /
        # 60 = 150 000 and 600 x 10 000 / 1 048 576 = 5.72: 150 006.
        ("zero_rated_usage", "S001", 2, 150_006),
    ]

    alerts = _query(
        built,
        "select detector, subject_id, lines_affected, record_count, amount_at_risk_micros,"
        " score, evidence ->> 'local_date' from fct_fraud_alerts",
    )
    # S005's 10 premium calls, 02:15-03:45 UTC = 21:15-22:45 on March 9th in Chicago (all
    # out of hours): 50 x 10 / 10 x (0.5 + 0.5 x 1) = 50; termination 10 x 900 000.
    assert alerts == [("irsf", "15125550105", 1, 10, 9_000_000, 50, "2025-03-09")]


@pytest.mark.slow
def test_reconciliation_accounts_for_repeats_sessions_and_held_partials(built: Layout) -> None:
    reconciliation = _query(
        built,
        "select feed, cast(file_date as varchar), files, duplicate_files, records_in,"
        " records_accepted, records_rejected, records_duplicate, records_rated,"
        " records_zero_rated, records_not_billable, records_suspense, records_awaiting_rating,"
        " records_repeated, records_held, records_awaiting_correlation, records_unexplained,"
        " records_in_sessions, charge_micros"
        " from rpt_usage_reconciliation order by feed, file_date",
    )
    # AST_FILE: u16, u17, u20 rated (90 000 + 3 000 000 + 45 000), u19 zero-rated, u18 not
    # billable; the duplicate file's 5 records are duplicates.
    # ts32298_ber 03-10: BER_FILE (24 accepted: 19 rated, u07 zero-rated, u06 not billable,
    # u10-u12 in suspense) and PGW_FILE (partials A1 and B1, rated with their sessions): 21
    # rated; charge 12 865 000 + sessions A and B, 20 000 each, counted once under the file
    # date of their first partial (A1, B1).
    # ts32298_ber 03-11: BER_REPEAT_FILE (the repeat of u01; u21 not billable) and
    # PGW_NEXT_FILE (A2 and B3 rated with their sessions, charged on 03-10; C1 held).
    # fmt: off
    assert reconciliation == [
        # feed, file date, files, dup files, in, accepted, rejected, duplicate,
        # rated, zero, not billable, suspense, awaiting rating, repeated, held,
        # awaiting correlation, unexplained, in sessions, charge
        ("asterisk_cdr_csv", "2025-03-10", 2, 1, 10, 5, 0, 5,
         3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 3_135_000),
        ("ts32298_ber", "2025-03-10", 2, 0, 28, 26, 1, 1,
         21, 1, 1, 3, 0, 0, 0, 0, 0, 2, 12_905_000),
        ("ts32298_ber", "2025-03-11", 2, 0, 5, 5, 0, 0,
         2, 0, 1, 0, 0, 1, 1, 0, 0, 2, 0),
    ]
    # fmt: on


@pytest.mark.slow
def test_file_conservation_per_registry_file(built: Layout) -> None:
    rows = _query(
        built,
        "select file_name, switch_id, cast(file_date as varchar), file_status, records_in,"
        " records_accepted, records_rejected, records_duplicate, records_fixed,"
        " records_repeated, records_partial, records_held, is_balanced"
        " from rpt_file_conservation order by file_name",
    )
    assert rows == [
        (BER_FILE, "MSC1", "2025-03-10", "processed", 26, 24, 1, 1, 0, 0, 0, 0, True),
        # u21 came in through an operator's quarantine fix; record 1 repeats u01.
        (BER_REPEAT_FILE, "MSC1", "2025-03-11", "processed", 2, 2, 0, 0, 1, 1, 0, 0, True),
        (AST_FILE, "AST1", "2025-03-10", "processed", 5, 5, 0, 0, 0, 0, 0, 0, True),
        (AST_DUP_FILE, "AST1", "2025-03-10", "duplicate_file", 5, 0, 0, 5, 0, 0, 0, 0, True),
        # A1, B1 | A2, B3 and C1 (held)
        (PGW_FILE, "PGW1", "2025-03-10", "processed", 2, 2, 0, 0, 0, 0, 2, 0, True),
        (PGW_NEXT_FILE, "PGW1", "2025-03-11", "processed", 3, 3, 0, 0, 0, 0, 3, 1, True),
    ]


@pytest.mark.slow
def test_sessions_are_rated_once_and_partials_never(built: Layout) -> None:
    rated = _query(
        built,
        "select usage_id, file_name, record_number, data_volume_bytes, charge_micros"
        " from fct_rated_usage where service = 'data' and subscriber_id = 'S003'"
        " order by usage_id",
    )
    assert rated == [
        ("bbbbbbbbbbbbbbbb-16", BER_FILE, 16, 2 * MB, 20_000),  # u15, standalone
        ("session:PGW1:10.0.0.1-1001", PGW_FILE, 1, 2 * MB, 20_000),  # A, complete
        ("session:PGW1:10.0.0.1-1002", PGW_FILE, 2, 2 * MB, 20_000),  # B, incomplete
    ]
    outcomes = _query(
        built,
        "select usage_id, record_outcome, billed_usage_id from int_usage_records_traced"
        " where is_repeat or is_partial order by usage_id",
    )
    assert outcomes == [
        ("1111111111111111-1", "repeated", None),
        ("2222222222222222-1", "rated", "session:PGW1:10.0.0.1-1001"),
        ("2222222222222222-2", "rated", "session:PGW1:10.0.0.1-1002"),
        ("3333333333333333-1", "rated", "session:PGW1:10.0.0.1-1001"),
        ("3333333333333333-2", "rated", "session:PGW1:10.0.0.1-1002"),
        ("3333333333333333-3", "held", None),
    ]


@pytest.mark.slow
def test_unbalanced_file_registry_fails_the_build(fixture_layout: Layout) -> None:
    values = {"feed": "ts32298_ber", "file_date": FILE_DATE.isoformat()}
    registry = read_partition(fixture_layout, "file_registry", values)
    bad = registry_row(BER_FILE, "b" * 64, "ts32298_ber", "MSC1", 1, "processed", (27, 24, 1, 1))
    write_partition(fixture_layout, "file_registry", values, registry.from_pylist([bad]))

    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    # The staging test fails; dbt then skips everything downstream of the registry.
    assert "test:raw_files_records_in_conserved" in caught.value.failures


@pytest.mark.slow
def test_rated_row_on_the_wrong_account_fails_the_build(fixture_layout: Layout) -> None:
    values = {"billing_period": PERIOD, "bucket": 0}  # the fixture's one rating bucket
    rated = read_partition(fixture_layout, "rated_usage", values)
    column = rated.schema.get_field_index("account_id")
    # One rated call of S001 (account A001) claims to belong to A002: its usage would be
    # split over two invoices, so the bill run refuses it.
    first = pc.equal(rated["usage_id"], rated["usage_id"][0])
    one_moved = rated.set_column(
        column, "account_id", pc.if_else(first, "A002", rated["account_id"])
    )
    write_partition(fixture_layout, "rated_usage", values, one_moved)
    with pytest.raises(RuntimeError, match="share the id 2025-03/usage/S001"):
        tax_period(fixture_layout, PERIOD)
    # Every rated record of S001 claims A002: the bill run bills them there, and the build
    # fails on the subscriber master's account.
    s001 = pc.equal(rated["subscriber_id"], "S001")
    all_moved = rated.set_column(
        column, "account_id", pc.if_else(s001, "A002", rated["account_id"])
    )
    write_partition(fixture_layout, "rated_usage", values, all_moved)
    tax_period(fixture_layout, PERIOD)

    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:assert_usage_lines_match_subscriber_accounts" in caught.value.failures


@pytest.mark.slow
def test_lake_table_without_partitions_reads_empty(fixture_layout: Layout) -> None:
    for part in fixture_layout.lake_table("interconnect_legs").rglob("*.parquet"):
        part.unlink()
    build_warehouse(fixture_layout)
    assert _query(fixture_layout, "select count(*) from fct_interconnect_settlement") == [(0,)]


@pytest.mark.slow
def test_lake_without_any_partition_builds_empty_reports(fixture_layout: Layout) -> None:
    # Every lake table reads as an empty table of its declared types (sessions' list column
    # included), before the first mediation.
    shutil.rmtree(fixture_layout.lake)
    build_warehouse(fixture_layout)
    assert _query(
        fixture_layout,
        "select (select count(*) from rpt_usage_reconciliation),"
        " (select count(*) from rpt_file_conservation), (select count(*) from fct_rated_usage),"
        " (select typeof(partial_usage_ids) from stg_lake__sessions limit 1)",
    ) == [(0, 0, 0, None)]
    assert _query(
        fixture_layout,
        "select data_type from information_schema.columns"
        " where table_name = 'stg_lake__sessions' and column_name = 'partial_usage_ids'",
    ) == [("VARCHAR[]",)]


def test_dbt_parse_with_warnings_as_errors(tmp_path: Path) -> None:
    parse_project(Layout(tmp_path))


@pytest.mark.slow
def test_sqlfluff_lint_passes(built: Layout) -> None:
    # dbt's artifacts go under the fixture's data root, not into dbt_project/.
    env = {
        **os.environ,
        "TELCOLAKE_DATA": str(built.root),
        "DBT_TARGET_PATH": str(built.warehouse / "lint_target"),
        "DBT_LOG_PATH": str(built.warehouse / "lint_logs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "dbt_project/models"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def _add_record(
    layout: Layout, feed: str, file_name: str, number: int, changes: dict[str, Any]
) -> None:
    """Land one more accepted record in a file of FILE_DATE, after consolidation and rating
    ran: a copy of the file's first record with ``changes`` (and started_at's event date)."""
    day = FILE_DATE.isoformat()
    usage = read_table(layout, "usage", {"feed": feed, "file_date": day}).to_pylist()
    extra = next(
        row for row in usage if row["file_name"] == file_name and row["record_number"] == 1
    )
    extra = {**extra, "usage_id": f"{extra['file_id'][:16]}-{number}", "record_number": number}
    extra.update(changes, event_date=event_date(changes["started_at"]))
    values = {"feed": feed, "event_date": extra["event_date"].isoformat(), "file_date": day}
    write_usage(layout, [*read_table(layout, "usage", values).to_pylist(), extra])
    registry_values = {"feed": feed, "file_date": day}
    registry = read_partition(layout, "file_registry", registry_values).to_pylist()
    for row in registry:
        if row["file_name"] == file_name:
            row["records_in"] += 1
            row["records_accepted"] += 1
    write_partition(layout, "file_registry", registry_values, pa.Table.from_pylist(registry))


def _add_unrated_asterisk_record(layout: Layout, started_at: datetime) -> None:
    """Land one more accepted Asterisk record that rating has not seen."""
    _add_record(
        layout,
        "asterisk_cdr_csv",
        AST_FILE,
        6,
        {
            "record_key": "key-extra",
            "started_at": started_at,
            "answered_at": started_at,
            "ended_at": started_at + timedelta(seconds=60),
        },
    )


def _add_partial_record(layout: Layout, started_at: datetime) -> None:
    """Land one more PGW partial record (a new session's first) that consolidation has not
    seen, in PGW_FILE."""
    _add_record(
        layout,
        "ts32298_ber",
        PGW_FILE,
        3,
        {
            "record_key": "10.0.0.1-1009-1",
            "session_key": "10.0.0.1-1009",
            "partial_sequence": 1,
            "is_last_partial": False,
            "started_at": started_at,
            "answered_at": started_at,
            "ended_at": started_at + timedelta(minutes=30),
        },
    )


@pytest.mark.slow
def test_usage_of_a_period_not_rated_yet_awaits_rating(fixture_layout: Layout) -> None:
    # 2025-04-01 05:30 UTC is 00:30 in Chicago on April 1st: the next billing period.
    _add_unrated_asterisk_record(fixture_layout, datetime(2025, 4, 1, 5, 30, tzinfo=UTC))
    build_warehouse(fixture_layout)
    assert _query(
        fixture_layout,
        "select records_accepted, records_awaiting_rating, records_unexplained"
        " from rpt_usage_reconciliation where feed = 'asterisk_cdr_csv'",
    ) == [(6, 1, 0)]


@pytest.mark.slow
def test_unrated_usage_of_a_rated_period_fails_the_build(fixture_layout: Layout) -> None:
    # 2025-04-01 04:30 UTC is still March 31st in Chicago: rating should have seen it.
    _add_unrated_asterisk_record(fixture_layout, datetime(2025, 4, 1, 4, 30, tzinfo=UTC))
    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:reconciliation_accepted_all_accounted_for" in caught.value.failures


@pytest.mark.slow
def test_partial_of_a_period_not_consolidated_awaits_correlation(fixture_layout: Layout) -> None:
    # 2025-04-01 05:30 UTC is 00:30 in Chicago on April 1st: April is not consolidated.
    _add_partial_record(fixture_layout, datetime(2025, 4, 1, 5, 30, tzinfo=UTC))
    build_warehouse(fixture_layout)
    assert _query(
        fixture_layout,
        "select records_accepted, records_rated, records_awaiting_correlation,"
        " records_unexplained from rpt_usage_reconciliation"
        " where feed = 'ts32298_ber' and file_date = '2025-03-10'",
    ) == [(27, 21, 1, 0)]
    assert _query(
        fixture_layout,
        f"select records_partial, is_balanced from rpt_file_conservation"
        f" where file_name = '{PGW_FILE}'",
    ) == [(3, True)]


@pytest.mark.slow
def test_partial_missing_from_a_consolidated_period_fails_the_build(
    fixture_layout: Layout,
) -> None:
    # March was consolidated before this partial arrived: no session holds it.
    _add_partial_record(fixture_layout, datetime(2025, 3, 10, 13, 0, tzinfo=UTC))
    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:reconciliation_accepted_all_accounted_for" in caught.value.failures


@pytest.mark.slow
def test_rated_repeat_fails_the_build(fixture_layout: Layout) -> None:
    # Rating billed the repeat of u01 a second time.
    values = {"billing_period": PERIOD, "bucket": 0}  # the fixture's one rating bucket
    rated = read_partition(fixture_layout, "rated_usage", values).to_pylist()
    original = next(row for row in rated if row["usage_id"] == "bbbbbbbbbbbbbbbb-1")
    repeat = {**original, "usage_id": "1111111111111111-1", "file_name": BER_REPEAT_FILE}
    write_partition(fixture_layout, "rated_usage", values, pa.Table.from_pylist([*rated, repeat]))
    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:rated_usage_bills_traced_usage" in caught.value.failures


@pytest.mark.slow
def test_usage_rows_missing_from_a_file_fail_conservation(fixture_layout: Layout) -> None:
    # The registry claims one more accepted and one fewer duplicate record for BER_FILE than
    # the lake holds: records_in still adds up, the usage rows do not.
    values = {"feed": "ts32298_ber", "file_date": FILE_DATE.isoformat()}
    registry = read_partition(fixture_layout, "file_registry", values).to_pylist()
    for row in registry:
        if row["file_name"] == BER_FILE:
            row["records_accepted"] += 1
            row["records_duplicate"] -= 1
    write_partition(fixture_layout, "file_registry", values, pa.Table.from_pylist(registry))
    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:file_conservation_accepted_match_usage_rows" in caught.value.failures
    assert _query(
        fixture_layout,
        "select file_name from rpt_file_conservation where not is_balanced",
    ) == [(BER_FILE,)]


@pytest.mark.slow
def test_file_sequence_gaps_and_repeats_are_reported(fixture_layout: Layout) -> None:
    values = {"feed": "ts32298_ber", "file_date": FILE_DATE.isoformat()}
    registry = read_partition(fixture_layout, "file_registry", values).to_pylist()
    # MSC1 delivered files 1 and 2; 3-4 never came; file 5 arrived twice with other bytes.
    for name, file_id in (("MSC1_2025031014_000005.ber", "c" * 64), ("MSC1_x.ber", "d" * 64)):
        registry.append(
            registry_row(name, file_id, "ts32298_ber", "MSC1", 5, "empty", (0, 0, 0, 0))
        )
    write_partition(fixture_layout, "file_registry", values, pa.Table.from_pylist(registry))

    build_warehouse(fixture_layout)
    assert _query(
        fixture_layout,
        "select switch_id, sequence_anomaly, first_sequence_number, last_sequence_number,"
        " file_count, file_before, file_after from rpt_file_sequence_gaps"
        " order by sequence_anomaly",
    ) == [
        ("MSC1", "gap", 3, 4, 2, BER_REPEAT_FILE, "MSC1_2025031014_000005.ber"),
        ("MSC1", "repeat", 5, 5, 2, "MSC1_2025031014_000005.ber", "MSC1_x.ber"),
    ]
