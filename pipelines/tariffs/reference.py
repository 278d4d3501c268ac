"""Slow, obviously correct rating of one event against a catalog: the specification.

Plain Python over the model's own objects (prefix strings, dates, fractions), scanning
every entry, so it shares no index, encoding or integer trick with the Numba kernels that
are tested against it. It is also what ``telcolake rate-events`` runs, which makes that
command an independent check of what the pipeline billed.

The rules, in order (docs/tariff-catalog.md states them for users):
1. Profile: the (tenant, category, subject) profile with the latest activation not after
   the event (UTC). No profile: the subject ``*any``; none either: RATING_PLAN_NOT_FOUND.
2. Destination: an on-net event first tries the plan's on-net destinations. Otherwise the
   number's prefixes are walked longest first; the first prefix held by a destination of an
   entry that is in effect on the event date and whose timing is active at the start wins;
   then ``*any``. Nothing: the profile's fallback subjects are tried in order, then subject
   ``*any``; nothing at all: UNAUTHORIZED_DESTINATION.
3. Candidates are the plan's entries for the chosen destination (prefix); at each instant
   the active one with the highest weight wins (ties: the later timing start, then file
   order). None active at an instant of the event: RATING_PLAN_GAP.
4. Spans: from the event's start a cursor walks the usage; a span ends at the usage's end,
   the next group interval start of its rate, and (time-based usage) the next instant the
   winning entry changes or midnight. Each span is billed rounded up to its slot's
   increment, and the cursor moves by the billed units (the extension eats into what
   follows). Non-time-based usage is rated wholly at its start instant.
5. Money: the first span's entry gives the connect fee (its rate's first slot), minimum
   usage (applied to usage > 0 before the walk), maximum cost and minimum charge. An
   allowance pays the first billed units (in span order); what it leaves is charged. Cost =
   connect fee + exact costs of the charged units; capped at max cost if its strategy is
   ``free``; raised to the minimum charge; then rounded once to the most decimals any
   span's entry asks for, with that entry's method. Zero usage costs nothing. A zero-rated
   destination group (toll-free, emergency) costs nothing whatever its rate says.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import cache

import holidays as holiday_calendars

from pipelines.tariffs.model import (
    ANY,
    SECONDS_PER_DAY,
    ZERO_RATED_GROUPS,
    Catalog,
    DestinationGroup,
    DestinationRate,
    Event,
    HolidayCalendar,
    HolidayRule,
    MaxCostStrategy,
    PlanEntry,
    Rate,
    Rating,
    RatingError,
    RatingProfile,
    RoundingMethod,
    Span,
    Timing,
)


@cache
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holiday_calendars.country_holidays(country, subdiv=subdivision, years=year))


def is_holiday(calendar: HolidayCalendar, day: date) -> bool:
    if day in calendar.removed:
        return False
    if day in calendar.extra:
        return True
    if calendar.country is None:
        return False
    return day in _public_holidays(calendar.country, calendar.subdivision, day.year)


def timing_active(timing: Timing, moment: datetime, holiday: bool) -> bool:
    """Whether ``timing`` covers the local instant ``moment`` (``holiday``: its date is one)."""
    day = moment.date()
    second = moment.hour * 3600 + moment.minute * 60 + moment.second
    if timing.years and day.year not in timing.years:
        return False
    if timing.months and day.month not in timing.months:
        return False
    if timing.month_days and day.day not in timing.month_days:
        return False
    if timing.week_days and day.isoweekday() not in timing.week_days:
        return False
    if timing.holidays is HolidayRule.ONLY and not holiday:
        return False
    if timing.holidays is HolidayRule.NEVER and holiday:
        return False
    return timing.start_second <= second < timing.end_second


def round_micros(amount: Fraction, decimals: int, method: RoundingMethod) -> int:
    """Round a micro amount to ``decimals`` decimals of the currency (0..6)."""
    step = 10 ** (6 - decimals)
    quotient = amount / step
    if method is RoundingMethod.UP:
        whole = math.ceil(quotient)
    elif method is RoundingMethod.DOWN:
        whole = math.floor(quotient) if quotient >= 0 else math.ceil(quotient)
    else:
        whole = math.floor(quotient + Fraction(1, 2))
    return whole * step


@dataclass(frozen=True)
class _Candidate:
    order: int  # file order of (entry, destination rate) in the plan
    entry: PlanEntry
    binding: DestinationRate
    timing: Timing
    prefix: str


def active_profile(
    catalog: Catalog, tenant: str, category: str, subject: str, at_utc: datetime
) -> RatingProfile | None:
    best = None
    for profile in catalog.profiles:
        if (profile.tenant, profile.category, profile.subject) != (tenant, category, subject):
            continue
        if _as_utc(profile.activation) > _as_utc(at_utc):
            continue
        if best is None or _as_utc(profile.activation) > _as_utc(best.activation):
            best = profile
    return best


def _as_utc(moment: datetime) -> datetime:
    """Naive datetimes in profiles and events are UTC (model.RatingProfile, model.Event)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _in_effect(binding: DestinationRate, day: date) -> bool:
    if binding.effective_from is not None and day < binding.effective_from:
        return False
    return binding.effective_to is None or day <= binding.effective_to


def _bindings(catalog: Catalog, rating_plan_id: str, day: date) -> Iterator[_Candidate]:
    order = 0
    for entry in catalog.rating_plans[rating_plan_id].entries:
        timing = catalog.timings[entry.timing_id]
        for binding in catalog.destination_rates[entry.destination_rates_id]:
            if _in_effect(binding, day):
                yield _Candidate(order, entry, binding, timing, "")
            order += 1


def _digits(number: str | None) -> str | None:
    if number is None:
        return None
    text = number[1:] if number.startswith("+") else number
    return text if text.isdigit() else None


def _candidates(
    catalog: Catalog, rating_plan_id: str, event: Event, holiday: bool
) -> list[_Candidate]:
    """The entries for the destination the event's number resolves to; [] if none."""
    entries = list(_bindings(catalog, rating_plan_id, event.start.date()))

    def destination(candidate: _Candidate):
        return catalog.destinations.get(candidate.binding.destination_id)

    def pick(held: list[_Candidate], prefix: str) -> list[_Candidate]:
        if any(timing_active(c.timing, event.start, holiday) for c in held):
            return [_Candidate(c.order, c.entry, c.binding, c.timing, prefix) for c in held]
        return []

    if event.on_net:
        on_net = [
            c
            for c in entries
            if (d := destination(c)) is not None and d.group is DestinationGroup.ON_NET
        ]
        if found := pick(on_net, ""):
            return found
    digits = _digits(event.destination)
    if digits:
        # Every entry whose destination holds a prefix of the number, by that prefix.
        held_by: dict[str, list[_Candidate]] = {}
        for c in entries:
            d = destination(c)
            if d is None or d.group is DestinationGroup.ON_NET:
                continue
            for prefix in set(d.prefixes):
                if digits.startswith(prefix):
                    held_by.setdefault(prefix, []).append(c)
        for length in range(len(digits), 0, -1):
            if found := pick(held_by.get(digits[:length], []), digits[:length]):
                return found
    return pick([c for c in entries if c.binding.destination_id == ANY], "")


def _winner(candidates: list[_Candidate], moment: datetime, holiday: bool) -> _Candidate | None:
    active = [c for c in candidates if timing_active(c.timing, moment, holiday)]
    if not active:
        return None
    return min(active, key=lambda c: (-c.entry.weight, -c.timing.start_second, c.order))


def _walk(
    catalog: Catalog, candidates: list[_Candidate], event: Event, usage: int
) -> list[Span] | RatingError:
    """Spans of the event's usage (rule 4 of the module docstring)."""
    spans: list[Span] = []
    cursor = 0
    while True:
        moment = event.start + timedelta(seconds=cursor) if event.time_based else event.start
        holiday = is_holiday(catalog.holidays, moment.date())
        won = _winner(candidates, moment, holiday)
        if won is None:
            return RatingError.RATING_PLAN_GAP
        rate = catalog.rates[won.binding.rate_id]
        slot_index = max(i for i, s in enumerate(rate.slots) if s.group_interval_start <= cursor)
        slot = rate.slots[slot_index]
        end = usage
        if slot_index + 1 < len(rate.slots):
            end = min(end, rate.slots[slot_index + 1].group_interval_start)
        if event.time_based:
            end = min(end, cursor + _seconds_to_change(candidates, won, moment, holiday))
        covered = max(end - cursor, 0)
        billed = -(-covered // slot.increment) * slot.increment
        spans.append(
            Span(
                start_usage=cursor,
                usage=covered,
                billed=billed,
                rating_plan_id="",
                destination_rates_id=won.entry.destination_rates_id,
                destination_id=won.binding.destination_id,
                prefix=won.prefix,
                rate_id=rate.rate_id,
                timing_id=won.timing.timing_id,
                slot=slot_index,
                price_micros=slot.price_micros,
                rate_unit=slot.rate_unit,
                increment=slot.increment,
                binding=won.binding,
            )
        )
        cursor += billed
        if cursor >= usage:
            return spans


def _seconds_to_change(
    candidates: list[_Candidate], current: _Candidate, moment: datetime, holiday: bool
) -> int:
    """Seconds from ``moment`` to the next instant another entry wins, or to midnight."""
    second = moment.hour * 3600 + moment.minute * 60 + moment.second
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    edges = sorted(
        {c.timing.start_second for c in candidates} | {c.timing.end_second for c in candidates}
    )
    for edge in edges:
        if second < edge < SECONDS_PER_DAY:
            won = _winner(candidates, midnight + timedelta(seconds=edge), holiday)
            if won is not current:
                return edge - second
    return SECONDS_PER_DAY - second


def _price(spans: list[Span], first: DestinationRate, rate: Rate, covered: int) -> Rating:
    """Money of the walked spans (rule 5); ``covered`` billed units are paid by an allowance.

    The allowance pays the first billed units in span order; an event it pays wholly pays
    no connect fee and no minimum charge.
    """
    billed = sum(s.billed for s in spans)
    covered = min(covered, billed)
    if billed - covered <= 0:
        return Rating(spans=tuple(spans), billed_usage=billed, allowance_units=covered)
    total = Fraction(rate.slots[0].connect_fee_micros)
    left = covered
    for span in spans:
        paid = min(left, span.billed)
        left -= paid
        total += Fraction((span.billed - paid) * span.price_micros, span.rate_unit)
    if (
        first.max_cost_strategy is MaxCostStrategy.FREE
        and first.max_cost_micros > 0
        and total > first.max_cost_micros
    ):
        total = Fraction(first.max_cost_micros)
    total = max(total, Fraction(first.min_charge_micros))
    return Rating(
        cost_micros=total_rounded(spans, total),
        spans=tuple(spans),
        connect_fee_micros=rate.slots[0].connect_fee_micros,
        billed_usage=billed,
        allowance_units=covered,
    )


def total_rounded(spans: list[Span], total: Fraction) -> int:
    """``total`` rounded as the span entry with the most decimals says (first such span)."""
    chosen = max((s.binding for s in spans), key=lambda b: b.rounding_decimals)
    return round_micros(total, chosen.rounding_decimals, chosen.rounding_method)


def rate_with_plan(catalog: Catalog, rating_plan_id: str, event: Event, covered: int = 0) -> Rating:
    """Rate ``event`` with one rating plan (no profile lookup, no fallback).

    ``covered``: billed units an allowance pays (see ``_price``).
    """
    holiday = is_holiday(catalog.holidays, event.start.date())
    candidates = _candidates(catalog, rating_plan_id, event, holiday)
    if not candidates:
        return Rating(error=RatingError.UNAUTHORIZED_DESTINATION)
    first = _winner(candidates, event.start, holiday)
    assert first is not None  # _candidates only returns sets active at the start
    usage = event.usage
    if 0 < usage < first.binding.min_usage:
        usage = first.binding.min_usage
    walked = _walk(catalog, candidates, event, usage)
    if isinstance(walked, RatingError):
        return Rating(error=walked)
    spans = [_with_plan(s, rating_plan_id) for s in walked]
    destination = catalog.destinations.get(first.binding.destination_id)
    if destination is not None and destination.group in ZERO_RATED_GROUPS:
        billed = sum(s.billed for s in spans)
        return Rating(zero_rated=True, spans=tuple(spans), billed_usage=billed)
    return _price(spans, first.binding, catalog.rates[first.binding.rate_id], covered)


def _with_plan(span: Span, rating_plan_id: str) -> Span:
    return Span(**{**span.__dict__, "rating_plan_id": rating_plan_id})


def rate_event(catalog: Catalog, event: Event, covered: int = 0) -> Rating:
    """Rate one event: profile, fallbacks, destination, spans, money (module docstring).

    ``covered``: billed units an allowance pays (see ``_price``).
    """
    at_utc = event.start_utc or event.start
    tried: list[str] = []
    queue = [event.subject]
    found_profile = False
    while queue:
        subject = queue.pop(0)
        if subject in tried:
            continue
        tried.append(subject)
        profile = active_profile(catalog, event.tenant, event.category, subject, at_utc)
        if profile is None:
            if subject != ANY:
                queue.append(ANY)
            continue
        found_profile = True
        rating = rate_with_plan(catalog, profile.rating_plan_id, event, covered)
        if rating.error is not RatingError.UNAUTHORIZED_DESTINATION:
            return Rating(**{**rating.__dict__, "subject": subject})
        queue[:0] = list(profile.fallback_subjects)
        if subject != ANY:
            queue.append(ANY)
    if found_profile:
        return Rating(error=RatingError.UNAUTHORIZED_DESTINATION)
    return Rating(error=RatingError.RATING_PLAN_NOT_FOUND)
