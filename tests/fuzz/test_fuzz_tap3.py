"""Fuzzing the TAP 3.12 and RAP 1.5 readers (parse_file agreeing with read_batch, read_rap),
and the inputs fuzzing found that broke them (docs/fuzzing.md)."""

from __future__ import annotations

import pytest
from fuzz_inputs import rap_files, tap_files
from fuzz_targets import CONTEXT, ci_test

from pipelines.mediation import tap3
from pipelines.schema import RejectReason

test_tap_file_is_parsed_or_refused_as_read_batch_says = ci_test("tap3", 500)
test_rap_file_is_read_or_refused = ci_test("rap", 300)


@pytest.mark.parametrize(
    ("data", "alternative"),
    [
        # Found by fuzzing: read_rap returned an unknown extension alternative ([0], [2],
        # [APPLICATION 21210]...) as if it were a RAP, checking only the items inside it.
        (bytes.fromhex("a003020100"), "_ext_210"),
        (bytes.fromhex("a203800100"), "_ext_212"),
        (bytes.fromhex("bf815200"), "_ext_21210"),
    ],
)
def test_rap_of_an_unknown_alternative_is_refused(data: bytes, alternative: str) -> None:
    with pytest.raises(tap3.TapFileError, match=f"RapDataInterChange.{alternative} is not"):
        tap3.read_rap(data)


def test_rap_files_still_read() -> None:
    assert [tap3.read_rap(data)[0] for data in rap_files()[:1]] == ["returnBatch"]


def test_deeply_nested_tap_file_is_refused_before_pycrate() -> None:
    data = tap_files()[0]
    for _ in range(2000):
        size = len(data)
        data = b"\x7f\x81\x02" + bytes([0x83]) + size.to_bytes(3, "big") + data
    (item,) = tap3.parse_file(data, CONTEXT)
    assert (item.record_number, item.reason) == (0, RejectReason.UNREADABLE_FILE)
    assert "BER nested 2009 levels deep, over 64" in item.detail
    with pytest.raises(tap3.TapFileError, match="nested 2009 levels"):
        tap3.read_rap(data)
