"""Validated entry points to the allowance draw-down and aggregate pricing kernels.

Callers hand over NumPy arrays of the exact dtypes documented here (C-contiguous, one
dimension); a wrong dtype or shape raises instead of being copied silently, because a
silent cast on a money path hides the bug that produced it. Money is int64 micro-units,
usage int64 units (seconds, messages, bytes). The rules are those of the pure-Python
specifications: pipelines/tariffs/allowances.py and pipelines/tariffs/aggregate.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kernels.aggregate_pricing_nb import price_aggregates_nb
from kernels.allowance_nb import draw_allowances_nb
from kernels.api import _check
from pipelines.tariffs.aggregate import check_aggregate_price
from pipelines.tariffs.model import AggregatePrice, PricingModel

#: Pricing models by kernel code (``AggregatePriceTable.model``).
PRICING_MODELS = (PricingModel.GRADUATED, PricingModel.VOLUME, PricingModel.PACKAGE)
_INT64_MAX = int(np.iinfo(np.int64).max)


def _check_offsets(name: str, offsets: np.ndarray, rows: int) -> None:
    if offsets[0] != 0 or offsets[-1] != rows or (np.diff(offsets) < 0).any():
        raise ValueError(f"{name} must rise from 0 to {rows}")


def _non_negative(**arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        if array.size and array.min() < 0:
            raise ValueError(f"{name} must be >= 0")


@dataclass(frozen=True)
class AllowanceDraws:
    """Kernel results.

    Per event, int64 (n,): covered (billed units allowances paid; the rest is overage).
    Per candidate row, int64 (c,): from_rollover, from_grant (what the event drew from
    that bucket). Per bucket, int64 (b,): used_from_rollover, used_from_grant, unused
    (max(granted_at_close - used_from_grant, 0)) and rolled_out (min(unused,
    rollover_cap)), the units the bucket carries into the next cycle.
    """

    covered: np.ndarray
    from_rollover: np.ndarray
    from_grant: np.ndarray
    used_from_rollover: np.ndarray
    used_from_grant: np.ndarray
    unused: np.ndarray
    rolled_out: np.ndarray


def draw_allowances(
    account: np.ndarray,
    billed_units: np.ndarray,
    candidate_offsets: np.ndarray,
    candidate_bucket: np.ndarray,
    candidate_grant: np.ndarray,
    bucket_account: np.ndarray,
    rolled_in: np.ndarray,
    granted_at_close: np.ndarray,
    rollover_cap: np.ndarray,
) -> AllowanceDraws:
    """Draw one billing cycle's events from their allowance buckets.

    Events, (n,): account int64 non-decreasing, and within an account the events are in
    event order (started_at, then event id); billed_units int64 >= 0.
    Candidates, CSR: event i may draw the buckets
    ``candidate_bucket[candidate_offsets[i]:candidate_offsets[i + 1]]`` (int64 (n + 1,)
    and int64 (c,)), in draw order (the line's own before the pool, narrower scope first;
    every bucket it may draw under the specification's rule 4, even one granting 0 that
    day, since its rolled-in units still pay); candidate_grant int64 (c,) >= 0 is the
    bucket's grant on the event's date (it follows plan changes). A bucket appears at
    most once per event.
    Buckets, (b,): bucket_account int64, the account of the bucket's owner (every
    candidate's bucket must belong to its event's account: accounts are drawn in
    parallel); rolled_in, granted_at_close (grant on the cycle's last day) and
    rollover_cap, int64 >= 0.

    Each event draws min(rolled-in units left, still to pay) from each candidate in turn,
    then min(max(grant - used_from_grant, 0), still to pay) from each in turn.
    """
    n = _check("account", account, np.int64).size
    _check("billed_units", billed_units, np.int64, n)
    _check("candidate_offsets", candidate_offsets, np.int64, n + 1)
    c = _check("candidate_bucket", candidate_bucket, np.int64).size
    _check("candidate_grant", candidate_grant, np.int64, c)
    b = _check("bucket_account", bucket_account, np.int64).size
    for name, array in (
        ("rolled_in", rolled_in),
        ("granted_at_close", granted_at_close),
        ("rollover_cap", rollover_cap),
    ):
        _check(name, array, np.int64, b)
    _non_negative(
        billed_units=billed_units,
        candidate_grant=candidate_grant,
        rolled_in=rolled_in,
        granted_at_close=granted_at_close,
        rollover_cap=rollover_cap,
    )
    if n and (np.diff(account) < 0).any():
        raise ValueError("account must be non-decreasing (events sorted by account)")
    _check_offsets("candidate_offsets", candidate_offsets, c)
    if c and (candidate_bucket.min() < 0 or candidate_bucket.max() >= b):
        raise ValueError(f"candidate_bucket must lie in [0, {b})")
    event_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(candidate_offsets))
    if (bucket_account[candidate_bucket] != account[event_of]).any():
        raise ValueError("an event draws a bucket of another account")
    if c and np.unique(event_of * b + candidate_bucket).size != c:
        raise ValueError("a bucket appears twice among one event's candidates")
    starts = np.flatnonzero(np.diff(account)) + 1
    account_offsets = np.concatenate(([0], starts, [n])).astype(np.int64)
    covered, from_rollover, from_grant, used_from_rollover, used_from_grant = draw_allowances_nb(
        account_offsets,
        candidate_offsets,
        candidate_bucket,
        candidate_grant,
        billed_units,
        rolled_in,
    )
    unused = np.maximum(granted_at_close - used_from_grant, 0)
    return AllowanceDraws(
        covered=covered,
        from_rollover=from_rollover,
        from_grant=from_grant,
        used_from_rollover=used_from_rollover,
        used_from_grant=used_from_grant,
        unused=unused,
        rolled_out=np.minimum(unused, rollover_cap),
    )


@dataclass(frozen=True)
class AggregatePriceTable:
    """Aggregate prices as flat arrays, built by ``aggregate_price_table``.

    Per price (k,): model int8 code into PRICING_MODELS, unit, package_size, free_units
    int64. tier_offsets int64 (k + 1,): price p's tiers are
    ``tier_offsets[p]:tier_offsets[p + 1]``. Per tier (t,): up_to int64 (-1: open),
    price_micros, flat_fee_micros int64.
    """

    model: np.ndarray
    unit: np.ndarray
    package_size: np.ndarray
    free_units: np.ndarray
    tier_offsets: np.ndarray
    up_to: np.ndarray
    price_micros: np.ndarray
    flat_fee_micros: np.ndarray

    def __post_init__(self) -> None:
        k = _check("model", self.model, np.int8).size
        for name in ("unit", "package_size", "free_units"):
            _check(name, getattr(self, name), np.int64, k)
        _check("tier_offsets", self.tier_offsets, np.int64, k + 1)
        t = _check("up_to", self.up_to, np.int64).size
        for name in ("price_micros", "flat_fee_micros"):
            _check(name, getattr(self, name), np.int64, t)
        _check_offsets("tier_offsets", self.tier_offsets, t)
        if k and (self.model.min() < 0 or self.model.max() >= len(PRICING_MODELS)):
            raise ValueError("model codes must index PRICING_MODELS")
        if k and (self.unit.min() < 1 or self.package_size.min() < 1):
            raise ValueError("unit and package_size must be >= 1")
        if k and (np.diff(self.tier_offsets) < 1).any():
            raise ValueError("every price needs a tier")
        last = self.tier_offsets[1:] - 1
        bounded = np.ones(t, dtype=np.bool_)
        bounded[last] = False
        follows = bounded.copy()
        follows[self.tier_offsets[:-1]] = False
        if (self.up_to[last] != -1).any() or (self.up_to[bounded] < 1).any():
            raise ValueError("a price's last tier must be open (-1), the others >= 1")
        if (self.up_to[follows] <= self.up_to[np.flatnonzero(follows) - 1]).any():
            raise ValueError("a price's tier up_to must rise")
        _non_negative(
            free_units=self.free_units,
            price_micros=self.price_micros,
            flat_fee_micros=self.flat_fee_micros,
        )


def aggregate_price_table(prices: Sequence[AggregatePrice]) -> AggregatePriceTable:
    """Flatten checked ``AggregatePrice`` rows; price p of the table is ``prices[p]``."""
    for price in prices:
        check_aggregate_price(price)
    tiers = [tier for price in prices for tier in price.tiers]
    counts = [len(price.tiers) for price in prices]
    return AggregatePriceTable(
        model=np.array([PRICING_MODELS.index(p.model) for p in prices], dtype=np.int8),
        unit=np.array([p.unit for p in prices], dtype=np.int64),
        package_size=np.array([p.package_size for p in prices], dtype=np.int64),
        free_units=np.array([p.free_units for p in prices], dtype=np.int64),
        tier_offsets=np.concatenate(([0], np.cumsum(counts, dtype=np.int64))).astype(np.int64),
        up_to=np.array([-1 if t.up_to is None else t.up_to for t in tiers], dtype=np.int64),
        price_micros=np.array([t.price_micros for t in tiers], dtype=np.int64),
        flat_fee_micros=np.array([t.flat_fee_micros for t in tiers], dtype=np.int64),
    )


@dataclass(frozen=True)
class AggregateCharges:
    """Kernel results: per cycle int64 (n,) units (converted) and charge_micros; per tier
    of each cycle's price, CSR by ``tier_row_offsets`` int64 (n + 1,): reached bool,
    units, quantity (units, or packages for PACKAGE) and amount_micros int64.
    """

    units: np.ndarray
    charge_micros: np.ndarray
    tier_row_offsets: np.ndarray
    reached: np.ndarray
    tier_units: np.ndarray
    quantity: np.ndarray
    amount_micros: np.ndarray


def price_aggregates(
    raw_units: np.ndarray, price: np.ndarray, table: AggregatePriceTable
) -> AggregateCharges:
    """Price cycles' aggregated chargeable usage.

    raw_units: int64 (n,) >= 0, a cycle's chargeable units of the price's category
    (after allowances), summed before conversion to the price's unit; price: int64 (n,)
    index into ``table``. Cycle c's tier rows are one per tier of its price, in order;
    tiers not reached are zero with reached False.
    """
    n = _check("raw_units", raw_units, np.int64).size
    _check("price", price, np.int64, n)
    _non_negative(raw_units=raw_units)
    k = table.unit.size
    if n and (price.min() < 0 or price.max() >= k):
        raise ValueError(f"price must lie in [0, {k})")
    tier_count = np.diff(table.tier_offsets)
    row_offsets = np.concatenate(([0], np.cumsum(tier_count[price]))).astype(np.int64)
    _guard_products(raw_units, price, table)
    units, charge, reached, tier_units, quantity, amount = price_aggregates_nb(
        raw_units,
        price,
        table.model,
        table.unit,
        table.package_size,
        table.free_units,
        table.tier_offsets,
        table.up_to,
        table.price_micros,
        table.flat_fee_micros,
        row_offsets,
    )
    return AggregateCharges(
        units=units,
        charge_micros=charge,
        tier_row_offsets=row_offsets,
        reached=reached,
        tier_units=tier_units,
        quantity=quantity,
        amount_micros=amount,
    )


def _guard_products(raw_units: np.ndarray, price: np.ndarray, table: AggregatePriceTable) -> None:
    # A charge is at most (converted units) x (dearest tier) + (every flat fee of the
    # price); bound it per price in Python integers, which cannot overflow.
    if not raw_units.size:
        return
    largest = np.zeros(table.unit.size, dtype=np.int64)
    np.maximum.at(largest, price, raw_units)
    for p in np.flatnonzero(largest):
        first, last = int(table.tier_offsets[p]), int(table.tier_offsets[p + 1])
        units = -(-int(largest[p]) // int(table.unit[p]))
        bound = units * int(table.price_micros[first:last].max()) + sum(
            int(fee) for fee in table.flat_fee_micros[first:last]
        )
        if bound > _INT64_MAX:
            raise OverflowError("units x price could exceed int64 micros; rescale the unit")
