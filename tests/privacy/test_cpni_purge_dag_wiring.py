"""The retention purge DAG imports cleanly and is wired as docs/privacy.md says."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def purge_dag():
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(DAGS / "telcolake_retention_purge.py"))
    assert dagbag.import_errors == {}
    return dagbag.dags["telcolake_retention_purge"]


def test_the_purge_runs_daily_on_data_intervals_one_run_at_a_time(purge_dag):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(purge_dag.timetable, CronDataIntervalTimetable)
    assert purge_dag.max_active_runs == 1
    assert purge_dag.default_args["retries"] >= 1
    assert "privacy" in purge_dag.tags


def test_holds_are_checked_first_and_the_build_is_the_one_warehouse_writer(purge_dag):
    order = ["check_legal_holds", "purge", "purged_anything", "build"]
    for upstream, downstream in itertools.pairwise(order):
        assert purge_dag.get_task(upstream).downstream_task_ids == {downstream}
    assert purge_dag.get_task("check_legal_holds").retries == 0
    assert purge_dag.get_task("build").pool == "duckdb_writer"
