"""Mediation reads two files of a partition at a time and keeps everything in file order.

The reading loop (stage._in_order, stage._FileReader) parses the next file while the one
before it is checked and spilled, and on the feeds of CONCURRENT_PARSE_FEEDS two files at
once. Nothing the partition writes may depend on which file finished first: the registry,
the spill (so which copy of a repeated record is kept) and every Parquet byte must be those
of reading the files one at a time. Records the BER kernel leaves to pycrate are decoded one
at a time, whichever thread asks.
"""

from __future__ import annotations

import shutil
import sys
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest
from ber_landing import SWITCH, TIMEZONE, ber_file, ber_operator, ber_record, land_ber_file
from mobile_cdrs import mobile_cdr

from kernels.ber_api import decode_cdrs, frame_cdrs
from pipelines.config import Layout
from pipelines.formats.ts32297 import decode_file_header
from pipelines.generate.volume.reference import write_volume_reference
from pipelines.generate.volume.traffic import write_volume_traffic
from pipelines.lake import read_partition
from pipelines.mediation import asterisk_cdr_csv, stage, ts32298_ber_fast
from pipelines.mediation.records import FileContext
from pipelines.mediation.stage import COLUMNAR_MODULES, PARSER_MODULES, mediate_partition
from pipelines.schema import Feed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation"
#: The stage tests' Asterisk partition: six files (tests/fixtures/mediation/README.md).
FIXTURE_DAY = date(2024, 11, 3)
BER_DAY = date(2025, 3, 1)
#: A generated day of 100 lines in files of at most 800 records (24 BER files, 18 CSV).
GENERATED_DAY = date(2026, 10, 1)
#: Long enough for a broken loop to show, short enough for a test.
WAIT_SECONDS = 30
CONTEXT = FileContext(f"{SWITCH}_2025030110_000001.ber", SWITCH, TIMEZONE, 1)


def lake_bytes(layout: Layout) -> dict[str, bytes]:
    return {
        str(path.relative_to(layout.lake)): path.read_bytes()
        for path in sorted(layout.lake.rglob("*"))
        if path.is_file()
    }


def one_file_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage, "FILES_IN_FLIGHT", 1)


def test_files_are_read_two_at_a_time_and_taken_in_order() -> None:
    files = ["f1", "f2", "f3", "f4", "f5"]
    second_read = threading.Event()
    started: list[str] = []
    taken: list[str] = []
    in_flight: list[int] = []  # files started and not yet taken, as each one starts
    lock = threading.Lock()

    def read(name: str) -> str:
        with lock:
            started.append(name)
            in_flight.append(len(started) - len(taken))
        # The first file is read until the second is done: it finishes after it.
        if name == "f1" and not second_read.wait(WAIT_SECONDS):
            raise AssertionError("the second file was not read while the first was")
        if name == "f2":
            second_read.set()
        return name.upper()

    for landing, parsed in stage._in_order(files, read):  # type: ignore[arg-type]
        taken.append(landing)
        assert parsed == landing.upper()
    assert taken == sorted(started) == files
    assert max(in_flight) == stage.FILES_IN_FLIGHT == 2


class CountingParser:
    """The Asterisk row parser, counting how many files it parses at the same moment. The
    first file's parse waits up to ``wait_seconds`` for a second one to start."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self.lock = threading.Lock()
        self.calls = self.parsing = self.most = 0
        self.company = threading.Event()

    def parse_file(self, data: bytes, context: FileContext) -> Iterator[object]:
        with self.lock:
            self.calls += 1
            self.parsing += 1
            self.most = max(self.most, self.parsing)
            first = self.calls == 1
            if self.parsing > 1:
                self.company.set()
        try:
            if first:
                self.company.wait(self.wait_seconds)
            yield from asterisk_cdr_csv.parse_file(data, context)
        finally:
            with self.lock:
                self.parsing -= 1


@pytest.mark.parametrize("concurrent", [False, True])
def test_only_the_feeds_that_allow_it_parse_two_files_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, concurrent: bool
) -> None:
    feed = Feed.ASTERISK_CDR_CSV
    shutil.copytree(FIXTURES, tmp_path / "root")
    layout = Layout(tmp_path / "root")
    # Parsed one at a time, the first file waits for company in vain: a second long enough
    # for a second file to be read and parsed, were the files not parsed one at a time.
    parser = CountingParser(WAIT_SECONDS if concurrent else 1.0)
    module = types.ModuleType("counting_parser")
    module.parse_file = parser.parse_file  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(PARSER_MODULES, feed, module.__name__)
    monkeypatch.delitem(COLUMNAR_MODULES, feed)
    if concurrent:
        monkeypatch.setattr(stage, "CONCURRENT_PARSE_FEEDS", frozenset({feed}))
    assert (feed in stage.CONCURRENT_PARSE_FEEDS) == concurrent

    result = mediate_partition(layout, feed, FIXTURE_DAY)

    assert result.files == parser.calls == 6
    assert parser.most == (2 if concurrent else 1)


def test_a_ber_partition_keeps_file_order_whatever_finishes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repeated = mobile_cdr("voice_mo", call_reference=1001)
    first = [
        repeated,
        mobile_cdr("voice_mt", call_reference=1002),
        mobile_cdr("sms_mo", call_reference=1003),
        mobile_cdr("sms_mt", call_reference=1004),
        mobile_cdr("data", charging_id=1005),
    ]
    second = [repeated, mobile_cdr("voice_mt", call_reference=2002)]
    fourth = [mobile_cdr("voice_mo", call_reference=4004), b"\x00\x01"]  # not BER

    def operator(root: Path) -> Layout:
        layout = ber_operator(root)
        land_ber_file(layout, datetime(2025, 3, 1, 10), 1, first)
        copied = land_ber_file(layout, datetime(2025, 3, 1, 11), 2, second)
        shutil.copy(copied, copied.with_name(f"{SWITCH}_2025030112_000003.ber"))
        land_ber_file(layout, datetime(2025, 3, 1, 13), 4, fourth)
        return layout

    layout = operator(tmp_path / "two")
    mediate_partition(layout, Feed.TS32298_BER, BER_DAY)
    one_file_at_a_time(monkeypatch)
    sequential = operator(tmp_path / "one")
    mediate_partition(sequential, Feed.TS32298_BER, BER_DAY)

    registry = read_partition(
        layout, "file_registry", {"feed": Feed.TS32298_BER, "file_date": BER_DAY.isoformat()}
    )
    columns = ["file_status", "records_in", "records_accepted", "records_rejected"]
    counts = [
        (row["file_name"], *(row[c] for c in columns), row["records_duplicate"])
        for row in registry.to_pylist()
    ]
    # Hand-counted: the second file repeats the first's call, the third is a byte copy of
    # the second, the fourth holds a record that is not BER.
    assert counts == [
        (f"{SWITCH}_2025030110_000001.ber", "processed", 5, 5, 0, 0),
        (f"{SWITCH}_2025030111_000002.ber", "processed", 2, 1, 0, 1),
        (f"{SWITCH}_2025030112_000003.ber", "duplicate_file", 2, 0, 0, 2),
        (f"{SWITCH}_2025030113_000004.ber", "processed", 2, 1, 1, 0),
    ]
    assert lake_bytes(layout) == lake_bytes(sequential)


def non_minimal_length(payload: bytes) -> bytes:
    """The CDR with its outer length written in three octets: BER the library reads, the
    kernel leaves to it (its subset takes minimal lengths only)."""
    tag = 2 if payload[0] & 0x1F == 0x1F else 1
    octets = payload[tag] & 0x7F if payload[tag] & 0x80 else 0
    length = int.from_bytes(payload[tag + 1 : tag + 1 + octets]) if octets else payload[tag]
    body = payload[tag + 1 + octets :]
    return payload[:tag] + b"\x83" + length.to_bytes(3, "big") + body


def test_records_left_to_the_library_decode_on_two_threads_as_alone() -> None:
    kinds = ("voice_mo", "voice_mt", "sms_mo", "sms_mt", "data")
    files = [
        ber_file(
            [
                non_minimal_length(
                    ber_record(
                        mobile_cdr(
                            kinds[n % 5],
                            call_reference=1000 * f + n,
                            served_msisdn=f"1312555{f}{n:03d}",
                        )
                    )
                )
                for n in range(300)
            ]
        )
        for f in (1, 2)
    ]
    for data in files:
        frames = frame_cdrs(data, decode_file_header(data).header_length)
        kernel = decode_cdrs(data, frames.payload_start, frames.payload_length, frames.data_format)
        assert kernel == [None] * 300  # every record goes to pycrate

    def parse(data: bytes) -> tuple[list[dict[str, object]], list[object]]:
        batch = ts32298_ber_fast.parse_file_columnar(data, CONTEXT)
        assert batch is not None
        return batch.records.to_pylist(), batch.rejects

    alone = [parse(data) for data in files]
    assert [(len(records), rejects) for records, rejects in alone] == [(300, [])] * 2
    # pycrate decodes into shared objects: without one record at a time, two threads read
    # each other's values within a few hundred records.
    for _ in range(5):
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(parse, files)) == alone


@pytest.fixture(scope="module")
def generated_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The landing files and reference of a generated day of 100 lines."""
    layout = Layout(tmp_path_factory.mktemp("generated-day"))
    write_volume_reference(layout, subscribers=100, seed=7, month="2026-10")
    write_volume_traffic(layout, records_per_line_day=100.0, seed=7, max_records_per_file=800)
    return layout.root


@pytest.mark.parametrize("feed", [Feed.TS32298_BER, Feed.ASTERISK_CDR_CSV])
def test_a_generated_day_mediates_as_it_does_one_file_at_a_time(
    generated_day: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: str
) -> None:
    def operator(root: Path) -> Layout:
        for area in ("reference", "landing"):
            shutil.copytree(generated_day / area, root / area)
        return Layout(root)

    layout = operator(tmp_path / "two")
    result = mediate_partition(layout, feed, GENERATED_DAY)
    one_file_at_a_time(monkeypatch)
    sequential = operator(tmp_path / "one")
    mediate_partition(sequential, feed, GENERATED_DAY)

    assert result.files >= 10  # hourly files, the busy hours' split in several
    assert result.accepted == result.records_in > 0
    assert lake_bytes(layout) == lake_bytes(sequential)
