"""Pricing of a cycle's aggregated chargeable usage (``AggregatePrice``): the specification.

Plain Python integers, tier by tier, so it shares nothing with the Numba kernel
(``kernels.allowance_api.price_aggregates``) tested against it. The rules
(docs/allowances-and-pricing.md states them for users, with Lago's examples):

1. Units. The cycle's chargeable units of the category (what allowances left: seconds,
   messages, bytes) are summed first and converted once to ``price.unit``, rounding up:
   ``ceil(raw / unit)``. Converting per event would round every event up and overcharge.
2. Tiers. Tier i holds the units above the previous tier's ``up_to`` (0 for the first) up
   to and including its own; the last tier is open (``up_to`` None). ``price_micros`` is
   per converted unit (per package for PACKAGE).
3. GRADUATED: every tier prices the units that fall in it; a tier is reached when at least
   one unit falls in it, and each reached tier adds its flat fee once.
4. VOLUME: the tier the total falls in prices every unit, and adds its flat fee.
5. PACKAGE: the tier the total (free units included) falls in prices
   ``ceil((total - free_units) / package_size)`` started packages, and adds its flat fee.
   Usage within the free units costs nothing at all, flat fee included.
6. Zero units reach no tier and cost nothing.

Every amount is an integer product of integers, so no rounding happens after rule 1.
``free_units`` and ``package_size`` only mean something for PACKAGE; elsewhere they must
keep their defaults, so that a catalog never carries a field that is silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.tariffs.model import AggregatePrice, PricingModel


@dataclass(frozen=True)
class TierCharge:
    """What one reached tier charged.

    units: converted units the tier priced (PACKAGE: the units beyond the free units);
    quantity: what ``price_micros`` multiplies (units, or started packages for PACKAGE);
    amount_micros = quantity * price_micros + flat_fee_micros.
    """

    tier: int  # index into AggregatePrice.tiers
    units: int
    quantity: int
    price_micros: int
    flat_fee_micros: int
    amount_micros: int


@dataclass(frozen=True)
class AggregateCharge:
    """A cycle's charge for one category: total converted units, amount, reached tiers."""

    units: int
    amount_micros: int
    tiers: tuple[TierCharge, ...]


def check_aggregate_price(price: AggregatePrice) -> None:
    """Refuse an aggregate price the rules cannot apply unambiguously."""
    name = f"aggregate price of {price.category!r}"
    if price.unit < 1:
        raise ValueError(f"{name}: unit must be >= 1")
    if not price.tiers:
        raise ValueError(f"{name}: needs at least one tier")
    if price.tiers[-1].up_to is not None:
        raise ValueError(f"{name}: the last tier must be open (up_to None)")
    previous = 0
    for index, tier in enumerate(price.tiers[:-1]):
        if tier.up_to is None or tier.up_to <= previous:
            raise ValueError(f"{name}: tier {index} up_to must rise above {previous}")
        previous = tier.up_to
    for index, tier in enumerate(price.tiers):
        if tier.price_micros < 0 or tier.flat_fee_micros < 0:
            raise ValueError(f"{name}: tier {index} prices must be >= 0")
    if price.model is PricingModel.PACKAGE:
        if price.package_size < 1 or price.free_units < 0:
            raise ValueError(f"{name}: package_size must be >= 1 and free_units >= 0")
    elif price.package_size != 1 or price.free_units != 0:
        raise ValueError(f"{name}: package_size and free_units are for the package model")


def converted_units(price: AggregatePrice, raw_units: int) -> int:
    """The cycle's raw units in ``price.unit``, rounded up (rule 1)."""
    return -(-raw_units // price.unit)


def _tier_reached(price: AggregatePrice, units: int) -> int:
    """Index of the tier whose range holds the ``units``-th unit."""
    for index, tier in enumerate(price.tiers):
        if tier.up_to is None or units <= tier.up_to:
            return index
    raise AssertionError("check_aggregate_price guarantees an open last tier")


def _charge(price: AggregatePrice, index: int, units: int, quantity: int) -> TierCharge:
    tier = price.tiers[index]
    amount = quantity * tier.price_micros + tier.flat_fee_micros
    return TierCharge(index, units, quantity, tier.price_micros, tier.flat_fee_micros, amount)


def price_aggregate(price: AggregatePrice, raw_units: int) -> AggregateCharge:
    """Charge ``raw_units`` (the cycle's chargeable units of the category, >= 0) at ``price``."""
    check_aggregate_price(price)
    if raw_units < 0:
        raise ValueError("raw_units must be >= 0")
    total = converted_units(price, raw_units)
    charges: list[TierCharge] = []
    if total > 0 and price.model is PricingModel.GRADUATED:
        floor = 0
        for index, tier in enumerate(price.tiers):
            top = total if tier.up_to is None else min(total, tier.up_to)
            if top <= floor:
                break
            charges.append(_charge(price, index, top - floor, top - floor))
            floor = top
    elif total > 0 and price.model is PricingModel.VOLUME:
        charges.append(_charge(price, _tier_reached(price, total), total, total))
    elif total > price.free_units and price.model is PricingModel.PACKAGE:
        billable = total - price.free_units
        packages = -(-billable // price.package_size)
        charges.append(_charge(price, _tier_reached(price, total), billable, packages))
    return AggregateCharge(total, sum(c.amount_micros for c in charges), tuple(charges))
