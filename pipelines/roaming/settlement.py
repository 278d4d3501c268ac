"""Roaming settlement: per partner, direction and service, what the period's TAP files
charge, in the TAP currency and its operator-currency (USD) equivalent.

Payable lines sum the events of the partners' settled batches, receivable lines those of
our TAP files (``roaming_events`` rows with ``is_settled``), so a line traces to its events
and files. A line's charge converts to USD once, at the tariff catalog's exchange rate in
force on the period's last day, rounded to the micro with halves away from zero
(``pipelines.tariffs.currency``): the rate on the day the period is invoiced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl

from pipelines.config import OPERATOR_CURRENCY
from pipelines.periods import parse_period
from pipelines.roaming.partners import RoamingPartner
from pipelines.roaming.tap_in import RoamingError
from pipelines.tariffs.currency import NoExchangeRateError, convert_with, exchange_rate
from pipelines.tariffs.model import ExchangeRate

#: What a service's units count.
UNITS = {
    "voice_mo": "seconds",
    "voice_mt": "seconds",
    "sms_mo": "messages",
    "sms_mt": "messages",
    "data": "bytes",
}
OTHER_UNIT = "events"


def settlement_lines(
    billing_period: str,
    events: pl.DataFrame,
    partners: Mapping[str, RoamingPartner],
    rates: Sequence[ExchangeRate],
) -> list[dict[str, Any]]:
    """ROAMING_SETTLEMENT_SCHEMA rows from the period's roaming_events rows."""
    _, last = parse_period(billing_period)
    totals = (
        events.filter(pl.col("is_settled"))
        .group_by("tadig", "direction", "service", "tap_currency")
        .agg(
            pl.col("file_name").n_unique().alias("files"),
            pl.len().alias("events"),
            pl.col("units").sum().alias("units"),
            pl.col("charge_micros").sum().alias("charge_micros"),
        )
        .sort("tadig", "direction", "service", "tap_currency")
    )
    lines = []
    for row in totals.to_dicts():
        rate = operator_rate(rates, row["tap_currency"], last)
        partner = partners.get(row["tadig"])
        lines.append(
            {
                "billing_period": billing_period,
                "tadig": row["tadig"],
                "partner_name": partner.partner_name if partner else None,
                "direction": row["direction"],
                "service": row["service"],
                "unit": UNITS.get(row["service"], OTHER_UNIT),
                "files": row["files"],
                "events": row["events"],
                "units": row["units"],
                "charge_micros": row["charge_micros"],
                "tap_currency": row["tap_currency"],
                "settlement_currency": partner.settlement_currency if partner else None,
                "exchange_rate": rate_text(rate),
                "exchange_rate_date": last,
                "usd_equivalent_micros": convert_with(row["charge_micros"], rate),
            }
        )
    return lines


def operator_rate(rates: Sequence[ExchangeRate], currency: str, day: date) -> Fraction:
    """Units of the operator's currency (USD) per unit of ``currency`` on ``day``, from the
    tariff catalog's quotes; raises RoamingError when it has none."""
    if currency == OPERATOR_CURRENCY:
        return Fraction(1)
    try:
        return exchange_rate(rates, currency, OPERATOR_CURRENCY, day)
    except NoExchangeRateError as error:
        raise RoamingError(f"no {OPERATOR_CURRENCY} value for {currency}: {error}") from error


def rate_text(rate: Fraction) -> str:
    """A rate exactly: decimal digits when it has a finite expansion, else ``p/q``."""
    rest = rate.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        return f"{rate.numerator}/{rate.denominator}"
    digits = 0
    while (rate * 10**digits).denominator != 1:
        digits += 1
    scaled = abs(int(rate * 10**digits))
    whole, fraction = divmod(scaled, 10**digits)
    sign = "-" if rate < 0 else ""
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"
