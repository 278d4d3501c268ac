"""Run the billing DAG through the real Airflow, embedded: SQLite metadata, local files.

This module drives the ``airflow`` command line in a subprocess (``db migrate``, ``pools
set``, ``dags test``); it never imports Airflow, so the stages stay importable without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipelines.config import PROJECT_ROOT, Layout
from pipelines.periods import run_after

DAG_ID = "telcolake_billing_period"
WAREHOUSE_POOL = "duckdb_writer"
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")
_RUN_STATE = re.compile(r"DagRun Finished: .*?state=(\w+)")
# A task's exception as the task log prints it: "pipelines.validate.ValidationFailed: ...".
_TASK_ERROR = re.compile(r"^\s*((?:[a-z_]+\.)+[A-Za-z]*(?:Error|Failed|Exception)): (.*)$")


class DagRunFailed(RuntimeError):
    """The DAG run did not succeed; the message names the log to read."""


def airflow_environment(layout: Layout, home: Path | None = None) -> dict[str, str]:
    """Environment for an Airflow whose home is ``home`` (default: the embedded one under
    the data root), with SQLite metadata there and the data root's storage locations."""
    home = home or layout.airflow_home
    return dict(
        os.environ,
        **layout.environment(),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
    )


def airflow_command() -> str:
    """The ``airflow`` command of this environment."""
    beside_python = Path(sys.executable).with_name("airflow")
    found = str(beside_python) if beside_python.exists() else shutil.which("airflow")
    if not found:
        raise DagRunFailed("the airflow command is not installed in this environment")
    return found


def migrate_metadata(env: dict[str, str], log: Path) -> None:
    """Create or upgrade the metadata database and the warehouse pool of the Airflow that
    ``env`` describes, appending the commands' output to ``log``."""
    airflow = airflow_command()
    with log.open("a") as out:
        for args in (
            ["db", "migrate"],
            ["pools", "set", WAREHOUSE_POOL, "1", "DuckDB allows one writing process"],
        ):
            done = subprocess.run([airflow, *args], env=env, stdout=out, stderr=out)
            if done.returncode != 0:
                raise DagRunFailed(f"airflow {' '.join(args)} failed; see {log}")


def prepare_airflow(layout: Layout) -> Path:
    """Create or upgrade the embedded SQLite metadata database and the warehouse pool."""
    layout.airflow_home.mkdir(parents=True, exist_ok=True)
    log = layout.airflow_home / "setup.log"
    log.write_text("")
    migrate_metadata(airflow_environment(layout), log)
    return log


def run_billing_dag(
    layout: Layout, billing_period: str, on_task_end: Callable[[str], None] | None = None
) -> Path:
    """Run the billing DAG for one period with ``airflow dags test``; return the log path.

    ``on_task_end`` is called with each task id as Airflow finishes it (progress display).
    Raises DagRunFailed when the run does not end in success.
    """
    log = layout.airflow_home / f"dag_run_{billing_period}.log"
    cmd = [airflow_command(), "dags", "test", DAG_ID, run_after(billing_period).isoformat()]
    state = None
    first_error = None
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            env=airflow_environment(layout),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if (ended := _TASK_END.search(line)) and on_task_end:
                on_task_end(ended[1])
            if finished := _RUN_STATE.search(line):
                state = finished[1]
            if first_error is None and (error := _TASK_ERROR.match(line)):
                first_error = f"{error[1]}: {error[2]}"
        returncode = proc.wait()
    if returncode != 0 or state != "success":
        cause = f"\n  {first_error}" if first_error else ""
        raise DagRunFailed(
            f"DAG {DAG_ID} for {billing_period} ended {state or 'without a state'} "
            f"(exit {returncode}); the task logs are in {log}{cause}"
        )
    return log
