"""The billing DAG on Airflow's CeleryExecutor: Redis as the broker, the API server,
scheduler and DAG processor, and two Celery workers (``telcolake services up``), with the
lake and the landing area in an S3 bucket of a real moto server on loopback. The run bills
exactly what the embedded local run bills (``billed_operator``, conftest.py): the same
marts, and the same lake partitions byte for byte but for the run's stamps. This one run
is also CI's end-to-end run of the object store (tests/storage holds the stage-level ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from billing_dag_run import PERIOD
from s3_server import S3Server

from pipelines.checksums import mart_checksums
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.services.celery_run import CeleryDagRun, run_billing_dag_on_workers
from pipelines.services.celery_stack import (
    WORKERS,
    CeleryStack,
    stack_down,
    stack_status,
    stack_up,
    worker_node_name,
)
from pipelines.storage import LocalStore, ObjectStore


@dataclass(frozen=True)
class CeleryBilled:
    stack: CeleryStack
    run: CeleryDagRun
    #: The pids of the first ``up``, to compare with a second one.
    pids: dict[str, int | None]
    #: The S3 server's and bucket's variables the stack was started with.
    variables: dict[str, str]


@pytest.fixture(scope="module")
def celery_billed(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryBilled]:
    """billed_operator's generation (seed 11, 30 subscribers, 2 days) delivered to a bucket
    and billed by one DAG run on the Celery workers. Every service is stopped at the end,
    whatever happened."""
    variables = s3_server.bucket_environment("telcolake-celery-run")
    data = Layout(
        tmp_path_factory.mktemp("celery_operator"),
        lake_url=variables["TELCOLAKE_LAKE_URL"],
        landing_url=variables["TELCOLAKE_LANDING_URL"],
    )
    stack = CeleryStack(data)
    try:
        # The services take the S3 server's variables from the environment they start in.
        with pytest.MonkeyPatch.context() as patch:
            for name, value in variables.items():
                patch.setenv(name, value)
            generate_operator(data, seed=11, subscribers=30, month=PERIOD, days=2)
            stack_up(stack)
            pids = stack_status(stack)
            run = run_billing_dag_on_workers(stack, PERIOD, timeout_seconds=1800)
        yield CeleryBilled(stack, run, pids, variables)
    finally:
        stack_down(stack)


@pytest.mark.slow
def test_the_marts_of_the_celery_run_equal_the_embedded_run(
    billed_operator: Layout, celery_billed: CeleryBilled
) -> None:
    on_workers = mart_checksums(celery_billed.stack.layout)
    assert len(on_workers) > 30 and {"fct_invoices", "fct_rated_usage"} <= set(on_workers)
    assert on_workers == mart_checksums(billed_operator)


@pytest.mark.slow
def test_both_workers_ran_mapped_mediation(celery_billed: CeleryBilled) -> None:
    tasks = celery_billed.run.tasks
    nodes = {worker_node_name(worker) for worker in WORKERS}
    assert celery_billed.run.state == "success"
    assert all(task.state == "success" for task in tasks)
    # Every task ran on one of the two workers, and each worker took mapped partitions.
    assert {task.worker for task in tasks} <= nodes
    mediated_by = {task.worker for task in tasks if task.task_id == "mediate"}
    assert len([task for task in tasks if task.task_id == "mediate"]) > 2
    assert mediated_by == nodes


#: Lake tables that stamp the run on their rows (its wall clock, its Airflow run id): equal
#: to the embedded run's but for those columns.
RUN_STAMP_COLUMNS = {
    "rating_suspense": ["first_suspended_at", "last_attempt_at", "resolved_at"],
    "validation_results": ["run_id", "validated_at"],
}


def _lake_tables(store: ObjectStore) -> dict[str, pa.Table]:
    """Each lake table's partitions, read whole and the run's stamps dropped."""
    parts: dict[str, list[pa.Table]] = {}
    for stored in store.objects():
        table = stored.key.split("/")[0]
        data = pq.read_table(pa.BufferReader(store.read(stored.key)))
        parts.setdefault(table, []).append(data.drop_columns(RUN_STAMP_COLUMNS.get(table, [])))
    return {table: pa.concat_tables(tables) for table, tables in parts.items()}


@pytest.mark.slow
def test_the_bucket_holds_the_lake_of_the_embedded_run(
    billed_operator: Layout, celery_billed: CeleryBilled, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in celery_billed.variables.items():
        monkeypatch.setenv(name, value)  # boto3 reaches the moto server through them
    data = celery_billed.stack.layout
    assert data.lake_url is not None and data.lake_url.startswith("s3://telcolake-celery-run/")
    in_bucket = data.lake_store
    on_disk = billed_operator.lake_store
    # Every partition but the run-id-keyed validation results, byte for byte but for the
    # tables that stamp the run.
    keyed_by_run = ("validation_results/",)
    bucket_keys = {o.key for o in in_bucket.objects() if not o.key.startswith(keyed_by_run)}
    disk_keys = {o.key for o in on_disk.objects() if not o.key.startswith(keyed_by_run)}
    assert {"usage", "rated_usage", "tax_lines", "invoices"} <= {k.split("/")[0] for k in disk_keys}
    assert bucket_keys == disk_keys
    differing = {
        key.split("/")[0] for key in bucket_keys if in_bucket.read(key) != on_disk.read(key)
    }
    assert differing <= set(RUN_STAMP_COLUMNS)
    bucket_tables, disk_tables = _lake_tables(in_bucket), _lake_tables(on_disk)
    for table in RUN_STAMP_COLUMNS:
        assert bucket_tables[table].equals(disk_tables[table]), table
    # The stages wrote nothing beside the bucket: no lake or landing under the data root
    # but the generator's staging copy of the switch files, delivered whole to the bucket.
    assert not (data.root / "lake").exists()
    staged = LocalStore(data.landing)
    assert [(o.key, o.size) for o in data.landing_store.objects()] == [
        (o.key, o.size) for o in staged.objects()
    ]


@pytest.mark.slow
def test_a_second_up_leaves_the_running_services_alone(
    celery_billed: CeleryBilled, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = celery_billed.stack
    for name, value in celery_billed.variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TELCOLAKE_DATA", str(stack.layout.root))
    status = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "services", "status"],
        env=dict(os.environ, COLUMNS="200"),
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert all(name in status.stdout for name in ("redis", "scheduler", *WORKERS))
    stack_up(stack)
    assert stack_status(stack) == celery_billed.pids
    assert all(celery_billed.pids.values())


@pytest.mark.slow
def test_down_stops_every_process_of_the_stack(celery_billed: CeleryBilled) -> None:
    stack = celery_billed.stack
    groups = {pid for pid in celery_billed.pids.values() if pid}
    assert sorted(stack_down(stack)) == sorted(celery_billed.pids)
    assert not any(stack_status(stack).values())
    # Each service ran in a process group of its own: no live process of them is left.
    assert _live_members(groups) == []
    assert stack_down(stack) == []


def _live_members(groups: set[int]) -> list[int]:
    """Pids of the processes, zombies aside, whose process group is one of ``groups``."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Fields after the command name: state, ppid, pgrp, ...
        state, _, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) in groups and state != "Z":
            members.append(int(entry.name))
    return members
