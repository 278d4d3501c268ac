"""Benchmark (not a test): records/s of the three ts32298_ber parsers.

Generates one TS 32.297 file of N records (default 200k: an even mix of MO/MT calls, MO/MT
SMS and PGW records, seeded; D distinct records encoded once with pycrate and repeated, as
encoding is the slow part) and times, each in a fresh process so that its peak RSS is its
own:

- ``ts32298_ber.parse_file``, the library decoder (pycrate), on the first M records;
- ``ts32298_ber_fast.parse_file``, the Numba kernel with one dict per record;
- ``ts32298_ber_fast.parse_file_columnar``, the kernel straight to Arrow columns.

A warm-up call on a small file keeps Numba's compile (or cache load) out of the fast rates,
which are the best of R runs. Prints the rates (also per CPU-second: steadier on a shared
machine), their ratios to the library decoder and each process's peak RSS, after checking
that the three agree on the first M records.

    .venv/bin/python scripts/bench_ber.py [--records N] [--distinct D] [--library-records M]
        [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numba
from peak_memory import peak_rss_mib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr, MobileRecordType
from pipelines.mediation import ts32298_ber, ts32298_ber_fast
from pipelines.mediation.records import FileContext, ParsedRecord, parsed_batch

CONTEXT = FileContext("MSC1_2025030111_000007.ber", "MSC1", "America/Chicago", 7)
OPENED = datetime(2025, 3, 1, 16, 0, 0, tzinfo=UTC)
KINDS: tuple[MobileRecordType, ...] = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")
NODE, MSC, SMSC = "10.1.2.3", "13125550000", "13125550001"
UTC_OFFSET_MINUTES = -360
LIBRARY, FAST, COLUMNAR = "library parse_file", "fast parse_file", "fast parse_file_columnar"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def generate(n: int, seed: int = 7) -> list[MobileCdr]:
    """n records of one switch-hour, every record type, optional fields varied."""
    rng = random.Random(seed)
    cdrs = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        started = OPENED + timedelta(seconds=rng.randrange(3600))
        voice, data = kind.startswith("voice"), kind == "data"
        length = timedelta(seconds=rng.randrange(1, 1800)) if voice or data else timedelta(0)
        answered = started + timedelta(seconds=5) if voice and rng.random() < 0.8 else None
        if voice:
            cause = "unsuccessfulCallAttempt" if answered is None else "normalRelease"
        else:
            cause = rng.choice(["normalRelease", "timeLimit"]) if data else "normalRelease"
        cdrs.append(
            MobileCdr(
                record_type=kind,
                served_imsi="310260" + _digits(rng, 9),
                served_msisdn="1312" + _digits(rng, 7),
                served_imei=_digits(rng, 15),
                other_party_number=None if data else rng.choice(["911", "1" + _digits(rng, 10)]),
                started_at=started,
                answered_at=answered,
                ended_at=started + length,
                release_cause=cause,
                cell_id=f"310-260-{rng.randrange(1, 65536)}-{rng.randrange(1, 65536)}",
                call_reference=i,
                outgoing_trunk_group=f"TG-{rng.randrange(20):02d}" if voice else None,
                record_sequence_number=rng.choice([None, 1, 2]) if voice or data else None,
                uplink_bytes=rng.randrange(1 << 30) if data else 0,
                downlink_bytes=rng.randrange(1 << 32) if data else 0,
                apn="internet" if data else None,
                charging_id=i if data else None,
            )
        )
    return cdrs


def encode(payloads: list[bytes]) -> bytes:
    """A CDR file of already encoded records."""
    return ts32298.encode_cdr_file(
        list(payloads),
        node_address=NODE,
        file_sequence_number=7,
        opened_at=OPENED,
        closed_at=OPENED + timedelta(hours=1),
        utc_offset_minutes=UTC_OFFSET_MINUTES,
        recording_entity=MSC,
        service_centre=SMSC,
    )


def _parse(name: str, data: bytes) -> tuple[int, int]:
    """(records, rejects) of one parse of ``data``."""
    if name == COLUMNAR:
        batch = ts32298_ber_fast.parse_file_columnar(data, CONTEXT)
        if batch is None:
            raise SystemExit("the columnar parser declined the file")
        return batch.records.num_rows + len(batch.rejects), len(batch.rejects)
    parse_file = ts32298_ber.parse_file if name == LIBRARY else ts32298_ber_fast.parse_file
    items = list(parse_file(data, CONTEXT))
    return len(items), sum(not isinstance(item, ParsedRecord) for item in items)


def _measure(name: str, path: str, warm_up_path: str, repeat: int) -> None:
    """Child process: warm up, time ``repeat`` parses, print one JSON line."""
    data = Path(path).read_bytes()
    started = time.perf_counter()
    _parse(name, Path(warm_up_path).read_bytes())
    warm_up = time.perf_counter() - started
    before = peak_rss_mib()
    rates, cpu_rates = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        records, rejects = _parse(name, data)
        rates.append(records / (time.perf_counter() - started))
        cpu_rates.append(records / (time.process_time() - cpu_started))
    peak = peak_rss_mib()
    result = {"records": records, "rejects": rejects, "rates": rates, "cpu_rates": cpu_rates}
    print(json.dumps(result | {"warm_up": warm_up, "rss_before": before, "rss_peak": peak}))


def _check_agreement(data: bytes) -> None:
    library = list(ts32298_ber.parse_file(data, CONTEXT))
    if list(ts32298_ber_fast.parse_file(data, CONTEXT)) != library:
        raise SystemExit("the fast row parser disagrees with the library")
    batch, expected = ts32298_ber_fast.parse_file_columnar(data, CONTEXT), parsed_batch(library)
    if batch is None or not batch.records.equals(expected.records):
        raise SystemExit("the columnar parser disagrees with the library")
    if batch.rejects != expected.rejects:
        raise SystemExit("the columnar parser's rejects disagree with the library's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000, help="records in the file")
    parser.add_argument("--distinct", type=int, default=5_000, help="distinct records in it")
    parser.add_argument(
        "--library-records", type=int, default=2_000, help="records the library parses"
    )
    parser.add_argument("--repeat", type=int, default=3, help="fast runs (best is shown)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, path, warm_up_path, repeat = args.child
        _measure(name, path, warm_up_path, int(repeat))
        return
    started = time.perf_counter()
    payloads = [
        ts32298.encode_call_event_record(
            cdr,
            recording_entity=MSC,
            service_centre=SMSC,
            node_address=NODE,
            utc_offset_minutes=UTC_OFFSET_MINUTES,
        )
        for cdr in generate(min(args.distinct, args.records))
    ]
    data = encode([payloads[i % len(payloads)] for i in range(args.records)])
    library_data = encode([payloads[i % len(payloads)] for i in range(args.library_records)])
    elapsed = time.perf_counter() - started
    print(f"generated {args.records:,} records ({len(payloads):,} distinct), {len(data):,} octets")
    load, threads = os.getloadavg()[0], numba.get_num_threads()
    print(f"in {elapsed:.1f} s; {os.cpu_count()} CPUs, load average {load:.2f}, ", end="")
    print(f"{threads} Numba threads (NUMBA_NUM_THREADS)")
    _check_agreement(library_data)
    print(f"the three parsers agree on the first {args.library_records:,} records")

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_ber-") as work:
        paths = {"file": Path(work) / "file.ber", "library": Path(work) / "library.ber"}
        paths["warm_up"] = Path(work) / "warm_up.ber"
        paths["file"].write_bytes(data)
        paths["library"].write_bytes(library_data)
        paths["warm_up"].write_bytes(encode(payloads[:10]))
        for name in (LIBRARY, FAST, COLUMNAR):
            library = name == LIBRARY
            path, repeat = (paths["library"], 1) if library else (paths["file"], args.repeat)
            command = [sys.executable, __file__, "--child", name, str(path)]
            command += [str(paths["warm_up"]), str(repeat)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results[name] = json.loads(done.stdout.splitlines()[-1])

    library_rate = max(results[LIBRARY]["rates"])
    print(f"{'parser':<25} {'records':>9} {'records/s':>10} {'vs library':>10} ", end="")
    print(f"{'first run/s':>11} {'per CPU-s':>10} {'warm-up s':>9} {'RSS MiB: peak':>13} base")
    for name, result in results.items():
        best = max(result["rates"])
        print(
            f"{name:<25} {result['records']:>9,} {best:>10,.0f} {best / library_rate:>9,.1f}x "
            f"{result['rates'][0]:>11,.0f} {max(result['cpu_rates']):>10,.0f} "
            f"{result['warm_up']:>9.2f} {result['rss_peak']:>13,.0f} {result['rss_before']:>4,.0f}"
        )
    rejects = {name: result["rejects"] for name, result in results.items()}
    print(f"fast rates: best of {args.repeat} runs; base RSS: after imports and warm-up")
    print(f"rejects: {rejects}; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
