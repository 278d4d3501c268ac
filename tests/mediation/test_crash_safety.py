"""A mediation run killed at any write, then rerun, ends exactly like a clean run.

Each crash is a real SIGKILL of a separate process, at the Nth partition file it writes:
either after the new Parquet file is complete but before its rename (mid-write), or between
the three tables of a partition (usage renamed, registry not yet).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config import Layout

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"

# Runs mediation in a child process that SIGKILLs itself at its Nth atomic rename,
# before (mid-write) or after (between tables) that rename takes effect.
CRASHING_RUN = """
import os, signal, sys
from datetime import date
from pathlib import Path
from pipelines.config import Layout
from pipelines.mediation.stage import mediate_partition

root, kill_at, moment = sys.argv[1], int(sys.argv[2]), sys.argv[3]
real_replace = os.replace
renames = 0

def crashing_replace(src, dst):
    global renames
    renames += 1
    if renames == kill_at and moment == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
    if renames == kill_at and moment == "after":
        os.kill(os.getpid(), signal.SIGKILL)

# The lake's local store renames through os.replace (pipelines/storage.py).
os.replace = crashing_replace
mediate_partition(Layout(Path(root)), "asterisk_cdr_csv", date.fromisoformat("2024-11-03"))
"""


def _operator(root: Path) -> Layout:
    shutil.copytree(FIXTURES / "reference", root / "reference")
    shutil.copytree(FIXTURES / "landing", root / "landing")
    return Layout(root)


def _partition_bytes(layout: Layout) -> dict[str, bytes]:
    return {
        str(path.relative_to(layout.lake)): path.read_bytes()
        for path in sorted(layout.lake.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CRASHING_RUN, str(root), *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    layout = _operator(tmp_path_factory.mktemp("clean"))
    done = _run(layout.root, "0", "never")
    assert done.returncode == 0, done.stderr
    return _partition_bytes(layout)


@pytest.mark.parametrize("moment", ["before", "after"])
@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_rerun_after_a_kill_equals_a_clean_run(
    tmp_path: Path, clean_run: dict[str, bytes], kill_at: int, moment: str
) -> None:
    layout = _operator(tmp_path)
    killed = _run(layout.root, str(kill_at), moment)
    assert killed.returncode == -9  # SIGKILL: the run really died where we said

    rerun = _run(layout.root, "0", "never")
    assert rerun.returncode == 0, rerun.stderr
    assert _partition_bytes(layout) == clean_run
    assert not list(layout.lake.rglob(".*.tmp")), "a stale temporary file survived the rerun"
