"""Roaming in the synthetic operator: partners, IOTs, retail roaming prices, our subscribers'
TAP files from abroad and visitors on our network.

- Reference data: four fictional partner networks (roaming_partners.csv), the
  inter-operator tariffs both ways (roaming_iot_rates.csv), the switches.csv rows of their
  TAP feeds, and the retail catalog's roaming zones, rates and EUR exchange rates.
- Outbound roamers: a few of our mobile lines travel during the month. Their usage abroad
  is what the partner's network records and prices at its IOT (payable): TAP 3.12 transfer
  batches, one per partner and few days, landed under ``landing/tap3/<TADIG>/``. One batch
  does not reconcile (its AuditControlInfo was totalled before its last event was added):
  mediation must return it whole. While abroad, a line makes no usage at home.
- Inbound roamers: a few subscribers of the partners (their IMSIs and numbers) visit us
  and use our MSC and PGW like any line; their records join the TS 32.298 files.

Everything random draws from one stream of its own, so the rest of the operator keeps its
draws. Prices are micro-units of the currency named (USD for the Americas, EUR in Europe).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers

from pipelines.config import OPERATOR_TADIG, TENANT
from pipelines.generate.catalog import (
    CATALOG_EFFECTIVE_FROM,
    MOBILE_DECK,
    TRUNK_INTERNATIONAL,
    TRUNK_LEC_IN,
    TRUNK_LEC_OUT,
)
from pipelines.generate.customers import HANDSET_TACS, CustomerBase, Subscriber
from pipelines.generate.numbering import example_national_number, random_imei, random_number_like
from pipelines.generate.traffic import (
    DATA_BY_HOUR,
    VOICE_BY_HOUR,
    MobileIdentity,
    MobileSession,
    NumberPools,
    Party,
    TrafficBuilder,
)
from pipelines.roaming.partners import IOT_COLUMNS, IOT_RATES_FILE, PARTNER_COLUMNS, PARTNERS_FILE
from pipelines.roaming.tap_file import (
    GATEWAY_ENTITY,
    MSC_ENTITY,
    BatchHeader,
    RecordingEntity,
    TapCallEvent,
    encode,
    file_name,
    transfer_batch_value,
)
from pipelines.schema import Feed
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    Catalog,
    DestinationRate,
    ExchangeRate,
    PlanEntry,
    Rate,
    RateSlot,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
)

MiB = 1_048_576
#: Days of traffic a partner's TAP batch covers (TD.57 asks for files within 36 hours; a
#: small operator's partners batch a few days).
TAP_BATCH_DAYS = 3
#: Lines that travel, and partners' subscribers that visit, per partner and per this many
#: active mobile lines (at least one each).
LINES_PER_TRAVELLER = 100


@dataclass(frozen=True)
class Partner:
    """A fictional roaming partner network and what the generator needs to play it."""

    tadig: str
    name: str
    region: str  # ISO 3166 alpha-2 (libphonenumber region)
    plmn: str  # MCC + MNC: a test-like MNC no real network is given
    tap_currency: str
    tap_decimal_places: int
    zone: str  # the network's clock
    local_currency: str
    local_per_tap: Fraction  # its TAP-to-local exchange rate (AccountingInfo)
    retail_zone: str  # our retail roaming zone it is in

    @property
    def country_code(self) -> str:
        return str(phonenumbers.country_code_for_region(self.region))


PARTNERS = (
    Partner("MEXZ1", "Meseta Movil", "MX", "334990", "USD", 3, "America/Mexico_City",
            "MXN", Fraction("18.25"), "americas"),
    Partner("CANZ1", "Borealis Wireless", "CA", "302990", "USD", 5, "America/Toronto",
            "CAD", Fraction("1.37"), "americas"),
    Partner("GBRZ1", "Albion Mobile", "GB", "23499", "EUR", 3, "Europe/London",
            "GBP", Fraction("0.86"), "europe"),
    Partner("DEUZ1", "Rheinland Funk", "DE", "26299", "EUR", 5, "Europe/Berlin",
            "EUR", Fraction(1), "europe"),
)  # fmt: skip
#: A partner we have an agreement with (its TAP files arrive, we pay its IOT) that pricing
#: never put in a retail roaming zone: rating holds our subscribers' usage on it in
#: suspense (no_roaming_zone), so what we pay it is not passed on. Not in PARTNERS, whose
#: traffic the roaming stream draws: its one traveller is the leakage stream's
#: (pipelines/generate/leakage.py).
UNZONED_PARTNER = Partner("BRAZ1", "Cerrado Celular", "BR", "72499", "USD", 3,
                          "America/Sao_Paulo", "BRL", Fraction("5.40"), "")  # fmt: skip
#: Every roaming agreement: the partners in reference data.
AGREEMENTS = (*PARTNERS, UNZONED_PARTNER)


@dataclass(frozen=True)
class IotRate:
    """One IOT row: a price per ``unit`` units, the first block, then each increment."""

    service: str
    prefix: str  # "" = any number (and data)
    name: str
    price: int
    unit: int
    first: int
    step: int


def _iot(europe: bool, local: str, payable: bool) -> tuple[IotRate, ...]:
    """A partner's IOT one way: payable (its prices for our subscribers on its network,
    30/1 voice) or receivable (ours for its subscribers, 60/60 voice)."""
    if payable:
        local_price, world, mt, sms, data = (
            (70_000, 130_000, 25_000, 18_000, 9_000)
            if europe
            else (80_000, 150_000, 30_000, 20_000, 10_000)
        )
        first, step = 30, 1
    else:
        local_price, world, mt, sms, data = (
            (55_000, 180_000, 18_000, 14_000, 7_000)
            if europe
            else (60_000, 200_000, 20_000, 15_000, 8_000)
        )
        first, step = 60, 60
    return (
        IotRate("voice_mo", local, "Local calls", local_price, 60, first, step),
        IotRate("voice_mo", "", "Other calls", world, 60, first, step),
        IotRate("voice_mt", "", "Incoming calls", mt, 60, first, step),
        IotRate("sms_mo", "", "SMS sent", sms, 1, 1, 1),
        IotRate("sms_mt", "", "SMS received", 0, 1, 1, 1),
        IotRate("data", "", "Data", data, MiB, 1024, 1024),
    )


#: The receivable IOT change of the month: data to Albion Mobile's subscribers gets cheaper
#: from this day, so TAP out must price each event at the version of its day.
IOT_CHANGE_PARTNER = "GBRZ1"
IOT_CHANGE_DAY = 15
IOT_CHANGE_DATA_PRICE = 6_000


def iot_rate_rows(month_start: date) -> list[dict[str, object]]:
    """roaming_iot_rates.csv: every partner's IOT both ways."""
    changed = month_start.replace(day=IOT_CHANGE_DAY)
    rows: list[dict[str, object]] = []
    for partner in AGREEMENTS:
        europe = partner.tap_currency == "EUR"
        for direction in ("payable", "receivable"):
            # Our visitors call locally within the NANP; our subscribers abroad, within
            # the visited country.
            local = partner.country_code if direction == "payable" else "1"
            for rate in _iot(europe, local, direction == "payable"):
                versions = [(CATALOG_EFFECTIVE_FROM, "", rate.price)]
                if (partner.tadig, direction, rate.service) == (
                    IOT_CHANGE_PARTNER,
                    "receivable",
                    "data",
                ):
                    versions = [
                        (
                            CATALOG_EFFECTIVE_FROM,
                            (changed - timedelta(days=1)).isoformat(),
                            rate.price,
                        ),
                        (changed.isoformat(), "", IOT_CHANGE_DATA_PRICE),
                    ]
                for since, until, price in versions:
                    rows.append(
                        {
                            "tadig": partner.tadig,
                            "direction": direction,
                            "service": rate.service,
                            "prefix": rate.prefix,
                            "destination_name": rate.name,
                            "price_micros": price,
                            "price_unit": rate.unit,
                            "first_increment": rate.first,
                            "increment": rate.step,
                            "effective_from": since,
                            "effective_to": until,
                        }
                    )
    return rows


def partner_rows() -> list[dict[str, object]]:
    """roaming_partners.csv: one row per agreement; TAP money settles in the TAP currency."""
    return [
        {
            "tadig": p.tadig,
            "partner_name": p.name,
            "country": p.region,
            "plmn_ids": p.plmn,
            "tap_currency": p.tap_currency,
            "tap_decimal_places": p.tap_decimal_places,
            "settlement_currency": p.tap_currency,
            "settlement_period": "monthly",
        }
        for p in AGREEMENTS
    ]


def tap_switch_rows() -> list[dict[str, object]]:
    """switches.csv rows of the TAP feed: one per partner, its files under its TADIG."""
    return [
        {
            "switch_id": p.tadig,
            "feed": Feed.TAP3.value,
            "timezone": p.zone,
            "description": f"TAP 3.12 files from roaming partner {p.name} ({p.region})",
        }
        for p in AGREEMENTS
    ]


def write_reference(reference: Path, month_start: date) -> None:
    """Write roaming_partners.csv and roaming_iot_rates.csv (columns as pipelines.roaming
    reads them)."""
    for name, columns, rows in (
        (PARTNERS_FILE, PARTNER_COLUMNS, partner_rows()),
        (IOT_RATES_FILE, IOT_COLUMNS, iot_rate_rows(month_start)),
    ):
        with (reference / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([str(row[column]) for column in columns] for row in rows)


# --- the retail catalog's roaming -----------------------------------------------------

#: Retail roaming prices by zone: (voice per minute, 60/60; SMS sent; data per MiB, per KiB).
RETAIL_ROAMING = {
    "americas": (250_000, 100_000, 100_000),
    "europe": (1_000_000, 500_000, 200_000),
}
#: Quotes of 1 EUR in USD, for settling EUR partners (the catalog's exchange rates).
EUR_USD = (
    (date(2019, 1, 1), Fraction("1.12")),
    (date(2026, 1, 1), Fraction("1.085")),
    (date(2026, 7, 1), Fraction("1.0925")),
)


def with_retail_roaming(catalog: Catalog) -> Catalog:
    """``catalog`` with roaming zones (partners by TADIG country), a rating plan per
    ``<service>@<zone>`` for every plan (subject ``*any``) and the EUR quotes."""
    since = date.fromisoformat(CATALOG_EFFECTIVE_FROM)
    activation = datetime.combine(since, datetime.min.time(), UTC)
    rates = dict(catalog.rates)
    tables = dict(catalog.destination_rates)
    plans = dict(catalog.rating_plans)
    profiles = list(catalog.profiles)
    for zone, (voice, sms, data) in sorted(RETAIL_ROAMING.items()):
        for service, rate in (
            ("voice", Rate(f"roam/{voice}/60:60/60", (RateSlot(0, voice, 60, 60),))),
            ("sms", Rate(f"roam/{sms}/1:1/1", (RateSlot(0, sms, 1, 1),))),
            ("data", Rate(f"roam/{data}/{MiB}:1024/1024", (RateSlot(0, data, MiB, 1024),))),
        ):
            category = f"{service}@{zone}"
            table = f"{MOBILE_DECK}/{category}"
            rates[rate.rate_id] = rate
            tables[table] = (
                DestinationRate(ANY, rate.rate_id, RoundingMethod.HALF_UP, 6, effective_from=since),
            )
            plans[table] = RatingPlan(table, (PlanEntry(table, ANY, 10),))
            profiles.append(RatingProfile(TENANT, category, ANY, activation, table))
    zones = {
        zone: frozenset(p.tadig[:3] for p in PARTNERS if p.retail_zone == zone)
        for zone in RETAIL_ROAMING
    }
    quotes = tuple(ExchangeRate(day, "EUR", "USD", rate) for day, rate in EUR_USD)
    return replace(
        catalog,
        timings={**catalog.timings, ANY: ALWAYS},
        rates=rates,
        destination_rates=tables,
        rating_plans=plans,
        profiles=tuple(profiles),
        roaming_zones={**catalog.roaming_zones, **zones},
        exchange_rates=catalog.exchange_rates + quotes,
    )


# --- traffic ------------------------------------------------------------------------


@dataclass(frozen=True)
class Trip:
    """One of our mobile lines on a partner's network, ``first``..``last`` (partner dates)."""

    line: Subscriber
    partner: Partner
    first: date
    last: date

    def covers(self, imsi: str, day: date) -> bool:
        return imsi == self.line.imsi and self.first <= day <= self.last


@dataclass(frozen=True)
class Visitor:
    """A partner's subscriber on our network from ``first`` to ``last`` (our dates)."""

    partner: Partner
    identity: MobileIdentity
    home_numbers: tuple[str, ...]  # the people it calls back home
    first: date
    last: date


@dataclass
class TapInFile:
    """A partner's TAP file to us, as landed."""

    partner: Partner
    header: BatchHeader
    name: str  # landing name: <TD.57 name>_<YYYYMMDDHH partner-local>_<sequence>.tap
    events: list[TapCallEvent]
    payload: bytes
    reconciles: bool = True

    @property
    def sequence(self) -> int:
        return self.header.file_sequence_number


@dataclass(frozen=True)
class RoamingTraffic:
    trips: tuple[Trip, ...]
    visitors: tuple[Visitor, ...]
    visitor_sessions: list[MobileSession]
    tap_files: list[TapInFile]

    def at_home(self, sessions: list[MobileSession], tz: ZoneInfo) -> list[MobileSession]:
        """``sessions`` less those of a line that was abroad that (local) day: a line is in
        one place at a time, and abroad its usage is the partner's to record."""
        kept = []
        for session in sessions:
            first = session.cdrs[0]
            day = first.started_at.astimezone(tz).date()
            if not any(trip.covers(first.served_imsi, day) for trip in self.trips):
                kept.append(session)
        return kept


def build_roaming(
    rng: np.random.Generator,
    tz: ZoneInfo,
    base: CustomerBase,
    pools: NumberPools,
    window: list[date],
    month_end: date,
    excluded: frozenset[str],
) -> RoamingTraffic:
    """Trips abroad (TAP files) and visitors (MSC/PGW sessions) over the traffic ``window``.

    ``excluded``: subscriber ids of lines that must not travel (the injected anomalies').
    """
    mobile = [
        s
        for s in base.subscribers
        if s.service_type == "mobile"
        and s.status == "active"
        and s.subscriber_id not in excluded
        and all(s.is_active_on(day) for day in window)
    ]
    per_partner = max(1, round(len(mobile) / LINES_PER_TRAVELLER))
    # Trips end before the month's last day, so every TAP file arrives within the month.
    travel_days = [day for day in window if day < month_end]
    chosen = rng.choice(
        len(mobile), size=min(len(mobile), per_partner * len(PARTNERS)), replace=False
    )
    trips = []
    for n, index in enumerate(sorted(int(i) for i in chosen)):
        partner = PARTNERS[n % len(PARTNERS)]
        first, last = _stay(rng, travel_days, 2, 7)
        trips.append(Trip(mobile[index], partner, first, last))
    events: dict[str, list[TapCallEvent]] = {p.tadig: [] for p in PARTNERS}
    for trip in trips:
        events[trip.partner.tadig].extend(
            _trip_events(rng, trip, pools, tz, (window[0], month_end))
        )
    tap_files = _tap_files(rng, events)
    cells = sorted({cell for s in mobile for cell in s.cells})
    builder = TrafficBuilder(rng, tz, pools)
    visitors = [
        _visitor(rng, partner, cells, window) for partner in PARTNERS for _ in range(per_partner)
    ]
    sessions = [
        session
        for visitor in visitors
        for day in window
        if visitor.first <= day <= visitor.last
        for session in _visitor_day(builder, visitor, day, pools)
    ]
    return RoamingTraffic(tuple(trips), tuple(visitors), sessions, tap_files)


def _stay(
    rng: np.random.Generator, days: list[date], shortest: int, longest: int
) -> tuple[date, date]:
    start = int(rng.integers(0, len(days)))
    length = int(rng.integers(shortest, longest + 1))
    return days[start], days[min(start + length, len(days)) - 1]


def _local_moment(
    rng: np.random.Generator, day: date, zone: ZoneInfo, by_hour: np.ndarray
) -> datetime:
    hour = int(rng.choice(24, p=by_hour / by_hour.sum()))
    local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    return (local + timedelta(seconds=int(rng.integers(0, 3600)))).astimezone(UTC)


def _iot_price(partner: Partner, service: str, number: str | None, units: int) -> tuple[int, int]:
    """(charged units, charge in TAP units) at the partner's payable IOT: the first block,
    then each started increment, priced exactly and rounded half up to its decimals."""
    local = partner.country_code
    rates = _iot(partner.tap_currency == "EUR", local, payable=True)
    candidates = [r for r in rates if r.service == service and (number or "").startswith(r.prefix)]
    rate = max(candidates, key=lambda r: len(r.prefix))
    if units == 0:
        billed = 0
    elif units <= rate.first:
        billed = rate.first
    else:
        billed = rate.first + math.ceil((units - rate.first) / rate.step) * rate.step
    micros = Fraction(billed * rate.price, rate.unit)
    scale = 10 ** (6 - partner.tap_decimal_places)
    return billed, math.floor(micros / scale + Fraction(1, 2))


def _trip_events(
    rng: np.random.Generator,
    trip: Trip,
    pools: NumberPools,
    tz: ZoneInfo,
    month: tuple[date, date],
) -> list[TapCallEvent]:
    """What the visited network records of one trip: answered calls both ways, SMS, data."""
    partner = trip.partner
    zone = ZoneInfo(partner.zone)
    example = example_national_number(partner.region, phonenumbers.PhoneNumberType.MOBILE)
    keep = 3 if partner.country_code == "1" else 2
    locals_ = [random_number_like(rng, int(partner.country_code), example, keep) for _ in range(4)]
    cells = [(int(rng.integers(100, 1000)), int(rng.integers(1000, 65536))) for _ in range(3)]
    line = trip.line
    events = []
    day = trip.first
    while day <= trip.last:
        for record_type, mean in (
            ("voice_mo", 2.0),
            ("voice_mt", 1.0),
            ("sms_mo", 1.5),
            ("sms_mt", 1.5),
            ("data", 2.0),
        ):
            for _ in range(int(rng.poisson(mean))):
                data = record_type == "data"
                started = _local_moment(rng, day, zone, DATA_BY_HOUR if data else VOICE_BY_HOUR)
                other: str | None = None
                duration = uplink = downlink = 0
                if record_type.startswith("voice"):
                    duration = int(np.clip(rng.lognormal(np.log(90.0), 1.0), 3, 3600))
                if record_type.endswith("_mo"):
                    home = rng.random() < 0.4
                    other = (
                        pools.domestic[int(rng.integers(len(pools.domestic)))].e164
                        if home
                        else locals_[int(rng.integers(len(locals_)))]
                    )
                elif record_type.endswith("_mt") and rng.random() >= 0.05:  # 5%: CLI withheld
                    other = pools.domestic[int(rng.integers(len(pools.domestic)))].e164
                if data:
                    duration = int(np.clip(rng.lognormal(np.log(900.0), 1.0), 60, 4 * 3600))
                    downlink = int(np.clip(rng.lognormal(np.log(5e6), 1.2), 1024, 5e8))
                    uplink = int(downlink * rng.uniform(0.05, 0.2))
                units = (
                    duration
                    if record_type.startswith("voice")
                    else (uplink + downlink if data else 1)
                )
                billed, charge = _iot_price(partner, record_type, other, units)
                area, cell = cells[int(rng.integers(len(cells)))]
                if not month[0] <= started.astimezone(tz).date() <= month[1]:
                    continue  # on another of our days than the month's: not this period
                events.append(
                    TapCallEvent(
                        record_type=record_type,
                        imsi=line.imsi,
                        msisdn=line.msisdn,
                        imei=line.imei,
                        other_party_number=other,
                        started_at=started,
                        duration_seconds=duration,
                        uplink_bytes=uplink,
                        downlink_bytes=downlink,
                        recording_entity=2 if data else 1,
                        location_area=area,
                        cell_id=cell,
                        charge=charge,
                        chargeable_units=units,
                        charged_units=billed,
                        apn="internet" if data else None,
                        charging_id=int(rng.integers(1, 2**31)) if data else None,
                    )
                )
        day += timedelta(days=1)
    return events


def _header(partner: Partner, sequence: int, created: datetime, cut_off: datetime) -> BatchHeader:
    zone = ZoneInfo(partner.zone)
    return BatchHeader(
        sender=partner.tadig,
        recipient=OPERATOR_TADIG,
        file_sequence_number=sequence,
        created_at=created,
        available_at=created + timedelta(minutes=5),
        cut_off_at=cut_off,
        zone=zone,
        national_prefix=partner.country_code,
        local_currency=partner.local_currency,
        tap_currency=partner.tap_currency,
        tap_decimal_places=partner.tap_decimal_places,
        exchange_rate=partner.local_per_tap,
        recording_entities=(
            RecordingEntity(1, MSC_ENTITY, f"{partner.country_code}99000001"),
            RecordingEntity(2, GATEWAY_ENTITY, f"{partner.tadig}-PGW01"),
        ),
    )


def _tap_files(rng: np.random.Generator, events: dict[str, list[TapCallEvent]]) -> list[TapInFile]:
    """Each partner's events in batches of TAP_BATCH_DAYS of its days, numbered from 1. A
    batch is cut off an hour after its last event ends and created within the next hour
    and a half, so it lands the day of its last event or the next (trips end before the
    month's last day, so every file lands in the month); one batch of all does not
    reconcile."""
    files = [f for partner in PARTNERS for f in _partner_files(rng, partner, events[partner.tadig])]
    if files:
        bad = files[int(rng.integers(len(files)))]
        value = transfer_batch_value(bad.header, bad.events)
        audit = value["auditControlInfo"]
        # Totalled before the last event was appended: one event and its charge short.
        audit["callEventDetailsCount"] -= 1
        audit["totalCharge"] -= bad.events[-1].charge
        bad.payload = encode("transferBatch", value)
        bad.reconciles = False
    return files


def _partner_files(
    rng: np.random.Generator, partner: Partner, events: list[TapCallEvent]
) -> list[TapInFile]:
    """One partner's events in batches of TAP_BATCH_DAYS of its days, numbered from 1."""
    zone = ZoneInfo(partner.zone)
    by_batch: dict[date, list[TapCallEvent]] = {}
    for event in sorted(events, key=lambda e: (e.started_at, e.imsi)):
        day = event.started_at.astimezone(zone).date()
        start = day - timedelta(days=(day.day - 1) % TAP_BATCH_DAYS)
        by_batch.setdefault(start, []).append(event)
    files = []
    for sequence, (_, batch) in enumerate(sorted(by_batch.items()), start=1):
        ended = max(e.started_at + timedelta(seconds=e.duration_seconds) for e in batch)
        cut_off = ended + timedelta(hours=1)
        created = cut_off + timedelta(minutes=int(rng.integers(30, 90)))
        name = file_name(partner.tadig, OPERATOR_TADIG, sequence)
        landing_name = f"{name}_{created.astimezone(zone):%Y%m%d%H}_{sequence:05d}.tap"
        header = _header(partner, sequence, created, cut_off)
        payload = encode("transferBatch", transfer_batch_value(header, batch))
        files.append(TapInFile(partner, header, landing_name, batch, payload))
    return files


def unzoned_trip(
    rng: np.random.Generator,
    tz: ZoneInfo,
    line: Subscriber,
    pools: NumberPools,
    window: list[date],
    month_end: date,
) -> tuple[Trip, list[TapInFile]]:
    """A trip of ``line`` on UNZONED_PARTNER's network and the partner's TAP files of it
    (all reconcile), drawn as the roaming stream draws the other partners' trips."""
    travel_days = [day for day in window if day < month_end]
    first, last = _stay(rng, travel_days, 2, 4)
    trip = Trip(line, UNZONED_PARTNER, first, last)
    events = _trip_events(rng, trip, pools, tz, (window[0], month_end))
    return trip, _partner_files(rng, UNZONED_PARTNER, events)


def write_tap_files(landing: Path, files: list[TapInFile]) -> None:
    """Land each TAP file under landing/tap3/<sender TADIG>/."""
    for tap in files:
        folder = landing / Feed.TAP3.value / tap.partner.tadig
        folder.mkdir(parents=True, exist_ok=True)
        (folder / tap.name).write_bytes(tap.payload)


def _visitor(
    rng: np.random.Generator, partner: Partner, cells: list[str], window: list[date]
) -> Visitor:
    example = example_national_number(partner.region, phonenumbers.PhoneNumberType.MOBILE)
    keep = 3 if partner.country_code == "1" else 2
    msisdn = random_number_like(rng, int(partner.country_code), example, keep)
    imsi = partner.plmn + "".join(str(d) for d in rng.integers(0, 10, 15 - len(partner.plmn)))
    imei = random_imei(rng, HANDSET_TACS[int(rng.integers(len(HANDSET_TACS)))])
    seen = tuple(
        cells[int(i)] for i in rng.choice(len(cells), size=min(3, len(cells)), replace=False)
    )
    home = tuple(
        random_number_like(rng, int(partner.country_code), example, keep) for _ in range(3)
    )
    first, last = _stay(rng, window, 3, 10)
    return Visitor(partner, MobileIdentity(msisdn, imsi, imei, seen), home, first, last)


def _home_party(number: str) -> Party:
    """A number in the visitor's home country, reached over the trunks that carry it."""
    if number.startswith("1"):  # Canada is in the NANP: local exchange trunks
        return Party("domestic", number, TRUNK_LEC_OUT, TRUNK_LEC_IN)
    return Party("international", number, TRUNK_INTERNATIONAL, TRUNK_INTERNATIONAL)


def _visitor_day(
    builder: TrafficBuilder, visitor: Visitor, day: date, pools: NumberPools
) -> list[MobileSession]:
    """A visitor's calls, SMS and data on our network on one local day: local numbers and
    calls home; the MSC and PGW record them as any line's."""
    rng = builder.rng
    who = visitor.identity
    sessions: list[MobileSession] = []

    def party() -> Party:
        if rng.random() < 0.4:
            return _home_party(visitor.home_numbers[int(rng.integers(len(visitor.home_numbers)))])
        return pools.domestic[int(rng.integers(len(pools.domestic)))]

    for _ in range(int(rng.poisson(2.0))):
        start = builder.local_time(day, VOICE_BY_HOUR)
        sessions.extend(builder.mobile_call(who, start, party(), builder.outcome()))
    for _ in range(int(rng.poisson(1.0))):
        start = builder.local_time(day, VOICE_BY_HOUR)
        sessions.extend(builder.mobile_call(who, start, party(), builder.outcome(), True))
    for _ in range(int(rng.poisson(1.5))):
        sent = builder.local_time(day, VOICE_BY_HOUR)
        sessions.extend(builder.mobile_sms(who, sent, party(), rng.random() < 0.5))
    for _ in range(int(rng.poisson(2.0))):
        sessions.append(builder.mobile_data(who, builder.local_time(day, DATA_BY_HOUR)))
    return sessions


# --- ground truth ---------------------------------------------------------------------


def manifest_entries(traffic: RoamingTraffic) -> tuple[list[dict[str, object]], dict[str, Any]]:
    """(malformed records: every event of the batch that does not reconcile, which
    mediation rejects; the manifest's ``roaming`` section)."""
    rejected = [
        {
            "feed": Feed.TAP3.value,
            "switch_id": tap.partner.tadig,
            "file_name": tap.name,
            "record_number": number,
            "record_key": f"{tap.partner.tadig}:{OPERATOR_TADIG}:{tap.sequence:05d}:{number}",
            "kind": "tap_audit_mismatch",
        }
        for tap in traffic.tap_files
        if not tap.reconciles
        for number in range(1, len(tap.events) + 1)
    ]
    section = {
        "operator_tadig": OPERATOR_TADIG,
        "tap_files": [
            {
                "tadig": tap.partner.tadig,
                "file_name": tap.name,
                "file_sequence_number": f"{tap.sequence:05d}",
                "events": len(tap.events),
                "total_charge": sum(e.charge for e in tap.events),
                "tap_currency": tap.partner.tap_currency,
                "tap_decimal_places": tap.partner.tap_decimal_places,
                "reconciles": tap.reconciles,
            }
            for tap in traffic.tap_files
        ],
        "travellers": [
            {
                "subscriber_id": trip.line.subscriber_id,
                "msisdn": trip.line.msisdn,
                "imsi": trip.line.imsi,
                "tadig": trip.partner.tadig,
                "first_day": trip.first.isoformat(),
                "last_day": trip.last.isoformat(),
            }
            for trip in traffic.trips
        ],
        "visitors": [
            {
                "tadig": visitor.partner.tadig,
                "imsi": visitor.identity.imsi,
                "msisdn": visitor.identity.msisdn,
                "first_day": visitor.first.isoformat(),
                "last_day": visitor.last.isoformat(),
                "records": sum(
                    len(s.cdrs)
                    for s in traffic.visitor_sessions
                    if s.cdrs[0].served_imsi == visitor.identity.imsi
                ),
            }
            for visitor in traffic.visitors
        ],
    }
    return rejected, section
