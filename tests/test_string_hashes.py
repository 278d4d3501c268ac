"""The column-wise string hashes against byte-at-a-time references: zlib's CRC-32, and
FNV-1a written out from its definition and checked on the published test vectors."""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from string_hash_reference import fnv1a64, splitmix64_finaliser

from pipelines.string_hashes import crc32_of_strings, fnv1a64_of_strings, mix64


def test_fnv1a64_reference_gives_the_published_vectors() -> None:
    # The FNV test suite (draft-eastlake-fnv, and www.isthe.com/chongo/tech/comp/fnv).
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8


@settings(deadline=None)  # the first example pays for pyarrow.compute's start
@given(st.lists(st.text(), max_size=60), st.integers(0, 5))
def test_the_column_hashes_are_the_byte_at_a_time_ones(values: list[str], skip: int) -> None:
    array = pa.array(values, pa.string()).slice(min(skip, len(values)))
    encoded = [value.encode() for value in values[skip:]]
    assert crc32_of_strings(array).tolist() == [zlib.crc32(data) for data in encoded]
    assert fnv1a64_of_strings(array).tolist() == [fnv1a64(data) for data in encoded]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=20), st.integers(0, 2**64 - 1))
def test_mix64_is_splitmix64_of_the_value_xor_the_seed(values: list[int], seed: int) -> None:
    mixed = mix64(np.array(values, dtype=np.uint64), seed)
    assert mixed.tolist() == [splitmix64_finaliser(value ^ seed) for value in values]
