"""Fuzzing campaign (not a test): every parser target for N inputs or T seconds, with a report.

Runs the targets of tests/fuzz/fuzz_targets.py (docs/fuzzing.md) longer than CI does and
with fresh random inputs each run, then writes ``fuzz_report.json`` and ``fuzz_report.md``
under ``--out`` (default ``<data root>/reports/fuzz``): per target the inputs tried, how
many gave accepted records and how many were refused, records accepted and rejected by
reason, how often a second implementation read the input (differential targets), crashes
with their minimal inputs (also saved as ``crashes/<target>-<k>.bin``), and seconds.

Two engines:

- ``hypothesis`` (default): each target's input strategy, in batches with fresh seeds until
  its budget is spent. A failure is shrunk to a minimal input before it is reported.
- ``atheris`` (needs the atheris wheel): coverage-guided libFuzzer, one child process per
  target, started from the target's seeds; the project's Python modules are instrumented
  (the Numba kernels are compiled code and are not).

Numba kernels run with bounds checking (``NUMBA_BOUNDSCHECK=1``, compiled into a cache of
their own under ``--out``), so an out-of-bounds read or write in a kernel raises IndexError
instead of reading garbage; ``--no-boundscheck`` runs the kernels as production does.

    .venv/bin/python scripts/fuzz_parsers.py [--seconds T | --examples N] [--targets a,b]
        [--engine hypothesis|atheris] [--out DIR] [--no-boundscheck] [--list]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]

#: Set in the re-executed process: the Numba environment is in place.
_READY = "TELCOLAKE_FUZZ_READY"
#: Most crashes kept per target: a bug found once tends to be found again and again.
MAX_CRASHES = 5
#: Hypothesis inputs per batch at most: a failing batch shrinks, the others report.
MAX_BATCH = 2000


@dataclass
class Tally:
    """What one target did in a campaign."""

    parses: str
    inputs: int = 0
    parsed_inputs: int = 0
    refused_inputs: int = 0
    records: int = 0
    accepted: int = 0
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    file_rejects_by_reason: Counter[str] = field(default_factory=Counter)
    fast_path: Counter[str] = field(default_factory=Counter)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, outcome: Any) -> None:
        self.inputs += 1
        if outcome.parsed:
            self.parsed_inputs += 1
        else:
            self.refused_inputs += 1
        self.records += outcome.records
        self.accepted += outcome.accepted
        self.rejects_by_reason.update(outcome.rejects)
        self.file_rejects_by_reason.update(outcome.file_rejects)
        if outcome.fast_path:
            self.fast_path[outcome.fast_path] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "parses": self.parses,
            "inputs": self.inputs,
            "parsed_inputs": self.parsed_inputs,
            "refused_inputs": self.refused_inputs,
            "records": self.records,
            "accepted": self.accepted,
            "rejects_by_reason": dict(self.rejects_by_reason.most_common()),
            "file_rejects_by_reason": dict(self.file_rejects_by_reason.most_common()),
            "fast_path": dict(self.fast_path),
            "crashes": self.crashes,
            "seconds": round(self.seconds, 1),
        }


def main() -> int:
    # A 140,000-character field makes hypothesis warn that its repr of the input is large.
    warnings.filterwarnings("ignore", message="Generating overly large repr")
    args = _arguments()
    if os.environ.get(_READY) is None:
        return _reexecute(args)
    if args.atheris_child:
        return _atheris_child(args, args.atheris_child)
    import fuzz_targets

    if args.list:
        for name, target in fuzz_targets.TARGETS.items():
            print(f"{name:28} {target.parses}")
        return 0
    names = args.targets.split(",") if args.targets else list(fuzz_targets.TARGETS)
    unknown = sorted(set(names) - set(fuzz_targets.TARGETS))
    if unknown:
        print(f"unknown targets: {', '.join(unknown)} (--list names them)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    tallies = {}
    for name in names:
        target = fuzz_targets.TARGETS[name]
        run = _hypothesis_target if args.engine == "hypothesis" else _atheris_target
        tally = tallies[name] = run(args, target)
        print(
            f"{name}: {tally.inputs:,} inputs, {tally.parsed_inputs:,} parsed, "
            f"{len(tally.crashes)} crashes, {tally.seconds:.0f} s",
            flush=True,
        )
    report = _report(args, started, tallies)
    (args.out / "fuzz_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "fuzz_report.md").write_text(_markdown(report))
    print(f"report: {args.out / 'fuzz_report.md'}")
    return 1 if any(tally.crashes for tally in tallies.values()) else 0


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="time per target (default 30)")
    budget.add_argument("--examples", type=int, help="inputs per target")
    parser.add_argument("--targets", help="comma-separated target names (default: all)")
    parser.add_argument("--engine", choices=("hypothesis", "atheris"), default="hypothesis")
    parser.add_argument("--out", type=Path, help="report folder")
    parser.add_argument("--seed", type=int, help="first hypothesis seed (default: random)")
    parser.add_argument("--no-boundscheck", action="store_true", help="kernels as in production")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--atheris-child", help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seconds is None and args.examples is None:
        args.seconds = 30.0
    if args.out is None:
        from pipelines.config import layout

        args.out = layout().reports / "fuzz"
    args.out = args.out.resolve()
    return args


def _reexecute(args: argparse.Namespace) -> int:
    """Run this script again with the Numba environment set: it is read at import."""
    env = {**os.environ, _READY: "1"}
    if not args.no_boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
        # Bounds-checked kernels must not share a cache with production's.
        env["NUMBA_CACHE_DIR"] = str(args.out / "numba-boundscheck-cache")
    return subprocess.run([sys.executable, *sys.argv], env=env, check=False).returncode


# --- hypothesis -------------------------------------------------------------------------


def _hypothesis_target(args: argparse.Namespace, target: Any) -> Tally:
    from hypothesis import HealthCheck, given, seed, settings

    tally = Tally(target.parses)
    rng = random.Random(args.seed)
    last: list[bytes] = [b""]

    def body(data: bytes) -> None:
        last[0] = data
        tally.add(target.run(data))

    # The seeds first: they must pass too, and they compile the Numba kernels, whose
    # minute of bounds-checked compilation would otherwise eat a short budget.
    for data in target.seeds:
        try:
            body(data)
        except Exception as error:
            _record_crash(args, target.name, tally, data, error)
    seeded, batch = tally.inputs, 50
    started = time.perf_counter()
    while True:
        spent = time.perf_counter() - started
        if args.examples is not None:
            batch = min(MAX_BATCH, args.examples - tally.inputs)
        elif tally.inputs > seeded:
            per_input = spent / (tally.inputs - seeded)
            batch = min(MAX_BATCH, int((args.seconds - spent) / per_input))
        if batch <= 0 or (args.seconds is not None and spent >= args.seconds):
            break
        test = settings(
            max_examples=batch,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(target.inputs)(body))
        try:
            seed(rng.getrandbits(64))(test)()
        except Exception as error:  # a crash or contract violation, shrunk by hypothesis
            _record_crash(args, target.name, tally, last[0], error)
            if len(tally.crashes) >= MAX_CRASHES:
                break
    tally.seconds = time.perf_counter() - started
    return tally


def _record_crash(
    args: argparse.Namespace, name: str, tally: Tally, data: bytes, error: BaseException
) -> None:
    """Keep a failure once per distinct error, with its (minimal) input on disk."""
    summary = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if any(crash["error"] == summary for crash in tally.crashes):
        return
    folder = args.out / "crashes"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}-{len(tally.crashes) + 1}.bin"
    path.write_bytes(data)
    tally.crashes.append(
        {
            "error": summary,
            "input_hex": data[:256].hex(),
            "input_bytes": len(data),
            "saved_as": str(path),
            "traceback": "".join(traceback.format_exception(error))[-3000:],
        }
    )


# --- atheris ----------------------------------------------------------------------------


def _atheris_target(args: argparse.Namespace, target: Any) -> Tally:
    """Fuzz one target in a child process (libFuzzer exits the process when it is done)."""
    folder = args.out / "atheris" / target.name
    corpus, artifacts = folder / "corpus", folder / "artifacts"
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    stats = folder / "stats.json"
    stats.unlink(missing_ok=True)
    command = [
        sys.executable,
        __file__,
        "--atheris-child",
        target.name,
        "--stats",
        str(stats),
        "--out",
        str(args.out),
        "--seconds" if args.examples is None else "--examples",
        str(args.seconds if args.examples is None else args.examples),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    tally = Tally(target.parses)
    if stats.exists():
        saved = json.loads(stats.read_text())
        for key in ("inputs", "parsed_inputs", "refused_inputs", "records", "accepted"):
            setattr(tally, key, saved[key])
        tally.rejects_by_reason.update(saved["rejects_by_reason"])
        tally.file_rejects_by_reason.update(saved["file_rejects_by_reason"])
        tally.fast_path.update(saved["fast_path"])
    tally.seconds = time.perf_counter() - started
    if done.returncode != 0:
        crash_files = sorted(artifacts.glob("crash-*")) + sorted(artifacts.glob("timeout-*"))
        data = crash_files[0].read_bytes() if crash_files else b""
        tally.crashes.append(
            {
                "error": _atheris_error(done.stderr),
                "input_hex": data[:256].hex(),
                "input_bytes": len(data),
                "saved_as": str(crash_files[0]) if crash_files else None,
                "traceback": done.stderr[-3000:],
            }
        )
    return tally


def _atheris_error(stderr: str) -> str:
    """The Python exception atheris reports, else libFuzzer's own summary."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for k, line in enumerate(lines[:-1]):
        if "Uncaught Python exception" in line:
            return lines[k + 1]
    summaries = [line for line in lines if line.startswith("SUMMARY:")]
    return (summaries or lines or ["the child process failed"])[-1]


def _atheris_child(args: argparse.Namespace, name: str) -> int:
    """Inside the child: instrument the project's modules, then hand over to libFuzzer."""
    import atheris

    # The Numba kernels are imported first, uninstrumented: numba compiles their bytecode,
    # which must not carry atheris's hooks.
    import kernels.asterisk_cdr_api
    import kernels.ber_api
    import kernels.cucm_api
    import kernels.opensips_flatstore_api
    import kernels.utf8_nb  # noqa: F401

    with atheris.instrument_imports(include=["pipelines", "fuzz_targets", "fuzz_harness"]):
        import fuzz_targets
    target = fuzz_targets.TARGETS[name]
    folder = args.out / "atheris" / target.name
    tally = Tally(target.parses)
    started = saved = time.monotonic()

    def one_input(data: bytes) -> None:
        nonlocal saved
        tally.add(target.run(data))
        now = time.monotonic()
        done = (args.examples is None and now - started >= args.seconds) or (
            tally.inputs == args.examples
        )
        if done or now - saved > 1:  # saved as it goes too, for a run a crash ends
            args.stats.write_text(json.dumps(tally.as_json()))
            saved = now
        if done:
            # The budget is ours to end, so that the counts saved are exact: libFuzzer's
            # own limits end the process without a word to the Python code.
            os._exit(0)

    _write_seeds(target, folder / "corpus")
    atheris.Setup(
        [
            sys.argv[0],
            "-rss_limit_mb=4096",
            "-timeout=60",
            f"-artifact_prefix={folder / 'artifacts'}/",
            str(folder / "corpus"),
        ],
        one_input,
    )
    atheris.Fuzz()
    return 0


def _write_seeds(target: Any, corpus: Path) -> None:
    """Start libFuzzer from the target's valid seeds."""
    for k, data in enumerate(target.seeds):
        (corpus / f"seed-{k:04d}").write_bytes(data)


# --- the report -------------------------------------------------------------------------


def _report(args: argparse.Namespace, started: datetime, tallies: dict[str, Tally]) -> dict:
    totals = {
        "inputs": sum(t.inputs for t in tallies.values()),
        "crashes": sum(len(t.crashes) for t in tallies.values()),
        "seconds": round(sum(t.seconds for t in tallies.values()), 1),
    }
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "command": " ".join(["scripts/fuzz_parsers.py", *sys.argv[1:]]),
        "engine": args.engine,
        "numba_boundscheck": os.environ.get("NUMBA_BOUNDSCHECK") == "1",
        "budget": {"seconds": args.seconds, "examples": args.examples},
        "totals": totals,
        "targets": {name: tally.as_json() for name, tally in tallies.items()},
    }


def _markdown(report: dict) -> str:
    lines = [
        f"# Fuzzing report, {report['started_at']}",
        "",
        f"`{report['command']}`: engine {report['engine']}, Numba bounds checking "
        f"{'on' if report['numba_boundscheck'] else 'off'}; "
        f"{report['totals']['inputs']:,} inputs, {report['totals']['crashes']} crashes, "
        f"{report['totals']['seconds']:,} s.",
        "",
        "| target | inputs | parsed | refused | records accepted | records rejected "
        "| second implementation read / declined | crashes | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in report["targets"].items():
        rejected = sum(t["rejects_by_reason"].values())
        fast = t["fast_path"]
        second = f"{fast.get('read', 0):,} / {fast.get('declined', 0):,}" if fast else "-"
        lines.append(
            f"| {name} | {t['inputs']:,} | {t['parsed_inputs']:,} | {t['refused_inputs']:,} "
            f"| {t['accepted']:,} | {rejected:,} | {second} | {len(t['crashes'])} "
            f"| {t['seconds']} |"
        )
    lines += ["", "## Rejects by reason", ""]
    for name, t in report["targets"].items():
        reasons = ", ".join(
            f"{reason} {count:,}" for reason, count in t["rejects_by_reason"].items()
        )
        files = ", ".join(f"{r} {n:,}" for r, n in t["file_rejects_by_reason"].items())
        lines.append(f"- **{name}** ({t['parses']}): {reasons or 'none'}")
        if files:
            lines.append(f"  - whole input: {files}")
    crashes = [(name, c) for name, t in report["targets"].items() for c in t["crashes"]]
    lines += ["", "## Crashes", ""]
    lines += [f"- {name}: {c['error']} (input `{c['saved_as']}`)" for name, c in crashes]
    lines += ["none"] if not crashes else []
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
