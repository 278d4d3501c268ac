"""A carrier's own rating of the calls we hand it: a small reference rater in plain Python.

Carriers rate with their decks, not with our kernels, so the generator prices each call
the way the agreement's words say (docs/interconnect.md) and nothing more, straight from
the reference rows it writes (carriers.csv, interconnect_rates.csv termination rows,
ported_numbers.csv). That makes this rater the independent reference the pipeline's
kernel-rated legs (``pipelines.interconnect.legs``) are checked against:

- a domestic (NANP) number ported on the call's local start date is rated on its LRN;
- the deck row is the longest prefix of the rated number among the carrier's termination
  rows in force on that date;
- billable seconds: the first ``first_increment`` seconds as one block, then every started
  ``increment``; a call of 0 seconds bills 0;
- amount: ``price_micros * billable / 60`` exactly, rounded once per call to the
  agreement's decimals with its method. Rounding is integer arithmetic on micro-units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

#: Deck prices are per this many seconds.
PRICE_SECONDS = 60
#: Money is in micro-units of the currency: 6 decimals.
MICRO_DECIMALS = 6
TERMINATION = "termination"
NANP = "1"

Row = Mapping[str, object]


def billable_seconds(duration_seconds: int, first_increment: int, increment: int) -> int:
    """Seconds billed for a call of ``duration_seconds``: the first block, then every
    started increment (0 for 0)."""
    if duration_seconds <= 0:
        return 0
    beyond = max(0, duration_seconds - first_increment)
    return first_increment + -(-beyond // increment) * increment


def round_micros(numerator: int, denominator: int, decimals: int, method: str) -> int:
    """The non-negative amount ``numerator / denominator`` micro-units rounded to
    ``decimals`` decimals of the currency with ``method`` (up, half_up or down)."""
    unit = 10 ** (MICRO_DECIMALS - decimals)
    whole, remainder = divmod(numerator, denominator * unit)
    if method == "up":
        whole += remainder > 0
    elif method == "half_up":
        whole += 2 * remainder >= denominator * unit
    elif method != "down":
        raise ValueError(f"unknown rounding method {method!r}")
    return whole * unit


def call_amount_micros(price_micros: int, billable: int, decimals: int, method: str) -> int:
    """A call's amount: ``price_micros`` per 60 s for ``billable`` seconds, rounded."""
    return round_micros(price_micros * billable, PRICE_SECONDS, decimals, method)


def _date(text: object) -> date | None:
    return date.fromisoformat(str(text)) if text not in (None, "") else None


@dataclass(frozen=True)
class Agreement:
    """A carrier's terms (carriers.csv)."""

    carrier_id: str
    currency: str
    rounding_method: str
    rounding_decimals: int
    tolerance_micros: int
    tolerance_bp: int

    def tolerance(self, our_amount_micros: int) -> int:
        """The most the carrier may bill above ``our_amount_micros`` undisputed."""
        return max(self.tolerance_micros, self.tolerance_bp * our_amount_micros // 10_000)


@dataclass(frozen=True)
class DeckRate:
    """One version of a termination deck row."""

    carrier_id: str
    prefix: str
    destination_name: str
    price_micros: int
    first_increment: int
    increment: int
    effective_from: date
    effective_to: date | None  # inclusive; None: open

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True)
class Rating:
    """A call as its carrier rates it."""

    rate: DeckRate
    rated_number: str
    billable_seconds: int
    amount_micros: int


class CarrierRater:
    """Every carrier's termination deck and the porting table, from reference rows."""

    def __init__(
        self, carriers: Iterable[Row], rates: Iterable[Row], ported: Iterable[Row]
    ) -> None:
        self.agreements = {
            str(row["carrier_id"]): Agreement(
                str(row["carrier_id"]),
                str(row["currency"]),
                str(row["rounding_method"]),
                int(str(row["rounding_decimals"])),
                int(str(row["dispute_tolerance_micros"])),
                int(str(row["dispute_tolerance_bp"])),
            )
            for row in carriers
        }
        self.decks: dict[str, dict[str, list[DeckRate]]] = {}
        for row in rates:
            if row["direction"] != TERMINATION:
                continue
            since = _date(row["effective_from"])
            assert since is not None, row
            rate = DeckRate(
                str(row["carrier_id"]),
                str(row["prefix"]),
                str(row["destination_name"]),
                int(str(row["price_micros"])),
                int(str(row["first_increment"])),
                int(str(row["increment"])),
                since,
                _date(row["effective_to"]),
            )
            self.decks.setdefault(rate.carrier_id, {}).setdefault(rate.prefix, []).append(rate)
        self.ported: dict[str, list[tuple[date, date | None, str]]] = {}
        for row in ported:
            since = _date(row["effective_from"])
            assert since is not None, row
            self.ported.setdefault(str(row["number"]), []).append(
                (since, _date(row["effective_to"]), str(row["lrn"]))
            )

    def rated_number(self, number: str, day: date) -> str:
        """The LRN of a domestic number ported on ``day``, else the number."""
        if number.startswith(NANP):
            for since, until, lrn in self.ported.get(number, ()):
                if since <= day and (until is None or day <= until):
                    return lrn
        return number

    def deck_rate(self, carrier_id: str, number: str, day: date) -> DeckRate | None:
        """The carrier's row for ``number`` on ``day``: the longest prefix in force."""
        deck = self.decks.get(carrier_id, {})
        for length in range(len(number), 0, -1):
            for rate in deck.get(number[:length], ()):
                if rate.in_force(day):
                    return rate
        return None

    def rate(self, carrier_id: str, number: str, day: date, duration_seconds: int) -> Rating | None:
        """The carrier's rating of a call to ``number`` starting on local ``day``; None when
        its deck has no row for it (the carrier cannot bill it)."""
        rated = self.rated_number(number, day)
        rate = self.deck_rate(carrier_id, rated, day)
        if rate is None:
            return None
        return self.rate_with(rate, rated, duration_seconds)

    def rate_with(self, rate: DeckRate, rated_number: str, duration_seconds: int) -> Rating:
        """A call priced with the given deck row (also a wrong one, as a carrier may)."""
        agreement = self.agreements[rate.carrier_id]
        billable = billable_seconds(duration_seconds, rate.first_increment, rate.increment)
        amount = call_amount_micros(
            rate.price_micros, billable, agreement.rounding_decimals, agreement.rounding_method
        )
        return Rating(rate, rated_number, billable, amount)
