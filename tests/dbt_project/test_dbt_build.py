"""The dbt project on the tiny fixture operator (conftest.py): marts, identities, lint, parse.

Expected numbers are worked out by hand from conftest.py; the arithmetic is in the comments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dbt_tiny_operator import (
    AST_FILE,
    AST_FILE_ID,
    BER_FILE,
    FILE_DATE,
    PERIOD,
    registry_row,
    write_fixture,
)

from pipelines.build import BuildError, build_warehouse, parse_project
from pipelines.config import PROJECT_ROOT, Layout
from pipelines.lake import read_partition, write_partition

# Recurring: A001 20 000 000 + 50 000 000; A002 45 000 000 + 8 064 516 (10/31 days);
# A003 20 000 000.
# Usage (rated): A001 1 200 000 + 200 000 + 610 000 = 2 010 000;
# A002 600 000 + 20 000 (S003) + 90 000 + 3 000 000 + 45 000 (S004) = 3 755 000;
# A003 10 x 1 000 000 + 35 000 + 200 000 = 10 235 000.
# Tax, March rules only (TX-FUSF-2 starts in April):
# A001 FUSF 10% x (20 000 000 + 2 010 000) = 2 201 000; IL excise 6.25% x 2 010 000 = 125 625;
#      Chicago 911 1 mobile line x 3 900 000; Cook broadband 2% x 50 000 000 = 1 000 000
#      -> 7 226 625
# A002 FUSF 10% x (45 000 000 + 620 000) = 4 562 000; IL excise 6.25% x 3 755 000 =
#      234 687.5 -> 234 688 (half-up) -> 4 796 688
# A003 lifeline: FUSF exempt; Texas 911 1 line x 500 000 -> 500 000
# IL gross receipts is compliance-only: never on an invoice.
EXPECTED_INVOICES = {
    # invoice_id: (line_count, recurring, usage, subtotal, tax, total)
    "INV-202503-A001": (9, 70_000_000, 2_010_000, 72_010_000, 7_226_625, 79_236_625),
    "INV-202503-A002": (7, 53_064_516, 3_755_000, 56_819_516, 4_796_688, 61_616_204),
    "INV-202503-A003": (5, 20_000_000, 10_235_000, 30_235_000, 500_000, 30_735_000),
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
def test_invoice_dates_and_tax_lines(built: Layout) -> None:
    dates = _query(built, "select distinct invoice_date, due_date from fct_invoices")
    assert [(str(a), str(b)) for a, b in dates] == [("2025-04-01", "2025-04-22")]
    taxes = _query(
        built,
        "select account_id, tax_rule_id, amount_micros from fct_invoice_lines"
        " where line_type = 'tax' order by account_id, tax_rule_id",
    )
    assert taxes == [
        ("A001", "TX-CHI-911", 3_900_000),
        ("A001", "TX-COOK", 1_000_000),
        ("A001", "TX-FUSF", 2_201_000),
        ("A001", "TX-IL-SALES", 125_625),
        ("A002", "TX-FUSF", 4_562_000),
        ("A002", "TX-IL-SALES", 234_688),
        ("A003", "TX-TX-911", 500_000),
    ]
    # 3% of each Illinois account's subtotal, owed by the carrier:
    # 72 010 000 -> 2 160 300; 56 819 516 -> 1 704 585.48 -> 1 704 585
    compliance = _query(
        built,
        "select account_id, tax_micros from int_compliance_taxes_computed order by 1",
    )
    assert compliance == [("A001", 2_160_300), ("A002", 1_704_585)]


@pytest.mark.slow
def test_settlement_findings_reconciliation_and_fraud(built: Layout) -> None:
    settlement = _query(
        built,
        "select carrier_id, destination_prefix, calls, billable_seconds, cost_micros"
        " from fct_interconnect_settlement order by carrier_id",
    )
    # C1: 120 + 60 + 61 + 300 s, 300 000 + 150 000 + 152 500 + 750 000; the suspense leg
    # is not settled. C2: 10 premium legs of 90 s at 800 000.
    assert settlement == [("C1", "44", 4, 541, 1_352_500), ("C2", "882", 10, 900, 8_000_000)]

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
        # 600 s x 10 000 micros/s (UK peak 600 000 / 60 s) + 1 SMS x 200 000
        ("usage_in_suspense", "13125550777", 2, 6_200_000),
        ("usage_in_suspense", "S003", 1, 300_000),  # 30 s x 10 000
    ]

    reconciliation = _query(
        built,
        "select feed, files, duplicate_files, records_in, records_accepted, records_rejected,"
        " records_duplicate, records_rated, records_zero_rated, records_not_billable,"
        " records_suspense, records_unexplained, charge_micros"
        " from rpt_usage_reconciliation order by feed",
    )
    assert reconciliation == [
        ("asterisk_cdr_csv", 2, 1, 10, 5, 0, 5, 3, 1, 1, 0, 0, 3_135_000),
        ("ts32298_ber", 1, 0, 26, 24, 1, 1, 19, 1, 1, 3, 0, 12_865_000),
    ]

    alerts = _query(
        built,
        "select detector, subscriber_id, call_count, total_seconds, score from fct_fraud_alerts",
    )
    assert alerts == [("irsf_burst", "S005", 10, 900, 50)]


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
    values = {"billing_period": PERIOD}
    rated = read_partition(fixture_layout, "rated_usage", values)
    # The first rated call of S001 (account A001) claims to belong to A002.
    column = rated.schema.get_field_index("account_id")
    first = pc.equal(rated["usage_id"], rated["usage_id"][0])
    moved = rated.set_column(column, "account_id", pc.if_else(first, "A002", rated["account_id"]))
    write_partition(fixture_layout, "rated_usage", values, moved)

    with pytest.raises(BuildError) as caught:
        build_warehouse(fixture_layout)
    assert "test:assert_usage_lines_match_subscriber_accounts" in caught.value.failures


@pytest.mark.slow
def test_lake_table_without_partitions_reads_empty(fixture_layout: Layout) -> None:
    for table in ("interconnect_legs", "rejects"):
        for part in fixture_layout.lake_table(table).rglob("*.parquet"):
            part.unlink()
    build_warehouse(fixture_layout)
    assert _query(fixture_layout, "select count(*) from fct_interconnect_settlement") == [(0,)]


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


def _add_unrated_asterisk_record(layout: Layout, started_at: datetime) -> None:
    """Land one more accepted Asterisk record that rating has not seen."""
    day = FILE_DATE.isoformat()
    values = {"feed": "asterisk_cdr_csv", "file_date": day}
    usage = read_partition(layout, "usage", values)
    extra = dict(usage.to_pylist()[0])
    extra.update(
        usage_id=f"{AST_FILE_ID[:16]}-6",
        record_number=6,
        record_key="key-extra",
        started_at=started_at,
        answered_at=started_at,
        ended_at=started_at + timedelta(seconds=60),
    )
    write_partition(layout, "usage", values, usage.from_pylist([*usage.to_pylist(), extra]))
    registry = read_partition(layout, "file_registry", values).to_pylist()
    for row in registry:
        if row["file_name"] == AST_FILE:
            row["records_in"] += 1
            row["records_accepted"] += 1
    write_partition(layout, "file_registry", values, pa.Table.from_pylist(registry))


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
    assert "test:reconciliation_accepted_all_rated" in caught.value.failures


@pytest.mark.slow
def test_file_sequence_gaps_and_repeats_are_reported(fixture_layout: Layout) -> None:
    values = {"feed": "ts32298_ber", "file_date": FILE_DATE.isoformat()}
    registry = read_partition(fixture_layout, "file_registry", values).to_pylist()
    # MSC1 delivered file 1; files 2-4 never came; file 5 arrived twice with other bytes.
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
        ("MSC1", "gap", 2, 4, 3, BER_FILE, "MSC1_2025031014_000005.ber"),
        ("MSC1", "repeat", 5, 5, 2, "MSC1_2025031014_000005.ber", "MSC1_x.ber"),
    ]
