from typing import Any

import pytest

from pipelines.mediation.records import ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import (
    RowError,
    parse_line_record,
    read_line_records,
    split_lines,
    whole_seconds,
)
from pipelines.schema import RejectReason


def keep_fields(fields: list[str]) -> dict[str, Any]:
    return {"fields": fields}


def read(data: bytes, **options: bool) -> list[ParsedRecord | RejectedRecord]:
    return list(read_line_records(data, keep_fields, **options))


def test_split_lines_drops_lf_and_crlf_endings() -> None:
    assert split_lines(b"a\r\nb\nc\r") == [b"a", b"b", b"c"]
    assert split_lines(b"a\n") == [b"a", b""]


def test_blank_lines_are_no_records_but_keep_their_line_numbers() -> None:
    # Line 1 a record (CRLF), 2 empty, 3 spaces only, 4 a record, 5 the empty tail.
    # ParsedRecord equality compares values too (they are only left out of its repr).
    assert read(b'a,b\r\n\n  \nc,"d e"\n') == [
        ParsedRecord(1, {"fields": ["a", "b"]}),
        ParsedRecord(4, {"fields": ["c", "d e"]}),
    ]


@pytest.mark.parametrize(("data", "detail"), [(b"", "0 bytes"), (b"\r\n \n", "4 bytes")])
def test_a_file_without_a_record_is_one_empty_file_reject(data: bytes, detail: str) -> None:
    assert read(data) == [
        RejectedRecord(0, RejectReason.EMPTY_FILE, f"{detail}, no CDR line", ""),
    ]


def test_an_unclosed_quote_spoils_only_its_own_line() -> None:
    assert read(b'a,"b\nc,d\n') == [
        RejectedRecord(1, RejectReason.MALFORMED_ROW, "CSV error: unexpected end of data", 'a,"b'),
        ParsedRecord(2, {"fields": ["c", "d"]}),
    ]


def test_invalid_utf8_is_rejected_with_the_bytes_escaped() -> None:
    assert read(b"a,\xffb\nc\n") == [
        RejectedRecord(
            1, RejectReason.INVALID_ENCODING, "byte 0xff at offset 2 is not UTF-8", "a,\\xffb"
        ),
        ParsedRecord(2, {"fields": ["c"]}),
    ]


def test_skipinitialspace_is_passed_to_the_csv_reader() -> None:
    assert read(b'"a", "b"') == [ParsedRecord(1, {"fields": ["a", ' "b"']})]
    assert read(b'"a", "b"', skipinitialspace=True) == [ParsedRecord(1, {"fields": ["a", "b"]})]


def test_a_row_error_becomes_a_reject_carrying_the_line() -> None:
    def refuse(fields: list[str]) -> dict[str, Any]:
        raise RowError(RejectReason.MISSING_FIELD, f"{len(fields)} fields, none useful")

    assert parse_line_record(7, b"x,\xc3\xa9", refuse) == RejectedRecord(
        7, RejectReason.MISSING_FIELD, "2 fields, none useful", "x,é"
    )


@pytest.mark.parametrize(("value", "seconds"), [("0", 0), ("60", 60), ("0065", 65)])
def test_whole_seconds_reads_digits(value: str, seconds: int) -> None:
    assert whole_seconds("billsec", value) == seconds


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("-5", "duration -5 is negative"),
        ("1.5", "duration '1.5' is not a whole number of seconds"),
        ("", "duration '' is not a whole number of seconds"),
        (" 5", "duration ' 5' is not a whole number of seconds"),
        ("1" + "0" * 18, "duration has 19 digits"),  # past int64 seconds
        ("9" * 5000, "duration has 5000 digits"),  # past what int() reads
    ],
)
def test_whole_seconds_rejects_anything_else_as_invalid_duration(value: str, detail: str) -> None:
    with pytest.raises(RowError) as raised:
        whole_seconds("duration", value)

    assert (raised.value.reason, raised.value.detail) == (RejectReason.INVALID_DURATION, detail)
