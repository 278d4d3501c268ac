"""The benchmark's progress: rich rows on a terminal, plain lines elsewhere, the same news."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from pipelines.bench.harness import BenchProgress
from pipelines.bench.runner import StageResult, TaskRun


def _task(label: str, ok: bool) -> TaskRun:
    return TaskRun(
        task="mediate",
        label=label,
        ok=ok,
        error=None if ok else "MediationError: broken",
        seconds=2.5,
        work_seconds=2.0,
        cpu_seconds=1.0,
        peak_rss_bytes=1,
        tree_peak_rss_bytes=1,
        io={},
        records=7,
        records_kind="landing records",
        result={},
        extra={},
    )


def _news(progress: BenchProgress) -> None:
    progress.stage("mediate", None)
    progress.task(_task("mediate ts32298_ber 2026-10-01", True))
    progress.task(_task("mediate asterisk_cdr_csv 2026-10-01", False))
    done = StageResult(
        "mediate",
        "failed",
        records=7,
        records_kind="landing records",
        seconds=3.0,
        peak_rss_bytes=300 * 1024**2,
        error="mediate asterisk_cdr_csv 2026-10-01: MediationError: broken",
    )
    progress.stage("mediate", done)
    progress.stage("consolidate", StageResult("consolidate", "skipped", error="needs mediate"))


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_progress_tells_each_stage_and_task(terminal: bool):
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=200, color_system=None)
    with BenchProgress(console) as progress:
        _news(progress)
    text = out.getvalue()
    assert "mediate: failed, 7 landing records in 3.0 s, peak 300 MiB" in text
    assert "consolidate: skipped (needs mediate)" in text
    if not terminal:
        assert (
            "  mediate asterisk_cdr_csv 2026-10-01: failed: MediationError: broken, 2.5 s" in text
        )
