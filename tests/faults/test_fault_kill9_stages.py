"""kill -9 of each stage of the bill run at seeded random points, then a rerun: the data
root ends exactly as after a clean run of the stage (fault_state.py says what "exactly"
compares), so nothing is lost or doubled.

Each stage runs as its own process (a child of stage_server.py, like an Airflow task's
process) from the data root as it was before the stage, and SIGKILLs itself at a seeded
random write under the data root (a lake partition's rename, a report file, dbt's
artifacts, a Data Docs page...). dbt writes the warehouse from DuckDB's C++ side, which no
Python hook sees, so the build is also killed from outside after a seeded random delay,
mid-model. The rerun is the stage run again from what the kill left, as Airflow's retry
runs it.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from conftest import BilledStages, StageServer
from fault_stages import STAGES
from fault_state import data_state, differences

from pipelines.config import Layout

#: Seeded random writes to die at, per stage: three in mediation, which writes the most
#: partitions; one in the dbt build and the validation, the slow stages (tens of seconds
#: a run; the build is also killed from outside, below); two elsewhere.
KILLS_PER_STAGE = {"mediate": 3, "build": 1, "validate": 1}
DEFAULT_KILLS = 2


def kill_points(stage: str, writes: int) -> list[int]:
    """Which writes of ``stage`` to die at: seeded by the stage's name, among its
    ``writes`` (a clean run's count)."""
    count = min(KILLS_PER_STAGE.get(stage, DEFAULT_KILLS), writes)
    return sorted(random.Random(f"kill9/{stage}").sample(range(1, writes + 1), count))


def assert_rerun_ends_clean(billed: BilledStages, server: StageServer, stage: str) -> None:
    rerun = server.run(stage, billed.root)
    assert rerun.returncode == 0, f"the rerun of {stage} failed:\n{rerun.output}"
    changed = differences(billed.after[stage], data_state(Layout(billed.root)))
    assert not changed, f"after a kill and a rerun, {stage} left these unlike a clean run"


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_killed_at_a_random_write_then_rerun_ends_as_a_clean_run(
    stage: str, billed_stages: BilledStages, stage_server: StageServer
) -> None:
    points = kill_points(stage, billed_stages.writes[stage])
    assert points, f"{stage} wrote nothing under the data root: nothing to kill it at"
    for kill_at in points:
        billed_stages.restore(stage)
        killed = stage_server.run(stage, billed_stages.root, kill_at=kill_at)
        # -9: the run really died at that write (it did not finish or fail otherwise), and
        # left work undone for the rerun to repair.
        assert killed.returncode == -signal.SIGKILL, (kill_at, killed.output)
        left = data_state(Layout(billed_stages.root))
        assert differences(billed_stages.after[stage], left), f"{stage} was done at {kill_at}"
        assert_rerun_ends_clean(billed_stages, stage_server, stage)


@pytest.mark.slow
def test_dbt_killed_mid_build_from_outside_then_rebuilt_gives_the_same_marts(
    billed_stages: BilledStages, stage_server: StageServer
) -> None:
    # Between a fifth and a half of a clean build: dbt is running models by then (it parses
    # the project first), and far enough from the end that it cannot finish first.
    clean_seconds = billed_stages.seconds["build"]
    delay = random.Random("kill9/build/outside").uniform(0.2, 0.5) * clean_seconds
    billed_stages.restore("build")
    pid, result, log = stage_server.start("build", billed_stages.root)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    killed = stage_server.wait(pid, result, log)
    assert killed.returncode == -signal.SIGKILL, killed.output
    assert_rerun_ends_clean(billed_stages, stage_server, "build")
