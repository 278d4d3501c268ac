"""``telcolake bench``: for each scale, an operator (generated once, cached), a fresh data
root, every stage measured, the baselines on the same data, and the reports.

docs/benchmarks.md describes the command, the cache, the columns and the ratios.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from pipelines.bench import baselines, cache, measure, report
from pipelines.bench.runner import STAGES, StageResult, StageRunner, TaskLauncher, TaskRun, TaskSpec
from pipelines.bench.scales import BENCH_PERIOD, RECORDS_PER_LINE_DAY, Scale
from pipelines.config import PROJECT_ROOT, Layout, data_root

#: The baselines in the order they run, and the stage whose output each reads.
BASELINES = (
    ("reference_rating", "rate"),
    ("duckdb_sql_rating", "rate"),
    ("pycrate_ber", None),
)
#: Where each run's task results and logs, and profiles, go under its data root.
TASKS_FOLDER, PROFILES_FOLDER = "bench_tasks", "bench_profiles"
#: The code whose changes make a measure "+dirty" against its commit.
_MEASURED_CODE = ("pipelines", "kernels", "dbt_project", "expectations", "dags")


@dataclass
class BenchOptions:
    """What ``telcolake bench`` was asked (docs/benchmarks.md)."""

    scales: list[Scale]
    work: Path
    data_root: Path | None = None
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    profile: str | None = None
    seed: int = 7
    run_baselines: bool = True
    reference_records: int = baselines.REFERENCE_RECORDS
    sql_records: int = baselines.SQL_RECORDS
    pycrate_records: int = baselines.PYCRATE_RECORDS


class BenchProgress:
    """Progress on a terminal (rich: a row per stage or baseline), plain lines otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Progress | None = None
        self.rows: dict[str, TaskID] = {}
        self.current: str | None = None
        self.tasks_done = 0

    def __enter__(self) -> BenchProgress:
        if self.console.is_terminal:
            self.live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def begin(self, name: str) -> None:
        self.current, self.tasks_done = name, 0
        if self.live is not None:
            self.rows[name] = self.live.add_task(name, total=None)
        else:
            self.say(f"{name}: started")

    def end(self, name: str, line: str) -> None:
        """``name`` ended (or was skipped without beginning)."""
        self.current = None
        if self.live is None:
            self.say(line)
        elif name in self.rows:
            self.live.update(self.rows[name], description=line, total=1, completed=1)
        else:
            self.live.add_task(line, total=1, completed=1)

    def task(self, run: TaskRun) -> None:
        """A task of the current stage ended."""
        self.tasks_done += 1
        if self.live is not None and self.current in self.rows:
            description = f"{self.current}: {self.tasks_done} task(s) done, last {run.label}"
            self.live.update(self.rows[self.current], description=description)
        elif self.live is None:
            status = "ok" if run.ok else f"failed: {run.error}"
            self.say(f"  {run.label}: {status}, {run.seconds:,.1f} s")

    def stage(self, stage: str, result: StageResult | None) -> None:
        """The runner's callback: a stage starts (None) or ends."""
        if result is None:
            self.begin(stage)
            return
        if result.status == "skipped":
            self.end(stage, f"{stage}: skipped ({result.error})")
            return
        line = (
            f"{stage}: {result.status}, {result.records or 0:,} {result.records_kind or 'records'}"
            f" in {result.seconds:,.1f} s, peak {result.peak_rss_bytes / 1024**2:,.0f} MiB"
        )
        self.end(stage, line + (f" ({result.error})" if result.error else ""))


def code_version() -> str:
    """The commit measured, ``+dirty`` when the measured code differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", *_MEASURED_CODE) else "")


def run_bench(options: BenchOptions, console: Console) -> list[Path]:
    """Bench every scale (or the given data root); the paths of the runs' bench.md."""
    written = []
    with BenchProgress(console) as progress:
        if options.data_root is not None:
            name = options.scales[0].name if options.scales else "data-root"
            written.append(_bench_one(options, name, None, progress))
        else:
            for scale in options.scales:
                written.append(_bench_one(options, scale.name, scale, progress))
        scaling_json, scaling_markdown = report.write_scaling(options.work)
    console.print(f"scaling across runs: {scaling_markdown} ({scaling_json.name})")
    return written


def _generate(
    options: BenchOptions, scale: Scale, progress: BenchProgress
) -> Callable[[Path], dict[str, Any]]:
    """The cache's generate callback: the volume generator in a measured child."""

    def generate(root: Path) -> dict[str, Any]:
        progress.say(f"generating {scale.name}: {scale.subscribers:,} lines into {root}")
        with measure.RssSampler() as sampler:
            # The task's result and log stay with the entry, beside its operator areas.
            launcher = TaskLauncher(Layout(root), BENCH_PERIOD, sampler, root / TASKS_FOLDER)
            (run,) = launcher.run(
                [
                    TaskSpec(
                        "generate",
                        f"generate {scale.name}",
                        {
                            "subscribers": scale.subscribers,
                            "seed": options.seed,
                            "days": 1,
                            "records_per_line_day": float(RECORDS_PER_LINE_DAY),
                        },
                    )
                ]
            )
        if not run.ok:
            raise RuntimeError(f"generating {scale.name} failed: {run.error}")
        return {
            "seconds": run.seconds,
            "peak_rss_bytes": run.peak_rss_bytes,
            "result": run.result,
            "generated_at": _now(),
        }

    return generate


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Operator:
    """What a run benches: the operator's data root, its files' snapshot before the run, a
    description for the report, and its cache entry (None for a data root given)."""

    root: Path
    before: cache.Snapshot
    description: str
    entry: cache.CacheEntry | None


def _operator(options: BenchOptions, scale: Scale | None, progress: BenchProgress) -> _Operator:
    """The operator a fresh run benches: the data root given, else the scale's cache entry
    (generated now when missing)."""
    if scale is None:
        assert options.data_root is not None
        source = options.data_root.resolve()
        return _Operator(source, cache.snapshot(source), f"the data root {source}", None)
    work = options.work.resolve()
    entry = cache.cached_operator(work, scale, options.seed, _generate(options, scale, progress))
    generation = entry.description.get("generation", {})
    description = (
        f"{scale.name} ({scale.subscribers:,} lines, seed {options.seed}), cache "
        f"{entry.key} ({'generated now' if entry.generated else 'reused'}: "
        f"{generation.get('seconds', 0):,.0f} s to generate)"
    )
    return _Operator(entry.path, entry.snapshot, description, entry)


def _linked_operator(run_root: Path) -> _Operator:
    """The operator an earlier run's data root links to, for stages run again on its lake
    (a cache entry made since, for a changed generator, is not this lake's operator)."""
    source = (run_root / "reference").resolve().parent
    entry_file = source / cache.ENTRY_FILE
    if not entry_file.is_file():
        return _Operator(source, cache.snapshot(source), f"the data root {source}", None)
    description = json.loads(entry_file.read_text())
    entry = cache.CacheEntry(source, description["key"], False, description)
    return _Operator(source, entry.snapshot, f"cache {entry.key} (reused)", entry)


def _bench_one(
    options: BenchOptions, name: str, scale: Scale | None, progress: BenchProgress
) -> Path:
    run_root = options.work.resolve() / "runs" / name
    notes: list[str] = []
    fresh = "mediate" in options.stages
    if fresh:
        operator = _operator(options, scale, progress)
        cache.fresh_run_root(run_root, operator.root)
    elif (run_root / "lake").is_dir() and (run_root / "reference").is_symlink():
        operator = _linked_operator(run_root)
        notes.append("stages not run now are an earlier run's, on this same lake")
    else:
        raise ValueError(
            f"{run_root} has no lake to run {', '.join(options.stages)} on: include mediate"
        )
    source, before, entry = operator.root, operator.before, operator.entry
    started_at, load_start = _now(), measure.load_average()
    progress.say(f"bench {name}: {operator.description}; data root {run_root}")
    layout = Layout(run_root)
    with measure.RssSampler() as sampler:
        launcher = TaskLauncher(
            layout, BENCH_PERIOD, sampler, run_root / TASKS_FOLDER, on_task=progress.task
        )
        runner = StageRunner(
            launcher, profile_stage=options.profile, profile_dir=run_root / PROFILES_FOLDER
        )
        stages = runner.run(options.stages, progress.stage)
        measured = (
            _baselines(options, launcher, runner.results, progress) if options.run_baselines else []
        )
    changed = cache.changed_files(source, before)
    if changed:
        notes.append(f"the operator changed during the run: {', '.join(changed[:5])}")
        if entry is not None:
            # A damaged entry is never reused: the next run generates it again.
            (entry.path / cache.ENTRY_FILE).unlink(missing_ok=True)
    else:
        notes.append("the operator's files were left unchanged")
    if options.profile:
        notes.append(
            f"{options.profile} ran under pyinstrument (its times include the profiler's "
            f"overhead): profiles in {run_root / PROFILES_FOLDER}"
        )
    stage_dicts = [stage.as_dict() for stage in stages]
    if not fresh:
        stage_dicts = _with_earlier_stages(run_root, stage_dicts)
    content = report.run_report(
        {
            "name": name,
            "operator": operator.description,
            "scale_records": scale.records if scale else None,
            "seed": options.seed if scale else None,
            "cache_key": entry.key if entry else None,
            "generation": entry.description.get("generation") if entry else None,
            "billing_period": BENCH_PERIOD,
            "data_root": str(run_root),
            "commit": code_version(),
            "started_at": started_at,
            "finished_at": _now(),
            "stages_asked": list(options.stages),
            "profiled_stage": options.profile,
            "notes": notes,
        },
        {
            **measure.machine(),
            "load_average_start": load_start,
            "load_average_end": measure.load_average(),
        },
        stage_dicts,
        measured,
    )
    _, markdown = report.write_run_report(run_root, content)
    progress.say(f"report: {markdown}")
    return markdown


def _with_earlier_stages(run_root: Path, stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's stages, and the earlier report's for the stages not run now."""
    earlier_path = run_root / report.RUN_JSON
    if not earlier_path.is_file():
        return stages
    now = {stage["stage"] for stage in stages}
    earlier = json.loads(earlier_path.read_text())["stages"]
    return [*stages, *(stage for stage in earlier if stage["stage"] not in now)]


def _baselines(
    options: BenchOptions,
    launcher: TaskLauncher,
    stages: dict[str, StageResult],
    progress: BenchProgress,
) -> list[dict[str, Any]]:
    """Each baseline in a measured child; one needing a stage that did not succeed here is
    skipped."""
    sizes = {
        "reference_rating": {"records": options.reference_records},
        "duckdb_sql_rating": {"records": options.sql_records},
        "pycrate_ber": {"records": options.pycrate_records},
    }
    found = []
    for name, needs in BASELINES:
        if needs is not None and needs in stages and stages[needs].status != "ok":
            reason = f"needs {needs}, which {stages[needs].status}"
            found.append(_baseline_row(name, "skipped", error=reason))
            progress.end(name, f"{name}: skipped ({reason})")
            continue
        progress.begin(name)
        (run,) = launcher.run([TaskSpec(name, name, sizes[name])])
        timed = run.extra.get("timed_seconds")
        row = _baseline_row(
            name,
            "ok" if run.ok else "failed",
            records=run.records,
            records_kind=run.records_kind,
            seconds=timed,
            records_per_second=round(run.records / timed, 1) if run.records and timed else None,
            peak_rss_bytes=run.peak_rss_bytes,
            wall_seconds=run.seconds,
            detail=run.result if run.ok else {},
            error=run.error,
        )
        progress.end(
            name,
            f"{name}: {row['status']}, {run.records or 0:,} {run.records_kind} in "
            f"{timed or 0:,.2f} s" + (f" ({run.error})" if run.error else ""),
        )
        found.append(row)
    return found


def _baseline_row(name: str, status: str, **figures: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "status": status,
        "records": None,
        "records_kind": "",
        "seconds": None,
        "records_per_second": None,
        "peak_rss_bytes": None,
        "wall_seconds": None,
        "detail": {},
        "error": None,
    }
    row.update(figures)
    return row


def stage_list(text: str | None) -> list[str]:
    """``--stages a,b``: the named stages (every stage when None), checked."""
    if not text:
        return list(STAGES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; the stages: {', '.join(STAGES)}")
    return names


def default_work() -> Path:
    """``<data root>/bench``: the data root is $TELCOLAKE_DATA or ./data."""
    return data_root() / "bench"
