"""Slow, obviously correct longest-prefix costing: the specification ``kernels.api.cost_legs``
is tested against.

It works on plain Python values (prefix strings, fractions) and scans every row, so it
shares no indexing, encoding or integer-rounding trick with the kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

EPOCH = date(1970, 1, 1)


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
