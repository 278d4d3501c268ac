"""The bill run's stages as the fault tests run them, one callable per Airflow task of
dags/telcolake_billing_period.py, in DAG order, each (layout, period) -> None.

``run_stage`` runs one of them in the calling process (a child of stage_server.py) with
its fault: a SIGKILL at its Nth write under the data root, or a pause at its first write
while it holds a partition lock, until told to go on; the write count, or the error, goes
to a small JSON result file.

A write is what Python's audit hooks see a stage do to a file under the data root: open
for writing, rename (``os.replace``: every lake partition's commit), remove, rmdir,
mkdir. A kill at a rename is mid-write: the partition's new file is complete beside the
old one, not yet in place. DuckDB's and Arrow's own writes happen in C++ and are not seen;
the tests reach those by killing from outside after a random delay.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.assurance.ra_report import write_ra_report
from pipelines.assurance.rerating import check_rerating
from pipelines.billing.late_usage import bill_late_usage
from pipelines.build import build_warehouse
from pipelines.config import Layout
from pipelines.interconnect.reconcile import reconcile_period
from pipelines.locks import PartitionLocked
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.stage import (
    landing_partitions,
    mediate_partition,
    quarantine_unplaceable_files,
)
from pipelines.periods import mediation_dates
from pipelines.rating.stage import rate_period
from pipelines.report import write_run_summary
from pipelines.roaming.stage import roaming_period
from pipelines.statements.stage import write_statements
from pipelines.taxes.stage import tax_period
from pipelines.validate import validate_warehouse

#: The run id the validate stage files its results under (the DAG uses Airflow's run id).
RUN_ID = "fault-tests"


def mediate(layout: Layout, period: str) -> None:
    """The mediation_partitions task, then every mapped mediate task, one after the other."""
    quarantine_unplaceable_files(layout)
    dates = mediation_dates(period)
    for feed, file_date in landing_partitions(layout):
        if file_date in dates:
            mediate_partition(layout, feed, file_date)


def consolidate(layout: Layout, period: str) -> None:
    """The consolidate task: every feed of the period, then the late-usage rule."""
    for feed in sorted({feed for feed, _ in landing_partitions(layout)}):
        consolidate_period(layout, feed, period)
    bill_late_usage(layout, period)


def report(layout: Layout, period: str) -> None:
    """The report task: statements, run summary, RA report."""
    write_statements(layout, period)
    write_run_summary(layout, period)
    write_ra_report(layout, period)


STAGES: dict[str, Callable[[Layout, str], object]] = {
    "mediate": mediate,
    "consolidate": consolidate,
    # Every rating step in one process: plan, each bucket, finish (the DAG's rate tasks).
    "rate": rate_period,
    "tax": tax_period,
    "interconnect": reconcile_period,
    "roaming": roaming_period,
    "rerating_check": check_rerating,
    "build": lambda layout, period: build_warehouse(layout),
    "validate": lambda layout, period: validate_warehouse(layout, period, RUN_ID),
    "report": report,
}

_WRITE_EVENTS = frozenset({"open", "os.rename", "os.remove", "os.rmdir", "os.mkdir"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _Writes:
    """Counts the writes under ``root``; calls ``fault`` at the ``fault_at``-th, or, with
    ``in_lock``, at the first write after the stage opened a partition lock's file (the
    stage then holds the lock)."""

    def __init__(
        self, root: Path, fault: Callable[[], None], fault_at: int = 0, in_lock: bool = False
    ) -> None:
        self.root = str(root) + os.sep
        self.locks = str(root / "locks") + os.sep
        self.fault = fault
        self.fault_at = fault_at
        self.in_lock = in_lock
        self.locked = False
        self.count = 0
        self.counting = True

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.counting or event not in _WRITE_EVENTS:
            return
        if event == "open" and not (args[2] or 0) & _WRITE_FLAGS:
            return
        target = args[0]
        path = "" if isinstance(target, int) else os.fsdecode(target)
        if not path.startswith(self.root):
            return
        self.count += 1
        in_lock = self.in_lock and self.locked and not path.startswith(self.locks)
        if self.count == self.fault_at or in_lock:
            self.in_lock = False
            self.fault()
        # Opening the lock file comes just before taking the lock (pipelines/locks.py).
        self.locked = self.locked or (event == "open" and path.startswith(self.locks))


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(paused: Path, resume: Path) -> Callable[[], None]:
    """Tell the test we hold the stage (and its lock) at a write; wait until it says go.
    Never told (the test failed), the run dies rather than write into a later test."""

    def pause() -> None:
        paused.write_text(str(os.getpid()))
        deadline = time.monotonic() + 300
        while not resume.exists():
            if time.monotonic() > deadline:
                _kill()
            time.sleep(0.05)

    return pause


def run_stage(request: dict[str, Any]) -> int:
    """Run ``request["stage"]`` on ``request["root"]`` for ``request["period"]`` with the
    fault the request names; returns the exit code (0 done, 1 failed, 3 PartitionLocked)."""
    root = Path(request["root"])
    os.environ.update(request.get("env", {}))
    if request.get("pause_in_lock"):
        writes = _Writes(root, _pause(Path(request["paused"]), Path(request["resume"])), 0, True)
    else:
        writes = _Writes(root, _kill, request.get("kill_at", 0))
    sys.addaudithook(writes)
    started = time.monotonic()
    outcome: dict[str, Any]
    try:
        STAGES[request["stage"]](Layout(root), request["period"])
        outcome = {"code": 0}
    except PartitionLocked as exc:
        outcome = {"code": 3, "error": "PartitionLocked", "message": str(exc)}
    except Exception as exc:  # the test reads the error; the log has the traceback
        traceback.print_exc()
        outcome = {"code": 1, "error": type(exc).__name__, "message": str(exc)}
    writes.counting = False
    outcome.update(writes=writes.count, seconds=time.monotonic() - started, finished_at=time.time())
    Path(request["result"]).write_text(json.dumps(outcome))
    return int(outcome["code"])
