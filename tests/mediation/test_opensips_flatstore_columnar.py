"""The columnar fast path equals the row parser on every file it does not decline."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import opensips_flatstore_api
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.mediation import opensips_flatstore, opensips_flatstore_columnar
from pipelines.mediation.opensips_flatstore_columnar import parse_file_columnar
from pipelines.mediation.records import FileContext, ParsedBatch, parsed_batch
from pipelines.schema import RejectReason

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE = FIXTURES / "opensips" / "acc_cgrates_layout.log"
SAMPLES = Path(__file__).parents[3] / "shared" / "samples" / "opensips"
CONTEXT = FileContext("acc_1.log", "osips-01", "America/Chicago")
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples is absent")
# The last epoch second datetime can hold (9999-12-31 23:59:59 UTC).
MAX_EPOCH = 253402300799


def expected(data: bytes) -> ParsedBatch:
    return parsed_batch(opensips_flatstore.parse_file(data, CONTEXT))


def same_or_declined(data: bytes) -> bool:
    """True when the fast path read the file (and then equals the row parser)."""
    got = parse_file_columnar(data, CONTEXT)
    if got is None:
        return False
    want = expected(data)
    assert got.records.schema == want.records.schema
    assert got.records.to_pylist() == want.records.to_pylist()
    assert got.records.equals(want.records)
    assert got.rejects == want.rejects
    return True


def read(data: bytes) -> None:
    """Assert the fast path reads the file, equal to the row parser."""
    assert same_or_declined(data), "declined"


def without_lines(path: Path, *numbers: int) -> bytes:
    rows = path.read_bytes().split(b"\n")
    return b"\n".join(row for n, row in enumerate(rows, start=1) if n not in numbers)


def with_numbers(sample: bytes) -> bytes:
    """The sample with its PBX accounts 1001/1002 given E.164 numbers (as in
    test_opensips_flatstore.py)."""
    return sample.replace(b"|1001|", b"|13125551001|").replace(b"|1002|", b"|13125551002|")


def fixture_files() -> list[Path]:
    return sorted(path for path in (FIXTURES / "opensips").rglob("*") if path.is_file())


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.name)
def test_fixtures_are_read_equal_or_declined(path: Path) -> None:
    same_or_declined(path.read_bytes())


def test_fixture_without_its_malformed_lines_is_read_with_every_pairing_case() -> None:
    # Lines 10 and 11 fail line checks (a '|' in a reason, a wall-clock time): the fast
    # path declines those files. The rest has a blank line, a re-INVITE, a callee's BYE
    # with swapped tags, an answered call without BYE, a stray BYE and an early-media line.
    assert parse_file_columnar(FIXTURE.read_bytes(), CONTEXT) is None
    data = without_lines(FIXTURE, 10, 11)
    read(data)
    batch = parse_file_columnar(data, CONTEXT)
    assert batch is not None
    assert [reject.reason for reject in batch.rejects] == [
        RejectReason.UNPAIRED_INVITE,
        RejectReason.UNPAIRED_BYE,
        RejectReason.UNPAIRED_BYE,
    ]


@needs_samples
@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*")) if SAMPLES.is_dir() else [])
def test_samples_are_read_as_written_and_with_numbers(path: Path) -> None:
    read(path.read_bytes())  # every call an invalid_number reject, lines and all
    read(with_numbers(path.read_bytes()))


@pytest.fixture(scope="module")
def generated_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=11, subscribers=160, days=3)
    files = sorted(p for p in (layout.landing / "opensips_flatstore").rglob("*") if p.is_file())
    assert files
    return files


def test_generated_clean_files_are_read_not_declined(generated_files: list[Path]) -> None:
    for path in generated_files:
        read(path.read_bytes())
    # All of them at once: one file of many calls.
    read(b"".join(path.read_bytes() for path in generated_files))


def test_a_large_file_with_crlf_and_copies_of_every_case_is_read() -> None:
    # Enough lines for polars to read the file in several chunks.
    rows = without_lines(FIXTURE, 10, 11).decode().split("\n")
    copies = [row.replace("@10.0.0.1", f"-{n}@10.0.0.1") for n in range(3000) for row in rows]
    data = "\n".join(copies).encode()
    read(data)
    read(data.replace(b"\n", b"\r\n"))
    read(b"\n \r\n" + data)  # the reader takes the field count from the first line read
    # Lines with a field too many or too few deep in the file, alone or with the file's '|'
    # count balanced (two lines of 13 fields, one of 10): declined.
    middle = len(rows) * 1500 + 3  # a copy's call-2 lines: INVITE, re-INVITE, BYE
    assert all(copies[middle : middle + 3])
    for wrong in (
        [copies[middle] + "|"],
        [copies[middle].rsplit("|", 1)[0]],
        [copies[middle] + "|", copies[middle + 1] + "|", copies[middle + 2].rsplit("|", 2)[0]],
    ):
        changed = [*copies[:middle], *wrong, *copies[middle + len(wrong) :]]
        assert parse_file_columnar("\n".join(changed).encode(), CONTEXT) is None


def copies_of_every_case(copies: int) -> bytes:
    rows = without_lines(FIXTURE, 10, 11).decode().split("\n")
    return "\n".join(
        row.replace("@10.0.0.1", f"-{n}@10.0.0.1") for n in range(copies) for row in rows
    ).encode()


def test_dialogs_pair_alike_in_any_number_of_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    data = copies_of_every_case(500)
    lines = opensips_flatstore_api.read_lines(data, MAX_EPOCH)
    assert lines is not None
    one = opensips_flatstore_api.pair_dialogs(data, lines, parts=1)
    for parts in (2, 3):
        calls = opensips_flatstore_api.pair_dialogs(data, lines, parts=parts)
        for name in ("openings", "byes", "call_of"):
            assert np.array_equal(getattr(calls, name), getattr(one, name))
    # A part whose table fills (dialogs that do not spread by hash): paired again in one.
    size = opensips_flatstore_api._table_size
    monkeypatch.setattr(
        opensips_flatstore_api, "_table_size", lambda n, parts: 8 if parts > 1 else size(n, 1)
    )
    calls = opensips_flatstore_api.pair_dialogs(data, lines, parts=2)
    assert np.array_equal(calls.call_of, one.call_of)
    read(data)


def test_empty_and_blank_files_give_the_row_parsers_reject() -> None:
    for data in (b"", b"\n\r\n  \n", b" \t\x0b\x0c"):
        read(data)


def line(
    method: str = "INVITE",
    tags: tuple[str, str] = ("f1", "t1"),
    code: str = "200",
    time: str = "1720000000",
    caller: str = "13125550101",
    destination: str = "12125550199",
) -> str:
    return "|".join([method, *tags, "c1@h", code, "OK", time, "", caller, destination, "", ""])


@pytest.mark.parametrize(
    ("rows", "read_it"),
    [
        ([line(time=str(MAX_EPOCH)), line("BYE", time=str(MAX_EPOCH))], True),
        ([line(time="0001720000000"), line("BYE", time="01720000001")], True),
        ([line(time=str(MAX_EPOCH + 1))], False),
        ([line(time="0")], False),
        ([line(time="1" * 19)], False),  # a valid time, longer than the fast path reads
        ([line(method="CANCEL")], False),
        ([line(code="700")], False),
        ([line(tags=("", "t1"))], False),
        ([line() + "|"], False),
        ([line() + "|", line() + "|", line().rsplit("|", 2)[0]], False),  # 33 '|' in all
        ([line(), line("BYE", time="1719999999")], True),  # BYE before the answer
        ([line(code="404", destination="")], True),
        ([line(code="404", caller="")], True),
        ([line(code="404", caller="alice", destination="bob")], True),
    ],
)
def test_edge_lines_are_read_or_declined(rows: list[str], read_it: bool) -> None:
    data = ("\n".join(rows) + "\n").encode()
    assert same_or_declined(data) is read_it


def test_invalid_utf8_a_byte_order_mark_and_a_lone_cr_are_declined() -> None:
    valid = line(code="404").encode()
    assert parse_file_columnar(valid + b"\nINVITE|\xff|x\n", CONTEXT) is None
    assert parse_file_columnar(b"\xef\xbb\xbf" + valid, CONTEXT) is None
    # The row parser reads "\rX" as part of the last field; polars would end the line there.
    assert parse_file_columnar(valid + b"\rX\n", CONTEXT) is None


# --- generated valid files: always read, always equal -------------------------------------

NUMBERS = [
    "13125550101",
    "3125550101",
    "12125550199",
    "2195629880",
    "011447700900123",
    "+447700900123",
    "+1 (312) 555-0101",
    " 3125550101",
    "911",
    "22222",
    "1001",
    "0125550123",
    "10125550123",
    "131255501011",
    "alice",
    "anonymous",
    "",
]
CODES = ["100", "183", "200", "202", "299", "300", "404", "481", "486", "487", "603", "699"]


@st.composite
def valid_lines(draw: st.DrawFn) -> str:
    method = draw(st.sampled_from(["INVITE", "BYE"]))
    tags = draw(st.sampled_from(["a", "b", "é"])), draw(st.sampled_from(["", "a", "b", "é"]))
    callid = draw(st.sampled_from(["c1@h", "c2@h"]))
    code = draw(st.sampled_from(CODES))
    reason = draw(st.sampled_from(["OK", "Busy Here", "", "Ünïcode reason", ' "quoted, # ']))
    time = str(draw(st.integers(1720000000, 1720000004)))
    caller = draw(st.sampled_from(NUMBERS))
    destination = draw(st.sampled_from(NUMBERS))
    extras = ["*prepaid", caller, destination, "", "1:1"] if method == "INVITE" else [""] * 5
    return "|".join([method, *tags, callid, code, reason, time, *extras])


@st.composite
def answered_calls(draw: st.DrawFn) -> list[str]:
    """An answered INVITE and its BYE (from either party), in either order in the file."""
    invite = draw(valid_lines().filter(lambda row: row.startswith("INVITE|")))
    fields = invite.split("|")
    fields[4], fields[5] = "200", "OK"
    # The callee's BYE carries the tags swapped (it has a from_tag: the INVITE's to_tag).
    tags = fields[2:0:-1] if fields[2] and draw(st.booleans()) else fields[1:3]
    bye_time = str(int(fields[6]) + draw(st.integers(-1, 30)))
    bye = "|".join(["BYE", *tags, fields[3], draw(st.sampled_from(CODES)), "R", bye_time])
    rows = ["|".join(fields), bye + "|" * 5]
    return rows if draw(st.booleans()) else rows[::-1]


file_parts = st.one_of(
    valid_lines().map(lambda row: [row]),
    answered_calls(),
    st.sampled_from(["", " ", "\t"]).map(lambda row: [row]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(file_parts, max_size=10), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_valid_lines_are_always_read_and_equal(
    parts: list[list[str]], end: str, last: bool
) -> None:
    rows = [row for part in parts for row in part]
    read((end.join(rows) + (end if last else "")).encode())


# --- mutated lines and random bytes: equal or declined, never an exception -----------------


def _sample_lines() -> list[str]:
    rows = [row for row in FIXTURE.read_text().splitlines() if row]
    if SAMPLES.is_dir():
        rows += [row for path in sorted(SAMPLES.glob("*")) for row in path.read_text().splitlines()]
    return rows


def _mutate(row: str, position: int, text: str, cut: int) -> str:
    position %= len(row) + 1
    return row[:position] + text + row[position + cut :]


mutated_lines = st.builds(
    _mutate,
    st.sampled_from(_sample_lines()),
    st.integers(0, 200),
    st.text(alphabet='|0123456789ABYEINV\n\r \t"#,\xe9\x00\ufeff', max_size=4),
    st.integers(0, 3),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(mutated_lines, max_size=12), st.booleans())
def test_mutated_lines_are_read_equal_or_declined(rows: list[str], crlf: bool) -> None:
    same_or_declined(("\r\n" if crlf else "\n").join(rows).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_read_equal_or_declined(data: bytes) -> None:
    same_or_declined(data)


# --- number normalisation -----------------------------------------------------------------

# The numbers the kernel normalises by pattern (N: 2-9, X: 0-9).
NANP_WITH_ONE = r"1[2-9][0-9]{2}[2-9][0-9]{6}"
NANP_NATIONAL = r"[2-9][0-9]{2}[2-9][0-9]{6}"


def numbers_file(values: list[str]) -> bytes:
    """One unanswered call per value, the value as caller and the next one as destination
    (every number is served once and other party once)."""
    rows = [
        line(code="404", caller=value, destination=values[(k + 1) % len(values)]).replace(
            "c1@h", f"c{k}@h"
        )
        for k, value in enumerate(values)
    ]
    return "\n".join(rows).encode()


def test_numbers_outside_the_nanp_go_through_normalise_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where the plan is not the NANP's the kernel normalises nothing by pattern.
    monkeypatch.setattr(opensips_flatstore_columnar, "_NANP_PATTERNS_HOLD", False)
    read(numbers_file(NUMBERS))
    read(copies_of_every_case(50))


def test_nanp_patterns_hold_for_every_area_code() -> None:
    values = [
        prefix + f"{npa}{exchange}0123"
        for npa in range(200, 1000)
        for exchange in (200, 555, 999)
        for prefix in ("", "1")
    ]
    read(numbers_file(values))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(NANP_WITH_ONE, fullmatch=True),
            st.from_regex(NANP_NATIONAL, fullmatch=True),
            st.text(alphabet="0123456789+ ()-.a", max_size=16),
            st.sampled_from(NUMBERS),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_numbers_normalise_as_the_row_parser_does(values: list[str]) -> None:
    read(numbers_file(values))
