"""Validated entry points to the longest-prefix rate-table kernels (``kernels.rating_nb``),
which cost interconnect legs against carrier rate tables; retail usage is rated by
``kernels.tariff_api``, which shares ``encode_numbers`` and the checks here.

Callers hand over NumPy arrays of the exact dtypes documented here (C-contiguous, one
dimension unless stated); a wrong dtype or shape raises instead of being copied silently,
because a silent cast on a money path hides the bug that produced it. Units: money in
micro-units (int64), times as seconds of operator local wall-clock time since
1970-01-01T00:00 (``local_seconds``), dates as local day numbers since 1970-01-01.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.rating_nb import cost_legs_nb, encode_numbers_nb

#: Longest prefix a rate table can hold: an E.164 number has at most 15 digits.
MAX_PREFIX_DIGITS = 15
_INT64_MAX = int(np.iinfo(np.int64).max)


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


@dataclass(frozen=True)
class RateTable:
    """Rates indexed for longest-prefix lookup, built by ``build_rate_table``.

    Entries are sorted by (group, prefix length, prefix value, effective_day); the entries of
    group g with an L-digit prefix are ``offsets[g, L]:offsets[g, L + 1]``.

    offsets: int64 (n_groups, MAX_PREFIX_DIGITS + 2). Per entry (m,): prefix_value int64
    (the prefix digits as an integer; the length comes from the offsets), effective_day
    int64, connect_fee_micros int64, price_micros int64 (per price_unit units), price_unit
    int64, first_increment int64 and increment int64 (units), source_row int64 (the caller's
    row the entry came from).
    """

    offsets: np.ndarray
    prefix_value: np.ndarray
    effective_day: np.ndarray
    connect_fee_micros: np.ndarray
    price_micros: np.ndarray
    price_unit: np.ndarray
    first_increment: np.ndarray
    increment: np.ndarray
    source_row: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.offsets.shape[0])


def build_rate_table(
    n_groups: int,
    group: np.ndarray,
    prefix: Sequence[str],
    effective_day: np.ndarray,
    connect_fee_micros: np.ndarray,
    price_micros: np.ndarray,
    price_unit: np.ndarray,
    first_increment: np.ndarray,
    increment: np.ndarray,
) -> RateTable:
    """Index rate rows for the kernels.

    group: int64 (m,) in [0, n_groups); prefix: m strings of 0 to MAX_PREFIX_DIGITS digits
    (empty matches every number); effective_day: int64 (m,) local day the row applies from;
    connect_fee_micros, price_micros: int64 (m,) >= 0; price_unit, increment: int64 (m,) >= 1;
    first_increment: int64 (m,) >= 0. A second row with the same (group, prefix,
    effective_day) is ambiguous and raises ValueError.
    """
    m = _check("group", group, np.int64).size
    columns = {
        "effective_day": _check("effective_day", effective_day, np.int64, m),
        "connect_fee_micros": _check("connect_fee_micros", connect_fee_micros, np.int64, m),
        "price_micros": _check("price_micros", price_micros, np.int64, m),
        "price_unit": _check("price_unit", price_unit, np.int64, m),
        "first_increment": _check("first_increment", first_increment, np.int64, m),
        "increment": _check("increment", increment, np.int64, m),
    }
    if len(prefix) != m:
        raise ValueError(f"prefix has {len(prefix)} rows, expected {m}")
    if m and not (group.min() >= 0 and group.max() < n_groups):
        raise ValueError(f"group ids must lie in [0, {n_groups})")
    for name in ("connect_fee_micros", "price_micros", "first_increment"):
        if m and columns[name].min() < 0:
            raise ValueError(f"{name} must be >= 0")
    for name in ("price_unit", "increment"):
        if m and columns[name].min() < 1:
            raise ValueError(f"{name} must be >= 1")
    for p in prefix:
        if len(p) > MAX_PREFIX_DIGITS or not (p == "" or (p.isascii() and p.isdigit())):
            raise ValueError(f"prefix {p!r} is not 0-{MAX_PREFIX_DIGITS} digits")
    prefix_len = np.array([len(p) for p in prefix], dtype=np.int64)
    prefix_value = np.array([int(p) if p else 0 for p in prefix], dtype=np.int64)

    order = np.lexsort((columns["effective_day"], prefix_value, prefix_len, group))
    key = np.stack([group, prefix_len, prefix_value, columns["effective_day"]])[:, order]
    if m > 1 and (np.diff(key, axis=1) == 0).all(axis=0).any():
        raise ValueError("two rate rows share group, prefix and effective day")
    slot = group[order] * (MAX_PREFIX_DIGITS + 1) + prefix_len[order]
    starts = np.searchsorted(slot, np.arange(n_groups * (MAX_PREFIX_DIGITS + 1) + 1))
    offsets = np.empty((n_groups, MAX_PREFIX_DIGITS + 2), dtype=np.int64)
    offsets[:, :-1] = starts[:-1].reshape(n_groups, MAX_PREFIX_DIGITS + 1)
    offsets[:, -1] = starts[MAX_PREFIX_DIGITS + 1 :: MAX_PREFIX_DIGITS + 1]
    return RateTable(
        offsets=offsets,
        prefix_value=np.ascontiguousarray(prefix_value[order]),
        source_row=order.astype(np.int64),
        **{name: np.ascontiguousarray(values[order]) for name, values in columns.items()},
    )


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


def _source_rows(rate: np.ndarray, rates: RateTable) -> np.ndarray:
    rows = np.full(rate.size, -1, dtype=np.int64)
    found = rate >= 0
    rows[found] = rates.source_row[rate[found]]
    return rows


def _check_numbers(number_value: np.ndarray, number_len: np.ndarray) -> None:
    if number_len.size and (number_len.min() < 0 or number_len.max() > MAX_PREFIX_DIGITS):
        raise ValueError(f"number_len must lie in [0, {MAX_PREFIX_DIGITS}]; use encode_numbers")
    if number_value.size and number_value.min() < 0:
        raise ValueError("number_value must be >= 0; use encode_numbers")


def _guard_products(units: np.ndarray, rates: RateTable) -> None:
    # billable <= units + first_increment + increment, and the kernel forms
    # billable * price + price_unit // 2 before adding the connect fee: bound it exactly.
    if not units.size or not rates.price_micros.size:
        return
    bound = (
        (int(units.max()) + int(rates.first_increment.max()) + int(rates.increment.max()))
        * int(rates.price_micros.max())
        + int(rates.price_unit.max()) // 2
        + int(rates.connect_fee_micros.max())
    )
    if bound > _INT64_MAX:
        raise OverflowError("units x price could exceed int64 micros; split or rescale the rate")


@dataclass(frozen=True)
class LegCosts:
    """int64 (n,): rate_row (caller's carrier rate row, -1 none), billable_seconds, cost_micros."""

    rate_row: np.ndarray
    billable_seconds: np.ndarray
    cost_micros: np.ndarray


def cost_legs(
    group: np.ndarray,
    local_seconds: np.ndarray,
    number_value: np.ndarray,
    number_len: np.ndarray,
    seconds: np.ndarray,
    rates: RateTable,
) -> LegCosts:
    """Cost interconnect legs: longest prefix of the number in the carrier's table, increments.

    group: int64 (n,) carrier index into ``rates`` (-1: no carrier, never costed);
    local_seconds: int64 (n,) event start (selects the rate version by local date);
    number_value, number_len: int64 (n,) from ``encode_numbers``; seconds: int64 (n,) >= 0.
    Carrier tables hold per-60-second prices, so build them with price_unit 60.
    """
    n = _check("group", group, np.int64).size
    for name, array in (
        ("local_seconds", local_seconds),
        ("number_value", number_value),
        ("number_len", number_len),
        ("seconds", seconds),
    ):
        _check(name, array, np.int64, n)
    if n and seconds.min() < 0:
        raise ValueError("seconds must be >= 0")
    if n and group.max() >= rates.n_groups:
        raise ValueError("carrier index beyond the rate table")
    _check_numbers(number_value, number_len)
    _guard_products(seconds, rates)
    rate, billable, cost = cost_legs_nb(
        group,
        local_seconds,
        number_value,
        number_len,
        seconds,
        rates.offsets,
        rates.prefix_value,
        rates.effective_day,
        rates.connect_fee_micros,
        rates.price_micros,
        rates.price_unit,
        rates.first_increment,
        rates.increment,
    )
    return LegCosts(
        rate_row=_source_rows(rate, rates),
        billable_seconds=billable,
        cost_micros=cost,
    )
