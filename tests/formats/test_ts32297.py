"""TS 32.297 file framing: hand-computed octets, round trips, and refusal of bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.formats.ts32297 import (
    CdrHeader,
    FileClosureReason,
    FileHeader,
    HeaderTimestamp,
    TruncatedCdrError,
    Ts32297Error,
    TsNumber,
    decode_file_header,
    encode_cdr_header,
    encode_file,
    iter_cdrs,
)

# 2025-03-01 16:15 UTC is 10:15 at -06:00 (Chicago, winter).
OPENED = HeaderTimestamp(month=3, day=1, hour=10, minute=15, utc_offset_minutes=-360)


def _header(**overrides: object) -> FileHeader:
    fields: dict[str, object] = {
        "high_release": 15,
        "high_version": 0,
        "low_release": 15,
        "low_version": 0,
        "opened": OPENED,
        "last_appended": HeaderTimestamp(3, 1, 11, 15, -360),
        "cdr_count": 2,
        "file_sequence_number": 42,
        "closure_reason": FileClosureReason.FILE_OPEN_TIME_LIMIT,
        "node_address": "10.1.2.3",
    }
    fields.update(overrides)
    return FileHeader(**fields)  # type: ignore[arg-type]


def test_header_timestamp_bits_by_hand() -> None:
    # month 0011 | day 00001 | hour 01010 | minute 001111 | sign 0 | 00110 | 000000
    assert OPENED.encode() == bytes.fromhex("30a8f180")
    assert HeaderTimestamp.decode(bytes.fromhex("30a8f180")) == OPENED
    at = datetime(2025, 3, 1, 16, 15, 59, tzinfo=UTC)
    assert HeaderTimestamp.from_datetime(at, -360) == OPENED
    # +05:30 at 21:45: minute 101101, sign 1, hours 00101, minutes 011110
    india = HeaderTimestamp(3, 1, 21, 45, 330)
    assert india.encode()[-2:] == bytes([0b1101_1_001, 0b01_011110])  # minute low bits first
    assert HeaderTimestamp.decode(india.encode()) == india


def test_cdr_header_octets_by_hand() -> None:
    # Release 15 = identifier 7 + extension 5; BER (1) and TS 32.250 (6) = 0x26.
    header = CdrHeader(release=15, version=0, ts_number=TsNumber.TS_32_250)
    assert encode_cdr_header(header, 100) == bytes.fromhex("0064e02605")
    rel9 = CdrHeader(release=9, version=3, ts_number=TsNumber.TS_32_251)
    assert encode_cdr_header(rel9, 0x1234) == bytes.fromhex("1234c327")


def test_file_layout_by_hand() -> None:
    cdr_header = CdrHeader(release=15, version=0, ts_number=TsNumber.TS_32_250)
    data = encode_file(_header(), [(cdr_header, b"\x30\x00"), (cdr_header, b"\x30\x01\x05")])
    # 52 fixed octets + 2 release extensions; two CDRs of 5 + 2 and 5 + 3 octets.
    assert len(data) == 54 + 7 + 8
    assert data[0:4] == (69).to_bytes(4, "big")
    assert data[4:8] == (54).to_bytes(4, "big")
    assert data[8:10] == b"\xe0\xe0"
    assert data[10:14] == bytes.fromhex("30a8f180")
    assert data[18:22] == (2).to_bytes(4, "big")
    assert data[22:26] == (42).to_bytes(4, "big")
    assert data[26] == 2
    assert data[27:47] == bytes(14) + b"\xff\xff" + bytes([10, 1, 2, 3])
    assert data[47:52] == bytes(5)  # no lost CDR, empty filter, empty private extension
    assert data[52:54] == b"\x05\x05"
    assert data[54:61] == bytes.fromhex("0002e02605") + b"\x30\x00"


def test_round_trip_with_variable_parts_and_ipv6() -> None:
    header = _header(
        routing_filter=b"voice",
        private_extension=b"\x01\x02\x03",
        node_address="2001:db8::7",
        lost_cdr_indicator=0x83,
        low_release=9,
        low_version=4,
    )
    cdr_header = CdrHeader(release=15, version=1, ts_number=TsNumber.TS_32_251)
    data = encode_file(header, [(cdr_header, b"abc")])
    frame = decode_file_header(data)
    assert frame.header == header
    assert frame.file_length == len(data)
    assert frame.header_length == 52 + 5 + 3 + 1
    cdrs = list(iter_cdrs(data, frame.header_length))
    assert [(c.header, c.payload) for c in cdrs] == [(cdr_header, b"abc")]


def test_truncated_cdr_reports_the_rest() -> None:
    cdr_header = CdrHeader(release=15, version=0, ts_number=TsNumber.TS_32_250)
    data = encode_file(_header(), [(cdr_header, b"one"), (cdr_header, b"second")])
    cut = data[:-2]
    frames = iter_cdrs(cut, 54)
    assert next(frames).payload == b"one"
    with pytest.raises(TruncatedCdrError) as caught:
        next(frames)
    assert caught.value.remaining == bytes.fromhex("0006e02605") + b"seco"
    assert caught.value.offset == 54 + 8


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 51,
        bytes(4) + (53).to_bytes(4, "big") + bytes(44),  # header longer than the data
        bytes(4) + (54).to_bytes(4, "big") + b"\xe0\xe0" + bytes(46),  # month 0
    ],
)
def test_bad_headers_raise_the_framing_error(data: bytes) -> None:
    with pytest.raises(Ts32297Error):
        decode_file_header(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_the_framing_error(data: bytes) -> None:
    try:
        frame = decode_file_header(data)
    except Ts32297Error:
        return
    try:
        for _ in iter_cdrs(data, frame.header_length):
            pass
    except TruncatedCdrError:
        pass
