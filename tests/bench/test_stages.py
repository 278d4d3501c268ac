"""The benchmark's child entry point: the result file it writes, also for a failing task,
and the lake row counts it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from pipelines import lake
from pipelines.bench import stages
from pipelines.config import Layout
from pipelines.schema import LAKE_TABLES


def test_a_failing_task_writes_its_error_and_measures(tmp_path: Path):
    result = tmp_path / "out" / "mediate.json"
    stages.main(
        [
            "mediate",
            *("--root", str(tmp_path / "root"), "--period", "2026-10"),
            *("--args", json.dumps({"feed": "not_a_feed", "file_date": "2026-10-01"})),
            *("--result", str(result)),
        ]
    )
    written = json.loads(result.read_text())
    assert written["task"] == "mediate" and written["ok"] is False
    assert "not_a_feed" in written["error"] and "Traceback" in written["traceback"]
    assert written["peak_rss_bytes"] > 0 and written["io"]["rchar"] > 0
    assert written["work_seconds"] >= 0


def test_a_task_writes_its_result_records_and_kind(tmp_path: Path):
    root = tmp_path / "root"
    (root / "landing").mkdir(parents=True)
    result = tmp_path / "listing.json"
    stages.main(
        [
            "mediation_partitions",
            "--root",
            str(root),
            "--period",
            "2026-10",
            "--result",
            str(result),
        ]
    )
    written = json.loads(result.read_text())
    assert written["ok"] is True and written["error"] is None
    assert written["result"] == {"partitions": [], "quarantined_files": 0}


def test_lake_rows_add_up_the_matching_partitions(tmp_path: Path):
    layout = Layout(tmp_path)
    schema, _ = LAKE_TABLES["billed_charges"]

    def rows(n: int) -> pa.Table:
        return pa.Table.from_pylist(
            [{name: None for name in schema.names} for _ in range(n)], schema=schema
        )

    lake.write_partition(layout, "billed_charges", {"billing_period": "2026-10"}, rows(3))
    lake.write_partition(layout, "billed_charges", {"billing_period": "2026-11"}, rows(5))
    assert stages.lake_rows(layout, "billed_charges", {"billing_period": "2026-10"}) == 3
    assert stages.lake_rows(layout, "billed_charges", {}) == 8
    assert stages.lake_rows(layout, "billed_charges", {"billing_period": "2026-12"}) == 0
    assert stages.lake_rows(layout, "tax_lines", {}) == 0
