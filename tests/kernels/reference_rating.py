"""Slow, obviously correct rating: the specification the Numba kernels are tested against.

It works on plain Python values (prefix strings, dates, fractions) and scans every row,
so it shares no indexing, encoding or integer-rounding trick with the kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Band:
    day_type: str  # weekday, weekend, holiday
    start_second: int
    end_second: int  # exclusive
    weight: int
    band: int


@dataclass(frozen=True)
class Rate:
    group: int
    prefix: str
    effective_day: int
    connect_fee_micros: int
    price_micros: int
    price_unit: int
    first_increment: int
    increment: int
    is_zero_rated: bool = False
    is_in_bundle: bool = False


@dataclass(frozen=True)
class Record:
    pool: int
    tariff: int  # -1: not for rating
    local_seconds: int
    number: str | None
    units: int
    allowance: int


def day_type(day: int, holidays: set[int]) -> str:
    if day in holidays:
        return "holiday"
    if (EPOCH + timedelta(days=day)).weekday() >= 5:
        return "weekend"
    return "weekday"


def time_band(local_seconds: int, holidays: set[int], bands: list[Band]) -> int:
    day, second = divmod(local_seconds, 86400)
    kind = day_type(day, holidays)
    covering = [b for b in bands if b.day_type == kind and b.start_second <= second < b.end_second]
    if not covering:
        return -1
    top = max(b.weight for b in covering)
    return next(b.band for b in covering if b.weight == top)


def find_rate(group: int, number: str | None, day: int, rates: list[Rate]) -> int:
    digits = number if number is not None and number.isascii() and number.isdigit() else ""
    candidates = [
        i
        for i, r in enumerate(rates)
        if r.group == group and digits.startswith(r.prefix) and r.effective_day <= day
    ]
    if not candidates:
        return -1
    return max(candidates, key=lambda i: (len(rates[i].prefix), rates[i].effective_day))


def billable_units(units: int, first_increment: int, increment: int) -> int:
    if units == 0:
        return 0
    if units <= first_increment:
        return first_increment
    return first_increment + math.ceil(Fraction(units - first_increment, increment)) * increment


def charge_micros(chargeable: int, connect_fee: int, price: int, price_unit: int) -> int:
    if chargeable == 0:
        return 0
    exact = Fraction(chargeable * price, price_unit)
    return connect_fee + math.floor(exact + Fraction(1, 2))


def rate_usage(
    records: list[Record], holidays: set[int], bands: list[Band], n_bands: int, rates: list[Rate]
) -> list[dict[str, int]]:
    """Records must already be in pool order, event order within a pool."""
    used: dict[int, int] = {}
    out = []
    for rec in records:
        band = time_band(rec.local_seconds, holidays, bands)
        row = {
            "band": band,
            "rate_row": -1,
            "outcome": 0,
            "billable_units": 0,
            "allowance_units": 0,
            "chargeable_units": 0,
            "charge_micros": 0,
        }
        out.append(row)
        if rec.tariff < 0:
            continue
        group = rec.tariff * n_bands + band if band >= 0 else -1
        r = find_rate(group, rec.number, rec.local_seconds // 86400, rates)
        row["rate_row"] = r
        if r < 0:
            row["outcome"] = 3
            continue
        rate = rates[r]
        row["billable_units"] = billable_units(rec.units, rate.first_increment, rate.increment)
        if rate.is_zero_rated:
            row["outcome"] = 2
            continue
        row["outcome"] = 1
        if rate.is_in_bundle:
            remaining = max(rec.allowance - used.get(rec.pool, 0), 0)
            row["allowance_units"] = min(remaining, row["billable_units"])
            used[rec.pool] = used.get(rec.pool, 0) + row["allowance_units"]
        row["chargeable_units"] = row["billable_units"] - row["allowance_units"]
        row["charge_micros"] = charge_micros(
            row["chargeable_units"], rate.connect_fee_micros, rate.price_micros, rate.price_unit
        )
    return out


def cost_legs(
    legs: list[tuple[int, int, str | None, int]], rates: list[Rate]
) -> list[dict[str, int]]:
    """legs: (carrier group, local_seconds, number, seconds)."""
    out = []
    for group, local_seconds, number, seconds in legs:
        r = find_rate(group, number, local_seconds // 86400, rates) if group >= 0 else -1
        row = {"rate_row": r, "billable_seconds": 0, "cost_micros": 0}
        if r >= 0:
            rate = rates[r]
            row["billable_seconds"] = billable_units(seconds, rate.first_increment, rate.increment)
            row["cost_micros"] = charge_micros(
                row["billable_seconds"],
                rate.connect_fee_micros,
                rate.price_micros,
                rate.price_unit,
            )
        out.append(row)
    return out
