"""Shared checks and number encoding of the kernels' entry points: ``kernels.tariff_api``
(retail and wholesale rating), ``kernels.tax_api`` and ``kernels.allowance_api``.

Callers hand over NumPy arrays of the exact dtypes documented here (C-contiguous, one
dimension unless stated); a wrong dtype or shape raises instead of being copied silently,
because a silent cast on a money path hides the bug that produced it. Units: money in
micro-units (int64), times as seconds of operator local wall-clock time since
1970-01-01T00:00 (``local_seconds``), dates as local day numbers since 1970-01-01.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.rating_nb import encode_numbers_nb

#: Longest prefix a rate table can hold: an E.164 number has at most 15 digits.
MAX_PREFIX_DIGITS = 15


def _check(name: str, array: object, dtype: type, n: int | None = None) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must be {np.dtype(dtype)}, got {array.dtype}")
    if array.ndim != 1 or not array.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous 1-D array")
    if n is not None and array.size != n:
        raise ValueError(f"{name} has {array.size} rows, expected {n}")
    return array


def encode_number_strings(
    numbers: pa.Array | pa.ChunkedArray | Sequence[str | None], skip_plus: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``encode_numbers``, after dropping one leading "+" from each number when skip_plus."""
    if isinstance(numbers, pa.ChunkedArray):
        array = numbers.combine_chunks()
    elif isinstance(numbers, pa.Array):
        array = numbers
    else:
        array = pa.array(numbers, type=pa.string())
    if array.type == pa.large_string():
        offset_type: type = np.int64
    else:
        array = array.cast(pa.string())
        offset_type = np.int32
    n = len(array)
    _, offsets_buffer, data_buffer = array.buffers()
    offsets: np.ndarray = np.frombuffer(
        offsets_buffer, dtype=offset_type, count=array.offset + n + 1
    )
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)
    is_null = (
        pc.is_null(array).to_numpy(zero_copy_only=False)
        if array.null_count
        else np.zeros(n, dtype=np.bool_)
    )
    return encode_numbers_nb(offsets[array.offset :], data, is_null, MAX_PREFIX_DIGITS, skip_plus)


def encode_numbers(
    numbers: pa.Array | pa.ChunkedArray | Sequence[str | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as the kernels match them: (value, length), both int64 (n,).

    value is the integer of the first min(len, MAX_PREFIX_DIGITS) digits and length their
    count; longer digits never decide a match. A null or non-digit number (length 0) matches
    only the empty prefix.
    """
    return encode_number_strings(numbers, skip_plus=False)
