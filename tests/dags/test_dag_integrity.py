"""The DAG folder imports cleanly and the billing DAG is wired as documented."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "telcolake_billing_period" in dagbag.dags


def test_every_dag_is_tagged_and_named_after_its_file(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert Path(dag.fileloc).stem == dag_id


def test_billing_dag_has_monthly_data_intervals_and_retries(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags["telcolake_billing_period"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.max_active_runs == 1
    assert dag.default_args["retries"] >= 1
    assert dag.get_task("build").pool == "duckdb_writer"
    assert dag.get_task("consolidate").trigger_rule == "none_failed"


def test_billing_dag_runs_the_stages_in_order(dagbag):
    dag = dagbag.dags["telcolake_billing_period"]
    order = [
        "check_reference",
        "mediation_partitions",
        "mediate",
        "consolidate",
        "rate",
        "tax",
        "build",
        "validate",
        "report",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    # Settlement with carriers and roaming partners, and the independent re-rating of a
    # sample, run beside the bill run, before the one dbt build that reads them all.
    for settlement in ("interconnect", "roaming", "rerating_check"):
        assert dag.get_task(settlement).upstream_task_ids == {"check_reference", "rate"}
        assert dag.get_task(settlement).downstream_task_ids == {"build"}
