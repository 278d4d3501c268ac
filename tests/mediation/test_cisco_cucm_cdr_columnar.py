"""The CUCM columnar fast path against the row parser, its reference implementation.

For every input here, ``parse_file_columnar`` either declines (None) or returns exactly
``parsed_batch(cisco_cucm_cdr.parse_file(...))``: the same Arrow table (values, types,
order, record numbers) and the same rejects. Files a clean switch writes (the fixture's
valid rows, the generator's files, generated valid rows) must not be declined.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.mediation.cisco_cucm_cdr import CAUSE_NAMES, parse_file
from pipelines.mediation.cisco_cucm_cdr_columnar import (
    NANP_E164,
    parse_file_columnar,
    parse_or_decline,
)
from pipelines.mediation.numbering import normalise_number
from pipelines.mediation.records import FileContext, parsed_batch

FIXTURES = Path(__file__).parents[1] / "fixtures"
FILE_NAME = "cdr_telco-chi_01_202407011640_000123"
SAMPLES = Path(__file__).parents[2] / ".." / "shared" / "samples"
CONTEXT = FileContext(FILE_NAME, "telco-chi", "America/Chicago", 123)

DATA = (FIXTURES / "cisco_cucm" / FILE_NAME).read_bytes()
LINES = DATA.split(b"\n")
NAMES = next(csv.reader([LINES[0].decode()]))
TYPES = LINES[1].decode().split(",")
#: The fixture without its CMR row (6) and its cut-off row (7): rows a clean CUCM writes.
CLEAN = b"\n".join([*LINES[:7], LINES[9]]) + b"\n"
LAST_EPOCH = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the last second Python reads


def check(data: bytes) -> str | None:
    """Compare the fast path with the row parser on ``data``: the reason it declined, or
    None when it read the file (and then its batch equals the row parser's)."""
    result = parse_or_decline(data, CONTEXT)
    fast = parse_file_columnar(data, CONTEXT)
    if isinstance(result, str):
        assert fast is None
        return result
    assert fast is not None
    expected = parsed_batch(parse_file(data, CONTEXT))
    differing = [
        name
        for name in expected.records.column_names
        if not result.records.column(name).equals(expected.records.column(name))
    ]
    assert result.records.schema == expected.records.schema
    assert differing == [] and result.records.equals(expected.records)
    assert fast.records.equals(expected.records)
    assert result.rejects == expected.rejects == []
    return None


def fields_of(**changes: str) -> list[str]:
    """Fixture row 1 (an answered outbound call) with some fields, named, replaced."""
    fields = next(csv.reader([LINES[2].decode()]))
    for name, value in changes.items():
        fields[NAMES.index(name)] = value
    return fields


def encode(fields: list[str], types: list[str] = TYPES, quote_integers: bool = False) -> bytes:
    """A data row as CUCM writes it: INTEGER fields bare, every other field quoted."""
    return ",".join(
        f if t == "INTEGER" and not quote_integers else f'"{f}"'
        for f, t in zip(fields, types, strict=True)
    ).encode()


def row(**changes: str) -> bytes:
    return encode(fields_of(**changes))


def file_of(*rows: bytes, names: list[str] = NAMES, types: list[str] = TYPES) -> bytes:
    header = ",".join(f'"{n}"' for n in names) + "\n" + ",".join(types) + "\n"
    return header.encode() + b"".join(r + b"\n" for r in rows)


INBOUND = {"origDeviceName": "SIP_BT_IN", "destDeviceName": "SEP00AABBCC0102"}

# --- files the fast path reads --------------------------------------------------------


def test_fixture_rows_a_clean_switch_writes_are_read() -> None:
    assert check(CLEAN) is None
    batch = parse_file_columnar(CLEAN, CONTEXT)
    assert batch is not None
    assert batch.records.column("record_number").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert batch.records.column("record_key").to_pylist()[-1] == "1:1008:20015:20016"


def test_fixture_with_rejected_rows_is_declined() -> None:
    assert check(DATA) is not None  # row 6 is a CMR, row 7 cut off: the row parser rejects


def _older_layout() -> bytes:
    fields = fields_of()
    return file_of(encode(fields[:-4], TYPES[:-4]), names=NAMES[:-4], types=TYPES[:-4])


def _reversed_layout() -> bytes:
    types = TYPES[::-1]
    return file_of(encode(fields_of()[::-1], types), names=NAMES[::-1], types=types)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(CLEAN.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(CLEAN.replace(b"\n", b"\n\n").replace(b"\n\n", b"\n", 2), id="blank-lines"),
        pytest.param(CLEAN + b"\r\n\n", id="trailing-blank-lines"),
        pytest.param(CLEAN.rstrip(b"\n"), id="no-final-newline"),
        pytest.param(_older_layout(), id="release-11-layout"),
        pytest.param(_reversed_layout(), id="columns-reversed"),
        pytest.param(
            file_of(
                row(),
                names=["destLegCallIdentifier" if n == "destLegIdentifier" else n for n in NAMES],
            ),
            id="field-table-spelling",
        ),
        pytest.param(file_of(encode(fields_of(), quote_integers=True)), id="quoted-integers"),
        pytest.param(file_of(row(duration="121"), row(duration="119")), id="duration-tolerance"),
        pytest.param(
            file_of(row(dateTimeConnect="0", duration="1", dateTimeDisconnect="1719846001")),
            id="unanswered-one-second",
        ),
        pytest.param(
            file_of(row(globalCallID_callId="0001001", origLegCallIdentifier="0")),
            id="leading-zeros",
        ),
        pytest.param(
            file_of(row(**INBOUND, callingPartyNumber="", finalCalledPartyNumber="+13125550102")),
            id="inbound-without-caller",
        ),
        pytest.param(
            file_of(row(origDeviceName="SIP_BT_IN", lastRedirectDn="+13125550102")),
            id="trunk-to-trunk-forward",
        ),
        pytest.param(
            file_of(
                row(origDeviceName="sip_bt_in", destDeviceName="Sip-Out", lastRedirectDn="911")
            ),
            id="trunk-names-any-case",
        ),
        pytest.param(file_of(row(destDeviceName="")), id="never-reached-a-device"),
        pytest.param(
            file_of(
                row(finalCalledPartyNumber="911"),
                row(finalCalledPartyNumber="3125550199"),
                row(finalCalledPartyNumber="011447700900123"),
                row(finalCalledPartyNumber="+1 312 555 0199"),
                row(callingPartyNumber="13125550101", finalCalledPartyNumber="+33612345678"),
            ),
            id="numbers-normalise-per-distinct",
        ),
        pytest.param(
            file_of(
                row(origCause_value="0", destCause_value="1174405137"),
                row(origCause_value="0", destCause_value="999"),
                row(origCause_value="-5", destCause_value="17"),
                row(origCause_value="-0", destCause_value="0"),
                row(origCause_value="0", destCause_value="0"),
                row(origCause_value="0000000016", destCause_value="0"),
            ),
            id="release-causes",
        ),
        pytest.param(file_of(row(comment="café, naïve ☎")), id="utf8-and-commas-in-a-field"),
        pytest.param(file_of(row(comment="x" * 131_072)), id="field-at-the-csv-limit"),
        pytest.param(
            file_of(
                row(
                    dateTimeOrigination=str(LAST_EPOCH - 10),
                    dateTimeConnect=str(LAST_EPOCH - 5),
                    dateTimeDisconnect=str(LAST_EPOCH),
                    duration="5",
                )
            ),
            id="last-second-python-reads",
        ),
    ],
)
def test_clean_variants_are_read_as_the_row_parser_reads_them(data: bytes) -> None:
    assert check(data) is None


def test_a_file_of_many_chunks_with_blank_lines_is_read_whole() -> None:
    # Over 64 KiB a file is scanned in parallel chunks; blank lines leave gaps to close.
    rows = [
        row(globalCallID_callId=str(5000 + n), comment="é" if n % 7 == 0 else "")
        for n in range(1500)
    ]
    body = b"".join(r + (b"\n\n" if n % 97 == 0 else b"\r\n") for n, r in enumerate(rows))
    data = file_of() + body
    assert len(data) > 8 * 65_536
    assert check(data) is None
    batch = parse_file_columnar(data, CONTEXT)
    assert batch is not None and batch.records.num_rows == 1500


def test_the_first_line_outside_the_fast_path_is_named() -> None:
    rows = [row(globalCallID_callId=str(5000 + n)) for n in range(1500)]
    rows[700] = row(duration="x")
    rows[1400] = row(comment='a""b')
    reason = check(file_of(*rows))
    assert reason is not None and reason.startswith("line 703: integer")


# --- files it declines ----------------------------------------------------------------


def _without_duration() -> bytes:
    keep = [n for n, name in enumerate(NAMES) if name != "duration"]
    fields = fields_of()
    return file_of(
        encode([fields[n] for n in keep], [TYPES[n] for n in keep]),
        names=[NAMES[n] for n in keep],
        types=[TYPES[n] for n in keep],
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(DATA, id="cmr-and-cut-off-rows"),
        pytest.param(b"", id="empty"),
        pytest.param(file_of(), id="header-only"),
        pytest.param(LINES[0] + b"\n", id="no-type-line"),
        pytest.param(LINES[2] + b"\n" + LINES[1] + b"\n" + LINES[3] + b"\n", id="no-name-line"),
        pytest.param(_without_duration(), id="required-column-missing"),
        pytest.param(file_of(row(duration="-5")), id="negative-duration"),
        pytest.param(file_of(row(duration="122")), id="duration-off-by-two"),
        pytest.param(file_of(row(dateTimeConnect="0")), id="duration-without-connect"),
        pytest.param(file_of(row(dateTimeOrigination="2024-07-01")), id="time-not-epoch"),
        pytest.param(file_of(row(dateTimeOrigination="0")), id="origination-zero"),
        pytest.param(file_of(row(dateTimeConnect="1719845999")), id="times-out-of-order"),
        pytest.param(
            file_of(row(dateTimeDisconnect=str(LAST_EPOCH + 1), dateTimeConnect="0")),
            id="after-year-9999",
        ),
        pytest.param(file_of(row(dateTimeDisconnect="")), id="empty-time"),
        pytest.param(file_of(row(origDeviceName="")), id="empty-orig-device"),
        pytest.param(file_of(row(cdrRecordType="")), id="empty-record-type"),
        pytest.param(file_of(row(cdrRecordType="2")), id="cmr"),
        pytest.param(file_of(row(cdrRecordType="01")), id="record-type-01"),
        pytest.param(file_of(row(finalCalledPartyNumber="")), id="empty-called-number"),
        pytest.param(file_of(row(callingPartyNumber="1001")), id="extension-number"),
        pytest.param(file_of(row(finalCalledPartyNumber="0125550123")), id="nanp-area-code-0"),
        pytest.param(file_of(row(callingPartyNumber="client1")), id="sip-user-name"),
        pytest.param(file_of(row(origDeviceName="SIP_BT_IN")), id="transit-without-forwarder"),
        pytest.param(file_of(row(globalCallID_callId="x1")), id="id-not-integer"),
        pytest.param(file_of(row(globalCallID_callId="12345678901")), id="id-11-digits"),
        pytest.param(file_of(row(origCause_value="sixteen")), id="cause-not-integer"),
        pytest.param(file_of(row() + b',"extra"'), id="extra-column"),
        pytest.param(file_of(row().rsplit(b",", 1)[0]), id="missing-column"),
        pytest.param(file_of(row() + b'x"'), id="unclosed-quote"),
        pytest.param(file_of(row(comment="café").replace("é".encode(), b"\xe9")), id="not-utf8"),
        # Outside the fast path, though the row parser reads them.
        pytest.param(file_of(row(comment='say ""hi""')), id="doubled-quotes"),
        pytest.param(file_of(row(callingPartyNumber=" +13125550101")), id="edge-space"),
        pytest.param(file_of(row(origDeviceName="SEP\u00e9")), id="non-ascii-device"),
        pytest.param(file_of(row(comment="a\rb")), id="cr-inside"),
        pytest.param(file_of(row(comment="a\x00b")), id="nul-inside"),
        pytest.param(file_of(row(), b"  "), id="whitespace-line"),
        pytest.param(file_of(row(comment="x" * 131_073)), id="field-over-the-csv-limit"),
    ],
)
def test_files_outside_the_fast_path_are_declined(data: bytes) -> None:
    assert check(data) is not None


# --- real samples and generated files -------------------------------------------------


def test_public_samples_give_the_row_parsers_answer_or_none() -> None:
    folder = SAMPLES / "cisco_cucm"
    if not folder.is_dir():
        pytest.skip("../shared/samples/cisco_cucm not available")
    paths = sorted(path for path in folder.rglob("*") if path.is_file())
    assert paths
    for path in paths:
        check(path.read_bytes())


@pytest.fixture(scope="module")
def generated_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=7, subscribers=160, days=3)
    return sorted(p for p in (layout.landing / "cisco_cucm_cdr").rglob("*") if p.is_file())


def test_generated_files_are_read_not_declined(generated_files: list[Path]) -> None:
    assert generated_files
    rows = 0
    for path in generated_files:
        data = path.read_bytes()
        assert check(data) is None, path.name
        batch = parse_file_columnar(data, CONTEXT)
        assert batch is not None
        rows += batch.records.num_rows
    assert rows >= len(generated_files)


# --- properties -----------------------------------------------------------------------

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
PHONES = st.sampled_from(["SEP00AABBCC0101", "SEP00AABBCC0102", "CSFJSMITH", "sep0a1b"])
TRUNKS = st.sampled_from(["SIP_ATT_OUT", "SIP_BT_IN", "sip_carrier", "Sip-Gw.01", "SIP"])
NANP_NUMBERS = st.from_regex(r"\A\+1[2-9][0-9]{2}[2-9][0-9]{6}\Z")
NUMBERS = st.one_of(
    NANP_NUMBERS,
    st.from_regex(r"\A[2-9][0-9]{2}[2-9][0-9]{6}\Z"),
    st.sampled_from(
        ["911", "611", "22222", "+447700900123", "011447700900123", "+4915123456789",
         "13125550101", "+1 312 555 0101", "312-555-0101"]
    ),
)  # fmt: skip
COMMENTS = st.text(st.characters(exclude_characters='"\r\n\x00', exclude_categories=["Cs"]))


@st.composite
def cdr_rows(draw: st.DrawFn) -> bytes:
    """One CDR row the row parser accepts, in any shape the fast path reads."""
    from_trunk = draw(st.booleans())
    destination = draw(st.sampled_from(["phone", "trunk", "none"]))
    inbound = from_trunk and destination != "trunk"
    origination = draw(st.integers(1, LAST_EPOCH - 200_000))
    ringing, talk = draw(st.integers(0, 3_600)), draw(st.integers(0, 100_000))
    answered = draw(st.booleans())
    connect = origination + ringing if answered else 0
    disconnect = connect + talk if answered else origination + ringing
    connected = disconnect - connect if answered else 0
    causes = st.sampled_from(sorted(CAUSE_NAMES)) | st.integers(-(10**9), 10**9)
    ids = st.integers(0, 9_999_999_999).map(str) | st.integers(0, 99_999).map("{:010d}".format)
    fields = fields_of(
        globalCallID_callManagerId=draw(ids),
        globalCallID_callId=draw(ids),
        origLegCallIdentifier=draw(ids),
        destLegIdentifier=draw(ids),
        dateTimeOrigination=str(origination),
        dateTimeConnect=str(connect),
        dateTimeDisconnect=str(disconnect),
        duration=str(max(0, connected + draw(st.sampled_from([-1, 0, 1])))),
        origCause_value=str(draw(st.just(0) | causes)),
        destCause_value=str(draw(st.just(0) | causes)),
        origDeviceName=draw(TRUNKS if from_trunk else PHONES),
        destDeviceName=draw({"phone": PHONES, "trunk": TRUNKS, "none": st.just("")}[destination]),
        callingPartyNumber=draw(st.just("") | NUMBERS) if inbound else draw(NUMBERS),
        finalCalledPartyNumber=draw(NUMBERS),
        lastRedirectDn=draw(NUMBERS if from_trunk and destination == "trunk" else st.just("")),
        comment=draw(COMMENTS),
    )
    return encode(fields, quote_integers=draw(st.booleans()))


@SETTINGS
@given(
    st.lists(cdr_rows(), min_size=1, max_size=6),
    st.sampled_from([b"\n", b"\r\n", b"\n\n"]),
    st.booleans(),
)
def test_valid_rows_are_read_as_the_row_parser_reads_them(
    rows: list[bytes], ending: bytes, final_newline: bool
) -> None:
    body = ending.join(rows) + (ending if final_newline else b"")
    assert check(file_of() + body) is None


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A clean file with a few bytes replaced, inserted or deleted, or cut short."""
    data = bytearray(file_of(*draw(st.lists(cdr_rows(), min_size=1, max_size=3))))
    body = len(file_of())
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(body, len(data) - 1))
        edit = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(b'",\r\n\x00 -+0159aA\xe9\xc3') | st.integers(0, 255))
        if edit == "replace":
            data[position] = byte
        elif edit == "insert":
            data.insert(position, byte)
        else:
            del data[position]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@SETTINGS
@given(st.one_of(mutated_files(), st.binary(max_size=400)))
def test_mutated_files_give_the_row_parsers_answer_or_none(data: bytes) -> None:
    check(data)


TRICKY_UTF8 = [
    b"\xc2\xa0", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",  # valid
    b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x8f\xbf\xbf",  # overlong
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",  # surrogate, > U+10FFFF
    b"\xc2", b"\xe2\x82", b"\x80", b"\xbf\xbf",  # cut short, stray continuation bytes
]  # fmt: skip


@SETTINGS
@given(
    st.lists(
        st.sampled_from(TRICKY_UTF8)
        | st.binary(max_size=4)
        | st.text(max_size=3).map(lambda text: text.encode("utf-8", "surrogatepass")),
        max_size=4,
    ).map(b"".join)
)
def test_rows_are_read_exactly_when_python_decodes_them(comment: bytes) -> None:
    comment = bytes(byte for byte in comment if byte not in b'"\r\n\x00')
    data = file_of(row(comment="COMMENT").replace(b"COMMENT", comment))
    try:
        comment.decode("utf-8")
    except UnicodeDecodeError:
        assert check(data) is not None
    else:
        assert check(data) is None


@settings(max_examples=300, deadline=None)
@given(NANP_NUMBERS | st.text("+0123456789 -", max_size=14))
def test_nanp_rule_is_normalise_numbers_answer(number: str) -> None:
    # The fast path normalises +1NXXNXXXXXX without phonenumbers: the digits after '+'.
    if NANP_E164.fullmatch(number):
        assert normalise_number(number) == number[1:]


def test_nanp_rule_holds_for_every_area_code_and_exchange() -> None:
    numbers = [f"+1{npa}5550123" for npa in range(200, 1000)]
    numbers += [f"+1212{nxx}0123" for nxx in range(200, 1000)]
    assert all(NANP_E164.fullmatch(number) for number in numbers)
    assert all(normalise_number(number) == number[1:] for number in numbers)
