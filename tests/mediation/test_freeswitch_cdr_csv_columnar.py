"""The columnar fast path equals the row parser on every file it does not decline.

Each check runs both parsers: ``parse_file_columnar`` must return None or exactly
``parsed_batch(parse_file(...))``, and must not decline clean switch output.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from columnar_paths import checked_answer, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switch_lines import freeswitch_line as cdr

from pipelines.config import OPERATOR_TIMEZONE, Layout
from pipelines.generate import generate_operator
from pipelines.mediation import freeswitch_cdr_csv_columnar
from pipelines.mediation.freeswitch_cdr_csv import parse_file
from pipelines.mediation.freeswitch_cdr_csv_columnar import parse_file_columnar
from pipelines.mediation.records import FileContext, ParsedBatch, ParsedRecord

FIXTURES = Path(__file__).parents[1] / "fixtures"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples" / "freeswitch"
CHICAGO = FileContext("Master.csv", "fs-chi-01", "America/Chicago")
STAMP = "%Y-%m-%d %H:%M:%S"
BLOCK = freeswitch_cdr_csv_columnar._BLOCK_BYTES
SMALL = 1024  # bytes: a few lines


def columnar(data: bytes, context: FileContext = CHICAGO) -> ParsedBatch | None:
    """The fast path's answer, checked against the row parser's when it gives one."""
    return checked_answer(parse_file_columnar, parse_file, data, context)


def read(data: bytes, context: FileContext = CHICAGO) -> ParsedBatch:
    """The fast path's batch for a file it must read (not decline)."""
    batch = columnar(data, context)
    assert batch is not None, "declined"
    return batch


# --- committed fixtures and public samples ------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "freeswitch").glob("*.csv")), ids=lambda path: path.name
)
def test_fixtures_are_read_equally_or_declined(path: Path) -> None:
    columnar(path.read_bytes())


def test_the_fixture_s_parsed_lines_are_read_across_dst_changes() -> None:
    # Lines 6 (unescaped quote), 7 (blank) and 8 (billsec > duration) make the row parser
    # reject or skip: the fixture as a whole is declined, its other lines are read.
    lines = (FIXTURES / "freeswitch" / "Master.csv").read_bytes().split(b"\n")
    assert columnar(b"\n".join(lines)) is None
    kept = [lines[number - 1] for number in (1, 2, 3, 4, 5, 9)]
    batch = read(b"\n".join(kept) + b"\n")
    assert batch.records.num_rows == 6
    # Line 3 crosses the fall-back: its start and end are read in different offsets.
    assert batch.records["started_at"][2].as_py() == datetime(2024, 11, 3, 6, 50, tzinfo=UTC)


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"sample {name} not available")
    return path.read_bytes()


def test_public_samples_are_read_equally_or_declined() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples/freeswitch not available")
    for path in sorted(SAMPLES.glob("*.csv")):
        columnar(path.read_bytes())


def test_the_spreadsheet_sample_is_declined_with_or_without_its_stamps() -> None:
    data = sample("spreadsheet_mangled_Master.csv")
    restored = re.sub(
        rb"(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})",
        lambda m: b"%s-%02d-%02d %02d:%s:00" % (m[1], int(m[2]), int(m[3]), int(m[4]), m[5]),
        data,
    )
    assert columnar(data) is None  # every row an invalid timestamp
    assert columnar(restored) is None  # every row an invalid number


# --- generated switch output -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    # November 2026: Chicago falls back on the 1st, inside the two days generated.
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=5, subscribers=200, month="2026-11", days=2)
    return sorted((layout.landing / "freeswitch_cdr_csv").rglob("*.csv"))


def test_generated_files_are_read_not_declined(generated: list[Path]) -> None:
    assert generated
    records = 0
    for path in generated:
        context = FileContext(path.name, path.parent.name, OPERATOR_TIMEZONE, 1)
        records += read(path.read_bytes(), context).records.num_rows
    assert records > 0


@pytest.mark.parametrize("block", [SMALL, BLOCK])
def test_generated_files_concatenated_are_read(generated: list[Path], block: int) -> None:
    data = b"".join(path.read_bytes() for path in generated)
    with small_blocks(block):
        assert read(data).records.num_rows == data.count(b"\n")


# --- what is read, what is declined -------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        cdr().replace(b"\n", b"\r\n") * 2,
        cdr() + cdr().rstrip(b"\n"),
        cdr().replace(b"\n", b"\r\n") + cdr().rstrip(b"\n"),
        cdr(name="Smith, Alice"),
        cdr(name="Jos\u00e9 \u00a0 ,\t\x00"),
        cdr(caller="+447700900123", destination="3125550102", context="public", answer="",
            billsec="0"),
        cdr(caller="011447700900123"),
        cdr(destination="911"),
        cdr(destination="+13125550103") + cdr(destination="13125550103"),
        # Old releases wrote the unset answer time 0 as a local stamp.
        cdr(answer="1969-12-31 18:00:00", billsec="0"),
        cdr(duration="0065", billsec="060"),
        cdr(start="2024-07-01 12:00:00", answer="2024-07-01 12:00:00", end="2024-07-01 12:00:00",
            duration="0", billsec="0"),
    ],
    ids=["crlf", "no final newline", "crlf, no final newline", "comma in a name",
         "odd name", "inbound unanswered", "011 prefix", "short code", "+1 and 1",
         "answer time 0", "leading zeros", "zero length"],
)  # fmt: skip
def test_reads_clean_lines(data: bytes) -> None:
    read(data)


@pytest.mark.parametrize("caller", ["", "anonymous", "0000000000", "Restricted", " private "])
def test_reads_withheld_inbound_callers(caller: str) -> None:
    batch = read(cdr(caller=caller, destination="3125550101", context="public"))
    assert batch.records["other_party_number"][0].as_py() is None


def test_reads_hundreds_of_distinct_numbers_and_stamps() -> None:
    # More distinct values than a byte can index, withheld callers among them.
    data = b"".join(
        cdr(
            caller="anonymous" if n % 2 else f"2125551{n:03d}",
            destination=f"312555{n:04d}",
            context="public",
            start=f"2024-07-01 12:{n % 60:02d}:{n // 60:02d}",
            answer="",
            end=f"2024-07-01 13:{n % 60:02d}:{n // 60:02d}",
            duration="3600",
            billsec="0",
            uuid=f"u{n}",
        )
        for n in range(300)
    )
    assert read(data).records["other_party_number"].null_count == 150


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
)
def test_reads_in_the_switch_s_zone(zone: str) -> None:
    read(cdr(), FileContext("Master.csv", "fs-01", zone))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        cdr() + b"\n" + cdr(),  # a blank line
        cdr() + b"   \n",
        b"\xef\xbb\xbf" + cdr(),  # a byte order mark
        cdr().replace(b"\n", b"\r\n") + cdr(),  # mixed line ends
        cdr().replace(b"\n", b"\r\r\n"),
        cdr()[:-1] + b',"extra"\n',
        cdr().replace(b'","', b'", "', 1),
        cdr().replace(b'"', b"", 2),  # unquoted value
        cdr(name='Bob "The Builder"'),
        cdr(name="Bob\nBuilder"),
        cdr(name="Jos\xe9").replace(b"Jos\xc3\xa9", b"Jos\xe9"),
        cdr(uuid=" a3f6c1d2 "),
        cdr(cause=""),
        cdr(context=" "),
        cdr(destination=""),
        cdr(caller=""),
        cdr(caller="1002"),
        cdr(caller="anonymous"),
        cdr(destination="&"),
        cdr(duration=" 65"),
        cdr(billsec="6.5"),
        cdr(duration="-5"),
        cdr(duration="1" * 12, billsec="1" * 11),
        cdr(duration="60", billsec="61"),
        cdr(answer="", billsec="60"),
        cdr(start="2024/7/1 12:00"),
        cdr(start="2024-02-30 12:00:00"),
        cdr(start="2023-02-29 12:00:00"),
        cdr(start="2024-07-01 12:00:60"),
        cdr(start="0000-07-01 12:00:00"),
        cdr(end="2024-07-01 11:59:00"),
        cdr(end="9999-12-31 23:59:59"),
        cdr(start="2024-03-10 02:30:00", answer="", end="2024-03-10 03:31:00", billsec="0"),
        cdr(start="1969-12-31 18:00:00", answer="", end="1969-12-31 18:00:30", duration="30",
            billsec="0"),
        # The epochs template (11 columns): another template is another layout.
        b"u1,3125550101,2125550199,default,1719835200,1719835205,1719835265,65,60,"
        b"NORMAL_CLEARING,send_bye\n",
    ],
)  # fmt: skip
def test_declines_what_it_cannot_read_with_certainty(data: bytes) -> None:
    assert columnar(data) is None


def test_the_fall_back_hour_is_read_as_the_row_parser_reads_it() -> None:
    # Chicago, 2024-11-03: 01:00-01:59 is lived twice, in CDT (UTC-5) then CST (UTC-6).
    # 01:30 to 01:10 in order is 01:30 CDT to 01:10 CST.
    data = cdr(start="2024-11-03 01:30:00", answer="2024-11-03 01:30:10",
               end="2024-11-03 01:10:00", duration="2400", billsec="2390")  # fmt: skip
    # 01:20 to 01:40 is 20 minutes in either offset: a tie, given to daylight time.
    data += cdr(start="2024-11-03 01:20:00", answer="2024-11-03 01:20:05",
                end="2024-11-03 01:40:00", duration="1200", billsec="1195")  # fmt: skip
    # From 00:55 CDT, 90 minutes of call and 5 of talk: answered at 01:20 CST.
    data += cdr(start="2024-11-03 00:55:00", answer="2024-11-03 01:20:00",
                end="2024-11-03 01:25:00", duration="5400", billsec="300")  # fmt: skip
    records = read(data).records
    started = records["started_at"].to_pylist()
    assert started[0] == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    assert started[1] == datetime(2024, 11, 3, 6, 20, tzinfo=UTC)
    assert records["answered_at"][2].as_py() == datetime(2024, 11, 3, 7, 20, tzinfo=UTC)


# --- properties --------------------------------------------------------------------------

ZONES = ["America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]
# UTC instants near DST changes of those zones in 2024 (and one ordinary day).
ANCHORS = [
    datetime(2024, 3, 10, 8, 0, tzinfo=UTC),
    datetime(2024, 11, 3, 7, 0, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    datetime(2024, 10, 27, 1, 0, tzinfo=UTC),
    datetime(2024, 4, 6, 15, 0, tzinfo=UTC),
    datetime(2024, 10, 5, 15, 30, tzinfo=UTC),
    datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
]
NANP = r"[2-9][0-9]{2}[2-9][0-9]{6}"
NUMBERS = st.one_of(
    st.from_regex(rf"\A{NANP}\Z"),
    st.from_regex(rf"\A1{NANP}\Z"),
    st.from_regex(rf"\A\+1{NANP}\Z"),
    st.sampled_from(["911", "611", "+447700900123", "011447700900123", "+33612345678"]),
)
WITHHELD = st.sampled_from(["", "anonymous", "Restricted", "0000000000", "unknown"])
FREE_TEXT = st.text(
    st.characters(blacklist_characters='"\r\n', blacklist_categories=("Cs",)), max_size=10
)


@contextlib.contextmanager
def small_blocks(block: int) -> Iterator[None]:
    """Read and check ``block`` bytes of lines at a time, beside the values when it is
    small: block boundaries and the two-thread path inside files of a few lines."""
    module = freeswitch_cdr_csv_columnar
    with (
        mock.patch.object(module, "_BLOCK_BYTES", block),
        mock.patch.object(module, "_PARALLEL_BYTES", 0 if block < SMALL else 4 * block),
    ):
        yield


@st.composite
def valid_lines(draw: st.DrawFn, zone: str) -> str:
    """One line FreeSWITCH could write: stamps from one clock, durations that match."""
    tz = ZoneInfo(zone)
    start = int(draw(st.sampled_from(ANCHORS)).timestamp()) + draw(st.integers(-7200, 7200))
    ring = draw(st.integers(0, 90))
    answered = draw(st.booleans())
    talk = draw(st.integers(0, 5000)) if answered else 0
    end = start + ring + talk
    answer = start + ring

    def stamp(epoch: int) -> str:
        return datetime.fromtimestamp(epoch, tz).strftime(STAMP)

    context = draw(st.sampled_from(["default", "public", "from-user"]))
    caller = draw(st.one_of(NUMBERS, WITHHELD) if context == "public" else NUMBERS)
    fields = [
        draw(FREE_TEXT),
        caller,
        draw(NUMBERS),
        context,
        stamp(start),
        stamp(answer) if answered else "",
        stamp(end),
        str(end - start),
        str(end - answer if answered else 0),
        draw(st.sampled_from(["NORMAL_CLEARING", "NO_ANSWER", "USER_BUSY"])),
        str(draw(st.uuids())),
        draw(FREE_TEXT),
        draw(FREE_TEXT),
        "PCMU",
        "PCMA",
    ]
    return ",".join(f'"{field}"' for field in fields)


@st.composite
def valid_files(draw: st.DrawFn) -> tuple[bytes, FileContext]:
    zone = draw(st.sampled_from(ZONES))
    lines = draw(st.lists(valid_lines(zone), min_size=1, max_size=8))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    return text.encode(), FileContext("Master.csv", "fs-01", zone)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_files(), st.sampled_from([SMALL, BLOCK]))
def test_valid_files_are_read_as_the_row_parser_reads_them(
    case: tuple[bytes, FileContext], block: int
) -> None:
    data, context = case
    assert all(isinstance(item, ParsedRecord) for item in parse_file(data, context))
    with small_blocks(block):
        read(data, context)


TRICKY_VALUES = st.one_of(
    st.sampled_from([
        "", " ", "0", "-1", "007", "1e3", "60 ", "public", " public", "anonymous", "1002",
        "+1", "911", "2024-11-03 01:30:00", "2024-03-10 02:30:00", "2024-02-29 00:00:00",
        "1970-01-01 00:00:00", "1969-12-31 18:00:00", "9999-12-31 23:59:59",
        "0001-01-01 00:00:00", "2024-07-01 12:00:60", "2024-07-01T12:00:00", '"', '""', ",",
        '","', "\r", "\n", "\x00", "\u00a0", "\x1c", "\u2028", "\ufeff", "9" * 30,
    ]),
    st.text(max_size=8),
)  # fmt: skip
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["field", "replace", "insert", "delete"]),
        st.integers(0, 10_000),
        st.integers(0, 14),
        TRICKY_VALUES,
        st.sampled_from([b'"', b",", b"\r", b"\n", b" ", b"\x00", b"\xe9", b"\xc3\xa9", b"9"]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_files(), MUTATIONS, st.sampled_from([SMALL, BLOCK]))
def test_mutated_files_are_read_equally_or_declined(
    case: tuple[bytes, FileContext], mutations: list[tuple[str, int, int, str, bytes]], block: int
) -> None:
    data, context = case
    with small_blocks(block):
        columnar(mutate(data, mutations, b'","'), context)  # never a different answer, never raises


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_declined_or_read_equally(data: bytes) -> None:
    columnar(data)
