"""Currency conversion with dated exchange rates (pipelines.tariffs.currency), by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from pipelines.tariffs.currency import (
    NoExchangeRateError,
    check_exchange_rates,
    convert_micros,
    exchange_rate,
)
from pipelines.tariffs.model import ExchangeRate

# USD -> EUR changes on March 1st and on April 1st.
RATES = (
    ExchangeRate(date(2024, 1, 1), "USD", "EUR", Fraction("0.90")),
    ExchangeRate(date(2024, 3, 1), "USD", "EUR", Fraction("0.92")),
    ExchangeRate(date(2024, 4, 1), "USD", "EUR", Fraction("0.95")),
    ExchangeRate(date(2024, 1, 1), "USD", "GBP", Fraction(3, 2)),
)


def test_date_between_two_rate_changes_takes_the_earlier_quote():
    # 2024-03-15 lies between the 03-01 and 04-01 quotes: 0.92.
    # $12.345678 = 12_345_678 micros x 0.92 = 11_358_023.76 -> 11_358_024 (half-up).
    assert convert_micros(12_345_678, "USD", "EUR", date(2024, 3, 15), RATES) == 11_358_024


def test_a_quote_takes_effect_on_its_own_day():
    # 2024-02-29 still 0.90; 2024-03-01 already 0.92. $10 = 10_000_000 micros.
    assert convert_micros(10_000_000, "USD", "EUR", date(2024, 2, 29), RATES) == 9_000_000
    assert convert_micros(10_000_000, "USD", "EUR", date(2024, 3, 1), RATES) == 9_200_000


def test_only_the_inverse_quoted_uses_its_reciprocal():
    # EUR -> USD on 2024-03-15: 1 / 0.92. 9_200_000 EUR micros -> 10_000_000 USD micros;
    # 5 micros -> 5 / 0.92 = 5.43... -> 5.
    assert exchange_rate(RATES, "EUR", "USD", date(2024, 3, 15)) == Fraction(25, 23)
    assert convert_micros(9_200_000, "EUR", "USD", date(2024, 3, 15), RATES) == 10_000_000
    assert convert_micros(5, "EUR", "USD", date(2024, 3, 15), RATES) == 5


def test_halves_round_away_from_zero():
    # USD -> GBP 1.5: 1 micro -> 1.5 -> 2; a credit of -1 micro -> -2, minus the charge.
    assert convert_micros(1, "USD", "GBP", date(2024, 5, 1), RATES) == 2
    assert convert_micros(-1, "USD", "GBP", date(2024, 5, 1), RATES) == -2
    # 3 micros -> 4.5 -> 5.
    assert convert_micros(3, "USD", "GBP", date(2024, 5, 1), RATES) == 5


def test_same_currency_needs_no_rate():
    assert convert_micros(123, "USD", "USD", date(1999, 1, 1), ()) == 123


def test_no_rate_before_the_first_quote():
    with pytest.raises(NoExchangeRateError, match=r"USD->EUR .* 2023-12-31"):
        convert_micros(1, "USD", "EUR", date(2023, 12, 31), RATES)


def test_no_cross_rate_through_a_third_currency():
    # EUR -> GBP could be derived via USD, but is not quoted.
    with pytest.raises(NoExchangeRateError):
        convert_micros(1, "EUR", "GBP", date(2024, 5, 1), RATES)


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ((*RATES, ExchangeRate(date(2024, 2, 1), "EUR", "USD", Fraction(1))), "both"),
        ((*RATES, ExchangeRate(date(2024, 1, 1), "USD", "EUR", Fraction(1))), "two"),
        ((ExchangeRate(date(2024, 1, 1), "USD", "EUR", Fraction(0)),), "> 0"),
        ((ExchangeRate(date(2024, 1, 1), "USD", "USD", Fraction(1)),), "one currency"),
    ],
    ids=["both-directions", "repeated-quote", "zero-rate", "self-pair"],
)
def test_unusable_quotes_are_refused(rates, message):
    with pytest.raises(ValueError, match=message):
        check_exchange_rates(rates)
    with pytest.raises(ValueError, match=message):
        convert_micros(1, "USD", "EUR", date(2024, 5, 1), rates)
