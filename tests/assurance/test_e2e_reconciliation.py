"""End-to-end reconciliation and invoice-line lineage on the tiny dbt operator
(tests/dbt_tiny_operator.py). Expected figures are worked out by hand from its tables; the
arithmetic is in the comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest
from dbt_tiny_operator import AST_FILE, BER_FILE, FILE_DATE, PGW_FILE, event_date, write_fixture
from usage_lake import write_usage

from pipelines.build import BuildError, build_warehouse
from pipelines.config import Layout
from pipelines.lake import read_table

PERIOD = "2025-03"


def _query(layout: Layout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = write_fixture(tmp_path_factory.mktemp("e2e") / "data")
    assert build_warehouse(layout).success
    return layout


@pytest.mark.slow
def test_each_step_and_gap_per_feed_day(built: Layout) -> None:
    rows = _query(
        built,
        "select feed, cast(file_date as varchar), switch_records, rejected_records,"
        " duplicate_records, duplicate_file_records, mediated_records, repeated_records,"
        " held_records, merged_into_session_records, rated_records, charged_records,"
        " zero_rated_records, not_billable_records, suspense_records, billed_records,"
        " unexplained_records, is_explained"
        " from rpt_usage_e2e_reconciliation order by feed, file_date",
    )
    # fmt: off
    assert rows == [
        # AST_FILE 5 records + AST_DUP_FILE's 5 (a duplicate file); u16, u17, u20 charged and
        # billed (S004's local and international lines), u19 zero-rated, u18 not billable.
        ("asterisk_cdr_csv", "2025-03-10", 10, 0, 0, 5, 5, 0, 0, 0, 5, 3, 1, 1, 0, 3, 0, True),
        # BER_FILE 26 (record 7 rejected, 8 a duplicate, 24 accepted) + PGW_FILE's A1, B1:
        # 28 switch records, 26 mediated. Rated: the 24 BER records and sessions A and B,
        # on their first partials' file date: 26 rows, nothing merged here. Charged: u01-u05,
        # u09, u13-u15 (9) + p01-p10 + A + B = 21; u07 zero-rated, u06 not billable,
        # u10-u12 in suspense.
        ("ts32298_ber", "2025-03-10", 28, 1, 1, 0, 26, 0, 0, 0, 26, 21, 1, 1, 3, 21, 0, True),
        # BER_REPEAT_FILE (u01 again: repeated; u21 not billable) + PGW_NEXT_FILE (A2 and B3
        # merged into sessions A and B rated on 03-10; C1 held): 5 = 1 + 1 + 2 + 1.
        ("ts32298_ber", "2025-03-11", 5, 0, 0, 0, 5, 1, 1, 2, 1, 0, 0, 1, 0, 0, 0, True),
    ]
    # fmt: on


@pytest.mark.slow
def test_seconds_and_bytes_at_each_step(built: Layout) -> None:
    rows = _query(
        built,
        "select feed, cast(file_date as varchar), mediated_seconds, mediated_bytes,"
        " repeated_seconds, held_bytes, merged_into_session_bytes, rated_seconds, rated_bytes,"
        " charged_seconds, billed_seconds, billed_bytes"
        " from rpt_usage_e2e_reconciliation order by feed, file_date",
    )
    mb = 1_048_576
    assert rows == [
        # Voice: u16 180 + u17 300 + u18 100 + u19 60 + u20 90 = 730; charged u16, u17, u20.
        ("asterisk_cdr_csv", "2025-03-10", 730, 0, 0, 0, 0, 730, 0, 570, 570, 0),
        # Voice u01 120 + u02 300 + u05 60 + u06 200 + u07 40 + u10 600 + u12 30 + u13 61 +
        # p01-p10 900 = 2311; charged 120 + 300 + 60 + 61 + 900 = 1441. Data: u04 5 MB,
        # u09 1 MB, u15 2 MB, A1 and B1 1 MB each = 10 MB mediated; the sessions' rows carry
        # 2 MB each on this date, so 12 MB rated (and billed) and -2 MB merged here.
        (
            "ts32298_ber",
            "2025-03-10",
            2311,
            10 * mb,
            0,
            0,
            -2 * mb,
            2311,
            12 * mb,
            1441,
            1441,
            12 * mb,
        ),
        # u01's repeat 120 s and u21 60 s; A2, B3, C1 1 MB each: C1 held, A2 and B3 merged.
        ("ts32298_ber", "2025-03-11", 180, 3 * mb, 120, mb, 2 * mb, 60, 0, 0, 0, 0),
    ]


@pytest.mark.slow
def test_waterfall_levels_less_their_gaps(built: Layout) -> None:
    rows = _query(
        built,
        "select step_order, step, kind, reason, records from rpt_usage_e2e_waterfall"
        f" where billing_period = '{PERIOD}' and records <> 0 order by step_order",
    )
    # The three feed days above, summed: 43 switch records, 36 mediated, 32 rated, 24 billed.
    assert rows == [
        (1, "switch_files", "level", None, 43),
        (2, "mediation", "gap", "rejected", 1),
        (3, "mediation", "gap", "duplicate_record", 1),
        (4, "mediation", "gap", "duplicate_file", 5),
        (5, "mediated", "level", None, 36),
        (6, "consolidation", "gap", "repeated", 1),
        (7, "consolidation", "gap", "held", 1),
        (9, "consolidation", "gap", "merged_into_session", 2),
        (12, "rated", "level", None, 32),
        (13, "rated_outcome", "gap", "zero_rated", 2),
        (14, "rated_outcome", "gap", "not_billable", 3),
        (15, "rated_outcome", "gap", "suspense", 3),
        (18, "billed", "level", None, 24),
    ]
    assert _query(built, "select count(*) from int_e2e_unexplained_gaps") == [(0,)]


@pytest.mark.slow
def test_usage_line_traces_to_its_rated_records(built: Layout) -> None:
    rows = _query(
        built,
        "select usage_id, rated_charge_micros, file_name, record_number, line_amount_micros"
        " from fct_invoice_line_lineage"
        " where invoice_line_id = 'INV-202503-A002/2025-03/usage/S004/local_voice'"
        " order by record_number",
    )
    # S004's local calls u16 (AST_FILE record 1, 90 000) and u20 (record 5, 45 000): 135 000
    # rounds to the cent as 140 000, the line's amount.
    ids = [row[0] for row in rows]
    assert [row[1:] for row in rows] == [
        (90_000, AST_FILE, 1, 140_000),
        (45_000, AST_FILE, 5, 140_000),
    ]
    assert all(usage_id.endswith(("-1", "-5")) for usage_id in ids)
    session = _query(
        built,
        "select file_name, record_number, partial_records from fct_invoice_line_lineage"
        " where usage_id = 'session:PGW1:10.0.0.1-1002'",
    )
    # Session B: partials 1 (PGW_FILE record 2) and 3 (PGW_NEXT_FILE record 2).
    assert [(f, n) for f, n, _ in session] == [(PGW_FILE, 2)]
    partials = json.loads(session[0][2])
    assert [(p["record_number"], p["partial_sequence"]) for p in partials] == [(2, 1), (2, 3)]
    # Each recurring line (A001 2, A002 3, A003 1) traces to its own charge row.
    assert _query(
        built,
        "select lineage_source, count(*), count(distinct line_key) from fct_invoice_line_lineage"
        " where line_type = 'recurring' group by lineage_source",
    ) == [("billed_charges", 6, 6)]


@pytest.mark.slow
def test_unrated_record_of_a_rated_period_is_an_unexplained_gap(tmp_path) -> None:
    layout = write_fixture(tmp_path / "data")
    # One more accepted record in BER_FILE, landed after rating ran: nothing rated it.
    day = FILE_DATE.isoformat()
    usage = read_table(layout, "usage", {"feed": "ts32298_ber", "file_date": day}).to_pylist()
    first = next(r for r in usage if r["file_name"] == BER_FILE and r["record_number"] == 1)
    started = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
    extra = {
        **first,
        "usage_id": f"{first['file_id'][:16]}-99",
        "record_number": 99,
        "started_at": started,
        "event_date": event_date(started),
    }
    values = {
        "feed": "ts32298_ber",
        "event_date": extra["event_date"].isoformat(),
        "file_date": day,
    }
    write_usage(layout, [*read_table(layout, "usage", values).to_pylist(), extra])
    # rpt_usage_reconciliation refuses an unexplained record; the e2e marts flag it.
    with pytest.raises(BuildError):
        build_warehouse(layout)
    assert _query(
        layout,
        "select untraced_records, unexplained_records, is_explained"
        " from rpt_usage_e2e_reconciliation"
        f" where feed = 'ts32298_ber' and file_date = '{day}'",
    ) == [(1, 1, False)]
    assert _query(
        layout,
        "select category, subject_type, subject_id, record_count, amount_at_risk_micros"
        " from int_e2e_unexplained_gaps",
    ) == [("unexplained_usage_gap", "feed_day", f"ts32298_ber/{day}", 1, 0)]
