"""Benchmark (not a test): records/s and peak memory of mediation, per text switch format.

For each format, builds one file of N records (default 1M) from the valid records of the
committed test fixtures, with the record keys made unique per copy, and lands it in a
scratch data root (``data/bench/``). Then, each in a fresh process so that each peak RSS
is its own, it times:

- ``baseline``: Python's ``csv`` module splitting the same lines (no validation,
  conversion or normalisation), the same-run yardstick;
- ``row``: the format's row parser ``parse_file`` on the first M records (default 100k:
  it is the slow path, kept for files the fast path declines);
- ``columnar``: the format's columnar fast path ``parse_file_columnar`` on all N;
- ``stage``: ``mediate_partition`` on the landed file: parse, event-time checks,
  de-duplication, number classification, event-date partitioning and the Parquet writes.

Rates are per wall-clock second, after a warm-up on a small file that keeps imports and
Numba compiles out: records (an OpenSIPS call is two lines, INVITE and BYE) and input
lines, which the ratio to the baseline compares. Prints a table and writes
``data/bench/mediation.json``. BER has its own benchmark (scripts/bench_ber.py) against
the library decoder.

    .venv/bin/python scripts/bench_mediation.py [--records N] [--row-records M]
        [--formats asterisk,freeswitch,cisco_cucm,opensips] [--work DIR]

``--work`` puts the files, the scratch data roots and the JSON elsewhere than
``data/bench/`` (another checkout's run, or a private one on a shared machine).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from peak_memory import peak_rss_mib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures"
WORK = ROOT / "data" / "bench"
MEASURES = ("baseline", "row", "columnar", "stage")


@dataclass(frozen=True)
class Format:
    """One text format's benchmark file: which fixture lines, and how it is landed."""

    feed: str
    fixture: Path
    keep: list[int] | None  # 1-based data lines to copy; None: every line
    header_lines: int
    switch_id: str
    landing_name: str  # the name the file lands under (its date is the partition's)
    file_date: date
    delimiter: str
    unique: Callable[[str, int], str]  # (line, copy) -> the line with copy-unique keys


def _asterisk_unique(line: str, copy: int) -> str:
    # uniqueid and linkedid "<epoch>.<counter>": the same counter change keeps legs linked.
    return re.sub(r'"(\d{10})\.(\d+)"', lambda m: f'"{m[1]}.{m[2]}{copy:07d}"', line)


def _freeswitch_unique(line: str, copy: int) -> str:
    return line.replace("-9a52-000000", f"-9a52-{copy:06x}")


def _cucm_unique(line: str, copy: int) -> str:
    # globalCallID_callId: every leg of a call gets the same new id.
    return re.sub(r"^(\d+),(\d+),(\d+),", lambda m: f"{m[1]},{m[2]},{copy}{m[3]:0>4},", line)


def _opensips_unique(line: str, copy: int) -> str:
    return line.replace("@10.0.0.1", f"-{copy}@10.0.0.1")


FORMATS = {
    "asterisk": Format(
        "asterisk_cdr_csv",
        FIXTURES
        / "mediation/landing/asterisk_cdr_csv/ast-chi-01/Master_ast-chi-01_2024110304_000001.csv",
        None,
        0,
        "ast-chi-01",
        "Master_ast-chi-01_2024110323_000001.csv",
        date(2024, 11, 3),
        ",",
        _asterisk_unique,
    ),
    "freeswitch": Format(
        "freeswitch_cdr_csv",
        FIXTURES / "freeswitch/Master.csv",
        [1, 2, 5],
        0,
        "fs-chi-01",
        "Master_fs-chi-01_2024070113_000001.csv",
        date(2024, 7, 1),
        ",",
        _freeswitch_unique,
    ),
    "cisco_cucm": Format(
        "cisco_cucm_cdr",
        FIXTURES / "cisco_cucm/cdr_telco-chi_01_202407011640_000123",
        [3, 4, 5, 6, 7],
        2,
        "telco-chi",
        "cdr_telco-chi_01_202407011640_000123",
        date(2024, 7, 1),
        ",",
        _cucm_unique,
    ),
    "opensips": Format(
        "opensips_flatstore",
        FIXTURES / "opensips/acc_cgrates_layout.log",
        [1, 2],
        0,
        "sip-chi-01",
        "acc_sip-chi-01_2024070310_000001.log",
        date(2024, 7, 3),
        "|",
        _opensips_unique,
    ),
}


def build_file(name: str, records: int) -> bytes:
    """N data lines of one format: its fixture's valid lines, copied with unique keys."""
    spec = FORMATS[name]
    lines = spec.fixture.read_text().splitlines()
    header, body = lines[: spec.header_lines], lines[spec.header_lines :]
    numbered = list(enumerate(body, start=spec.header_lines + 1))
    rows = [line for n, line in numbered if line and (spec.keep is None or n in spec.keep)]
    out = list(header)
    copy = 0
    while len(out) - len(header) < records:
        copy += 1
        out.extend(spec.unique(row, copy) for row in rows)
    return ("\n".join(out[: len(header) + records]) + "\n").encode()


def land(name: str, data: bytes, root: Path) -> None:
    """A data root whose landing zone holds ``data`` as the format's one file."""
    spec = FORMATS[name]
    if root.exists():
        shutil.rmtree(root)
    (root / "reference").mkdir(parents=True)
    (root / "reference" / "switches.csv").write_text(
        "switch_id,feed,timezone,description\n"
        f"{spec.switch_id},{spec.feed},America/Chicago,benchmark switch\n"
    )
    landing = root / "landing" / spec.feed / spec.switch_id
    landing.mkdir(parents=True)
    (landing / spec.landing_name).write_bytes(data)


def _measure(name: str, measure: str, path: str, row_records: int, work: Path) -> dict[str, object]:
    """Child process: warm up on a small file, then time one measure."""
    from pipelines.config import Layout
    from pipelines.mediation.records import FileContext
    from pipelines.mediation.stage import COLUMNAR_MODULES, PARSER_MODULES, mediate_partition

    spec = FORMATS[name]
    data = Path(path).read_bytes()
    lines = data.splitlines(keepends=True)
    small = b"".join(lines[: spec.header_lines + 50])
    if measure == "row":
        data = b"".join(lines[: spec.header_lines + row_records])
    context = FileContext(spec.landing_name, spec.switch_id, "America/Chicago", 1)
    input_lines = len(data.splitlines()) - spec.header_lines
    if measure == "baseline":
        started = time.perf_counter()
        count = sum(1 for _ in csv.reader(io.StringIO(data.decode()), delimiter=spec.delimiter))
        count -= spec.header_lines
    elif measure in ("row", "columnar"):
        modules = PARSER_MODULES if measure == "row" else COLUMNAR_MODULES
        module = importlib.import_module(modules[spec.feed])
        parse = module.parse_file if measure == "row" else module.parse_file_columnar
        list(parse(small, context)) if measure == "row" else parse(small, context)
        started = time.perf_counter()
        if measure == "row":
            count = len(list(parse(data, context)))
        else:
            batch = parse(data, context)
            if batch is None:
                return {"declined": True, "rss_peak_mib": round(peak_rss_mib())}
            count = batch.records.num_rows + len(batch.rejects)
    else:
        land(name, small, work / f"stage-{name}-warm-up")
        mediate_partition(Layout(work / f"stage-{name}-warm-up"), spec.feed, spec.file_date)
        root = work / f"stage-{name}"
        land(name, data, root)
        started = time.perf_counter()
        result = mediate_partition(Layout(root), spec.feed, spec.file_date)
        count = result.records_in
        if result.rejected:
            raise SystemExit(f"{name}: the stage rejected {result.rejected} benchmark records")
    seconds = time.perf_counter() - started
    return {
        "records": count,
        "lines": input_lines,
        "seconds": round(seconds, 3),
        "records_per_second": round(count / seconds),
        "lines_per_second": round(input_lines / seconds),
        "rss_peak_mib": round(peak_rss_mib()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records per format")
    parser.add_argument(
        "--row-records", type=int, default=100_000, help="records the row parser reads"
    )
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--work", type=Path, default=WORK, help="scratch and output folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.work.resolve()
    if args.child:
        print(json.dumps(_measure(*args.child, row_records=args.row_records, work=work)))
        return
    work.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {args.records:,} records")
    print(
        f"{'format':<11} {'measure':<9} {'records':>10} {'rec/s':>11} {'lines/s':>11} "
        f"{'x baseline':>10} {'peak MiB':>9}"
    )
    report: dict[str, dict[str, object]] = {}
    for name in args.formats.split(","):
        path = work / f"{name}.dat"
        path.write_bytes(build_file(name, args.records))
        report[name] = {}
        for measure in MEASURES:
            child = [
                *("--row-records", str(args.row_records), "--work", str(work)),
                *("--child", name, measure, str(path)),
            ]
            done = subprocess.run(
                [sys.executable, __file__, *child],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(done.stdout.splitlines()[-1])
            report[name][measure] = result
            baseline = report[name]["baseline"]["lines_per_second"]  # type: ignore[index]
            rate, lines = result.get("records_per_second"), result.get("lines_per_second")
            ratio = "declined" if lines is None else f"{lines / baseline:.2f}"
            print(
                f"{name:<11} {measure:<9} {result.get('records', '-'):>10} "
                f"{'-' if rate is None else f'{rate:,}':>11} "
                f"{'-' if lines is None else f'{lines:,}':>11} {ratio:>10} "
                f"{result['rss_peak_mib']:>9}"
            )
    out = work / "mediation.json"
    out.write_text(json.dumps({"records": args.records, "formats": report}, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
