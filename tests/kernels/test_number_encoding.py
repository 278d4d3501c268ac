"""Number encoding for prefix matching (``kernels.api.encode_numbers``,
``kernels.tariff_api.encode_destinations``) against a pure-Python reference."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import api, tariff_api


def reference(number: str | None, skip_plus: bool) -> tuple[int, int]:
    if number is None:
        return 0, 0
    if skip_plus and number.startswith("+"):
        number = number[1:]
    if not number or any(c not in "0123456789" for c in number):
        return 0, 0
    head = number[: api.MAX_PREFIX_DIGITS]
    return int(head), len(head)


def encoded(numbers: list[str | None] | pa.Array | pa.ChunkedArray, skip_plus: bool):
    encode = tariff_api.encode_destinations if skip_plus else api.encode_numbers
    value, length = encode(numbers)
    return list(zip(value.tolist(), length.tolist(), strict=True))


EDGES = [
    None,
    "",
    "+",
    "++1",
    "+44",
    "44+",
    "4 4",
    "123\n",
    "١٢٣",  # Arabic-Indic digits are not ASCII digits
    "0",
    "007",
    "123456789012345",
    "1234567890123456789",
    "12345678901234567x",
    "+999999999999999999",
]


@pytest.mark.parametrize("skip_plus", [False, True])
def test_edge_cases(skip_plus: bool) -> None:
    expected = [reference(n, skip_plus) for n in EDGES]
    assert encoded(EDGES, skip_plus) == expected
    assert encoded(pa.array(EDGES, pa.large_string()), skip_plus) == expected
    chunked = pa.chunked_array([EDGES[:5], EDGES[5:]], pa.string())
    assert encoded(chunked, skip_plus) == expected
    # A slice starts at an offset into the parent's buffers.
    assert encoded(pa.array(EDGES)[3:11], skip_plus) == expected[3:11]
    assert encoded(pa.array([], pa.string()), skip_plus) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.none() | st.text(alphabet="0123456789+ a\u0663", max_size=22),
        max_size=30,
    ),
    st.booleans(),
)
def test_generated_numbers(numbers: list[str | None], skip_plus: bool) -> None:
    assert encoded(numbers, skip_plus) == [reference(n, skip_plus) for n in numbers]
