"""The benchmark's reports: one run's ``bench.json`` and ``bench.md``, and ``scaling.json``
and ``scaling.md`` across every run in a work folder.

A run's report holds, per stage, the records it took in, wall seconds, records per second,
peak resident set and bytes read and written; the baselines measured on the same data and
the ratios of the stages to them; and issue #10's targets: the day (mediation,
consolidation, rating, taxes, the dbt build and the expectations) within 20 minutes and
every stage within 12 GiB, and the bill run (the dbt build of the marts, usage already
rated) within 10 minutes. The scaling table sets each stage's seconds beside its records
from one scale to the next and flags a stage whose cost grows faster than its records by
more than GROWTH_FLAG.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.bench.runner import FAN_OUT, STAGES

#: The stages of issue #10's day target: mediation (with its consolidation: partial records
#: joined into sessions and repeats removed are mediation's work), rating, taxes, the dbt
#: marts and the expectations.
DAY_STAGES = ("mediate", "consolidate", "rate", "tax", "build", "validate")
DAY_LIMIT_SECONDS = 20 * 60
PEAK_LIMIT_BYTES = 12 * 1024**3
#: The bill run of the target: the marts built from usage already rated.
BILL_RUN_STAGE = "build"
BILL_RUN_LIMIT_SECONDS = 10 * 60
#: A stage whose cost grows this much faster than its records is flagged.
GROWTH_FLAG = 1.3
#: Record growth below this between two runs says nothing about scaling.
_MIN_RECORD_GROWTH = 1.5
#: (ratio name, stage figure, baseline) of the report's ratios.
RATIOS = (
    ("rate stage / reference rating", "rate", "reference_rating"),
    ("rate stage / DuckDB SQL rating", "rate", "duckdb_sql_rating"),
    ("mediate BER / pycrate decoding", "mediate_ber", "pycrate_ber"),
)
RUN_JSON, RUN_MARKDOWN = "bench.json", "bench.md"
SCALING_JSON, SCALING_MARKDOWN = "scaling.json", "scaling.md"
_MIB = 1024**2


def _rate(stages: Mapping[str, Mapping[str, Any]], figure: str) -> float | None:
    """Records per second of a stage, or of the mediate stage's BER partitions."""
    if figure == "mediate_ber":
        mediate = stages.get("mediate")
        if mediate is None or mediate["status"] != "ok":
            return None
        ber = mediate["detail"].get("by_feed", {}).get("ts32298_ber")
        return ber["records_per_second"] if ber and ber["records"] else None
    stage = stages.get(figure)
    if stage is None or stage["status"] != "ok":
        return None
    return stage["records_per_second"]


def ratios(
    stages: Mapping[str, Mapping[str, Any]], baselines: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each ratio of RATIOS: the stage's records/s over the baseline's (None if either is
    missing)."""
    found = []
    for name, figure, baseline_name in RATIOS:
        ours = _rate(stages, figure)
        baseline = baselines.get(baseline_name)
        theirs = baseline["records_per_second"] if baseline and baseline["status"] == "ok" else None
        found.append(
            {
                "ratio": name,
                "stage_records_per_second": ours,
                "baseline_records_per_second": theirs,
                "value": round(ours / theirs, 2) if ours and theirs else None,
            }
        )
    return found


def targets(stages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Issue #10's targets against the run's stages. A target needing a stage that did not
    succeed is not met (``met`` None: not measured)."""
    missing = [s for s in DAY_STAGES if s not in stages or stages[s]["status"] != "ok"]
    day_seconds = sum(stages[s]["seconds"] for s in DAY_STAGES if s in stages)
    peak = max((stage["peak_rss_bytes"] for stage in stages.values()), default=0)
    bill_run = stages.get(BILL_RUN_STAGE)
    bill_run_seconds = bill_run["seconds"] if bill_run and bill_run["status"] == "ok" else None
    return {
        "day_stages": list(DAY_STAGES),
        "day_seconds": round(day_seconds, 3),
        "day_limit_seconds": DAY_LIMIT_SECONDS,
        "day_missing_stages": missing,
        "day_met": None if missing else day_seconds <= DAY_LIMIT_SECONDS,
        "peak_rss_bytes": peak,
        "peak_limit_bytes": PEAK_LIMIT_BYTES,
        "peak_met": None if not stages else peak <= PEAK_LIMIT_BYTES,
        "bill_run_stage": BILL_RUN_STAGE,
        "bill_run_seconds": bill_run_seconds,
        "bill_run_limit_seconds": BILL_RUN_LIMIT_SECONDS,
        "bill_run_met": None
        if bill_run_seconds is None
        else bill_run_seconds <= BILL_RUN_LIMIT_SECONDS,
    }


def run_report(
    run: dict[str, Any],
    machine: dict[str, Any],
    stages: Sequence[Mapping[str, Any]],
    baselines: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The content of bench.json: the run, the machine, stages, baselines, ratios, targets."""
    by_stage = {stage["stage"]: stage for stage in stages}
    by_baseline = {baseline["name"]: baseline for baseline in baselines}
    return {
        "run": run,
        "machine": machine,
        "stages": [by_stage[s] for s in STAGES if s in by_stage],
        "baselines": list(baselines),
        "ratios": ratios(by_stage, by_baseline),
        "targets": targets(by_stage),
    }


def write_run_report(folder: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write bench.json and bench.md into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    as_json, as_markdown = folder / RUN_JSON, folder / RUN_MARKDOWN
    as_json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    as_markdown.write_text(run_markdown(report))
    return as_json, as_markdown


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / _MIB:,.0f}"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def run_markdown(report: Mapping[str, Any]) -> str:
    """bench.md: the run, the machine, a row per stage, targets, baselines and ratios."""
    run, machine, goal = report["run"], report["machine"], report["targets"]
    memory = machine.get("memory_bytes")
    lines = [
        f"# Benchmark run {run['name']}",
        "",
        f"- operator: {run['operator']}",
        f"- billing period {run['billing_period']}; data root `{run['data_root']}`",
        f"- commit {run['commit']}; started {run['started_at']}, finished {run['finished_at']}",
        f"- machine: {machine['cores']} cores, "
        f"{_number(memory / 1024**3 if memory else None, 1)} GiB RAM, {machine['system']}, "
        f"Python {machine['python']}; load average at start {machine['load_average_start']}, "
        f"at end {machine['load_average_end']}",
    ]
    lines += [f"- {note}" for note in run.get("notes", [])]
    lines += [
        "",
        "## Stages",
        "",
        "| stage | status | records | which records | seconds | tasks' seconds | CPU seconds "
        "| records/s | records/CPU-s | peak RSS MiB | read MiB | written MiB | disk read MiB "
        "| disk written MiB | tasks |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for stage in report["stages"]:
        lines.append(
            f"| {stage['stage']} | {stage['status']} | {_number(stage['records'])} "
            f"| {stage['records_kind']} | {_number(stage['seconds'], 1)} "
            f"| {_number(stage['task_seconds'], 1)} | {_number(stage['cpu_seconds'], 1)} "
            f"| {_number(stage['records_per_second'])} "
            f"| {_number(stage['records_per_cpu_second'])} "
            f"| {_mib(stage['peak_rss_bytes'])} | {_mib(stage['read_bytes'])} "
            f"| {_mib(stage['written_bytes'])} | {_mib(stage['disk_read_bytes'])} "
            f"| {_mib(stage['disk_written_bytes'])} | {stage['tasks']} |"
        )
    fanned = [s for s in report["stages"] if s["task_seconds"] > s["seconds"]]
    lines += [""] * bool(fanned) + [
        f"- {s['stage']}: {s['tasks']} tasks, {FAN_OUT} at a time: {_number(s['seconds'], 1)} s "
        f"of wall time for {_number(s['task_seconds'], 1)} s of tasks; sampled peak of the "
        f"running tasks' summed RSS {_mib(s['concurrent_rss_bytes'])} MiB"
        for s in fanned
    ]
    problems = [s for s in report["stages"] if s["error"]]
    if problems:
        lines += ["", *(f"- {s['stage']} {s['status']}: {s['error']}" for s in problems)]
    lines += [
        "",
        "## Targets",
        "",
        f"- the day ({' + '.join(goal['day_stages'])}): {_number(goal['day_seconds'], 1)} s "
        f"against {goal['day_limit_seconds']} s: {_verdict(goal['day_met'])}"
        + (
            f" (missing: {', '.join(goal['day_missing_stages'])})"
            if goal["day_missing_stages"]
            else ""
        ),
        f"- peak RSS of any stage: {_mib(goal['peak_rss_bytes'])} MiB against "
        f"{_mib(goal['peak_limit_bytes'])} MiB: {_verdict(goal['peak_met'])}",
        f"- the bill run ({goal['bill_run_stage']}: the marts, usage already rated): "
        f"{_number(goal['bill_run_seconds'], 1)} s against {goal['bill_run_limit_seconds']} s: "
        f"{_verdict(goal['bill_run_met'])}",
        "",
        "## Baselines (same data, same run)",
        "",
        "| baseline | status | records | which records | timed seconds | records/s "
        "| peak RSS MiB | detail |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for baseline in report["baselines"]:
        detail = ", ".join(f"{k} {v}" for k, v in baseline["detail"].items()) or "-"
        if baseline["error"]:
            detail = baseline["error"]
        lines.append(
            f"| {baseline['name']} | {baseline['status']} | {_number(baseline['records'])} "
            f"| {baseline['records_kind']} | {_number(baseline['seconds'], 2)} "
            f"| {_number(baseline['records_per_second'])} | {_mib(baseline['peak_rss_bytes'])} "
            f"| {detail} |"
        )
    lines += ["", "## Ratios (records/s over records/s)", "", "| ratio | stage | baseline | x |"]
    lines += ["| --- | ---: | ---: | ---: |"]
    for ratio in report["ratios"]:
        lines.append(
            f"| {ratio['ratio']} | {_number(ratio['stage_records_per_second'])} "
            f"| {_number(ratio['baseline_records_per_second'])} | {_number(ratio['value'], 2)} |"
        )
    return "\n".join(lines) + "\n"


def read_runs(work: Path) -> list[dict[str, Any]]:
    """Every run report under ``<work>/runs/``, smallest operator first (by the mediate
    stage's landing records, else the scale's nominal records)."""
    reports = [json.loads(path.read_text()) for path in sorted(work.glob(f"runs/*/{RUN_JSON}"))]
    return sorted(reports, key=_run_size)


def _run_size(report: Mapping[str, Any]) -> int:
    for stage in report["stages"]:
        if stage["stage"] == "mediate" and stage["records"]:
            return int(stage["records"])
    return int(report["run"].get("scale_records") or 0)


def scaling(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per stage, each run's records, seconds and records/s, and the growth from each run
    to the next: cost growth over record growth, flagged above GROWTH_FLAG."""
    runs = list(reports)
    names = [report["run"]["name"] for report in runs]
    table: dict[str, list[dict[str, Any] | None]] = {}
    for stage in STAGES:
        row = []
        for report in runs:
            found = next((s for s in report["stages"] if s["stage"] == stage), None)
            ok = found is not None and found["status"] == "ok"
            row.append(
                {
                    "records": found["records"],
                    "seconds": found["seconds"],
                    "records_per_second": found["records_per_second"],
                    "peak_rss_bytes": found["peak_rss_bytes"],
                }
                if ok and found is not None
                else None
            )
        if any(row):
            table[stage] = row
    growth = []
    for stage, row in table.items():
        for (name_a, a), (name_b, b) in itertools.pairwise(zip(names, row, strict=True)):
            if not (a and b and a["records"] and b["records"] and a["seconds"]):
                continue
            record_growth = b["records"] / a["records"]
            if record_growth < _MIN_RECORD_GROWTH:
                continue
            cost_growth = b["seconds"] / a["seconds"]
            excess = cost_growth / record_growth
            growth.append(
                {
                    "stage": stage,
                    "from": name_a,
                    "to": name_b,
                    "record_growth": round(record_growth, 2),
                    "cost_growth": round(cost_growth, 2),
                    "cost_over_records": round(excess, 2),
                    "flagged": excess > GROWTH_FLAG,
                }
            )
    return {"runs": names, "stages": table, "growth": growth, "growth_flag": GROWTH_FLAG}


def write_scaling(work: Path) -> tuple[Path, Path]:
    """Write scaling.json and scaling.md into ``work`` from every run so far; their paths."""
    combined = scaling(read_runs(work))
    as_json, as_markdown = work / SCALING_JSON, work / SCALING_MARKDOWN
    as_json.write_text(json.dumps(combined, indent=2) + "\n")
    as_markdown.write_text(scaling_markdown(combined))
    return as_json, as_markdown


def scaling_markdown(combined: Mapping[str, Any]) -> str:
    """scaling.md: seconds and records/s per stage across runs, then the growth."""
    names = combined["runs"]
    head = "| stage | " + " | ".join(names) + " |"
    rule = "| --- |" + " ---: |" * len(names)
    lines = ["# Benchmark scaling", "", "## Seconds per stage (records in brackets)", ""]
    lines += [head, rule]
    for stage, row in combined["stages"].items():
        cells = [
            f"{_number(cell['seconds'], 1)} ({_number(cell['records'])})" if cell else "-"
            for cell in row
        ]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += ["", "## Records per second", "", head, rule]
    for stage, row in combined["stages"].items():
        cells = [_number(cell["records_per_second"]) if cell else "-" for cell in row]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Growth (flagged: cost grows more than {combined['growth_flag']}x faster than records)",
        "",
        "| stage | from | to | records x | seconds x | seconds x / records x | flagged |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for item in combined["growth"]:
        lines.append(
            f"| {item['stage']} | {item['from']} | {item['to']} | {item['record_growth']} "
            f"| {item['cost_growth']} | {item['cost_over_records']} "
            f"| {'**yes**' if item['flagged'] else 'no'} |"
        )
    if not combined["growth"]:
        lines.append("| - | - | - | - | - | - | - |")
    return "\n".join(lines) + "\n"
