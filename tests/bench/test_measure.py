"""The benchmark's measures against processes whose cost is known: a child that fills N MiB
and writes K bytes, and one whose memory is in a grandchild."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.bench import measure
from pipelines.bench.runner import TaskRun, stage_of_tasks

MIB = 1024 * 1024
FILLED_MIB = 96
WRITTEN_BYTES = 3 * MIB

# Fills its memory byte by byte (a repeated bytes object is written, so every page is
# resident, unlike a zeroed allocation), writes a file, then waits for a line on stdin.
FILLER = (
    "import sys\n"
    "block = b'\\x01' * ({mib} * 1024 * 1024)\n"
    "with open(sys.argv[1], 'wb') as out:\n"
    "    out.write(b'\\x02' * {written})\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
)
# Starts the filler as its own child and waits for it: the memory is in the grandchild.
PARENT = (
    "import subprocess, sys\n"
    "child = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], "
    "stdout=subprocess.PIPE, text=True)\n"
    "print(child.stdout.readline().strip(), child.pid, flush=True)\n"
    "sys.stdin.readline()\n"
    "child.communicate('\\n')\n"
)


def _start(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def filler(tmp_path: Path):
    child = _start(FILLER.format(mib=FILLED_MIB, written=WRITTEN_BYTES), str(tmp_path / "out"))
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    yield child
    child.communicate("\n")


def test_peak_rss_of_a_child_that_filled_n_mib_is_at_least_n(filler):
    peak = measure.peak_rss_bytes(filler.pid)
    assert peak is not None and peak >= FILLED_MIB * MIB
    now = measure.rss_bytes(filler.pid)
    assert now is not None and FILLED_MIB * MIB <= now <= peak


def test_io_counters_count_the_bytes_the_child_wrote(filler):
    counters = measure.io_counters(filler.pid)
    assert counters is not None
    assert set(counters) == set(measure.IO_FIELDS)
    assert counters["wchar"] >= WRITTEN_BYTES


def test_cpu_seconds_count_the_work_of_reaped_children():
    before = measure.cpu_seconds()
    subprocess.run([sys.executable, "-c", "sum(range(30_000_000))"], check=True)
    assert measure.cpu_seconds() - before >= 0.2


def test_own_measures_are_this_process():
    assert measure.peak_rss_bytes() >= measure.rss_bytes() > 0
    before = measure.io_counters()["wchar"]
    sys.stdout.write("x" * 1000)
    sys.stdout.flush()
    assert measure.io_counters()["wchar"] >= before + 1000


def test_a_gone_process_measures_as_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert measure.peak_rss_bytes(gone.pid) is None
    assert measure.rss_bytes(gone.pid) is None
    assert measure.tree_rss_bytes(gone.pid) == 0


def test_the_sampler_sees_memory_held_by_a_grandchild(tmp_path: Path):
    code = FILLER.format(mib=FILLED_MIB, written=0)
    parent = _start(PARENT, code, str(tmp_path / "out"))
    assert parent.stdout is not None
    ready, grandchild = parent.stdout.readline().split()
    assert ready == "ready"
    try:
        assert int(grandchild) in measure.process_tree(parent.pid)
        with measure.RssSampler(interval=0.05) as sampler:
            sampler.watch(parent.pid)
            sampler.sample()
            peak = sampler.release(parent.pid)
            concurrent = sampler.take_concurrent_peak()
        # The parent alone holds far less than the grandchild's block.
        own = measure.peak_rss_bytes(parent.pid)
        assert own is not None and own < FILLED_MIB * MIB
        assert peak >= FILLED_MIB * MIB
        assert concurrent >= peak
        assert sampler.take_concurrent_peak() == 0  # taking it starts it afresh
    finally:
        parent.communicate("\n")


def _run(label: str, ok: bool, seconds: float, peak: int, tree: int, io: dict[str, int]):
    return TaskRun(
        task="mediate",
        label=label,
        ok=ok,
        error=None if ok else "ValueError: bad",
        seconds=seconds,
        work_seconds=seconds - 1,
        cpu_seconds=seconds / 2,
        peak_rss_bytes=peak,
        tree_peak_rss_bytes=tree,
        io=io,
        records=10,
        records_kind="landing records",
        result={},
        extra={},
    )


def test_a_stage_adds_its_tasks_up():
    runs = [
        _run("a", True, 4.0, 100, 120, {"rchar": 1, "wchar": 2, "read_bytes": 3, "write_bytes": 4}),
        _run("b", True, 6.0, 300, 250, {"rchar": 10, "wchar": 20, "read_bytes": 30}),
    ]
    stage = stage_of_tasks("mediate", runs, 8.0, 380, 20, "landing records")
    assert stage.status == "ok" and stage.error is None
    assert (stage.seconds, stage.task_seconds, stage.records_per_second) == (8.0, 10.0, 2.5)
    assert stage.cpu_seconds == 5.0 and stage.records_per_cpu_second == 4.0
    assert stage.peak_rss_bytes == 380  # the concurrent sum beats each task's own peak
    assert (stage.read_bytes, stage.written_bytes) == (11, 22)
    assert (stage.disk_read_bytes, stage.disk_written_bytes) == (33, 4)
    alone = stage_of_tasks("mediate", runs, 8.0, 0, 20, "landing records")
    assert alone.peak_rss_bytes == 300


def test_a_stage_with_a_failed_task_is_failed_and_names_it():
    runs = [_run("a", True, 1.0, 1, 1, {}), _run("mediate x", False, 1.0, 1, 1, {})]
    stage = stage_of_tasks("mediate", runs, 2.0, 0, None, "landing records")
    assert stage.status == "failed"
    assert stage.error == "mediate x: ValueError: bad"
    assert stage.records_per_second is None
