"""The billing DAG, run for real with ``dag.test()`` on a tiny generated operator
(the session fixture ``billed_operator`` in conftest.py)."""

from __future__ import annotations

import json

import duckdb
import pyarrow.compute as pc
import pytest
from billing_dag_run import PERIOD, run_dag_test

from pipelines.checksums import mart_checksums
from pipelines.lake import read_table
from pipelines.report import summary_path


@pytest.mark.slow
def test_every_file_conserves_its_records(billed_operator):
    registry = read_table(billed_operator, "file_registry").to_pylist()
    usage = read_table(billed_operator, "usage")
    rejects = read_table(billed_operator, "rejects")
    assert registry
    for entry in registry:
        # A duplicate file shares its original's file_id (same bytes): count by name.
        accepted = pc.sum(pc.equal(usage["file_name"], entry["file_name"])).as_py() or 0
        rejected = (
            pc.sum(
                pc.and_(
                    pc.equal(rejects["file_name"], entry["file_name"]),
                    pc.greater(rejects["record_number"], 0),
                )
            ).as_py()
            or 0
        )
        assert entry["records_accepted"] == accepted, entry["file_name"]
        assert entry["records_rejected"] == rejected, entry["file_name"]
        assert entry["records_in"] == accepted + rejected + entry["records_duplicate"]


@pytest.mark.slow
def test_the_run_bills_every_usage_record_once(billed_operator):
    usage = read_table(billed_operator, "usage").to_pylist()
    period = {"billing_period": PERIOD}
    repeats = set(read_table(billed_operator, "usage_repeats", period)["usage_id"].to_pylist())
    sessions = read_table(billed_operator, "sessions", period).to_pylist()
    rated = read_table(billed_operator, "rated_usage", period)
    rated_ids = rated["usage_id"].to_pylist()
    assert len(rated_ids) == len(set(rated_ids))
    # Billed once: every record of the period that is not a repeat or a partial, and every
    # session its partials were joined into (unless held for a missing partial).
    standalone = {
        row["usage_id"]
        for row in usage
        if row["event_date"].isoformat().startswith(PERIOD)
        and row["session_key"] is None
        and row["usage_id"] not in repeats
    }
    billed_sessions = {s["usage_id"] for s in sessions if s["correlation_status"] != "held"}
    assert set(rated_ids) == standalone | billed_sessions
    assert any(s["partials"] > 1 for s in sessions)
    joined = [usage_id for s in sessions for usage_id in s["partial_usage_ids"]]
    partials = {row["usage_id"] for row in usage if row["session_key"] is not None}
    assert len(joined) == len(set(joined)) and set(joined) <= partials - repeats
    with duckdb.connect(str(billed_operator.duckdb_path), read_only=True) as con:
        invoices, total, lines = con.execute(
            "select count(*), sum(total_micros), "
            "(select sum(amount_micros) from fct_invoice_lines where billing_period = ?) "
            "from fct_invoices where billing_period = ?",
            [PERIOD, PERIOD],
        ).fetchone()
    assert invoices > 0
    assert total == lines


@pytest.mark.slow
def test_the_run_publishes_expectations_and_a_summary(billed_operator):
    results = json.loads((billed_operator.reports / "validation" / "results.json").read_text())
    assert results["suites"] and all(suite["success"] for suite in results["suites"])
    assert (billed_operator.reports / "data_docs" / "audit_index.html").exists()
    summary = json.loads(summary_path(billed_operator, PERIOD).read_text())
    assert summary["billing"]["invoices"] > 0
    assert summary["mediation"]["unexplained"] == 0


@pytest.mark.slow
def test_a_rerun_reproduces_the_marts_exactly(billed_operator):
    first = mart_checksums(billed_operator)
    run_dag_test(billed_operator)
    assert mart_checksums(billed_operator) == first
    assert {"fct_invoices", "fct_invoice_lines", "fct_rated_usage"} <= set(first)


@pytest.mark.slow
def test_the_run_catches_exactly_what_the_generator_injected(billed_operator):
    summary = json.loads(summary_path(billed_operator, PERIOD).read_text())
    detection = {check["anomaly"]: check for check in summary["detection"]}
    assert sum(check["injected"] for check in detection.values()) > 0
    for anomaly, check in detection.items():
        assert check["missed"] == [], anomaly
        assert check["unexpected"] == [], anomaly
