"""Import a CGRateS tariff plan folder into a ``model.Catalog``.

A CGRateS tariff plan (TP) is a folder of CSV files: Destinations, Timings, Rates,
DestinationRates, RatingPlans and RatingProfiles (docs/cgrates.md maps every column).
Destinations.csv and Timings.csv may be absent (plans that only use ``*any``); the other four
are required. Lines starting with ``#`` and blank lines are skipped, as CGRateS's loader does.

What the model cannot hold is refused with the file, line and value, never guessed: an
amount with more than 6 decimals (money is integer micro-units), a duration that is not a
whole number of seconds, rounding decimals above 6, an id that nothing defines. The
catalog's version is a hash of the folder's CSV files, so the same plan always imports as
the same version.

Units: a duration with a unit (``60s``, ``1m``, ``1h30m``) is a number of seconds; a bare
number (``10``, ``1024``) is a number of units (messages, bytes). Both become the model's
integer units, which is what the event's usage is counted in (see ``events.parse_usage``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    SECONDS_PER_DAY,
    Catalog,
    Destination,
    DestinationRate,
    MaxCostStrategy,
    PlanEntry,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Timing,
)

DESTINATIONS = "Destinations.csv"
TIMINGS = "Timings.csv"
RATES = "Rates.csv"
DESTINATION_RATES = "DestinationRates.csv"
RATING_PLANS = "RatingPlans.csv"
RATING_PROFILES = "RatingProfiles.csv"
PLAN_FILES = (DESTINATIONS, TIMINGS, RATES, DESTINATION_RATES, RATING_PLANS, RATING_PROFILES)
OPTIONAL_FILES = frozenset({DESTINATIONS, TIMINGS})

#: ISO 4217 "no currency": a CGRateS plan states none, so none is invented for it.
DEFAULT_CURRENCY = "XXX"

#: The timing of CGRateS's ``*asap``: an action-plan start ("now"), not a time of day.
ASAP = "*asap"

_ROUNDING = {
    "*up": RoundingMethod.UP,
    "*middle": RoundingMethod.HALF_UP,
    "*down": RoundingMethod.DOWN,
}
_MAX_COST = {"*free": MaxCostStrategy.FREE, "*disconnect": MaxCostStrategy.DISCONNECT}
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS_PER = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_MICROS = 10**6


class CgratesImportError(ValueError):
    """A tariff plan file the model cannot hold; the message names file, line and value."""


@dataclass(frozen=True)
class ImportedPlan:
    """The catalog, and what was left out of it (e.g. non-numeric prefixes)."""

    catalog: Catalog
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Row:
    file: str
    line: int
    fields: tuple[str, ...]

    def fail(self, message: str) -> CgratesImportError:
        return CgratesImportError(f"{self.file} line {self.line}: {message}")


def parse_duration(text: str) -> int | None:
    """Whole seconds or units of a CGRateS duration; None if it is not one.

    ``""`` is 0 (as in CGRateS); a bare integer is units; ``90s``, ``1m30s``, ``1.5m`` are
    seconds. A sub-second remainder (``1500ms``) is not a whole number and gives None.
    """
    if text == "":
        return 0
    if text.isdigit():
        return int(text)
    if re.fullmatch(rf"(?:{_GO_DURATION.pattern})+", text) is None:
        return None
    seconds = sum(
        (Fraction(number) * _SECONDS_PER[unit] for number, unit in _GO_DURATION.findall(text)),
        Fraction(0),
    )
    return int(seconds) if seconds.denominator == 1 else None


def parse_micros(text: str) -> int | None:
    """Micro-units of a decimal amount (``""`` is 0); None if not one or finer than 6 decimals."""
    if text == "":
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    micros = amount * _MICROS
    return int(micros) if micros == micros.to_integral_value() else None


def _rows(folder: Path, name: str, width: int) -> list[_Row]:
    path = folder / name
    if not path.is_file():
        if name in OPTIONAL_FILES:
            return []
        raise CgratesImportError(f"{path}: missing (a CGRateS tariff plan needs {name})")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = tuple(field.strip() for field in next(csv.reader([line])))
        row = _Row(name, number, fields)
        if len(fields) != width:
            raise row.fail(f"expected {width} columns, found {len(fields)}: {line!r}")
        rows.append(row)
    return rows


def _duration(row: _Row, column: str, text: str) -> int:
    value = parse_duration(text)
    if value is None:
        raise row.fail(f"{column} {text!r} is not a whole number of seconds or units")
    return value


def _money(row: _Row, column: str, text: str) -> int:
    value = parse_micros(text)
    if value is None:
        raise row.fail(f"{column} {text!r} is not an amount with at most 6 decimals")
    return value


def _integer(row: _Row, column: str, text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value():
        raise row.fail(f"{column} {text!r} is not a whole number")
    return int(value)


def _destinations(rows: list[_Row]) -> tuple[dict[str, Destination], list[str]]:
    prefixes: dict[str, list[str]] = {}
    warnings = []
    for row in rows:
        destination_id, prefix = row.fields
        held = prefixes.setdefault(destination_id, [])
        digits = prefix[1:] if prefix.startswith("+") else prefix
        if not digits.isdigit():
            # The model's prefixes are digits of a normalised number (model.Destination).
            warnings.append(
                f"{row.file} line {row.line}: prefix {prefix!r} of {destination_id} is not a "
                "number and was left out"
            )
        elif digits not in held:
            held.append(digits)
    for destination_id, held in prefixes.items():
        if not held:
            warnings.append(f"destination {destination_id} has no numeric prefix and was left out")
    destinations = {key: Destination(key, tuple(held)) for key, held in prefixes.items() if held}
    return destinations, warnings


def _number_set(row: _Row, column: str, text: str, low: int, high: int) -> frozenset[int]:
    if text in ("", ANY):
        return frozenset()
    values = set()
    for part in text.split(";"):
        value = _integer(row, column, part)
        if not low <= value <= high:
            raise row.fail(f"{column} {part!r} is outside {low}..{high}")
        values.add(value)
    return frozenset(values)


def _second_of_day(row: _Row, text: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2})", text)
    if match is None:
        raise row.fail(f"Time {text!r} is not HH:MM:SS")
    hours, minutes, seconds = (int(part) for part in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise row.fail(f"Time {text!r} is not a time of day")
    return hours * 3600 + minutes * 60 + seconds


def _timings(rows: list[_Row]) -> tuple[dict[str, Timing], set[str]]:
    """Timings by id, and the ids whose start is ``*asap`` (not usable by a rating plan)."""
    timings: dict[str, Timing] = {}
    asap = set()
    for row in rows:
        timing_id, years, months, month_days, week_days, time_text = row.fields
        # CGRateS reads weekdays as Go's time.Weekday modulo 7: 0 and 7 are Sunday.
        go_days = _number_set(row, "WeekDays", week_days, 0, 7)
        start, end = 0, SECONDS_PER_DAY
        if time_text == ASAP:
            asap.add(timing_id)
        elif time_text not in ("", ANY):
            start_text, _, end_text = time_text.partition(";")
            start = _second_of_day(row, start_text)
            if end_text:
                end = _second_of_day(row, end_text)
        timings[timing_id] = Timing(
            timing_id,
            years=_number_set(row, "Years", years, 1, 9999),
            months=_number_set(row, "Months", months, 1, 12),
            month_days=_number_set(row, "MonthDays", month_days, 1, 31),
            week_days=frozenset(7 if day in (0, 7) else day for day in go_days),
            start_second=start,
            end_second=end,
        )
    return timings, asap


def _rates(rows: list[_Row]) -> dict[str, Rate]:
    slots: dict[str, list[tuple[_Row, RateSlot]]] = {}
    for row in rows:
        rate_id, fee, price, unit, increment, start = row.fields
        # CGRateS prices a RateUnit or RateIncrement of 0 as 1 (GetRateParameters).
        slot = RateSlot(
            group_interval_start=_duration(row, "GroupIntervalStart", start),
            price_micros=_money(row, "Rate", price),
            rate_unit=_duration(row, "RateUnit", unit) or 1,
            increment=_duration(row, "RateIncrement", increment) or 1,
            connect_fee_micros=_money(row, "ConnectFee", fee),
        )
        slots.setdefault(rate_id, []).append((row, slot))
    rates = {}
    for rate_id, rows_slots in slots.items():
        ordered = sorted(rows_slots, key=lambda pair: pair[1].group_interval_start)
        starts = [slot.group_interval_start for _, slot in ordered]
        if starts[0] != 0:
            raise ordered[0][0].fail(f"rate {rate_id} has no row with GroupIntervalStart 0")
        for (row, slot), previous in zip(ordered[1:], starts, strict=False):
            if slot.group_interval_start == previous:
                raise row.fail(f"rate {rate_id} has two rows at the same GroupIntervalStart")
        rates[rate_id] = Rate(rate_id, tuple(slot for _, slot in ordered))
    return rates


def _destination_rates(
    rows: list[_Row],
    destinations: dict[str, Destination],
    left_out: set[str],
    rates: dict[str, Rate],
    warnings: list[str],
) -> dict[str, tuple[DestinationRate, ...]]:
    """Destination rates by id; rows of a left-out destination are left out with a warning."""
    bindings: dict[str, list[DestinationRate]] = {}
    for row in rows:
        binding_id, destination_id, rate_id, method, decimals, max_cost, strategy = row.fields
        if destination_id in left_out:
            warnings.append(
                f"{row.file} line {row.line}: {binding_id} left out with {destination_id}"
            )
            continue
        if destination_id != ANY and destination_id not in destinations:
            raise row.fail(f"DestinationId {destination_id!r} is not in {DESTINATIONS}")
        if rate_id not in rates:
            raise row.fail(f"RatesTag {rate_id!r} is not in {RATES}")
        if method not in _ROUNDING:
            raise row.fail(f"RoundingMethod {method!r} is not one of {', '.join(_ROUNDING)}")
        rounding_decimals = _integer(row, "RoundingDecimals", decimals)
        if not 0 <= rounding_decimals <= 6:
            raise row.fail(f"RoundingDecimals {decimals!r} is outside 0..6 (money is micros)")
        if strategy and strategy not in _MAX_COST:
            raise row.fail(f"MaxCostStrategy {strategy!r} is not one of {', '.join(_MAX_COST)}")
        bindings.setdefault(binding_id, []).append(
            DestinationRate(
                destination_id=destination_id,
                rate_id=rate_id,
                rounding_method=_ROUNDING[method],
                rounding_decimals=rounding_decimals,
                max_cost_micros=_money(row, "MaxCost", max_cost),
                max_cost_strategy=_MAX_COST.get(strategy),
            )
        )
    return {key: tuple(values) for key, values in bindings.items()}


def _rating_plans(
    rows: list[_Row],
    destination_rates: dict[str, tuple[DestinationRate, ...]],
    left_out: set[str],
    timings: dict[str, Timing],
    asap: set[str],
    warnings: list[str],
) -> dict[str, RatingPlan]:
    """Rating plans by id; entries of a left-out destination rate are left out, warned."""
    entries: dict[str, list[PlanEntry]] = {}
    for row in rows:
        plan_id, binding_id, timing_id, weight = row.fields
        if binding_id in left_out:
            warnings.append(f"{row.file} line {row.line}: {plan_id} entry {binding_id} left out")
            continue
        if binding_id not in destination_rates:
            raise row.fail(f"DestinationRatesId {binding_id!r} is not in {DESTINATION_RATES}")
        if timing_id != ANY and timing_id not in timings:
            raise row.fail(f"TimingTag {timing_id!r} is not in {TIMINGS}")
        if timing_id in asap:
            raise row.fail(f"TimingTag {timing_id!r} starts {ASAP}, which is no time of day")
        entry = PlanEntry(binding_id, timing_id, _integer(row, "Weight", weight))
        entries.setdefault(plan_id, []).append(entry)
    return {key: RatingPlan(key, tuple(values)) for key, values in entries.items()}


def _activation(row: _Row, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise row.fail(f"ActivationTime {text!r} is not an RFC 3339 time with an offset")
    return moment.astimezone(UTC)


def _profiles(rows: list[_Row], plans: dict[str, RatingPlan]) -> tuple[RatingProfile, ...]:
    profiles = []
    for row in rows:
        tenant, category, subject, activation, plan_id, fallbacks = row.fields
        if plan_id not in plans:
            raise row.fail(f"RatingPlanId {plan_id!r} is not in {RATING_PLANS}")
        profiles.append(
            RatingProfile(
                tenant=tenant,
                category=category,
                subject=subject,
                activation=_activation(row, activation),
                rating_plan_id=plan_id,
                fallback_subjects=tuple(s for s in fallbacks.split(";") if s),
            )
        )
    return tuple(profiles)


def plan_version(folder: Path) -> str:
    """A hash of the folder's tariff plan files (name and bytes), stable across machines."""
    digest = hashlib.sha256()
    for name in PLAN_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"cgrates-{digest.hexdigest()[:16]}"


def import_plan(folder: Path, currency: str = DEFAULT_CURRENCY) -> ImportedPlan:
    """Read a CGRateS tariff plan folder into a catalog; CgratesImportError if it cannot."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CgratesImportError(f"{folder}: not a folder")
    destination_rows = _rows(folder, DESTINATIONS, 2)
    destinations, warnings = _destinations(destination_rows)
    timings, asap = _timings(_rows(folder, TIMINGS, 6))
    timings.setdefault(ANY, ALWAYS)
    rates = _rates(_rows(folder, RATES, 6))
    # A destination with no numeric prefix can match no number: it is left out, and so is
    # what only it uses, rather than kept as an entry that can never apply.
    left_out = {row.fields[0] for row in destination_rows} - set(destinations)
    binding_rows = _rows(folder, DESTINATION_RATES, 7)
    destination_rates = _destination_rates(binding_rows, destinations, left_out, rates, warnings)
    unused = {row.fields[0] for row in binding_rows} - set(destination_rates)
    plans = _rating_plans(
        _rows(folder, RATING_PLANS, 4), destination_rates, unused, timings, asap, warnings
    )
    profiles = _profiles(_rows(folder, RATING_PROFILES, 6), plans)
    catalog = Catalog(
        version=plan_version(folder),
        currency=currency,
        destinations=destinations,
        timings=timings,
        rates=rates,
        destination_rates=destination_rates,
        rating_plans=plans,
        profiles=profiles,
    )
    return ImportedPlan(catalog, tuple(warnings))
