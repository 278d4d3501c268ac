"""The BER fast path (kernels.ber_nb via ts32298_ber_fast) against the library parser.

The reference implementation is the library parser itself (pycrate, via
pipelines.mediation.ts32298_ber.parse_file): on every input here the fast row parser must
yield the same items (record numbers, values, reject reasons, details, raw text) and the
columnar parser must return the same ParsedBatch as ``parsed_batch`` of those items, or
decline where that batch does not exist. Inputs: files of generated MobileCdr values of
every record type and option, hand-made BER variants the kernel must leave to the library,
the library tests' file- and record-level rejects, byte mutations, truncations, random
bytes, and the public sample files when ../shared/samples holds any.
"""

from __future__ import annotations

import contextlib
import itertools
import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mobile_cdrs import T0, mobile_cdr
from pycrate_asn1dir import CDR

from kernels.ber_api import (
    DecodedCdrs,
    TextSlot,
    decode_cdr_arrays,
    decode_cdrs,
    frame_cdrs,
    gather_texts,
)
from pipelines.formats import ts32298
from pipelines.formats.cdr_events import MobileCdr
from pipelines.formats.ts32297 import TruncatedCdrError, decode_file_header, iter_cdrs
from pipelines.mediation import ts32298_ber, ts32298_ber_fast
from pipelines.mediation.records import (
    PARSED_SCHEMA,
    FileContext,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)
from pipelines.schema import RejectReason

CONTEXT = FileContext("MSC1_2025030111_000007.ber", "MSC1", "America/Chicago", 7)
MSC = "13125550000"
SMSC = "13125550001"
SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


def digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=min_size, max_size=max_size)


@st.composite
def mobile_cdrs(draw: st.DrawFn) -> MobileCdr:
    """Any MobileCdr the TS 32.298 writer accepts: every record type, optional fields
    present or absent, short codes, partial records, unanswered calls."""
    record_type = draw(st.sampled_from(["voice_mo", "voice_mt", "sms_mo", "sms_mt", "data"]))
    started = draw(
        st.datetimes(datetime(2001, 1, 2), datetime(2098, 12, 30), timezones=st.just(UTC))
    ).replace(microsecond=0)
    length = timedelta(seconds=draw(st.integers(0, 86_400)))
    answered = None
    if record_type.startswith("voice") and draw(st.booleans()):
        answered = started + timedelta(seconds=draw(st.integers(0, length.seconds)))
    if record_type.startswith("voice"):
        cause = draw(st.sampled_from(sorted(ts32298.CAUSE_FOR_TERM_NAMES.values())))
    elif record_type == "data":
        cause = draw(st.sampled_from(sorted(ts32298.CAUSE_FOR_REC_CLOSING_NAMES.values())))
    else:
        cause = "normalRelease"
    voice = record_type.startswith("voice")
    trunk = st.none() | st.text(string.ascii_letters + string.digits + " -_.#", max_size=20)
    sequence = st.none() | st.integers(0, 2**31 - 1)
    mcc, mnc = draw(digits(3, 3)), draw(digits(2, 3))
    cell = f"{mcc}-{mnc}-{draw(st.integers(0, 0xFFFF))}-{draw(st.integers(0, 0xFFFF))}"
    data = record_type == "data"
    return MobileCdr(
        record_type=record_type,  # type: ignore[arg-type]
        served_imsi=draw(digits(6, 16)),
        served_msisdn=draw(digits(1, 16)),
        served_imei=draw(digits(15, 16)),
        other_party_number=None if data else draw(digits(1, 20 if voice else 15)),
        started_at=started,
        answered_at=answered,
        ended_at=started + length if voice or data else started,
        release_cause=cause,
        cell_id=cell,
        call_reference=draw(st.integers(0, 2**64 - 1)),
        outgoing_trunk_group=draw(trunk) if voice else None,
        incoming_trunk_group=draw(trunk) if voice else None,
        record_sequence_number=draw(sequence) if voice or data else None,
        uplink_bytes=draw(st.integers(0, 2**40)) if data else 0,
        downlink_bytes=draw(st.integers(0, 2**40)) if data else 0,
        apn=draw(st.text(string.ascii_lowercase + ".", min_size=1, max_size=63)) if data else None,
        charging_id=draw(st.integers(0, 2**32 - 1)) if data else None,
    )


OFFSETS = st.integers(-14 * 60, 14 * 60)
NODES = st.sampled_from(["10.1.2.3", "192.0.2.200", "2001:db8::1", "::ffff:10.0.0.1"])


def file_of(
    items: Sequence[MobileCdr | bytes], offset: int = -360, node: str = "10.1.2.3"
) -> bytes:
    return ts32298.encode_cdr_file(
        items,
        node_address=node,
        file_sequence_number=7,
        opened_at=T0,
        closed_at=T0 + timedelta(hours=1),
        utc_offset_minutes=offset,
        recording_entity=MSC,
        service_centre=SMSC,
    )


def encode(cdr: MobileCdr, offset: int = -360, node: str = "10.1.2.3") -> bytes:
    return ts32298.encode_call_event_record(
        cdr,
        recording_entity=MSC,
        service_centre=SMSC,
        node_address=node,
        utc_offset_minutes=offset,
    )


def _run(parse: Any, data: bytes) -> tuple[list[Any], type[BaseException] | None]:
    items: list[Any] = []
    try:
        for item in parse(data, CONTEXT):
            items.append(item)
    except Exception as error:  # a parser that raises fails the comparison
        return items, type(error)
    return items, None


def assert_same(data: bytes) -> None:
    """Both row parsers yield equal items, in order (dataclass equality: every field), and
    raise the same exception type after them if the library parser raises; the columnar
    parser gives the batch of the library's items (see assert_same_batch)."""
    library, library_error = _run(ts32298_ber.parse_file, data)
    assert_same_batch(data, None if library_error else library)
    fast, fast_error = _run(ts32298_ber_fast.parse_file, data)
    assert fast == library
    assert fast_error is library_error
    for mine, theirs in zip(fast, library, strict=True):
        if isinstance(theirs, ParsedRecord):
            assert isinstance(mine, ParsedRecord)
            # Equal datetimes may differ in tzinfo; the library's are datetime.UTC.
            for key, value in theirs.values.items():
                assert type(mine.values[key]) is type(value), key
                if isinstance(value, datetime):
                    assert mine.values[key].tzinfo is value.tzinfo, key
            assert list(mine.values) == list(theirs.values)


def assert_same_batch(data: bytes, library: list[Any] | None) -> None:
    """parse_file_columnar equals parsed_batch of the library parser's items, or declines
    (None) exactly where that batch does not exist: the library parser raised (``library``
    None) or a value it read does not fit its column."""
    expected = None
    if library is not None:
        with contextlib.suppress(OverflowError, pa.ArrowInvalid):
            expected = parsed_batch(library)
    batch = ts32298_ber_fast.parse_file_columnar(data, CONTEXT)
    if expected is None:
        assert batch is None
        return
    assert batch is not None
    assert batch.records.schema == PARSED_SCHEMA
    assert batch.records.equals(expected.records)
    assert batch.rejects == expected.rejects


def fallbacks(data: bytes) -> int:
    """How many CDRs of a file the kernel leaves to the library."""
    frames = frame_cdrs(data, decode_file_header(data).header_length)
    values = decode_cdrs(data, frames.payload_start, frames.payload_length, frames.data_format)
    return sum(value is None for value in values)


@settings(SETTINGS, max_examples=300)
@given(st.lists(mobile_cdrs(), min_size=1, max_size=12), OFFSETS, NODES)
def test_generated_files_parse_the_same(cdrs: list[MobileCdr], offset: int, node: str) -> None:
    data = file_of(list(cdrs), offset, node)
    assert_same(data)


@settings(SETTINGS, max_examples=20)
@given(st.lists(mobile_cdrs(), min_size=100, max_size=100), OFFSETS, NODES)
def test_fast_path_decodes_well_formed_records_itself(
    cdrs: list[MobileCdr], offset: int, node: str
) -> None:
    # The issue asks for >= 99% without fallback; records of our own writer should all be.
    data = file_of(list(cdrs), offset, node)
    assert fallbacks(data) <= 1
    assert_same(data)


def base_cdr(record_type: str, **overrides: object) -> MobileCdr:
    """The shared typical record, with a trunk group on calls and a record sequence number
    on calls and data (the kernel reads both)."""
    voice = record_type.startswith("voice")
    extra: dict[str, object] = {
        "outgoing_trunk_group": "TG-1" if voice else None,
        "record_sequence_number": None if record_type.startswith("sms") else 2,
    }
    return mobile_cdr(record_type, **{**extra, **overrides})


KINDS = ["voice_mo", "voice_mt", "sms_mo", "sms_mt", "data"]
VALID = file_of([base_cdr(kind) for kind in KINDS] * 2)


# --- BER variants: (outer tag octets, [tag octets, content]) edited, then re-encoded -----


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return b"\x81" + bytes([n])
    return b"\x82" + n.to_bytes(2, "big")


def _read(data: bytes, pos: int) -> tuple[bytes, bytes, int]:
    start = pos
    pos += 2 if data[pos] & 0x1F == 0x1F else 1
    tag = data[start:pos]
    n = data[pos]
    pos += 1
    if n & 0x80:
        size = n & 0x7F
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    return tag, data[pos : pos + n], pos + n


def split(record: bytes) -> tuple[bytes, list[list[bytes]]]:
    outer, body, _ = _read(record, 0)
    fields, pos = [], 0
    while pos < len(body):
        tag, content, pos = _read(body, pos)
        fields.append([tag, content])
    return outer, fields


def join(outer: bytes, fields: list[list[bytes]]) -> bytes:
    return _tlv(outer, b"".join(_tlv(tag, content) for tag, content in fields))


Change = Callable[[list[list[bytes]]], object]


def edit(record_type: str, change: Change, **overrides: object) -> bytes:
    outer, fields = split(encode(base_cdr(record_type, **overrides)))
    change(fields)
    return join(outer, fields)


def _set(tag: bytes, content: bytes) -> Change:
    """Replace the field with tag octets ``tag``, or insert it in tag order."""

    def change(fields: list[list[bytes]]) -> None:
        for field in fields:
            if field[0] == tag:
                field[1] = content
                return
        fields.append([tag, content])
        fields.sort(key=lambda f: f[0][-1] if len(f[0]) == 2 else f[0][0] & 0x1F)

    return change


def _drop(tag: bytes) -> Change:
    def change(fields: list[list[bytes]]) -> None:
        fields[:] = [field for field in fields if field[0] != tag]

    return change


def _swap(fields: list[list[bytes]]) -> None:
    fields[1], fields[2] = fields[2], fields[1]


def _duplicate(fields: list[list[bytes]]) -> None:
    fields.insert(2, list(fields[1]))


def _timestamp(text: str, sign: bytes = b"-", offset: str = "0600") -> bytes:
    return bytes.fromhex(text) + sign + bytes.fromhex(offset)


def _tlv(tag: bytes, content: bytes) -> bytes:
    return tag + _length(len(content)) + content


def _container(*parts: bytes) -> bytes:
    return _tlv(b"\x30", b"".join(parts))


CHANGE_TIME = _timestamp("250301101500")
CLOSURE = _tlv(b"\x85", b"\x02") + _tlv(b"\x86", CHANGE_TIME)  # recordClosure, changeTime


VARIANTS = {
    "fields swapped": edit("voice_mo", _swap),
    "field twice": edit("voice_mt", _duplicate),
    "no recordType": edit("voice_mo", _drop(b"\x80")),
    "no servedMSISDN": edit("sms_mo", _drop(b"\x83")),
    "no calledNumber": edit("voice_mo", _drop(b"\x85")),
    "no callingNumber (MT)": edit("voice_mt", _drop(b"\x84")),
    "no seizure, answered": edit("voice_mo", _drop(b"\x96")),
    "no seizure, unanswered": edit("voice_mo", _drop(b"\x96"), answered_at=None),
    "no release, answered": edit("voice_mt", _drop(b"\x95")),
    "no release, unanswered": edit("voice_mt", _drop(b"\x95"), answered_at=None),
    "no msClassmark": edit("sms_mt", _drop(b"\x85")),
    "no CAMEL info": edit("sms_mo", _drop(b"\xad")),
    "no location": edit("sms_mt", _drop(b"\xa7")),
    "no servingNodeType": edit("data", _drop(b"\xbf\x23")),
    "no traffic volumes": edit("data", _drop(b"\xac")),
    "no ULI": edit("data", _drop(b"\x9f\x20")),
    "no sequence number": edit("data", _drop(b"\x91")),
    "callDuration non-minimal": edit("voice_mo", _set(b"\x99", b"\x00\x00\x78")),
    "callDuration empty": edit("voice_mo", _set(b"\x99", b"")),
    "callDuration 9 octets": edit("voice_mo", _set(b"\x99", b"\x00" * 8 + b"\x01")),
    "callDuration negative": edit("voice_mo", _set(b"\x99", b"\xff\x00")),
    "callDuration huge, released": edit("voice_mo", _set(b"\x99", b"\x7f" + b"\xff" * 7)),
    "callDuration beyond int64": edit("voice_mo", _set(b"\x99", b"\x7f" + b"\xff" * 8)),
    "callDuration huge, no release": edit(
        "voice_mo", lambda f: (_set(b"\x99", b"\x7f" + b"\xff" * 7)(f), _drop(b"\x98")(f))
    ),
    "duration huge": edit("data", _set(b"\x8e", b"\x7f\xff\xff\xff\xff")),
    "chargingID negative": edit("data", _set(b"\x85", b"\xff")),
    "chargingID 2**32": edit("data", _set(b"\x85", b"\x01\x00\x00\x00\x00")),
    "rATType 256": edit("data", _set(b"\x9e", b"\x01\x00")),
    "unnamed cause": edit("voice_mt", _set(b"\x9b", b"\x7f")),
    "unnamed closing cause": edit("data", _set(b"\x8f", b"\x63")),
    "closing cause volumeLimit": edit("data", _set(b"\x8f", b"\x10")),
    "recordSequenceNumber 2**31 - 1": edit("data", _set(b"\x91", b"\x7f\xff\xff\xff")),
    "recordSequenceNumber 2**31": edit("data", _set(b"\x91", b"\x00\x80\x00\x00\x00")),
    "recordSequenceNumber negative": edit("data", _set(b"\x91", b"\xff")),
    # MSC call partials: sequenceNumber is MO [33], MT [30]; causeForTerm MO [30], MT [27].
    "call sequenceNumber 2**31 - 1": edit("voice_mo", _set(b"\x9f\x21", b"\x7f\xff\xff\xff")),
    "call sequenceNumber 2**31": edit("voice_mo", _set(b"\x9f\x21", b"\x00\x80\x00\x00\x00")),
    "call sequenceNumber negative": edit("voice_mt", _set(b"\x9e", b"\xff")),
    "call without sequenceNumber": edit("voice_mo", _drop(b"\x9f\x21")),
    "call partialRecord": edit("voice_mt", _set(b"\x9b", b"\x01")),
    "call partialRecordCallReestablishment": edit("voice_mo", _set(b"\x9e", b"\x02")),
    "later call partial, no answer": edit(
        "voice_mo", _set(b"\x9e", b"\x01"), answered_at=None, record_sequence_number=3
    ),
    "first call partial, no answer": edit(
        "voice_mt", _drop(b"\x94"), answered_at=None, record_sequence_number=1
    ),
    "later call partial, no answer, no release": edit(
        "voice_mt", _drop(b"\x95"), answered_at=None, record_sequence_number=2
    ),
    "recordType odd": edit("sms_mt", _set(b"\x80", b"\x63")),
    "IMSI 9 octets": edit("voice_mo", _set(b"\x81", b"\x11" * 9)),
    "IMSI letters": edit("voice_mo", _set(b"\x81", b"\x1a\x11\x11")),
    "IMSI filler inside": edit("voice_mo", _set(b"\x81", b"\x1f\x11\x11")),
    "IMSI only filler": edit("voice_mo", _set(b"\x81", b"\xff\xff\xff")),
    "IMEI 7 octets": edit("sms_mo", _set(b"\x82", b"\x11" * 7)),
    "MSISDN 10 octets": edit("voice_mo", _set(b"\x83", b"\x91" + b"\x11" * 9)),
    "MSISDN no digits": edit("voice_mo", _set(b"\x83", b"\x91")),
    "MSISDN ext 0": edit("voice_mo", _set(b"\x83", b"\x11\x21\x43")),
    "MSISDN plan 5": edit("voice_mo", _set(b"\x83", b"\x95\x21\x43")),
    "MSISDN national": edit("voice_mo", _set(b"\x83", b"\xa1\x21\x43")),
    "MT MSISDN long": edit("voice_mt", _set(b"\x83", b"\x91" + b"\x21" * 12)),
    "called letters": edit("voice_mo", _set(b"\x85", b"\x91\x21\xc3")),
    "entity 21 octets": edit("sms_mt", _set(b"\x86", b"\x91" + b"\x21" * 20)),
    "timestamp month 13": edit("voice_mo", _set(b"\x96", _timestamp("251301101500"))),
    "timestamp 29 Feb 2025": edit("voice_mo", _set(b"\x96", _timestamp("250229101500"))),
    "timestamp 29 Feb 2024": edit("voice_mo", _set(b"\x96", _timestamp("240229101500"))),
    "timestamp second 60": edit("voice_mt", _set(b"\x94", _timestamp("250301101560"))),
    "timestamp hour 24": edit("sms_mo", _set(b"\x89", _timestamp("250301241500"))),
    "timestamp offset 99:99": edit(
        "sms_mt", _set(b"\x88", _timestamp("250301101500", b"+", "9999"))
    ),
    "timestamp offset letters": edit(
        "data", _set(b"\x8d", _timestamp("250301101500", b"+", "0a00"))
    ),
    "timestamp sign": edit("data", _set(b"\x8d", _timestamp("250301101500", b"*"))),
    "timestamp 8 octets": edit("voice_mo", _set(b"\x97", b"\x25\x03\x01\x10\x15\x00-\x06")),
    "trunk number": edit("voice_mo", _set(b"\xab", b"\x80\x01\x05")),
    "trunk empty": edit("voice_mo", _set(b"\xab", b"\x81\x00")),
    "trunk control octet": edit("voice_mo", _set(b"\xab", b"\x81\x02\x41\x1b")),
    "trunk high octet": edit("voice_mt", _set(b"\xa8", b"\x81\x02\x41\xe9")),
    "location without PLMN": edit("voice_mo", _set(b"\xac", bytes.fromhex("800204d28102162e"))),
    "location 2-digit MNC": edit(
        "voice_mt", _set(b"\xa9", bytes.fromhex("800204d28102162e820313f062"))
    ),
    "location bad PLMN": edit("sms_mo", _set(b"\xa7", bytes.fromhex("800204d28102162e82031300f2"))),
    "location LAC 3 octets": edit("sms_mt", _set(b"\xa7", bytes.fromhex("80030004d28102162e"))),
    "location extra field": edit(
        "voice_mo", _set(b"\xac", bytes.fromhex("800204d28102162e820313006283010a"))
    ),
    "ULI 2-digit MNC": edit("data", _set(b"\x9f\x20", bytes.fromhex("0113f06204d2162e"))),
    "ULI with TAI": edit("data", _set(b"\x9f\x20", bytes.fromhex("0913006204d2162e1300620001"))),
    "ULI trailing octet": edit("data", _set(b"\x9f\x20", bytes.fromhex("0113006204d2162e00"))),
    "SMS address odd digits": edit("sms_mo", _set(b"\x8c", bytes.fromhex("03912143f0"))),
    "SMS address count mismatch": edit("sms_mo", _set(b"\x8c", bytes.fromhex("0391214300"))),
    "SMS address alphanumeric": edit("sms_mo", _set(b"\x8c", bytes.fromhex("04d12143"))),
    "SMS address no digits": edit("sms_mo", _set(b"\x8c", bytes.fromhex("0091"))),
    "smsResult present": edit("sms_mt", _set(b"\xa9", b"\x80\x01\x05")),
    "CAMEL without reference": edit("sms_mt", _set(b"\xac", bytes.fromhex("85039121f3"))),
    "CAMEL extra field": edit("sms_mo", _set(b"\xad", bytes.fromhex("810291218802a003"))),
    "gateway IPv6 with prefix": edit("data", _set(b"\xa4", bytes.fromhex("a40681040a010203"))),
    "gateway text": edit("data", _set(b"\xa4", b"\x82\x0810.1.2.3")),
    "gateway 5 octets": edit("data", _set(b"\xa4", b"\x80\x05\x0a\x01\x02\x03\x04")),
    "serving node list empty": edit("data", _set(b"\xa6", b"")),
    "serving node type unknown": edit("data", _set(b"\xbf\x23", b"\x0a\x01\x63")),
    "change condition unknown": edit(
        "data", _set(b"\xac", _container(_tlv(b"\x85", b"\x63"), _tlv(b"\x86", CHANGE_TIME)))
    ),
    "two volume containers": edit(
        "data",
        _set(
            b"\xac",
            _container(_tlv(b"\x83", b"\x05"), _tlv(b"\x84", b"\x06"), CLOSURE)
            + _container(_tlv(b"\x83", b"\x07"), _tlv(b"\x84", b"\x08"), CLOSURE),
        ),
    ),
    "volume container without time": edit(
        "data", _set(b"\xac", _container(_tlv(b"\x83", b"\x05"), _tlv(b"\x85", b"\x02")))
    ),
    "volume sums overflow": edit(
        "data", _set(b"\xac", _container(_tlv(b"\x83", b"\x7f" + b"\xff" * 7), CLOSURE) * 2)
    ),
    "APN 64 characters": edit("data", _set(b"\x87", b"a" * 64)),
    "APN high octet": edit("data", _set(b"\x87", b"\xe9")),
    "chargingCharacteristics 3 octets": edit("data", _set(b"\x97", b"\x08\x00\x00")),
    "basicService bearer": edit("voice_mo", _set(b"\xae", b"\x82\x01\x11")),
    "basicService 2 octets": edit("voice_mt", _set(b"\xab", b"\x83\x02\x11\x11")),
    "unknown field": edit("voice_mo", _set(b"\x9f\x5a", b"\x01")),
    "constructed OCTET STRING": edit("voice_mo", _set(b"\xbf\x20", b"\x04\x02\x03\xe8")),
}


def _long_lengths(record: bytes) -> bytes:
    outer, fields = split(record)
    body = b"".join(tag + b"\x81" + bytes([len(content)]) + content for tag, content in fields)
    return outer + b"\x81" + bytes([len(body)]) + body


def _indefinite(record: bytes) -> bytes:
    outer, fields = split(record)
    return outer + b"\x80" + b"".join(_tlv(tag, content) for tag, content in fields) + b"\0\0"


MO = encode(base_cdr("voice_mo"))
VARIANTS.update(
    {
        "non-minimal lengths": _long_lengths(MO),
        "indefinite length": _indefinite(MO),
        "octets after the record": MO + b"\x00",
        "record shorter than declared": MO[:-1],
        "empty CDR": b"",
        "unsupported alternative": bytes.fromhex("b9058001190000"),
        "universal tag": b"\x30\x03\x80\x01\x00",
        "primitive outer tag": b"\x80\x01\x00",
        "tag 127 outer": b"\xbf\x7f\x00",
    }
)


#: Variants whose duration takes the end time past year 9999: both parsers reject the
#: record (invalid_duration) rather than raise.
PAST_THE_CALENDAR = {"duration huge", "callDuration huge, no release"}
#: Variants whose values the library reads but that do not fit their column (int64): no
#: batch exists, so the columnar parser declines the file.
BEYOND_THE_COLUMNS = {"callDuration beyond int64", "volume sums overflow"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_ber_variants_parse_the_same(name: str) -> None:
    data = file_of([base_cdr("voice_mo"), VARIANTS[name], base_cdr("data")])
    assert_same(data)
    items, error = _run(ts32298_ber.parse_file, data)
    assert error is None
    if name in PAST_THE_CALENDAR:
        assert [item.reason for item in items if isinstance(item, RejectedRecord)] == [
            RejectReason.INVALID_DURATION
        ]
    declined = ts32298_ber_fast.parse_file_columnar(data, CONTEXT) is None
    assert declined == (name in BEYOND_THE_COLUMNS)


def test_variants_the_kernel_reads_match_the_library_values() -> None:
    # Variants the kernel decodes itself (not only through fallback): equality above then
    # exercises the kernel's reading of them, not just the library.
    read = [name for name, record in VARIANTS.items() if fallbacks(file_of([record])) == 0]
    for expected in (
        "no callingNumber (MT)",
        "no seizure, answered",
        "no release, answered",
        "location without PLMN",
        "location 2-digit MNC",
        "ULI 2-digit MNC",
        "two volume containers",
        "timestamp offset 99:99",
        "timestamp 29 Feb 2024",
        "unnamed cause",
        "callDuration non-minimal",
        "MSISDN national",
        "basicService bearer",
        "closing cause volumeLimit",
        "recordSequenceNumber 2**31 - 1",
        "call sequenceNumber 2**31 - 1",
        "call without sequenceNumber",
        "call partialRecord",
        "call partialRecordCallReestablishment",
        "later call partial, no answer",
        "first call partial, no answer",
    ):
        assert expected in read
    # Forms the kernel leaves to the library even though pycrate reads them.
    for unread in ("fields swapped", "field twice", "non-minimal lengths", "indefinite length"):
        assert unread not in read
    # The library rejects these: the kernel must not read them.
    for rejected in (
        "callDuration negative",
        "recordSequenceNumber 2**31",
        "recordSequenceNumber negative",
        "call sequenceNumber 2**31",
        "call sequenceNumber negative",
        "later call partial, no answer, no release",
    ):
        assert rejected not in read


def test_gateways_of_one_file_keep_their_own_text() -> None:
    # The columnar path formats each distinct p-GWAddress once: an IPv4 address and the
    # IPv4-mapped IPv6 one share their last 4 octets but not their text.
    nodes = ["10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "10.0.0.2", "10.0.0.1"]
    assert_same(file_of([encode(base_cdr("data"), node=node) for node in nodes]))


def test_non_ber_format_and_ipv6_gateway() -> None:
    data = bytearray(file_of([base_cdr("sms_mo"), base_cdr("data")], node="2001:db8::1"))
    data[54 + 3] = (2 << 5) | (data[54 + 3] & 0x1F)  # the first CDR claims unaligned PER
    assert_same(bytes(data))


def _lcs_record() -> bytes:
    choice = CDR.CSChargingDataTypes.CSRecord
    choice.set_val(
        (
            "niLCSRecord",
            {
                "recordType": 25,
                "recordingEntity": ts32298.encode_address_string(MSC),
                "eventTimeStamp": ts32298.encode_timestamp(T0, -360),
                "causeForTerm": 0,
            },
        )
    )
    return bytes(choice.to_ber())


def _claiming(data: bytes, cdr_count: int) -> bytes:
    changed = bytearray(data)
    changed[18:22] = cdr_count.to_bytes(4, "big")  # the header's CDR count
    return bytes(changed)


#: The file- and record-level rejects of tests/mediation/test_ts32298_ber.py.
LIBRARY_CASES = {
    "empty file": b"",
    "garbage header": b"this is not a CDR file at all, only text in a .ber file name" * 2,
    "header, no CDR": file_of([]),
    "corrupt record": file_of([base_cdr("voice_mo"), b"\xa0\x05\x80\x01", base_cdr("sms_mo")]),
    "truncated file": VALID[:-10],
    "unsupported alternative, missing field": file_of(
        [_lcs_record(), VARIANTS["no servedMSISDN"], base_cdr("data")]
    ),
    "header count disagrees": _claiming(file_of([base_cdr("voice_mo"), base_cdr("sms_mt")]), 5),
}


@pytest.mark.parametrize("name", sorted(LIBRARY_CASES))
def test_library_reject_cases_parse_the_same(name: str) -> None:
    assert_same(LIBRARY_CASES[name])


def test_columnar_chunks_merge_the_library_rows_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fallback rows and rejects in several chunks, a chunk of fallbacks only, a truncation.
    records = [
        VARIANTS[name] if isinstance(name, str) else base_cdr(KINDS[name])
        for name in [0, "fields swapped", 4, "no servedMSISDN", "field twice", 1, 2, 3, 4]
    ]
    data = file_of(records * 3)[:-7]
    monkeypatch.setattr(ts32298_ber_fast, "COLUMNAR_CHUNK", 4)
    assert_same(data)
    batch = ts32298_ber_fast.parse_file_columnar(data, CONTEXT)
    assert batch is not None and batch.records["record_number"].num_chunks > 1
    # Chunks bounded by payload octets, each CDR alone exceeding the bound.
    monkeypatch.setattr(ts32298_ber_fast, "COLUMNAR_CHUNK_OCTETS", 50)
    assert_same(data)


def _sample_files() -> list[Path]:
    folder = Path(__file__).resolve().parents[3] / "shared" / "samples" / "ts32298"
    return sorted(path for path in folder.glob("*") if path.is_file())


def test_public_sample_files_parse_the_same() -> None:
    samples = _sample_files()
    if not samples:
        pytest.skip("../shared/samples holds no TS 32.297 CDR file")
    for path in samples:
        assert_same(path.read_bytes())


# --- whole files: truncation, mutation, random bytes ------------------------------------


@pytest.mark.parametrize("cut", range(0, len(VALID) + 1, 7))
def test_truncated_files_parse_the_same(cut: int) -> None:
    assert_same(VALID[:cut])


def test_truncated_in_a_release_extension_parses_the_same() -> None:
    header = decode_file_header(VALID).header_length
    for cut in range(header, header + 6):
        assert_same(VALID[:cut])


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position % len(mutated)] = value
    return bytes(mutated)


@settings(SETTINGS, max_examples=1500)
@given(
    st.lists(st.tuples(st.integers(54, len(VALID) - 1), st.integers(0, 255)), max_size=4).map(
        lambda edits: _mutate(VALID, edits)
    )
)
def test_mutated_files_parse_the_same(data: bytes) -> None:
    assert_same(data)


@settings(SETTINGS, max_examples=300)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda tail: VALID[:54] + tail),
    )
)
def test_random_bytes_parse_the_same(data: bytes) -> None:
    assert_same(data)


@settings(SETTINGS, max_examples=200)
@given(st.data())
def test_gather_texts_matches_slicing(data: st.DataObject) -> None:
    slots = len(TextSlot)
    texts = st.lists(st.none() | st.binary(max_size=6), min_size=slots, max_size=slots)
    records = data.draw(st.lists(texts, max_size=12))
    n = len(records)
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=20)) if n else [])
    # Texts in a shuffled buffer, as the kernel leaves them: per record, not per slot.
    buffer = bytearray(data.draw(st.binary(max_size=4)))
    start, length = np.zeros((n, slots), np.int64), np.full((n, slots), -1, np.int64)
    for i, record in enumerate(records):
        for k, text in enumerate(record):
            if text is not None:
                start[i, k], length[i, k] = len(buffer), len(text)
                buffer += text + data.draw(st.binary(max_size=2))
    decoded = DecodedCdrs(
        *(np.zeros(0, np.uint8), np.zeros(n, np.int8), np.zeros(n, np.int8)),
        *(np.zeros(n, np.uint64), np.zeros((n, 6), np.int64), np.zeros(n, np.uint64)),
        *(np.zeros((n, 3), np.int64), np.frombuffer(bytes(buffer), np.uint8), start, length),
        *(np.zeros(n, np.int64), np.full(n, -1, np.int64)),
    )
    gathered = gather_texts(decoded, rows.astype(np.int64))
    for k, (offsets, column) in enumerate(gathered):
        assert offsets.dtype == np.int32 and offsets[0] == 0
        values = [bytes(column[a:b]) for a, b in itertools.pairwise(offsets.tolist())]
        assert values == [records[row][k] or b"" for row in rows.tolist()]


@settings(SETTINGS, max_examples=200)
@given(st.binary(max_size=300), st.integers(0, 300))
def test_framing_matches_iter_cdrs(body: bytes, start: int) -> None:
    data = bytes(body)
    start = min(start, len(data))
    frames = frame_cdrs(data, start)
    payloads, truncated = [], -1
    try:
        for cdr in iter_cdrs(data, start):
            payloads.append((cdr.payload, cdr.header.data_record_format))
    except TruncatedCdrError as error:
        truncated = error.offset
    assert frames.truncated_at == truncated
    assert [
        (data[s : s + n], f)
        for s, n, f in zip(
            frames.payload_start.tolist(),
            frames.payload_length.tolist(),
            frames.data_format.tolist(),
            strict=True,
        )
    ] == payloads


def test_decode_cdrs_validates_its_inputs() -> None:
    starts = np.array([0], np.int64)
    with pytest.raises(TypeError):
        decode_cdrs(b"\x00", starts.astype(np.int32), starts, np.array([1], np.int8))
    with pytest.raises(ValueError):
        decode_cdrs(b"\x00", starts, np.array([2], np.int64), np.array([1], np.int8))
    with pytest.raises(ValueError):
        frame_cdrs(b"\x00", 2)
    frames = frame_cdrs(VALID, decode_file_header(VALID).header_length)
    decoded = decode_cdr_arrays(
        VALID, frames.payload_start, frames.payload_length, frames.data_format
    )
    with pytest.raises(TypeError):
        gather_texts(decoded, np.array([0], np.int32))
    with pytest.raises(ValueError):
        gather_texts(decoded, np.array([frames.payload_start.size], np.int64))
