"""Fixtures of the fault tests: the stage fork server, and one small operator billed stage
by stage, with the data root kept before each stage and its end state after."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fault_stages import STAGES
from fault_state import data_state

from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.privacy.keys import cpni_key

PERIOD = "2026-10"
SERVER = Path(__file__).with_name("stage_server.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StageRun:
    """A finished stage run: its exit code (-9: SIGKILL) and its result file, if written."""

    returncode: int | str
    result: dict[str, Any]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class StageServer:
    """Client of stage_server.py: start stage runs as forked children, wait for them."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._numbers = itertools.count(1)
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, "the stage server died"
        answer: dict[str, Any] = json.loads(reply)
        return answer

    def start(self, stage: str, root: Path, **fault: Any) -> tuple[int, Path, Path]:
        """Fork a run of ``stage`` on ``root`` with ``fault`` (kill_at, pause_at, env...);
        returns its pid, result file and log."""
        number = next(self._numbers)
        result = self.scratch / f"run-{number}-{stage}.json"
        log = self.scratch / f"run-{number}-{stage}.log"
        request = {
            "do": "start",
            "stage": stage,
            "root": str(root),
            "period": PERIOD,
            "result": str(result),
            "log": str(log),
            **fault,
        }
        return int(self._ask(request)["pid"]), result, log

    def wait(self, pid: int, result: Path, log: Path, timeout: float = 600) -> StageRun:
        returncode = self._ask({"do": "wait", "pid": pid, "timeout": timeout})["returncode"]
        outcome = json.loads(result.read_text()) if result.exists() else {}
        return StageRun(returncode, outcome, log)

    def run(self, stage: str, root: Path, **fault: Any) -> StageRun:
        return self.wait(*self.start(stage, root, **fault))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@dataclass
class BilledStages:
    """One small operator billed stage by stage at ``root`` (a fixed path, since paths are
    written into the warehouse and the reports): the data root kept before each stage,
    its clean end state after, and the writes and seconds its clean run took."""

    root: Path
    before: dict[str, Path] = field(default_factory=dict)
    after: dict[str, dict[str, str]] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def restore(self, stage: str) -> Layout:
        """Put the data root back as it was before ``stage``."""
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(self.before[stage], self.root, symlinks=True)
        return Layout(self.root)


@pytest.fixture(scope="session")
def stage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StageServer]:
    server = StageServer(tmp_path_factory.mktemp("stage-runs"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def billed_stages(
    tmp_path_factory: pytest.TempPathFactory, stage_server: StageServer
) -> BilledStages:
    """Seed 11, 30 subscribers, 2 days of PERIOD (the DAG tests' operator), every stage
    run once cleanly in a child of the stage server."""
    base = tmp_path_factory.mktemp("billed")
    billed = BilledStages(base / "operator")
    generate_operator(Layout(billed.root), seed=11, subscribers=30, month=PERIOD, days=2)
    # The CPNI masking key is provisioned once per deployment, before any run: a key made by
    # each rebuild would tokenise the analyst store differently every time.
    cpni_key(Layout(billed.root))
    for stage in STAGES:
        billed.before[stage] = base / "before" / stage
        shutil.copytree(billed.root, billed.before[stage], symlinks=True)
        clean = stage_server.run(stage, billed.root)
        assert clean.returncode == 0, f"clean {stage} failed:\n{clean.output}"
        billed.writes[stage] = clean.result["writes"]
        billed.seconds[stage] = clean.result["seconds"]
        billed.after[stage] = data_state(Layout(billed.root))
    return billed
