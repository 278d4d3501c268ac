"""Stable hashes of many strings at once: zlib's CRC-32 and 64-bit FNV-1a, column-wise.

Stable means the same value on every machine, process and library version, unlike
polars' or DuckDB's hash functions: lake partitions (line buckets) and seeded samples are
decided by these values, so a rerun years later must decide the same. Each hash is folded
over the strings one byte position at a time, over every string at once, so a million
strings cost a few tens of vectorised steps rather than a million calls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: 64-bit FNV-1a (Fowler, Noll, Vo; draft-eastlake-fnv): offset basis and prime.
FNV1A64_OFFSET = np.uint64(0xCBF29CE484222325)
FNV1A64_PRIME = np.uint64(0x100000001B3)


def _crc_table() -> np.ndarray:
    """The byte table of the reflected CRC-32 (polynomial 0xEDB88320), as zlib uses."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0xEDB88320), table >> 1)
    return table.astype(np.uint32)


_CRC_TABLE = _crc_table()


def _fold_bytes(
    values: pa.Array | pa.ChunkedArray,
    initial: np.ndarray,
    step: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """``state = step(state, byte)`` over each string's UTF-8 bytes, from ``initial`` (one
    value, broadcast); the final state per string, in order. ``values`` has no null."""
    strings = pc.cast(values, pa.string())
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    count = len(strings)
    if strings.null_count:
        raise ValueError("cannot hash a null string")
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[strings.offset :][: count + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else None
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets)
    # Longest first: the strings still going at byte j are then a prefix, a slice.
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    state = np.full(count, initial, dtype=initial.dtype)
    longest = int(lengths[0]) if count else 0
    # How many strings are longer than each position (``lengths`` descends).
    still_going = np.searchsorted(-lengths, -np.arange(longest), side="left")
    for position, active in enumerate(still_going.tolist()):
        assert data is not None  # a non-empty string has bytes
        state[:active] = step(state[:active], data[starts[:active] + position])
    result = np.empty(count, dtype=initial.dtype)
    result[order] = state
    return result


def _crc32_step(crc: np.ndarray, byte: np.ndarray) -> np.ndarray:
    # The low byte of crc ^ byte picks the table entry (uint8: a cheap truncation).
    return _CRC_TABLE[crc.astype(np.uint8) ^ byte] ^ (crc >> 8)


def crc32_of_strings(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """zlib's CRC-32 of each string's UTF-8 bytes (uint32 (n,)); ``values`` has no null."""
    crc = _fold_bytes(values, np.array(0xFFFFFFFF, dtype=np.uint32), _crc32_step)
    return crc ^ np.uint32(0xFFFFFFFF)


def _fnv1a64_step(state: np.ndarray, byte: np.ndarray) -> np.ndarray:
    # uint64 products wrap modulo 2**64, as FNV's arithmetic is defined.
    return (state ^ byte.astype(np.uint64)) * FNV1A64_PRIME


def fnv1a64_of_strings(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit FNV-1a of each string's UTF-8 bytes (uint64 (n,)); ``values`` has no null."""
    return _fold_bytes(values, np.array(FNV1A64_OFFSET, dtype=np.uint64), _fnv1a64_step)


def mix64(values: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64's finaliser of ``values ^ seed`` (uint64): every bit of the input moves
    about half the output bits, so the order of the results is a seeded shuffle."""
    z = (values ^ np.uint64(seed % 2**64)) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
