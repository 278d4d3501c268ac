"""Run the billing period's stages on a data root as the DAG runs them, each task in a child
process (``pipelines.bench.stages``) whose time, memory and input/output are measured.

    mediate[feed x day] (two at a time) -> consolidate -> plan -> rate_bucket[bucket] (two
    at a time) -> finish -> tax, interconnect, roaming, rerating_check -> build -> validate

The DAG fans the mediate and rate_bucket tasks out with max_active_tis_per_dag=2, and so
does the runner; every other stage is one task, run alone. A stage's figures add up its
tasks': wall seconds from its first task's start to its last one's end, the sum of the
tasks' own seconds, the peak resident set (the largest of any task's own peak and of the
sampled sum of the tasks running side by side), and the bytes its tasks read and wrote. A
stage that fails is reported with its error; the stages that need it are skipped, saying
why, and the others still run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.bench.measure import IO_FIELDS, RssSampler
from pipelines.config import PROJECT_ROOT, Layout

#: The stages in the DAG's order, and the stages each needs to have succeeded.
STAGES = (
    "mediate",
    "consolidate",
    "rate",
    "tax",
    "interconnect",
    "roaming",
    "rerating_check",
    "build",
    "validate",
)
NEEDS: dict[str, tuple[str, ...]] = {
    "mediate": (),
    "consolidate": ("mediate",),
    "rate": ("consolidate",),
    "tax": ("rate",),
    "interconnect": ("rate",),
    "roaming": ("rate",),
    "rerating_check": ("rate",),
    "build": ("tax", "interconnect", "roaming", "rerating_check"),
    "validate": ("build",),
}
#: Tasks run side by side in a fan-out, as the DAG's max_active_tis_per_dag=2.
FAN_OUT = 2
#: Lines of a failed child's log kept in its error.
_LOG_TAIL = 20


@dataclass(frozen=True)
class TaskSpec:
    """A task to run in a child: its name in ``stages.TASKS``, arguments, and a label."""

    task: str
    label: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskRun:
    """One child's measures. ``seconds``: wall time from its start to its exit, seen by the
    parent (interpreter start and imports included); ``work_seconds``: the task's own,
    seen by the child; ``cpu_seconds``: the child's CPU time (user and system);
    ``peak_rss_bytes``: the child's VmHWM; ``tree_peak_rss_bytes``: the sampled peak of its
    process tree; ``io``: its /proc io counters (measure.IO_FIELDS)."""

    task: str
    label: str
    ok: bool
    error: str | None
    seconds: float
    work_seconds: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    tree_peak_rss_bytes: int
    io: dict[str, int]
    records: int | None
    records_kind: str
    result: dict[str, Any]
    extra: dict[str, Any]


@dataclass
class StageResult:
    """One stage's figures in the report (bytes from /proc io: read/written are rchar and
    wchar, disk_read/disk_written read_bytes and write_bytes)."""

    stage: str
    status: str  # ok, failed, skipped
    records: int | None = None
    records_kind: str = ""
    seconds: float = 0.0
    task_seconds: float = 0.0
    cpu_seconds: float = 0.0  # the tasks' CPU time: steadier than wall time when shared
    records_per_second: float | None = None
    records_per_cpu_second: float | None = None
    peak_rss_bytes: int = 0
    concurrent_rss_bytes: int = 0  # sampled peak of the tasks' summed resident sets
    read_bytes: int = 0
    written_bytes: int = 0
    disk_read_bytes: int = 0
    disk_written_bytes: int = 0
    tasks: int = 0
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stage_of_tasks(
    stage: str,
    runs: Sequence[TaskRun],
    seconds: float,
    concurrent_peak: int,
    records: int | None,
    records_kind: str,
    detail: dict[str, Any] | None = None,
) -> StageResult:
    """Add a stage's task measures up (module docstring)."""
    failed = [run for run in runs if not run.ok]
    cpu = sum(run.cpu_seconds or 0.0 for run in runs)
    io = {name: sum(run.io.get(name, 0) for run in runs) for name in IO_FIELDS}
    peaks = [concurrent_peak, *(run.peak_rss_bytes or 0 for run in runs)]
    peaks += [run.tree_peak_rss_bytes for run in runs]
    return StageResult(
        stage=stage,
        status="failed" if failed else "ok",
        records=records,
        records_kind=records_kind,
        seconds=round(seconds, 3),
        task_seconds=round(sum(run.seconds for run in runs), 3),
        cpu_seconds=round(cpu, 3),
        records_per_second=round(records / seconds, 1) if records and seconds > 0 else None,
        records_per_cpu_second=round(records / cpu, 1) if records and cpu > 0 else None,
        peak_rss_bytes=max(peaks),
        concurrent_rss_bytes=concurrent_peak,
        read_bytes=io["rchar"],
        written_bytes=io["wchar"],
        disk_read_bytes=io["read_bytes"],
        disk_written_bytes=io["write_bytes"],
        tasks=len(runs),
        error="; ".join(f"{run.label}: {run.error}" for run in failed) or None,
        detail=detail or {},
    )


class TaskLauncher:
    """Starts tasks as children on one data root and measures them.

    ``task_dir``: where each child's result and log go; ``profile_dir``: when set, children
    run under the profiler and write their profiles there.
    """

    def __init__(
        self,
        layout: Layout,
        period: str,
        sampler: RssSampler,
        task_dir: Path,
        profile_dir: Path | None = None,
        on_task: Callable[[TaskRun], None] | None = None,
    ) -> None:
        self.layout = layout
        self.period = period
        self.sampler = sampler
        self.task_dir = task_dir
        self.profile_dir = profile_dir
        self.on_task = on_task or (lambda run: None)
        # Numbered after an earlier run's tasks on the same data root, never over them.
        earlier = [int(path.name[:4]) for path in task_dir.glob("[0-9][0-9][0-9][0-9]-*.json")]
        self._started = max(earlier, default=0)

    def environment(self) -> dict[str, str]:
        """The parent's environment pointed at the data root (dbt and any child of a child
        read it), with the project importable from any working directory."""
        env = dict(os.environ)
        env.update(self.layout.environment())
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        return env

    def run(self, specs: Sequence[TaskSpec], parallel: int = 1) -> list[TaskRun]:
        """Run ``specs`` with at most ``parallel`` at once; results in the specs' order."""
        pending = list(enumerate(specs))
        running: dict[int, tuple[subprocess.Popen[bytes], float, Path, Path]] = {}
        done: dict[int, TaskRun] = {}
        while pending or running:
            while pending and len(running) < parallel:
                index, spec = pending.pop(0)
                running[index] = self._start(spec)
            time.sleep(0.05)
            for index in [i for i, (child, *_) in running.items() if child.poll() is not None]:
                child, started, result, log = running.pop(index)
                seconds = time.perf_counter() - started
                tree_peak = self.sampler.release(child.pid)
                done[index] = _read_run(specs[index], child, seconds, tree_peak, result, log)
                self.on_task(done[index])
        return [done[index] for index in range(len(specs))]

    def _start(self, spec: TaskSpec) -> tuple[subprocess.Popen[bytes], float, Path, Path]:
        self._started += 1
        name = f"{self._started:04d}-{spec.task}"
        result, log = self.task_dir / f"{name}.json", self.task_dir / f"{name}.log"
        self.task_dir.mkdir(parents=True, exist_ok=True)
        result.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "pipelines.bench.stages",
            spec.task,
            *("--root", str(self.layout.root), "--period", self.period),
            *("--args", json.dumps(spec.args), "--result", str(result)),
        ]
        if self.profile_dir is not None:
            command += ["--profile", str(self.profile_dir / f"{name}.html")]
        with log.open("wb") as output:
            started = time.perf_counter()
            child = subprocess.Popen(
                command,
                cwd=self.layout.root,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.sampler.watch(child.pid)
        return child, started, result, log


def _read_run(
    spec: TaskSpec,
    child: subprocess.Popen[bytes],
    seconds: float,
    tree_peak: int,
    result: Path,
    log: Path,
) -> TaskRun:
    written: dict[str, Any] = json.loads(result.read_text()) if result.is_file() else {}
    error = written.get("error")
    if not written:
        tail = log.read_text(errors="replace").splitlines()[-_LOG_TAIL:] if log.is_file() else []
        error = f"the task's process exited with code {child.returncode}, no result" + (
            ": " + " | ".join(tail) if tail else ""
        )
    known = {"task", "ok", "error", "result", "records", "records_kind", "work_seconds"}
    known |= {"cpu_seconds"}
    known |= {"peak_rss_bytes", "io", "traceback"}
    return TaskRun(
        task=spec.task,
        label=spec.label,
        ok=bool(written.get("ok")) and child.returncode == 0,
        error=error,
        seconds=round(seconds, 3),
        work_seconds=written.get("work_seconds"),
        cpu_seconds=written.get("cpu_seconds"),
        peak_rss_bytes=written.get("peak_rss_bytes"),
        tree_peak_rss_bytes=tree_peak,
        io=written.get("io") or {},
        records=written.get("records"),
        records_kind=written.get("records_kind", ""),
        result=written.get("result") or {},
        extra={key: value for key, value in written.items() if key not in known},
    )


@dataclass
class _Measured:
    """A stage's task runs and its own wall time and concurrent peak."""

    runs: list[TaskRun] = field(default_factory=list)
    seconds: float = 0.0
    concurrent_peak: int = 0


class StageRunner:
    """Runs the stages of one billing period on one data root (module docstring)."""

    def __init__(
        self,
        launcher: TaskLauncher,
        profile_stage: str | None = None,
        profile_dir: Path | None = None,
    ) -> None:
        self.launcher = launcher
        self.profile_stage = profile_stage
        self.profile_dir = profile_dir
        self.results: dict[str, StageResult] = {}
        self._mediated: list[dict[str, Any]] | None = None
        self._measured = _Measured()

    def run(
        self,
        stages: Sequence[str],
        on_stage: Callable[[str, StageResult | None], None] | None = None,
    ) -> list[StageResult]:
        """Run ``stages`` (in the DAG's order, whatever the order given). A stage whose
        needed stage failed or was skipped here is skipped; a needed stage not asked for is
        taken as done on this data root by an earlier run. ``on_stage(stage, None)`` is
        called when a stage starts, ``on_stage(stage, result)`` when it ends or is skipped."""
        report = on_stage or (lambda stage, result: None)
        for stage in [s for s in STAGES if s in stages]:
            blocked = [
                n for n in NEEDS[stage] if n in self.results and self.results[n].status != "ok"
            ]
            if blocked:
                reason = ", ".join(f"{n} {self.results[n].status}" for n in blocked)
                result = StageResult(stage, "skipped", error=f"needs {reason}")
            else:
                report(stage, None)
                profiled = stage == self.profile_stage
                self.launcher.profile_dir = self.profile_dir if profiled else None
                result = getattr(self, f"_{stage}")()
            self.results[stage] = result
            report(stage, result)
        self.launcher.profile_dir = None
        return [self.results[s] for s in STAGES if s in self.results]

    def _tasks(self, specs: Sequence[TaskSpec], parallel: int = 1) -> list[TaskRun]:
        """Run ``specs`` as part of the current stage's measure."""
        self.launcher.sampler.take_concurrent_peak()  # what ran before is not this stage's
        started = time.perf_counter()
        runs = self.launcher.run(specs, parallel)
        self._measured.seconds += time.perf_counter() - started
        self._measured.concurrent_peak = max(
            self._measured.concurrent_peak, self.launcher.sampler.take_concurrent_peak()
        )
        self._measured.runs.extend(runs)
        return runs

    def _finish(
        self, stage: str, records: int | None, kind: str, detail: dict[str, Any] | None = None
    ) -> StageResult:
        measured, self._measured = self._measured, _Measured()
        return stage_of_tasks(
            stage, measured.runs, measured.seconds, measured.concurrent_peak, records, kind, detail
        )

    def _single(self, stage: str, spec: TaskSpec) -> StageResult:
        (run,) = self._tasks([spec])
        return self._finish(stage, run.records, run.records_kind, {"result": run.result})

    def _mediate(self) -> StageResult:
        (listing,) = self._tasks([TaskSpec("mediation_partitions", "mediation partitions")])
        if not listing.ok:
            return self._finish("mediate", None, "landing records")
        partitions = listing.result["partitions"]
        runs = self._tasks(
            [TaskSpec("mediate", f"mediate {p['feed']} {p['file_date']}", p) for p in partitions],
            FAN_OUT,
        )
        self._mediated = [run.result for run in runs if run.ok]
        by_partition = [
            {
                "feed": spec["feed"],
                "file_date": spec["file_date"],
                "status": "ok" if run.ok else "failed",
                "records_in": run.records,
                "accepted": run.result.get("accepted"),
                "rejected": run.result.get("rejected"),
                "duplicates": run.result.get("duplicates"),
                "seconds": run.seconds,
                "peak_rss_bytes": run.peak_rss_bytes,
            }
            for spec, run in zip(partitions, runs, strict=True)
        ]
        detail = {
            "partitions": by_partition,
            "quarantined_files": listing.result["quarantined_files"],
            "accepted": sum(run.result.get("accepted", 0) for run in runs),
            "rejected": sum(run.result.get("rejected", 0) for run in runs),
            "duplicates": sum(run.result.get("duplicates", 0) for run in runs),
            "by_feed": _by_feed(by_partition),
        }
        records = sum(run.records or 0 for run in runs)
        return self._finish("mediate", records, "landing records", detail)

    def _consolidate(self) -> StageResult:
        args = {} if self._mediated is None else {"mediated": self._mediated}
        return self._single("consolidate", TaskSpec("consolidate", "consolidate", args))

    def _rate(self) -> StageResult:
        (plan,) = self._tasks([TaskSpec("plan_rating", "plan rating buckets")])
        if not plan.ok:
            return self._finish("rate", None, "billable usage records")
        count = plan.result["bucket_count"]
        buckets = self._tasks(
            [
                TaskSpec("rate_bucket", f"rate bucket {b}", {"bucket": b, "bucket_count": count})
                for b in plan.result["buckets"]
            ],
            FAN_OUT,
        )
        detail: dict[str, Any] = {
            "bucket_count": count,
            "buckets": [
                {"label": run.label, "seconds": run.seconds, "peak_rss_bytes": run.peak_rss_bytes}
                for run in buckets
            ],
        }
        if not all(run.ok for run in buckets):
            return self._finish("rate", None, "billable usage records", detail)
        fingerprints = [run.result["reference_fingerprint"] for run in buckets]
        (finish,) = self._tasks(
            [
                TaskSpec(
                    "finish_rating",
                    "finish rating",
                    {"bucket_count": count, "fingerprints": fingerprints},
                )
            ]
        )
        detail["result"] = finish.result
        return self._finish("rate", finish.records, finish.records_kind, detail)

    def _tax(self) -> StageResult:
        return self._single("tax", TaskSpec("tax", "tax"))

    def _interconnect(self) -> StageResult:
        return self._single("interconnect", TaskSpec("interconnect", "interconnect"))

    def _roaming(self) -> StageResult:
        return self._single("roaming", TaskSpec("roaming", "roaming"))

    def _rerating_check(self) -> StageResult:
        return self._single("rerating_check", TaskSpec("rerating_check", "rerating check"))

    def _build(self) -> StageResult:
        return self._single("build", TaskSpec("build", "dbt build"))

    def _validate(self) -> StageResult:
        return self._single("validate", TaskSpec("validate", "validate"))


def _by_feed(partitions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per feed: landing records, the sum of its partitions' seconds, records/s of that."""
    feeds: dict[str, dict[str, float]] = {}
    for partition in partitions:
        totals = feeds.setdefault(partition["feed"], {"records": 0, "seconds": 0.0})
        totals["records"] += partition["records_in"] or 0
        totals["seconds"] += partition["seconds"]
    for totals in feeds.values():
        seconds = totals["seconds"]
        totals["records_per_second"] = round(totals["records"] / seconds, 1) if seconds else 0.0
        totals["seconds"] = round(seconds, 3)
    return feeds
