"""A published price list (rate_deck.csv, time_bands.csv, holidays, plans.csv) as a catalog.

Operators export their retail prices as one flat list; rating runs a catalog
(docs/tariff-catalog.md). The conversion is mechanical and lossless for what the list says:

- each deck row's prefix becomes destination ``<deck>/<prefix>`` (an empty prefix, which
  matches every number and numberless data, becomes a ``*any`` entry);
- its increments become a rate: the first block, then the step (60/1 = two slots);
- rows of one (deck, service, band) form destination-rates table ``<deck>/<service>/<band>``;
  versions of one prefix become effective-dated entries (each ends the day before the next
  starts); charges round half-up to the micro, as the list's prices are per unit;
- time-band rows become timings by day type (a band's rows with the same hours and
  weight merge into one timing named after the band where the day types allow, see
  ``_timings``), and a rating plan per (deck, service) holds every band's table at each
  of its band's timings with the row's weight;
- each plan version becomes an offer with an allowance per included unit column,
  covering the destinations of the deck's in-bundle rows (every destination when an
  in-bundle row has the empty prefix), and rating profiles
  (tenant, service, plan id) -> ``<deck>/<service>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pipelines.config import OPERATOR_CURRENCY, TENANT
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    Allowance,
    Catalog,
    Destination,
    DestinationGroup,
    DestinationRate,
    HolidayCalendar,
    HolidayRule,
    Offer,
    PlanEntry,
    Rate,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    Timing,
    increment_rate,
)

SERVICES = ("voice", "sms", "data")
_INCLUDED = {
    "voice": "included_voice_seconds",
    "sms": "included_sms",
    "data": "included_data_bytes",
}
_DAY_TYPE_RULES = {
    "weekday": (frozenset({1, 2, 3, 4, 5}), HolidayRule.NEVER),
    "weekend": (frozenset({6, 7}), HolidayRule.NEVER),
    "holiday": (frozenset(), HolidayRule.ONLY),
}

Row = Mapping[str, str]


def _seconds(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _rate(row: Row) -> Rate:
    first, step = int(row["first_increment"]), int(row["increment"])
    price, unit = int(row["price_micros"]), int(row["price_unit"])
    fee = int(row["connect_fee_micros"])
    return increment_rate(f"{price}/{unit}:{first}/{step}+{fee}", price, unit, first, step, fee)


def _timings(band_rows: Iterable[Row]) -> dict[str, list[tuple[Timing, int]]]:
    """Band name -> its timings with weights.

    Rows of a band with the same hours and weight are one timing when their day types
    can be (weekday + weekend: every day but holidays; all three: every day). The timing
    of a band with the most day types is named after the band, the others
    ``<band>/<day type>[/<day type>]``.
    """
    rows_by_key: dict[tuple[str, str, str, int], set[str]] = defaultdict(set)
    for row in band_rows:
        key = (row["time_band"], row["start_time"], row["end_time"], int(row["weight"]))
        rows_by_key[key].add(row["day_type"])
    timings: dict[str, list[tuple[Timing, int]]] = defaultdict(list)
    for (band, start, end, weight), day_types in sorted(rows_by_key.items()):
        groups = [sorted(day_types)]
        if day_types == {"weekday", "weekend"}:
            rules = [(frozenset(range(1, 8)), HolidayRule.NEVER)]
        elif day_types == {"weekday", "weekend", "holiday"}:
            rules = [(frozenset(), HolidayRule.ANY)]
        else:
            groups = [[day_type] for day_type in sorted(day_types)]
            rules = [_DAY_TYPE_RULES[day_type] for day_type in sorted(day_types)]
        for group, (week_days, holidays) in zip(groups, rules, strict=True):
            timings[band].append(
                (
                    Timing(
                        "/".join([band, *group]),
                        week_days=week_days,
                        start_second=_seconds(start),
                        end_second=_seconds(end),
                        holidays=holidays,
                    ),
                    weight,
                )
            )
    # The timing with the most days keeps the band's bare name: usually all there is.
    named: dict[str, list[tuple[Timing, int]]] = {}
    for band, found in timings.items():
        widest = max(range(len(found)), key=lambda i: found[i][0].timing_id.count("/"))
        timing, weight = found[widest]
        found[widest] = (replace(timing, timing_id=band), weight)
        named[band] = found
    return named


def catalog_from_price_list(
    rate_rows: Iterable[Row],
    band_rows: Iterable[Row],
    holiday_dates: Iterable[date],
    plan_rows: Iterable[Row],
    label: str = "price-list",
) -> Catalog:
    """The catalog that prices exactly as the list says (module docstring)."""
    destinations: dict[str, Destination] = {}
    rates: dict[str, Rate] = {}
    versions: dict[tuple[str, str], list[tuple[date, Row]]] = defaultdict(list)
    bundled: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rate_rows:
        deck, service, prefix = row["rate_deck_id"], row["service"], row["prefix"]
        table = f"{deck}/{service}/{row['time_band']}"
        versions[(table, prefix)].append((date.fromisoformat(row["effective_from"]), row))
        if row["is_in_bundle"].lower() == "true":
            bundled[(deck, service)].add(f"{deck}/{prefix}" if prefix else ANY)
        if prefix:
            destination_id = f"{deck}/{prefix}"
            destinations[destination_id] = Destination(
                destination_id,
                (prefix,),
                row["destination_name"],
                DestinationGroup(row["destination_group"]),
            )
    tables: dict[str, list[DestinationRate]] = defaultdict(list)
    for (table, prefix), dated in sorted(versions.items()):
        dated.sort(key=lambda version: version[0])
        deck = table.split("/")[0]
        for index, (start, row) in enumerate(dated):
            rate = _rate(row)
            rates[rate.rate_id] = rate
            end = dated[index + 1][0] - timedelta(days=1) if index + 1 < len(dated) else None
            tables[table].append(
                DestinationRate(
                    f"{deck}/{prefix}" if prefix else ANY,
                    rate.rate_id,
                    RoundingMethod.HALF_UP,
                    6,
                    effective_from=start,
                    effective_to=end,
                )
            )
    band_timings = _timings(band_rows)
    timings: dict[str, Timing] = {ANY: ALWAYS}
    plans: dict[str, list[PlanEntry]] = defaultdict(list)
    for table in sorted(tables):
        deck, service, band = table.split("/")
        for timing, weight in band_timings[band]:
            timings[timing.timing_id] = timing
            plans[f"{deck}/{service}"].append(PlanEntry(table, timing.timing_id, weight))
    offers, profiles = _offers(plan_rows, set(plans), bundled)
    return Catalog(
        version=label,
        currency=OPERATOR_CURRENCY,
        destinations=dict(sorted(destinations.items())),
        timings=timings,
        rates=dict(sorted(rates.items())),
        destination_rates={table: tuple(entries) for table, entries in sorted(tables.items())},
        rating_plans={p: RatingPlan(p, tuple(entries)) for p, entries in sorted(plans.items())},
        profiles=profiles,
        holidays=HolidayCalendar(extra=frozenset(holiday_dates)),
        offers=offers,
    )


def _offers(
    plan_rows: Iterable[Row], rating_plans: set[str], bundled: Mapping[tuple[str, str], set[str]]
) -> tuple[tuple[Offer, ...], tuple[RatingProfile, ...]]:
    offers: list[Offer] = []
    profiles: list[RatingProfile] = []
    for row in plan_rows:
        deck = row["rate_deck_id"]
        start = date.fromisoformat(row["effective_from"])
        allowances = []
        for service in SERVICES:
            units = int(row[_INCLUDED[service]] or 0)
            covered = bundled.get((deck, service), set())
            if units > 0 and covered:
                covers = frozenset() if ANY in covered else frozenset(covered)
                allowances.append(Allowance(service, units, destinations=covers))
        offers.append(
            Offer(
                offer_id=row["plan_id"],
                name=row["plan_name"],
                kind="plan",
                service_type=row["service_type"],
                monthly_fee_micros=int(row["monthly_fee_micros"]),
                subject=row["plan_id"],
                effective_from=start,
                effective_to=date.fromisoformat(row["effective_to"])
                if row["effective_to"]
                else None,
                allowances=tuple(allowances),
            )
        )
        activation = datetime.combine(start, datetime.min.time(), UTC)
        for service in SERVICES:
            if f"{deck}/{service}" in rating_plans:
                profiles.append(
                    RatingProfile(TENANT, service, row["plan_id"], activation, f"{deck}/{service}")
                )
    return tuple(offers), tuple(profiles)
