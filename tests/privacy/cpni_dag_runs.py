"""Run a telcolake DAG for real with ``dag.test()`` in a fresh interpreter (Airflow reads
AIRFLOW_HOME when imported), with extra environment such as a deployment's secrets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from pipelines.airflow_run import airflow_environment
from pipelines.config import Layout

DAGS = Path(__file__).resolve().parents[2] / "dags"

DAG_TEST = """
import sys
from datetime import datetime
from airflow.dag_processing.dagbag import DagBag

dag = DagBag(dag_folder=sys.argv[1]).dags[sys.argv[2]]
when = datetime.fromisoformat(sys.argv[3])
run = dag.test(run_after=when, logical_date=when)
print("DAG RUN STATE", run.state)
sys.exit(0 if run.state == "success" else 1)
"""


def run_dag_test(
    layout: Layout, dag_id: str, logical_date: datetime, env: Mapping[str, str] = {}
) -> str:
    """Run ``dag_id`` for ``logical_date`` on the operator under ``layout``; return its
    output, failing with it when the run does not succeed."""
    done = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(DAGS), dag_id, logical_date.isoformat()],
        env={**airflow_environment(layout), **env},
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output
