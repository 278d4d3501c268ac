"""Benchmark (not a test): records/s and peak memory of each text switch-format parser.

For each format, builds one file of N records (default 200k) from the valid records of the
committed test fixtures (keys made unique per copy), then, in a fresh process per format,
times the format's ``parse_file`` and, as the same-run baseline, Python's ``csv`` module
splitting the same lines with no validation, conversion or normalisation. Prints records/s
of both, their ratio and the process's peak RSS. BER has its own benchmark
(scripts/bench_ber.py) against the library decoder.

    .venv/bin/python scripts/bench_mediation.py [--records N] [--formats asterisk,...]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures"

#: format -> (parser module, fixture file, valid data lines to copy, header lines, switch)
FORMATS = {
    "asterisk": (
        "pipelines.mediation.asterisk_cdr_csv",
        FIXTURES
        / "mediation/landing/asterisk_cdr_csv/ast-chi-01/Master_ast-chi-01_2024110304_000001.csv",
        None,
        0,
        "ast-chi-01",
    ),
    "freeswitch": (
        "pipelines.mediation.freeswitch_cdr_csv",
        FIXTURES / "freeswitch/Master.csv",
        [1, 2, 3, 5],
        0,
        "fs-chi-01",
    ),
    "cisco_cucm": (
        "pipelines.mediation.cisco_cucm_cdr",
        FIXTURES / "cisco_cucm/cdr_telco-chi_01_202407011640_000123",
        [3, 4, 5, 6, 7],
        2,
        "telco-chi",
    ),
    "opensips": (
        "pipelines.mediation.opensips_flatstore",
        FIXTURES / "opensips/acc_cgrates_layout.log",
        [1, 2],
        0,
        "sip-chi-01",
    ),
}


def build_file(name: str, records: int) -> bytes:
    """N records of one format: its fixture's valid lines, copied with unique ids."""
    _, path, keep, header_lines, _ = FORMATS[name]
    lines = path.read_text().splitlines()
    header, body = lines[:header_lines], lines[header_lines:]
    numbered = list(enumerate(body, start=header_lines + 1))
    if keep is None:  # every line of the fixture file is a valid record
        rows = [line for _, line in numbered if line]
    else:
        rows = [line for number, line in numbered if number in keep]
    out = list(header)
    copy = 0
    while len(out) - len(header) < records:
        copy += 1
        # Make ids unique per copy so paired formats (OpenSIPS) pair within a copy only.
        out.extend(row.replace("@10.0.0.1", f"-{copy}@10.0.0.1") for row in rows)
    return ("\n".join(out[: len(header) + records]) + "\n").encode()


def _measure(name: str, data_path: str) -> None:
    """Child process: time the baseline and the parser on the file, print one line."""
    import importlib

    from pipelines.mediation.records import FileContext, ParsedRecord

    module, path, _, header_lines, switch = FORMATS[name]
    data = Path(data_path).read_bytes()
    text = data.decode()
    delimiter = "|" if name == "opensips" else ","
    started = time.perf_counter()
    baseline_rows = sum(1 for _ in csv.reader(io.StringIO(text), delimiter=delimiter))
    baseline = time.perf_counter() - started
    parse_file = importlib.import_module(module).parse_file
    context = FileContext(path.name, switch, "America/Chicago", 1)
    started = time.perf_counter()
    items = list(parse_file(data, context))
    elapsed = time.perf_counter() - started
    parsed = sum(isinstance(item, ParsedRecord) for item in items)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Compared per input line: an OpenSIPS call is two lines (INVITE and BYE).
    lines = baseline_rows - header_lines
    print(
        f"{name:<11} {len(items):>9,} {parsed:>9,} {len(items) / elapsed:>12,.0f} "
        f"{lines / baseline:>15,.0f} {elapsed / baseline:>8.1f}x {peak_mib:>9,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _measure(*args.child)
        return
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'format':<11} {'records':>9} {'parsed':>9} {'parser rec/s':>12} "
        f"{'csv split line/s':>15} {'slower':>9} {'peak MiB':>9}"
    )
    work = ROOT / "data" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    for name in args.formats.split(","):
        data_path = work / f"{name}.dat"
        data_path.write_bytes(build_file(name, args.records))
        subprocess.run([sys.executable, __file__, "--child", name, str(data_path)], check=True)


if __name__ == "__main__":
    main()
