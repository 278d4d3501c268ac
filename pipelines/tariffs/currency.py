"""Money from one currency to another with the catalog's dated exchange rates: the specification.

Plain Python over ``ExchangeRate`` rows and exact fractions. The rules
(docs/allowances-and-pricing.md states them for users):

1. Same currency: the amount is returned unchanged, whatever the rates say.
2. The rate of (source, target) on a date is the quote with the latest ``effective`` date on
   or before that date; a quote takes effect on its day and lasts until the next one.
3. A pair is quoted in one direction. If the catalog quotes (target, source) instead, the
   rate is ``1 / target_per_source`` of that quote. A catalog that quotes both directions of
   one pair is refused: two quotes of one price drift apart, and which of them billed an
   event would then depend on its date.
4. No cross rates: EUR -> GBP is not derived through USD. Quote the pair.
5. The converted amount is rounded once to the micro, halves away from zero, so a credit
   converts to exactly minus the charge it reverses (for charges this is half-up).
6. No quote on or before the date: ``NoExchangeRateError`` naming the pair and the date.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from fractions import Fraction

from pipelines.tariffs.model import ExchangeRate


class NoExchangeRateError(LookupError):
    """No quote of a currency pair (in either direction) is effective on a date."""


def check_exchange_rates(rates: Iterable[ExchangeRate]) -> None:
    """Refuse quotes the rules cannot use: non-positive, repeated, self or two-way pairs."""
    seen: set[tuple[date, str, str]] = set()
    pairs: set[tuple[str, str]] = set()
    for rate in rates:
        if rate.source == rate.target:
            raise ValueError(f"exchange rate {rate.source}->{rate.target} quotes one currency")
        if rate.target_per_source <= 0:
            raise ValueError(f"exchange rate {rate.source}->{rate.target} must be > 0")
        key = (rate.effective, rate.source, rate.target)
        if key in seen:
            raise ValueError(f"two {rate.source}->{rate.target} quotes on {rate.effective}")
        seen.add(key)
        pairs.add((rate.source, rate.target))
    for source, target in pairs:
        if (target, source) in pairs:
            raise ValueError(f"{source}/{target} is quoted in both directions; keep one")


def exchange_rate(rates: Iterable[ExchangeRate], source: str, target: str, on: date) -> Fraction:
    """Units of ``target`` per unit of ``source`` on date ``on`` (rules 2-4 and 6)."""
    quotes = list(rates)
    check_exchange_rates(quotes)
    best: ExchangeRate | None = None
    for quote in quotes:
        if quote.effective > on or {quote.source, quote.target} != {source, target}:
            continue
        if best is None or quote.effective > best.effective:
            best = quote
    if best is None:
        raise NoExchangeRateError(f"no {source}->{target} exchange rate on or before {on}")
    if best.source == source:
        return best.target_per_source
    return 1 / best.target_per_source


def convert_micros(
    amount_micros: int, source: str, target: str, on: date, rates: Iterable[ExchangeRate]
) -> int:
    """``amount_micros`` of ``source`` in micros of ``target`` at the rate of date ``on``."""
    if source == target:
        return amount_micros
    return convert_with(amount_micros, exchange_rate(rates, source, target, on))


def convert_with(amount_micros: int, target_per_source: Fraction) -> int:
    """``amount_micros`` times a rate, halves away from zero (a credit mirrors its charge)."""
    exact = amount_micros * target_per_source
    rounded = math.floor(abs(exact) + Fraction(1, 2))
    return rounded if exact >= 0 else -rounded
