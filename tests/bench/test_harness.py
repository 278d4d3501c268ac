"""The bench command's small parts: stage lists, the commit, a run on an earlier run's lake."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines.bench import cache, harness, measure
from pipelines.bench.runner import STAGES, TaskLauncher
from pipelines.bench.scales import Scale
from pipelines.config import Layout


def test_stage_lists():
    assert harness.stage_list(None) == list(STAGES)
    assert harness.stage_list("rate, tax") == ["rate", "tax"]
    with pytest.raises(ValueError, match="unknown stage"):
        harness.stage_list("rate,bill")


def test_the_commit_measured_is_named():
    assert re.fullmatch(r"([0-9a-f]{7,}|unknown)(\+dirty)?", harness.code_version())


def test_a_partial_run_keeps_the_earlier_figures_of_the_stages_not_run(tmp_path: Path):
    earlier = [
        {"stage": "mediate", "seconds": 10.0},
        {"stage": "rate", "seconds": 50.0},
    ]
    (tmp_path / "bench.json").write_text(json.dumps({"stages": earlier}))
    now = [{"stage": "rate", "seconds": 40.0}]
    merged = harness._with_earlier_stages(tmp_path, now)
    assert merged == [{"stage": "rate", "seconds": 40.0}, {"stage": "mediate", "seconds": 10.0}]
    assert harness._with_earlier_stages(tmp_path / "none", now) == now


def test_task_files_are_numbered_after_an_earlier_runs(tmp_path: Path):
    tasks = tmp_path / "bench_tasks"
    tasks.mkdir()
    (tasks / "0007-rate_bucket.json").write_text("{}")
    with measure.RssSampler() as sampler:
        launcher = TaskLauncher(Layout(tmp_path), "2026-10", sampler, tasks)
    assert launcher._started == 7


def test_stages_run_again_bench_the_operator_the_lake_was_made_from(tmp_path: Path):
    def generate(root: Path) -> dict:
        (root / "reference").mkdir()
        (root / "reference" / "accounts.csv").write_text("account_id\n")
        return {}

    scale = Scale("1K", 1_000)
    first = cache.cached_operator(tmp_path, scale, 7, generate, version="v1")
    run_root = tmp_path / "runs" / "1K"
    cache.fresh_run_root(run_root, first.path)
    # The generator changed since: its new entry is not the operator of this lake.
    cache.cached_operator(tmp_path, scale, 7, generate, version="v2")
    linked = harness._linked_operator(run_root)
    assert linked.root == first.path and linked.entry is not None
    assert linked.entry.key == first.key and linked.before == first.snapshot
    given = tmp_path / "given"
    (given / "reference").mkdir(parents=True)
    cache.fresh_run_root(run_root, given)
    linked = harness._linked_operator(run_root)
    assert (linked.root, linked.entry) == (given.resolve(), None)
