"""Run the billing DAG for real with ``dag.test()`` on a tiny generated operator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.config import Layout

PERIOD = "2026-10"
DAGS = Path(__file__).resolve().parents[2] / "dags"

# Airflow reads AIRFLOW_HOME when imported, so each run is a fresh interpreter with the
# operator's environment; inside it, dag.test() runs every task in process.
DAG_TEST = """
import sys
from airflow.dag_processing.dagbag import DagBag
from pipelines.periods import run_after

dag = DagBag(dag_folder=sys.argv[1]).dags["telcolake_billing_period"]
run = dag.test(run_after=run_after(sys.argv[2]), logical_date=run_after(sys.argv[2]))
print("DAG RUN STATE", run.state)
sys.exit(0 if run.state == "success" else 1)
"""


def run_dag_test(layout: Layout) -> None:
    """Run the DAG for PERIOD on the operator under ``layout``; fail with its output."""
    from pipelines.airflow_run import airflow_environment

    done = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(DAGS), PERIOD],
        env=airflow_environment(layout),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
