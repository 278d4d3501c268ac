"""Two runs of the same partition at once: one wins, the other waits for it or fails
cleanly, naming the holder (pipelines/locks.py). Every run here is a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BilledStages, StageServer
from fault_stages import STAGES
from fault_state import data_state, differences

from pipelines.config import Layout
from pipelines.locks import lock_path, lock_timeout, partition_lock

# Takes the lock of stage argv[3]'s partition argv[2] under the data root argv[1], says
# so, and holds it until told to go (a line on stdin) or killed.
HOLD = """
import sys
from pathlib import Path
from pipelines.config import Layout
from pipelines.locks import partition_lock
with partition_lock(Layout(Path(sys.argv[1])), sys.argv[3], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""
# Tries the same lock (waiting TELCOLAKE_LOCK_TIMEOUT_SECONDS); prints what happened.
TRY = """
import sys, time
from pathlib import Path
from pipelines.config import Layout
from pipelines.locks import PartitionLocked, partition_lock
started = time.monotonic()
try:
    with partition_lock(Layout(Path(sys.argv[1])), sys.argv[3], sys.argv[2]):
        print("acquired after", round(time.monotonic() - started, 1), flush=True)
except PartitionLocked as exc:
    print("refused:", exc, flush=True)
    sys.exit(3)
"""
PARTITION = "feed=asterisk_cdr_csv/file_date=2024-11-03"


def hold(root: Path, partition: str = PARTITION) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), partition, "mediate"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def attempt(
    root: Path, timeout: float, partition: str = PARTITION, stage: str = "mediate"
) -> subprocess.Popen[str]:
    env = {"TELCOLAKE_LOCK_TIMEOUT_SECONDS": str(timeout)}
    return subprocess.Popen(
        [sys.executable, "-c", TRY, str(root), partition, stage],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def test_the_second_run_fails_cleanly_naming_the_holder(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    try:
        second = attempt(tmp_path, timeout=0.5)
        out, _ = second.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 3, out
    assert f"pid {holder.pid} on {socket.gethostname()}" in out
    assert "gave up after 0.5 s" in out and "TELCOLAKE_LOCK_TIMEOUT_SECONDS" in out
    assert str(lock_path(Layout(tmp_path), "mediate", PARTITION)) in out


def test_the_second_run_waits_for_the_first_then_runs(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    second = attempt(tmp_path, timeout=60)
    time.sleep(1.0)
    assert second.poll() is None, "the second run did not wait for the lock"
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    holder.wait(timeout=60)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0 and out.startswith("acquired after"), out


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    holder.kill()  # SIGKILL: no finally block, no cleanup; the kernel drops the flock
    holder.wait()
    second = attempt(tmp_path, timeout=0)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out


def test_other_partitions_do_not_wait(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    try:
        other = attempt(tmp_path, timeout=0, partition="feed=asterisk_cdr_csv/file_date=2024-11-04")
        out, _ = other.communicate(timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert other.returncode == 0, out


def test_a_stage_calling_another_on_its_partition_does_not_wait_for_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A re-rating holds the rate lock of its period and runs the rate stage, which takes it.
    monkeypatch.setenv("TELCOLAKE_LOCK_TIMEOUT_SECONDS", "0")
    layout = Layout(tmp_path)
    with partition_lock(layout, "rate", "billing_period=2026-10"):
        with partition_lock(layout, "rate", "billing_period=2026-10"):
            pass
        # Still held by the outer block: another process is refused.
        other = attempt(tmp_path, timeout=0, partition="billing_period=2026-10", stage="rate")
        out, _ = other.communicate(timeout=60)
        assert other.returncode == 3, out
    after = attempt(tmp_path, timeout=0, partition="billing_period=2026-10", stage="rate")
    out, _ = after.communicate(timeout=60)
    assert after.returncode == 0, out


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_timeout_that_is_not_seconds_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELCOLAKE_LOCK_TIMEOUT_SECONDS", value)
    with pytest.raises(ValueError, match="TELCOLAKE_LOCK_TIMEOUT_SECONDS"):
        lock_timeout()


def start_paused(
    server: StageServer, stage: str, root: Path, scratch: Path
) -> tuple[int, Path, Path, Path]:
    """Start ``stage`` and wait until it holds its partition lock, paused at a write."""
    paused, resume = scratch / f"{stage}.paused", scratch / f"{stage}.resume"
    pid, result, log = server.start(
        stage, root, pause_in_lock=True, paused=str(paused), resume=str(resume)
    )
    deadline = time.monotonic() + 300
    while not paused.exists():
        assert time.monotonic() < deadline and not result.exists(), log.read_text()[-3000:]
        time.sleep(0.05)
    return pid, result, log, resume


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(STAGES))
def test_a_second_run_of_a_stage_fails_cleanly_and_the_first_ends_as_a_clean_run(
    stage: str, billed_stages: BilledStages, stage_server: StageServer, tmp_path: Path
) -> None:
    billed_stages.restore(stage)
    pid, result, log, resume = start_paused(stage_server, stage, billed_stages.root, tmp_path)
    try:
        second = stage_server.run(
            stage, billed_stages.root, env={"TELCOLAKE_LOCK_TIMEOUT_SECONDS": "0.5"}
        )
    finally:
        resume.touch()  # whatever happened to the second, the first goes on and ends
        first = stage_server.wait(pid, result, log)
    assert second.result.get("error") == "PartitionLocked", second.output
    assert f"pid {pid} on {socket.gethostname()}" in second.result["message"]
    assert first.returncode == 0, first.output
    changed = differences(billed_stages.after[stage], data_state(Layout(billed_stages.root)))
    assert not changed, f"{stage}: the refused second run left these unlike a clean run"


@pytest.mark.slow
def test_a_second_mediation_waits_for_the_first_and_both_end_as_one_clean_run(
    billed_stages: BilledStages, stage_server: StageServer, tmp_path: Path
) -> None:
    billed_stages.restore("mediate")
    pid, result, log, resume = start_paused(stage_server, "mediate", billed_stages.root, tmp_path)
    second = stage_server.start("mediate", billed_stages.root)
    time.sleep(1.5)
    ran_beside = second[1].exists()
    resume.touch()
    first = stage_server.wait(pid, result, log)
    waited = stage_server.wait(*second)
    assert not ran_beside, "the second mediation ran while the first held the lock"
    assert first.returncode == waited.returncode == 0, first.output + waited.output
    assert waited.result["finished_at"] > first.result["finished_at"]
    changed = differences(billed_stages.after["mediate"], data_state(Layout(billed_stages.root)))
    assert not changed, "two mediations of the same partitions left a state unlike one"
