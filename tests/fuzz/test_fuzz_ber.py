"""Fuzzing TS 32.297 / TS 32.298 BER: the file parser (pycrate library vs the Numba fast path
and its columnar form), the file header and CDR framing (vs the kernel's framing), and
single records (pycrate vs asn1tools); and the inputs fuzzing found that broke them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pytest
from fuzz_inputs import ber_records, cdr_file
from fuzz_targets import CONTEXT, TARGETS, ci_test

from pipelines.formats import ts32298
from pipelines.formats.ber_structure import MAX_NESTING, ber_problem, nesting_depth
from pipelines.mediation import ts32298_ber, ts32298_ber_fast
from pipelines.mediation.records import RejectedRecord
from pipelines.schema import RejectReason

test_file_parsers_agree_on_any_input = ci_test("ts32298_ber", 200)
test_framing_agrees_with_the_kernel = ci_test("ts32297_framing", 500)
test_record_decoders_agree = ci_test("ts32298_record", 500)

T = TypeVar("T")
MO_CALL, PGW = ber_records()[0], ber_records()[4]


def nested(payload: bytes, levels: int) -> bytes:
    """``payload`` inside ``levels`` constructed [0] elements."""
    for _ in range(levels):
        size = len(payload)
        length = bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")
        payload = b"\xa0" + length + payload
    return payload


def at_stack_depth(frames: int, call: Callable[[], T]) -> T:
    """``call()`` made ``frames`` Python frames deeper than the caller."""
    return call() if frames == 0 else at_stack_depth(frames - 1, call)


def reasons(items: list) -> list[tuple[int, str, str]]:
    return [
        (i.record_number, getattr(i, "reason", "parsed"), getattr(i, "detail", "")) for i in items
    ]


@pytest.mark.parametrize("levels", [300, 1000])
def test_deep_nesting_is_refused_alike_from_any_stack_depth(levels: int) -> None:
    # Found by fuzzing: a CDR nested 1,000 levels deep made pycrate exhaust Python's
    # recursion limit, with a message that depended on the caller's stack depth, so the
    # fast path (calling from deeper) disagreed with the library; 300 levels decoded or not
    # depending on the caller.
    data = cdr_file([nested(MO_CALL, levels)])
    shallow = list(ts32298_ber.parse_file(data, CONTEXT))
    deep = at_stack_depth(600, lambda: list(ts32298_ber.parse_file(data, CONTEXT)))
    fast = list(ts32298_ber_fast.parse_file(data, CONTEXT))
    assert shallow == deep == fast
    assert reasons(shallow) == [
        (
            1,
            RejectReason.UNDECODABLE_RECORD,
            f"BER nested {levels + 2} levels deep, over {MAX_NESTING}",  # the call nests 2
        )
    ]


def test_nesting_within_the_limit_still_reaches_the_decoder() -> None:
    # 40 levels (a record nests 2-3): refused by pycrate for its structure, not by depth.
    (item,) = ts32298_ber.parse_file(cdr_file([nested(MO_CALL, 40)]), CONTEXT)
    assert isinstance(item, RejectedRecord) and "nested" not in item.detail


@pytest.mark.parametrize(
    ("data", "depth"),
    [
        (b"", 0),
        (b"\x04\x01\x30", 0),  # a primitive's content is not parsed
        (b"\x30\x00", 1),
        (b"\x30\x00\x30\x00", 1),  # siblings
        (b"\x30\x02\x30\x00", 2),
        (b"\x30\x81\x02\x30\x00", 2),  # long-form length
        (b"\x30\x80\x30\x80\x00\x00\x00\x00", 2),  # indefinite lengths
        (b"\x30\x80\x00\x00\x30\x00", 1),  # end-of-contents closes the first
        (b"\xbf\x81\x00\x02\x30\x00", 2),  # long-form tag number
        (b"\x30\x02\x30\x05\x00", 1),  # an element that does not fit ends the count
    ],
)
def test_nesting_depth_by_hand(data: bytes, depth: int) -> None:
    assert nesting_depth(data) == depth


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xa0\x06\x80\x01\x00\x81\x01\x00", None),
        (b"\xa0\x80\x80\x01\x00\x81\x01\x00\x00\x00", None),  # indefinite length
        (
            b"\xa0\x06\x80\x01\x00\x81\x02\x00",
            "element [81] at offset 5 declares 2 content octets, 1 left in its parent",
        ),
        (
            b"\xa0\x80\x30\x03\x04\x05\x00\x00\x00",  # inside an indefinite parent
            "element [04] at offset 4 declares 5 content octets, 1 left in its parent",
        ),
        (b"\xa0\x06\x80\x01\x00\x80\x01\x01", "component [80] appears twice in [a0]"),
        (b"\xa0\x06\x80\x01\x00\x9f\x00\x01", "tag 9f00 is not in its shortest form"),
        (b"\xa0\x08\xad\x06\x80\x01\x00\x80\x01\x01", "component [80] appears twice in [a0/ad]"),
        (b"\xa0\x08\x30\x06\x80\x01\x00\x80\x01\x01", None),  # not a SET: SEQUENCE OF
        (nested(b"\x05\x00", 65), "BER nested 65 levels deep, over 64"),
        (b"\x9f\x1f\x00", None),  # tag [31]: the long form is its shortest
        (b"\xa0\x03\x9f\x00\x00", "tag 9f00 is not in its shortest form"),
        (b"\xbf\x80\x1f\x00", "tag bf801f is not in its shortest form"),  # padded
    ],
)
def test_ber_problem_by_hand(data: bytes, problem: str | None) -> None:
    assert ber_problem(data, frozenset({(b"\xa0",), (b"\xa0", b"\xad")})) == problem


def test_nesting_depth_of_records_and_wrapped_records() -> None:
    assert [nesting_depth(record) for record in ber_records()] == [2, 2, 2, 2, 3, 3, 2, 2]
    assert nesting_depth(nested(PGW, 500)) == 503


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        # Found by fuzzing: callDuration -128 was accepted as duration_seconds -128.
        (
            MO_CALL.replace(b"\x99\x01\x78", b"\x99\x01\x80"),
            RejectReason.INVALID_DURATION,
            "callDuration -128 is negative",
        ),
        (
            PGW.replace(b"\x8e\x01\x7d", b"\x8e\x01\xff"),
            RejectReason.INVALID_DURATION,
            "duration -1 is negative",
        ),
        (
            PGW.replace(b"\x83\x02\x03\xe8", b"\x83\x02\xfc\x18"),
            RejectReason.INVALID_VOLUME,
            "listOfTrafficVolumes holds a negative volume -1000",
        ),
    ],
)
def test_negative_durations_and_volumes_are_rejected(
    payload: bytes, reason: RejectReason, detail: str
) -> None:
    data = cdr_file([payload, MO_CALL])
    items = list(ts32298_ber.parse_file(data, CONTEXT))
    assert reasons(items)[0] == (1, reason, detail)
    assert reasons(items)[1][1] == "parsed"
    # The fast path leaves such records to the library; all three answers agree.
    TARGETS["ts32298_ber"].run(data)


def with_field(record: bytes, field: bytes) -> bytes:
    """``record`` (a [n] SET with a 2-octet long-form length) with ``field`` appended."""
    content = record[3:] + field
    return record[:1] + b"\x81" + bytes([len(content)]) + content


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        # Found by atheris, as pycrate and asn1tools disagreeing on an SMS record holding
        # recordType twice (7, then 1234): pycrate keeps the last value. So would a call
        # with callDuration 120 and 5 be billed 5 seconds.
        (with_field(MO_CALL, b"\x99\x01\x05"), "component [99] appears twice in [a0]"),
        # Found by the campaign: recordType written again as 9f 00, the long form of [0],
        # which pycrate reads as a second recordType.
        (with_field(MO_CALL, b"\x9f\x00\x01\x05"), "tag 9f00 is not in its shortest form"),
        # Found by atheris: an SMS whose CAMELSMSInformation (a SET inside the record) holds
        # callingPartyNumber twice; pycrate took the second (03 e8) for the other party.
        (
            bytes.fromhex(
                "a7608001078107913121550500f1820813200621436587f9830853967810345476f884079131"
                "21550521f385035759a68607913121550500f0a70d800204d28102162e88031300628809250301"
                "1014002d0600ac0d850791447700091032850203e8"
            ),
            "component [85] appears twice in [a7/ac]",
        ),
        # pycrate reads an element running past its record clipped: mSCAddress declaring
        # 16 octets where 7 are left.
        (
            MO_CALL.replace(b"\x9f\x27\x07", b"\x9f\x27\x10"),
            "element [9f27] at offset 126 declares 16 content octets, 7 left in its parent",
        ),
    ],
)
def test_records_pycrate_would_read_leniently_are_refused(payload: bytes, problem: str) -> None:
    with pytest.raises(ts32298.UndecodableRecordError, match=re.escape(problem)):
        ts32298.decode_call_event_record(payload)
    data = cdr_file([payload, MO_CALL])
    assert reasons(list(ts32298_ber.parse_file(data, CONTEXT)))[0] == (
        1,
        RejectReason.UNDECODABLE_RECORD,
        problem,
    )
    TARGETS["ts32298_ber"].run(data)  # the fast path and its columnar form agree
