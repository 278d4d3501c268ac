"""The benchmark's reports from a hand-made set of stage results: the JSON's shape, ratios
and targets computed by hand, the Markdown's rows, and the scaling table's growth flags."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.bench import report
from pipelines.bench.runner import STAGES, StageResult

GIB = 1024**3


def _stage(name: str, records: int, seconds: float, peak: int = GIB, **extra) -> dict:
    result = StageResult(
        name,
        extra.pop("status", "ok"),
        records=records,
        records_kind="records",
        seconds=seconds,
        task_seconds=seconds,
        records_per_second=round(records / seconds, 1),
        peak_rss_bytes=peak,
        tasks=1,
        **extra,
    )
    return result.as_dict()


def _baseline(name: str, records: int, seconds: float) -> dict:
    return {
        "name": name,
        "status": "ok",
        "records": records,
        "records_kind": "records",
        "seconds": seconds,
        "records_per_second": records / seconds,
        "peak_rss_bytes": GIB,
        "wall_seconds": seconds + 2,
        "detail": {"compared_with_stage": 10, "agreeing_with_stage": 10},
        "error": None,
    }


def _stages(scale: int, seconds: dict[str, float] | None = None) -> list[dict]:
    """Every stage on ``scale`` records, 100 s each unless ``seconds`` says otherwise."""
    seconds = seconds or {}
    found = []
    for name in STAGES:
        detail = {}
        if name == "mediate":
            ber = {"records": scale // 2, "seconds": 50.0, "records_per_second": scale / 100}
            detail = {"by_feed": {"ts32298_ber": ber}}
        found.append(_stage(name, scale, seconds.get(name, 100.0), detail=detail))
    return found


def _report(
    name: str,
    scale: int,
    seconds: dict[str, float] | None = None,
    failed: dict[str, str] | None = None,
) -> dict:
    """A run of every stage on ``scale`` records; ``failed``: stage -> its error."""
    run = {
        "name": name,
        "operator": f"{name} test operator",
        "scale_records": scale,
        "billing_period": "2026-10",
        "data_root": f"/tmp/{name}",
        "commit": "abc1234",
        "started_at": "2026-11-27T10:00:00+00:00",
        "finished_at": "2026-11-27T10:30:00+00:00",
        "notes": ["the operator's files were left unchanged"],
    }
    machine = {
        "cores": 2,
        "memory_bytes": 24 * GIB,
        "system": "Linux",
        "python": "3.11",
        "load_average_start": [1.0, 1.0, 1.0],
        "load_average_end": [2.0, 1.5, 1.0],
    }
    baselines = [
        _baseline("reference_rating", 2_000, 0.5),  # 4,000/s
        _baseline("duckdb_sql_rating", 1_000_000, 2.0),  # 500,000/s
        _baseline("pycrate_ber", 2_000, 2.0),  # 1,000/s
    ]
    stages = _stages(scale, seconds)
    for stage in stages:
        if stage["stage"] in (failed or {}):
            stage.update(status="failed", error=failed[stage["stage"]])
    return report.run_report(run, machine, stages, baselines)


def test_the_run_report_holds_every_stage_baseline_ratio_and_target():
    content = _report("1M", 1_000_000)
    assert set(content) == {"run", "machine", "stages", "baselines", "ratios", "targets"}
    assert [stage["stage"] for stage in content["stages"]] == list(STAGES)
    # rate: 1,000,000 records in 100 s = 10,000/s; mediate's BER: 1,000,000 / 100 = 10,000/s.
    values = {ratio["ratio"]: ratio["value"] for ratio in content["ratios"]}
    assert values == {
        "rate stage / reference rating": 2.5,
        "rate stage / DuckDB SQL rating": 0.02,
        "mediate BER / pycrate decoding": 10.0,
    }
    goal = content["targets"]
    assert goal["day_seconds"] == 100.0 * len(report.DAY_STAGES)
    assert goal["day_met"] is True and goal["day_missing_stages"] == []
    assert goal["peak_met"] is True and goal["peak_rss_bytes"] == GIB
    assert goal["bill_run_seconds"] == 100.0 and goal["bill_run_met"] is True
    json.dumps(content)  # plain JSON all through


def test_targets_missed_or_not_measured():
    stages = {stage["stage"]: stage for stage in _stages(200_000_000, {"rate": 1_000.0})}
    stages["build"]["peak_rss_bytes"] = 13 * GIB
    goal = report.targets(stages)
    assert goal["day_seconds"] == 1_500.0 and goal["day_met"] is False
    assert goal["peak_met"] is False
    stages["validate"]["status"] = "failed"
    del stages["build"]
    goal = report.targets(stages)
    assert goal["day_met"] is None
    assert goal["day_missing_stages"] == ["build", "validate"]
    assert goal["bill_run_met"] is None and goal["bill_run_seconds"] is None


def test_a_ratio_without_its_stage_or_baseline_is_none():
    stages = {"rate": _stage("rate", 10, 1.0, status="failed")}
    baselines = {"reference_rating": _baseline("reference_rating", 10, 1.0)}
    found = {ratio["ratio"]: ratio["value"] for ratio in report.ratios(stages, baselines)}
    assert set(found.values()) == {None}


def test_the_markdown_has_a_row_per_stage_baseline_and_ratio(tmp_path: Path):
    content = _report("1M", 1_000_000, failed={"validate": "2 failures"})
    content["stages"][0].update(
        seconds=5.0, task_seconds=8.0, tasks=3, concurrent_rss_bytes=1_500 * 1024**2
    )
    as_json, as_markdown = report.write_run_report(tmp_path, content)
    assert json.loads(as_json.read_text()) == json.loads(json.dumps(content))
    text = as_markdown.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    stage_rows = [row for row in rows if row.split(" | ")[0][2:] in STAGES]
    assert len(stage_rows) == len(STAGES)
    assert "| rate | ok | 1,000,000 | records | 100.0 | 100.0 | 0.0 | 10,000 | - | 1,024 |" in text
    assert "- validate failed: 2 failures" in text
    assert "- mediate: 3 tasks, 2 at a time: 5.0 s of wall time for 8.0 s of tasks; " in text
    assert "summed RSS 1,500 MiB" in text
    assert "| rate stage / DuckDB SQL rating | 10,000 | 500,000 | 0.02 |" in text
    assert "2 cores" in text and "commit abc1234" in text
    assert "load average at start [1.0, 1.0, 1.0], at end [2.0, 1.5, 1.0]" in text
    assert "not measured (missing: validate)" in text


def test_scaling_sets_cost_growth_against_record_growth(tmp_path: Path):
    # From 1M to 10M records: rate 10 s -> 200 s grows 2x faster than its records; tax
    # 10 s -> 120 s 1.2x (not flagged); build 10 s -> 50 s sub-linear.
    small = _report("1M", 1_000_000, {"rate": 10.0, "tax": 10.0, "build": 10.0})
    large = _report("10M", 10_000_000, {"rate": 200.0, "tax": 120.0, "build": 50.0})
    for name, content in (("10M", large), ("1M", small)):
        report.write_run_report(tmp_path / "runs" / name, content)
    as_json, as_markdown = report.write_scaling(tmp_path)
    combined = json.loads(as_json.read_text())
    assert combined["runs"] == ["1M", "10M"]  # by size, not by name
    growth = {item["stage"]: item for item in combined["growth"]}
    assert growth["rate"]["record_growth"] == 10.0
    assert growth["rate"]["cost_growth"] == 20.0
    assert growth["rate"]["cost_over_records"] == 2.0 and growth["rate"]["flagged"]
    assert growth["tax"]["cost_over_records"] == 1.2 and not growth["tax"]["flagged"]
    assert growth["build"]["cost_over_records"] == 0.5 and not growth["build"]["flagged"]
    assert combined["stages"]["rate"][1]["seconds"] == 200.0
    text = as_markdown.read_text()
    assert "| rate | 1M | 10M | 10.0 | 20.0 | 2.0 | **yes** |" in text
    assert "| tax | 1M | 10M | 10.0 | 12.0 | 1.2 | no |" in text


def test_scaling_skips_failed_stages_and_runs_of_one_size():
    first = _report("a", 1_000_000)
    again = _report("b", 1_100_000, {"rate": 300.0})
    failed = _report("c", 5_000_000, failed={"rate": "out of memory"})
    combined = report.scaling([first, again, failed])
    assert combined["stages"]["rate"][2] is None
    # a -> b is too small a step to judge, b -> c has no rate figure.
    assert not [item for item in combined["growth"] if item["stage"] == "rate"]
