"""kernels.cucm_api helpers against plain Python.

The scanner itself is checked against its reference, the CUCM row parser, in
tests/mediation/test_cisco_cucm_cdr_columnar.py; here are the column builders it feeds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.cucm_api import (
    Kind,
    ScanFailure,
    Status,
    joined_decimals,
    scan_rows,
    starts_with_ascii,
    text_arrays,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**63 - 1), min_size=3, max_size=3), max_size=20))
def test_joined_decimals_write_what_str_writes(rows: list[list[int]]) -> None:
    values = np.array(rows, np.int64).reshape(len(rows), 3).T
    joined = joined_decimals(np.ascontiguousarray(values), ":")
    assert joined.type == pa.string()
    assert joined.to_pylist() == [":".join(str(v) for v in row) for row in rows]


@settings(max_examples=100, deadline=None)
@given(
    st.binary(min_size=1, max_size=40).flatmap(
        lambda data: st.tuples(
            st.just(data),
            st.lists(
                st.tuples(st.integers(0, len(data)), st.integers(0, len(data)), st.booleans()),
                max_size=10,
            ),
        )
    )
)
def test_text_arrays_slice_and_mask_as_python_does(case: tuple[bytes, list]) -> None:
    data, spans = case
    ascii_data = bytes(byte & 0x7F for byte in data)
    begin = np.array([min(a, b) for a, b, _ in spans], np.int32)
    length = np.array([abs(a - b) for a, b, _ in spans], np.int32)
    mask = np.array([v for _, _, v in spans], np.bool_)
    valid = np.stack([np.ones(len(spans), np.bool_), mask])
    first, second = text_arrays(ascii_data, np.stack([begin, begin]), np.stack([length] * 2), valid)
    texts = [ascii_data[min(a, b) : max(a, b)].decode() for a, b, _ in spans]
    assert first.to_pylist() == texts
    assert second.to_pylist() == [t if v else None for t, v in zip(texts, mask, strict=True)]
    assert first.type == second.type == pa.string()


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=6), st.sampled_from(["SIP", "S", ""]))
def test_starts_with_ascii_is_upper_then_startswith(text: str, prefix: str) -> None:
    data = b"#" + text.encode()
    (hit,) = starts_with_ascii(
        data, np.array([1], np.int32), np.array([len(text)], np.int32), prefix
    )
    assert hit == text.upper().startswith(prefix)


def test_scan_rows_names_the_first_failing_line_and_its_reason() -> None:
    data = b"1,7\n\n1,x\n1,8,9\n"
    fields = [(0, Kind.RECORD_TYPE), (1, Kind.IDENTIFIER)]
    assert scan_rows(data, 0, 2, fields, 100) == ScanFailure(Status.INTEGER, 5)
    rows = scan_rows(b"1,7\r\n\n1,0042", 0, 2, fields, 100)
    assert not isinstance(rows, ScanFailure)
    assert rows.count == 2 and rows.integers.tolist() == [[7, 42]]


def test_scan_rows_refuses_fields_outside_the_row() -> None:
    with pytest.raises(ValueError, match="column 2"):
        scan_rows(b"1,2\n", 0, 2, [(2, Kind.IDENTIFIER)], 100)
