"""The columnar fast path equals the row parser on every file it does not decline.

Each check runs both parsers: ``parse_file_columnar`` must return None or exactly
``parsed_batch(parse_file(...))`` (records table and rejects), must never raise, and must
not decline clean switch output. Lines it cannot prove go to the row parser's own per-line
code; ``MAX_ROW_PARSER_SHARE`` is raised to 1 where a test wants that delegation exercised
rather than the whole small file declined.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from columnar_paths import checked_answer, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switch_lines import asterisk_line as cdr

from kernels import asterisk_cdr_api
from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.generate import generate_operator
from pipelines.mediation import asterisk_cdr_csv, asterisk_cdr_csv_columnar
from pipelines.mediation.asterisk_cdr_csv import parse_file
from pipelines.mediation.asterisk_cdr_csv_columnar import parse_file_columnar
from pipelines.mediation.records import FileContext, ParsedBatch, parsed_batch
from pipelines.schema import RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mediation" / "landing" / "asterisk_cdr_csv"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "asterisk"
CHICAGO = FileContext("Master.csv", "ast-chi-01", "America/Chicago")
STAMP = "%Y-%m-%d %H:%M:%S"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def reference(data: bytes, context: FileContext = CHICAGO) -> ParsedBatch:
    return parsed_batch(parse_file(data, context))


def columnar(data: bytes, context: FileContext = CHICAGO) -> ParsedBatch | None:
    """The fast path's answer, checked against the row parser's when it gives one."""
    return checked_answer(parse_file_columnar, parse_file, data, context)


def read(data: bytes, context: FileContext = CHICAGO) -> ParsedBatch:
    """The fast path's batch for a file it must read (not decline)."""
    batch = columnar(data, context)
    assert batch is not None, "declined"
    return batch


@contextmanager
def delegating() -> Iterator[None]:
    """Let the fast path hand any number of lines to the row parser instead of declining."""
    with mock.patch.object(asterisk_cdr_csv_columnar, "MAX_ROW_PARSER_SHARE", 1.0):
        yield


def many(n: int = 200) -> bytes:
    """n clean lines with distinct keys: enough for one odd line to be delegated."""
    return b"".join(cdr(uniqueid=f"1719835200.{k}") for k in range(n))


# --- committed fixtures and public samples ------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(FIXTURES.rglob("*.csv")), ids=lambda path: f"{path.parent.name}/{path.name}"
)
def test_fixtures_are_read_equally_or_declined(path: Path) -> None:
    data = path.read_bytes()
    context = FileContext(path.name, path.parent.name, CHICAGO.timezone)
    batch = columnar(data, context)
    expected = reference(data, context)
    if expected.records.num_rows and not expected.rejects:
        assert batch is not None, "a clean file was declined"
    with delegating():
        columnar(data, context)


def test_the_fall_back_fixture_is_read() -> None:
    # 2024-11-03: rows in the repeated 01:00 hour, one ending "before" it starts.
    batch = read((FIXTURES / "ast-chi-01" / "Master_ast-chi-01_2024110304_000001.csv").read_bytes())
    assert batch.records["started_at"][2].as_py() == datetime(2024, 11, 3, 6, 50, tzinfo=UTC)
    assert batch.records["ended_at"][2].as_py() == datetime(2024, 11, 3, 7, 10, 10, tzinfo=UTC)


def test_the_bad_rows_fixture_is_declined_or_delegated_line_by_line() -> None:
    data = (FIXTURES / "ast-chi-01" / "Master_ast-chi-01_2024110305_000002.csv").read_bytes()
    assert columnar(data) is None  # 8 of its 10 records are rejects
    with delegating():
        batch = read(data)
    assert [r.record_number for r in batch.rejects] == [2, 3, 4, 5, 6, 7, 11, 12]
    assert batch.records["record_number"].to_pylist() == [1, 9, 10]


def test_public_samples_are_read_equally_or_declined() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples/asterisk not available")
    paths = sorted(path for path in SAMPLES.iterdir() if path.is_file())
    assert paths
    for path in paths:
        data = path.read_bytes()
        columnar(data)
        with delegating():
            columnar(data)


def test_the_buggy_sample_is_declined() -> None:
    path = SAMPLES / "testsuite_cdrlib_buggy.csv"
    if not path.is_file():
        pytest.skip("sample testsuite_cdrlib_buggy.csv not available")
    assert columnar(path.read_bytes()) is None  # its one line is an unclosed quote


# --- generated switch output -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    # November 2026: Chicago falls back on the 1st, inside the two days generated.
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=7, subscribers=120, month="2026-11", days=2)
    return sorted((layout.landing / "asterisk_cdr_csv").rglob("*.csv"))


def generated_context(path: Path) -> FileContext:
    return FileContext(path.name, path.parent.name, OPERATOR_TIMEZONE, 1)


def test_generated_clean_files_are_read_not_declined(generated: list[Path]) -> None:
    assert generated
    clean = 0
    for path in generated:
        data, context = path.read_bytes(), generated_context(path)
        batch = columnar(data, context)
        expected = reference(data, context)
        if expected.records.num_rows and not expected.rejects:
            assert batch is not None, f"{path.name} declined"
            clean += 1
    assert clean > len(generated) // 2


def test_generated_files_with_anomalies_are_read_line_by_line(generated: list[Path]) -> None:
    rejected = 0
    with delegating():
        for path in generated:
            batch = columnar(path.read_bytes(), generated_context(path))
            rejected += 0 if batch is None else len(batch.rejects)
    assert rejected > 0  # the generator's malformed rows, read by the row parser's code


def test_generated_files_concatenated_are_read(generated: list[Path]) -> None:
    data = b"".join(path.read_bytes() for path in generated)
    expected = reference(data)
    with delegating():
        batch = read(data)
    assert batch.records.num_rows == expected.records.num_rows > 0


def frame(data: bytes, threads: int) -> asterisk_cdr_api.MasterCsvLines:
    return asterisk_cdr_api.frame_master_csv(
        data,
        field_limit=csv.field_size_limit(),
        inbound_contexts=asterisk_cdr_csv.INBOUND_CONTEXTS,
        answered_disposition="ANSWERED",
        billsec_tolerance=asterisk_cdr_csv.BILLSEC_OVER_DURATION_TOLERANCE,
        nanp_numbers=True,
        threads=threads,
    )


def texts(lines: asterisk_cdr_api.MasterCsvLines) -> list[list[bytes]]:
    """Per Text, each candidate record's text."""
    return [
        [
            bytes(chunk.texts[text][chunk.offsets[text, j] : chunk.offsets[text, j + 1]])
            for chunk in lines.text_chunks
            for j in range(chunk.records)
        ]
        for text in asterisk_cdr_api.Text
    ]


@pytest.mark.parametrize("ending", [b"", b"\n", b"\n\n", b"\r\n  \n"])
def test_a_file_read_in_pieces_reads_as_one(
    generated: list[Path], ending: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small files are read whole; lowering the threshold cuts even these into pieces, at
    # newlines that fall next to blank, CRLF and malformed lines of the generated files.
    monkeypatch.setattr(asterisk_cdr_api, "PARALLEL_MIN_BYTES", 0)
    data = b"".join(path.read_bytes() for path in generated).rstrip(b"\n") + ending
    whole = frame(data, threads=1)
    for threads in (2, 3, 8):
        pieces = frame(data, threads)
        for name in asterisk_cdr_api.MasterCsvLines.__dataclass_fields__:
            if name != "text_chunks":
                assert (getattr(pieces, name) == getattr(whole, name)).all(), (name, threads)
        assert len(pieces.text_chunks) == min(threads, len(data))
        assert texts(pieces) == texts(whole)
    with delegating():
        read(data)  # the default (numba's thread count) against the row parser


# --- what is read, what is left to the row parser ----------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        cdr().replace(b"\n", b"\r\n") * 2,
        cdr() + cdr().rstrip(b"\n"),
        cdr() + b"\n  \t\n" + cdr(),  # blank lines: no record, their numbers skipped
        cdr(columns=18) + cdr() + cdr(columns=18, uniqueid="1719835200.2"),
        cdr(clid='Jos\u00e9 "Pepe" P\u00e9rez, \u00a0\U0001f600'),
        cdr(src="+447700900123", dst="3125550102", dcontext="from-trunk", answer="",
            billsec="0", disposition="NO ANSWER", channel="PJSIP/tg_bt_in-0000000c"),
        cdr(dst="011447700900123", dstchannel="PJSIP/tg_intl-00000015"),
        cdr(dst="911", dstchannel="PJSIP/tg_e911-00000013"),
        cdr(dst="+13125550103") + cdr(dst="13125550103") + cdr(dst="312 555-0103"),
        cdr(dstchannel=""),
        cdr(dstchannel="PJSIP/3125550102-0000000f"),
        cdr(dstchannel="SIP/tg-a-b-00000001"),
        cdr(dstchannel="Local/123@ctx-00000001;2"),
        cdr(dstchannel="PJSIP/-00000001"),
        cdr(dstchannel="PJSIP/tr\u00fcnk-00000001"),
        cdr(duration="0065", billsec="060"),
        cdr(answer="2024-07-01 12:00:00", end="2024-07-01 12:00:05", duration="5", billsec="6"),
        cdr(answer="2024-07-01 12:01:05", billsec="0"),
        cdr(disposition="BUSY", answer="", billsec="0"),
        cdr(disposition=" answered "),
        cdr(sequence=""),
        cdr(start="1970-01-01 00:00:00", answer="", end="1970-01-01 00:00:30", duration="30",
            billsec="0"),
        cdr(start="2099-12-31 23:59:00", answer="", end="2100-01-01 00:00:30",
            duration="90", billsec="0"),
        cdr(start="2024-03-10 01:59:50", answer="2024-03-10 01:59:55",
            end="2024-03-10 03:00:10", duration="20", billsec="15"),
        cdr(start="2024-11-03 01:50:00", answer="2024-11-03 01:50:10",
            end="2024-11-03 01:10:10", duration="1210", billsec="1200"),
        cdr(start="2024-11-03 01:20:00", answer="2024-11-03 01:20:05",
            end="2024-11-03 01:40:00", duration="1200", billsec="1195"),
    ],
    ids=["crlf", "no final newline", "blank lines", "18 and 21 columns", "odd caller id",
         "inbound unanswered", "011 prefix", "short code", "+1, 1 and punctuation",
         "never dialled", "on-net", "dashes in the peer", "local channel", "empty peer",
         "non-ASCII trunk", "leading zeros", "billsec rounded up", "answered, billsec 0",
         "busy", "odd disposition", "empty sequence", "epoch", "century", "spring forward",
         "fall back, ends before it starts", "fall back, a tie"],
)  # fmt: skip
def test_reads_clean_lines(data: bytes) -> None:
    read(data)


@pytest.mark.parametrize("caller", ["", "anonymous", "Restricted", " unknown ", "UNAVAILABLE"])
@pytest.mark.parametrize("dcontext", ["from-trunk", "from-pstn"])
def test_reads_withheld_inbound_callers(caller: str, dcontext: str) -> None:
    batch = read(cdr(src=caller, dst="3125550101", dcontext=dcontext,
                     channel="PJSIP/tg_att_in-00000001"))  # fmt: skip
    assert batch.records["other_party_number"][0].as_py() is None
    assert batch.records["incoming_trunk_group"][0].as_py() == "tg_att_in"


def test_reads_thousands_of_distinct_numbers() -> None:
    data = b"".join(
        cdr(
            src=f"31255{n:05d}" if n % 3 else "anonymous",
            dst=f"21255{n:05d}" if n % 3 else f"31255{n:05d}",
            dcontext="from-internal" if n % 3 else "from-trunk",
            uniqueid=f"1719835200.{n}",
        )
        for n in range(3000)
    )
    assert read(data).records["other_party_number"].null_count == 1000


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC",
     "Pacific/Chatham", "America/St_Johns"],
)  # fmt: skip
def test_reads_in_the_switch_s_zone(zone: str) -> None:
    read(many(3), FileContext("Master.csv", "ast-01", zone))


@pytest.mark.parametrize(
    "line",
    [
        cdr(columns=16),  # keyed by a hash of its fields
        cdr(uniqueid=""),
        cdr(src='31255501""01'),  # a doubled quote in a used field
        cdr(dstchannel='PJSIP/"tg"-00000001'),
        cdr(duration=" 65"),
        cdr(start="2024-03-10 02:30:00", answer="", end="2024-03-10 03:31:00", billsec="0"),
        cdr(end="2024-07-01 11:59:00"),
        cdr(src="client1"),
        cdr(dst=""),
        cdr(billsec="67"),
        cdr(answer="", billsec="60"),
        cdr(disposition=" "),
        cdr(disposition="\u00e9"),
        cdr(start="1969-12-31 18:00:00", answer="", end="1969-12-31 18:00:30",
            duration="30", billsec="0"),
        cdr(start="2024-07-01 12:00:60"),
        cdr(duration="1" * 13, billsec="1" * 12),
        cdr()[:-1] + b',"extra"\n',
        cdr()[:-1] + b'\r\r\n',
        cdr().replace(b'"from-internal"', b'"from-internal" '),
        cdr().replace(b'"from-internal"', b'from"internal'),
        cdr().replace(b"Alice", b"Al\x00ce"),
        cdr().replace(b"Alice", b"Al\rce"),
        cdr().replace(b"Alice", b"Al\xe9ce"),
        cdr().replace(b"Alice", b"Al\xed\xa0\x80ce"),  # a UTF-8 surrogate
        cdr().replace(b'"Dial"', b'"Dial'),
        b"\xef\xbb\xbf" + cdr(),
        b"a,b\n",
    ],
    ids=["16 columns", "no uniqueid", "quote in src", "quote in dstchannel", "padded duration",
         "skipped by DST", "out of order", "SIP user", "no dst", "billsec over duration",
         "billsec without answer", "blank disposition", "non-ASCII disposition",
         "before 1970", "second 60", "long duration", "22 columns", "two CRs",
         "text after a quote", "quote in a bare field", "NUL", "CR", "Latin-1", "surrogate",
         "unclosed quote", "byte order mark", "2 columns"],
)  # fmt: skip
def test_leaves_odd_lines_to_the_row_parser(line: bytes) -> None:
    assert columnar(line) is None  # one record, not read in columns: the file is declined
    batch = read(many(100) + line + many(100))
    assert batch.records.num_rows + len(batch.rejects) == 201


def test_a_16_column_line_among_many_keeps_its_row_key() -> None:
    batch = read(many(150) + cdr(columns=16) + many(150))
    assert batch.records["record_key"][150].as_py().startswith("row:")


def test_a_line_skipped_by_dst_among_many_is_the_row_parser_s_reject() -> None:
    line = cdr(start="2024-03-10 02:30:00", answer="", end="2024-03-10 03:31:00", billsec="0")
    batch = read(many(150) + line)
    (reject,) = batch.rejects
    assert (reject.record_number, reject.reason) == (151, RejectReason.INVALID_TIMESTAMP)


def test_an_hour_with_a_half_hour_dst_change_is_left_to_the_row_parser() -> None:
    # Lord Howe falls back from 02:00 to 01:30 (2024-04-07): 01:40 names two instants, and
    # the hour 01:00-02:00 does not read alike throughout.
    lord_howe = FileContext("Master.csv", "ast-01", "Australia/Lord_Howe")
    line = cdr(start="2024-04-07 01:40:00", answer="2024-04-07 01:40:05",
               end="2024-04-07 01:45:05", duration="305", billsec="300")  # fmt: skip
    assert columnar(line, lord_howe) is None
    with delegating():
        read(line, lord_howe)
    read(many(150) + line, lord_howe)


def test_a_lowered_csv_field_limit_is_the_row_parser_s() -> None:
    line = cdr(clid="x" * 200)
    limit = csv.field_size_limit()
    csv.field_size_limit(100)
    try:
        batch = read(many(150) + line)
        assert [reject.reason for reject in batch.rejects] == [RejectReason.MALFORMED_ROW]
    finally:
        csv.field_size_limit(limit)
    read(many(150) + line)


@pytest.mark.parametrize(
    "data",
    [b"", b"\n", b"\r\n \n\t\n", cdr(columns=16) * 5, many(98) + cdr(dst="") + cdr(src="x")],
    ids=["empty", "newline", "blank lines", "16 columns only", "2% rejects"],
)
def test_declines(data: bytes) -> None:
    assert columnar(data) is None


def test_an_unknown_zone_is_declined() -> None:
    assert parse_file_columnar(many(3), FileContext("Master.csv", "ast-01", "Mars/Olympus")) is None


def test_a_row_parser_failure_on_a_delegated_line_is_declined() -> None:
    # The row parser raising on a line (a bug) ends the fast path: mediation's row path
    # then reports the failure as it would with no fast path at all.
    line = cdr(duration="x")  # a line the fast path hands to the row parser
    real = asterisk_cdr_csv._parse_row

    def failing(fields: list[str], tz: ZoneInfo) -> object:
        if fields[12] == "x":
            raise ValueError("a parser bug")
        return real(fields, tz)

    with mock.patch.object(asterisk_cdr_csv, "_parse_row", failing):
        with pytest.raises(ValueError):
            reference(many(150) + line)
        assert parse_file_columnar(many(150) + line, CHICAGO) is None


def test_a_duration_no_column_can_hold_is_a_reject_on_both_paths() -> None:
    line = cdr(duration="9" * 5000, billsec="9" * 5000)
    batch = read(many(150) + line)
    assert [reject.reason for reject in batch.rejects] == [RejectReason.INVALID_DURATION]


# --- properties --------------------------------------------------------------------------

#: Zones whose DST changes fall on the hour: every valid line is read in columns.
HOURLY_ZONES = ["America/Chicago", "America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]
# UTC instants near DST changes of those zones (and Lord Howe's), and ordinary days.
ANCHORS = [
    datetime(2024, 3, 10, 8, 0, tzinfo=UTC),
    datetime(2024, 11, 3, 7, 0, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    datetime(2024, 10, 27, 1, 0, tzinfo=UTC),
    datetime(2024, 4, 6, 15, 0, tzinfo=UTC),
    datetime(2024, 10, 5, 15, 30, tzinfo=UTC),
    datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
    datetime(1971, 1, 1, 12, 0, tzinfo=UTC),
    datetime(2150, 6, 1, 12, 0, tzinfo=UTC),
]
NANP = r"[2-9][0-9]{2}[2-9][0-9]{6}"
DIALLED = st.one_of(
    st.from_regex(rf"\A{NANP}\Z"),
    st.from_regex(rf"\A1{NANP}\Z"),
    st.from_regex(rf"\A\+1{NANP}\Z"),
    st.sampled_from(["911", "611", "+447700900123", "011447700900123", "+33612345678",
                     " 3125550101 ", "312-555-0101", "312.555.0101"]),
)  # fmt: skip
WITHHELD = st.sampled_from(["", "anonymous", "Restricted", " unknown ", "UNAVAILABLE"])
TEXT = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
               max_size=12)  # fmt: skip
TRUNK = st.text("abcdefgt_-0123456789", min_size=1, max_size=12)


@st.composite
def valid_lines(draw: st.DrawFn, zone: str, anchor: datetime, key: int) -> bytes:
    """One line Asterisk could write: times from one clock, durations that match."""
    tz = ZoneInfo(zone)
    start = int(anchor.timestamp()) + draw(st.integers(-7200, 7200))
    ring = draw(st.integers(0, 90))
    answered = draw(st.booleans())
    talk = draw(st.integers(0, 5000)) if answered else 0
    answer, end = start + ring, start + ring + talk
    billsec = talk + (1 if answered and draw(st.booleans()) else 0)  # initiatedseconds

    def stamp(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, tz).strftime(STAMP)

    inbound = draw(st.booleans())
    peer = draw(st.one_of(TRUNK, st.from_regex(r"\A[0-9]{10}\Z")))
    if inbound:
        dcontext = draw(st.sampled_from(["from-trunk", "from-pstn"]))
        src, dst = draw(st.one_of(DIALLED, WITHHELD)), draw(st.from_regex(rf"\A{NANP}\Z"))
    else:
        dcontext = draw(st.sampled_from(["from-internal", "default", "from-trunk2"]))
        src, dst = draw(st.from_regex(rf"\A{NANP}\Z")), draw(DIALLED)
    disposition = "ANSWERED" if answered else draw(st.sampled_from(["NO ANSWER", "BUSY"]))
    return cdr(
        start=stamp(start),
        answer=stamp(answer) if answered else "",
        end=stamp(end),
        duration=str(end - start),
        billsec=str(billsec),
        src=src,
        dst=dst,
        dcontext=dcontext,
        disposition=draw(st.sampled_from([disposition, "FAILED", "CONGESTION"])),
        channel=f"PJSIP/{peer}-{key:08x}",
        dstchannel=draw(st.sampled_from([f"PJSIP/{peer}-{key + 1:08x}", ""])),
        clid=draw(TEXT),
        uniqueid=f"{start}.{key}",
        sequence=str(key),
        columns=draw(st.sampled_from([18, 21, 21])),
    )


@st.composite
def valid_files(draw: st.DrawFn, zones: list[str]) -> tuple[bytes, FileContext]:
    zone = draw(st.sampled_from(zones))
    anchor = draw(st.sampled_from(ANCHORS))  # a file spans hours, not centuries
    count = draw(st.integers(1, 8))
    lines = [draw(valid_lines(zone, anchor, 2 * k)) for k in range(count)]
    if draw(st.booleans()):
        lines = [line.replace(b"\n", b"\r\n") for line in lines]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), b" \n")
    data = b"".join(lines)
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    return data, FileContext("Master.csv", "ast-01", zone)


@SETTINGS
@given(valid_files(HOURLY_ZONES))
def test_valid_files_are_read_as_the_row_parser_reads_them(
    case: tuple[bytes, FileContext],
) -> None:
    data, context = case
    assert not reference(data, context).rejects
    read(data, context)


@SETTINGS
@given(valid_files(["Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"]))
def test_valid_files_in_odd_zones_are_read_or_delegated(case: tuple[bytes, FileContext]) -> None:
    data, context = case
    columnar(data, context)
    with delegating():
        read(data, context)


TRICKY_VALUES = st.one_of(
    st.sampled_from([
        "", " ", "0", "-1", "007", "1e3", "60 ", "from-trunk", " from-trunk", "anonymous",
        "client1", "+1", "911", "2024-11-03 01:30:00", "2024-03-10 02:30:00",
        "2024-02-29 00:00:00", "2023-02-29 00:00:00", "1970-01-01 00:00:00",
        "1969-12-31 18:00:00", "9998-12-31 23:59:59", "9999-12-31 23:59:59",
        "0001-01-01 00:00:00", "2024-07-01 12:00:60", "2024-07-01T12:00:00", '"', '""', ",",
        '","', "\r", "\n", "\x00", "\u00a0", "\x1c", "\u2028", "\ufeff", "9" * 30,
        "ANSWERED", "PJSIP/3125550101-1", "PJSIP/x-", "/-",
    ]),
    st.text(max_size=8),
)  # fmt: skip
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["field", "replace", "insert", "delete"]),
        st.integers(0, 100_000),
        st.integers(0, 22),
        TRICKY_VALUES,
        st.sampled_from([b'"', b",", b"\r", b"\n", b" ", b"\x00", b"\xe9", b"\xc3\xa9", b"9",
                         b"-", b":", b"/", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]),
    ),
    min_size=1,
    max_size=3,
)  # fmt: skip


@SETTINGS
@given(valid_files([*HOURLY_ZONES, "Australia/Lord_Howe"]), MUTATIONS, st.booleans())
def test_mutated_files_are_read_equally_or_declined(
    case: tuple[bytes, FileContext],
    mutations: list[tuple[str, int, int, str, bytes]],
    delegate: bool,
) -> None:
    data, context = case
    data = mutate(data, mutations, b",")
    try:
        reference(data, context)
    except Exception:  # the row parser itself fails: the fast path must decline
        assert parse_file_columnar(data, context) is None
        return
    if delegate:
        with delegating():
            columnar(data, context)
    else:
        columnar(data, context)


@SETTINGS
@given(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.sampled_from(["America/Chicago", "Australia/Lord_Howe", "Pacific/Apia"]),
)
def test_any_start_stamp_is_read_as_the_row_parser_reads_it(start: str, zone: str) -> None:
    line = cdr(start=start, answer="", end=start, duration="0", billsec="0")
    with delegating():
        columnar(many(2) + line, FileContext("Master.csv", "ast-01", zone))


@SETTINGS
@given(st.binary(max_size=12))
def test_bytes_in_a_quoted_field_are_read_when_they_are_utf8(text: bytes) -> None:
    line = cdr(clid="@").replace(b'"@"', b'"' + text.replace(b'"', b'""') + b'"')
    try:
        text.decode("utf-8")
        valid = not set(text) & set(b"\r\n\x00")
    except UnicodeDecodeError:
        valid = False
    assert (columnar(line) is not None) == valid


@SETTINGS
@given(
    st.one_of(
        st.from_regex(r"\A\+?1?[0-9]{10}\Z"),
        st.from_regex(r"\A[0-9]{3,12}\Z"),
        st.from_regex(rf"\A[+ ]?1?{NANP} ?\Z"),
    ),
    st.booleans(),
)
def test_numbers_are_normalised_as_normalise_number_does(raw: str, inbound: bool) -> None:
    line = cdr(src=raw, dst="3125550101", dcontext="from-trunk") if inbound else cdr(dst=raw)
    with delegating():
        read(many(2) + line + line)
    if re.fullmatch(rf"1?{NANP}", raw):  # plain NANP numbers: normalised by the kernel
        read(line)
