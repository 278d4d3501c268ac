"""Run the billing DAG for one period on the Celery workers of the local stack and wait.

The run goes through Airflow's REST API on the stack's API server: the DAG is unpaused,
a run is triggered at the instant the period closes (the same logical date as the embedded
``airflow dags test``), and its task instances are polled until the run ends. A period run
before is cleared and run again: Airflow keeps one run per logical date, and every task
replaces its partitions, so the rerun gives the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.airflow_run import DAG_ID, DagRunFailed
from pipelines.periods import run_after
from pipelines.services.airflow_api import AirflowApi
from pipelines.services.celery_stack import (
    ADMIN_USER,
    CeleryStack,
    admin_password,
    read_state,
    served_environment,
    stack_status,
)

_ENDED = {"success", "failed", "skipped", "upstream_failed", "removed"}
_POLL_SECONDS = 3.0


@dataclass(frozen=True)
class TaskRun:
    """One task instance of the run: which worker (Celery node name) ran it, how it ended."""

    task_id: str
    map_index: int
    state: str | None
    worker: str | None
    try_number: int


@dataclass(frozen=True)
class CeleryDagRun:
    """A finished run of the DAG on the workers."""

    run_id: str
    state: str
    tasks: list[TaskRun]


def _connect(stack: CeleryStack) -> AirflowApi:
    state = read_state(stack)
    status = stack_status(stack)
    stopped = sorted(name for name, pid in status.items() if pid is None)
    if state is None or stopped:
        what = f"{', '.join(stopped)} not running" if stopped else "not started"
        raise DagRunFailed(
            f"the Celery stack under {stack.run_dir} is {what}: start it with "
            "`telcolake services up`"
        )
    if state.served_env != served_environment(stack.layout):
        raise DagRunFailed(
            f"the Celery stack serves another TELCOLAKE_*/AWS_* environment than this shell's "
            f"(see {stack.state_file}): its tasks would read and write another lake"
        )
    return AirflowApi(state.api_url, ADMIN_USER, admin_password(stack))


def _wait_for_dag(api: AirflowApi, timeout_seconds: float) -> None:
    """Wait until the DAG processor has parsed the DAG; fail on its import error."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        errors = [
            error
            for error in api.pages("/importErrors", "import_errors")
            if error["filename"].endswith(f"{DAG_ID}.py")
        ]
        if errors:
            raise DagRunFailed(f"the DAG file does not import:\n{errors[0]['stack_trace']}")
        if any(
            dag["dag_id"] == DAG_ID for dag in api.pages("/dags", "dags", dag_id_pattern=DAG_ID)
        ):
            return
        if time.monotonic() > deadline:
            raise DagRunFailed(f"the DAG processor has not parsed {DAG_ID} yet")
        time.sleep(_POLL_SECONDS)


def _start_run(api: AirflowApi, billing_period: str) -> str:
    """Trigger the period's run, or clear it when it exists; return its run id."""
    logical_date = run_after(billing_period).isoformat()
    existing = api.get(
        f"/dags/{DAG_ID}/dagRuns", logical_date_gte=logical_date, logical_date_lte=logical_date
    )["dag_runs"]
    if existing:
        run_id: str = existing[0]["dag_run_id"]
        api.post(
            f"/dags/{DAG_ID}/clearTaskInstances",
            {"dry_run": False, "dag_run_id": run_id, "only_failed": False, "reset_dag_runs": True},
        )
        return run_id
    run: dict[str, Any] = api.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": logical_date})
    return str(run["dag_run_id"])


def _task_runs(api: AirflowApi, run_id: str) -> list[TaskRun]:
    return [
        TaskRun(ti["task_id"], ti["map_index"], ti["state"], ti["hostname"], ti["try_number"])
        for ti in api.pages(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", "task_instances")
    ]


def run_billing_dag_on_workers(
    stack: CeleryStack,
    billing_period: str,
    on_task_end: Callable[[TaskRun], None] | None = None,
    timeout_seconds: float = 3600.0,
) -> CeleryDagRun:
    """Run the billing DAG for one period on the stack's workers; wait for its end.

    ``on_task_end`` is called once with each task instance that ends (progress display).
    Raises DagRunFailed when the stack is not running or the run does not succeed.
    """
    api = _connect(stack)
    _wait_for_dag(api, timeout_seconds=300.0)
    api.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    run_id = _start_run(api, billing_period)
    reported: set[tuple[str, int, int]] = set()
    deadline = time.monotonic() + timeout_seconds
    while True:
        time.sleep(_POLL_SECONDS)
        state = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        tasks = _task_runs(api, run_id)
        for task in tasks:
            key = (task.task_id, task.map_index, task.try_number)
            if task.state in _ENDED and key not in reported:
                reported.add(key)
                if on_task_end:
                    on_task_end(task)
        if state in ("success", "failed"):
            break
        if time.monotonic() > deadline:
            raise DagRunFailed(f"run {run_id} of {DAG_ID} still {state} after {timeout_seconds} s")
    if state != "success":
        failed = ", ".join(
            f"{task.task_id}" + (f"[{task.map_index}]" if task.map_index >= 0 else "")
            for task in tasks
            if task.state == "failed"
        )
        logs = stack.task_logs / f"dag_id={DAG_ID}" / f"run_id={run_id}"
        raise DagRunFailed(
            f"DAG {DAG_ID} for {billing_period} ended {state} on the Celery workers "
            f"(failed: {failed or 'none'}); the task logs are in {logs}"
        )
    return CeleryDagRun(run_id, state, tasks)
