"""The ``cgrates`` money mode: an event's cost as a CGRateS rater computes it.

The reference engine (``reference``) decides what is billed: profile, destination, spans,
billed units. This module only re-prices those spans the way CGRateS's float64 code does
(engine/calldesc.go GetCost/getCost, engine/timespans.go createIncrementsSlice,
engine/rateinterval.go GetCost, utils/coreutils.go Round), operation for operation, with
Python floats, which are the same IEEE doubles as Go's on amd64 (no fused multiply-add):

1. Span cost: ``Round(d_ns * (rate / unit_ns), G, *middle)``, durations in nanoseconds (a
   voice second is 1e9 ns; a data or SMS unit is 1 ns, as CGRateS counts bare numbers).
2. Increment cost: ``Round(span cost / n, G, *middle)`` for the span's ``n`` increments.
   This is where CGRateS departs from exact arithmetic: 0.1 per 60 s billed per second is
   0.00167 a second with G = 5, so a minute costs 0.1002.
3. Timespans that are alike (same rate, slot, length) are compressed into one with a factor.
4. Per timespan: ``Round(connect fee (first only) + n * increment cost, G, *middle)`` times
   its factor, added to the running cost; a ``*free`` maximum cost caps the running cost
   when CGRateS's MaxCostSoFar (which adds the running cost, not the span's) reaches it.
5. ``Round(cost, decimals, method)`` of the first timespan with the most decimals; with 0
   decimals CGRateS has no method and does not round.

G is the engine's global ``rounding_decimals`` (5 unless configured). ``Round`` is Go's:
``*up`` only rounds up a fraction of at least 1e-7 of the last decimal (``maxPrec``), and
``*middle`` compares the fraction with 0.5 after the float multiplication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from pipelines.tariffs.model import (
    MaxCostStrategy,
    Rating,
    RoundingMethod,
    Span,
)

#: CGRateS's default general ``rounding_decimals``.
DEFAULT_DECIMALS = 5
NANOS_PER_SECOND = 1_000_000_000

_GO_METHOD = {
    RoundingMethod.UP: "*up",
    RoundingMethod.HALF_UP: "*middle",
    RoundingMethod.DOWN: "*down",
}


def go_round(x: float, decimals: int, method: str) -> float:
    """utils.Round of CGRateS: ``method`` is ``*up``, ``*middle``, ``*down`` or "" (none)."""
    max_precision = max(7, decimals)
    power = 10.0**decimals
    intermediate = x * power
    fraction, _ = math.modf(intermediate)
    if method == "*up":
        # Go's math.Pow10(-n) is 1 / 1e n, the correctly rounded double.
        if fraction >= 1 / 10.0**max_precision:
            rounder = float(math.ceil(intermediate))
        else:
            rounder = float(math.floor(intermediate))
    elif method == "*down":
        rounder = float(math.floor(intermediate))
    elif method == "*middle":
        if fraction >= 0.5:
            rounder = float(math.ceil(intermediate))
        else:
            rounder = float(math.floor(intermediate))
    else:
        rounder = intermediate
    return rounder / power


def _amount(micros: int) -> float:
    """The float64 CGRateS parses from the amount's decimal text (correctly rounded)."""
    return float(Fraction(micros, 1_000_000))


@dataclass(frozen=True)
class _Timespan:
    span: Span
    factor: int  # CGRateS's CompressFactor: alike consecutive spans merged


def _alike(a: Span, b: Span) -> bool:
    """TimeSpan.Equal: same rate interval, increments, length and match."""
    return (
        a.rating_plan_id,
        a.destination_rates_id,
        a.destination_id,
        a.prefix,
        a.rate_id,
        a.timing_id,
        a.slot,
        a.billed,
        a.binding,
    ) == (
        b.rating_plan_id,
        b.destination_rates_id,
        b.destination_id,
        b.prefix,
        b.rate_id,
        b.timing_id,
        b.slot,
        b.billed,
        b.binding,
    )


def _compressed(spans: tuple[Span, ...]) -> list[_Timespan]:
    merged: list[_Timespan] = []
    for span in spans:
        if merged and _alike(merged[-1].span, span):
            merged[-1] = _Timespan(merged[-1].span, merged[-1].factor + 1)
        else:
            merged.append(_Timespan(span, 1))
    return merged


def increment_cost(span: Span, decimals: int, nanos_per_unit: int) -> tuple[int, float]:
    """The span's number of increments and CGRateS's (rounded) cost of each."""
    rate = _amount(span.price_micros) / float(span.rate_unit * nanos_per_unit)
    span_cost = go_round(float(span.billed * nanos_per_unit) * rate, decimals, "*middle")
    increments = span.billed // span.increment
    return increments, go_round(span_cost / float(increments), decimals, "*middle")


def cgrates_cost(rating: Rating, time_based: bool, decimals: int = DEFAULT_DECIMALS) -> float:
    """The cost CGRateS's GetCost returns for the rated spans (a float in currency units).

    ``time_based``: the event is voice (its units are seconds, 1e9 ns each in CGRateS).
    The model's minimum charge, which CGRateS lacks, raises the cost before the final round.
    """
    if rating.error is not None:
        raise ValueError(f"an unrated event has no cost: {rating.error}")
    if rating.zero_rated or rating.billed_usage == 0:
        return 0.0
    nanos_per_unit = NANOS_PER_SECOND if time_based else 1
    cost = 0.0
    max_cost_so_far = 0.0
    for index, timespan in enumerate(_compressed(rating.spans)):
        increments, each = increment_cost(timespan.span, decimals, nanos_per_unit)
        total = 0.0
        if index == 0:
            total += 1.0 * _amount(rating.connect_fee_micros)
        total += float(increments) * each
        cost += go_round(total, decimals, "*middle") * float(timespan.factor)
        max_cost_so_far += cost
        binding = timespan.span.binding
        max_cost = _amount(binding.max_cost_micros)
        if (
            binding.max_cost_strategy is MaxCostStrategy.FREE
            and max_cost > 0
            and max_cost_so_far >= max_cost
        ):
            cost = max_cost
            max_cost_so_far = max_cost
    first = rating.spans[0].binding
    if first.min_charge_micros:
        cost = max(cost, _amount(first.min_charge_micros))
    rounding_decimals, method = 0, ""
    for span in rating.spans:
        if span.binding.rounding_decimals > rounding_decimals:
            rounding_decimals = span.binding.rounding_decimals
            method = _GO_METHOD[span.binding.rounding_method]
    return go_round(cost, rounding_decimals, method)


def cgrates_cost_micros(rating: Rating, time_based: bool, decimals: int = DEFAULT_DECIMALS) -> int:
    """``cgrates_cost`` in micro-units: the shortest decimal text of the float, to 6 places."""
    cost = Decimal(repr(cgrates_cost(rating, time_based, decimals)))
    return int(cost.scaleb(6).to_integral_value(rounding=ROUND_HALF_EVEN))
