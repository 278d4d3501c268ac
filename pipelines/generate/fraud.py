"""Injected fraud and its ground truth, ``data/manifest/fraud.json``.

Five patterns (docs/fraud.md), drawn from their own random stream so the rest of the
operator is the same whatever is injected: IRSF bursts to premium ranges, Wangiri waves
from one foreign range with a few callbacks, cloned SIMs seen far from their line, PBX
hacking of enterprise trunks at night, and subscription fraud by new accounts.

``plan_fraud`` runs before the reference files are written (it adds the accounts and lines
the patterns need and their CRM orders); ``fraud_traffic`` after normal traffic and
roaming are known (a clone shadows its line's own calls). Every injected record is tagged
``fraud:<pattern>:<case key>``; ``fraud_manifest`` reads the tags back from the planned
files, so the ground truth counts the records that were actually written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.formats.cdr_events import MobileCdr
from pipelines.generate.catalog import (
    DESTINATIONS,
    TRUNK_INTERNATIONAL,
    Destination,
)
from pipelines.generate.customers import (
    CITIES,
    CITIES_BY_NAME,
    HANDSET_TACS,
    Account,
    CustomerBase,
    HlrLine,
    Subscriber,
    account_rows,
    subscriber_rows,
)
from pipelines.generate.landing import LandingFile
from pipelines.generate.numbering import random_imei, random_imsi, random_nanp_number
from pipelines.generate.traffic import (
    FIXED_CONTEXT_OUT,
    AsteriskCall,
    MobileSession,
    Outcome,
    Party,
    TrafficBuilder,
    destination_party,
    mobile_identity,
)

IRSF = "irsf"
WANGIRI = "wangiri"
SIM_CLONING = "sim_cloning"
PBX_HACKING = "pbx_hacking"
SUBSCRIPTION_FRAUD = "subscription_fraud"
PATTERNS = (IRSF, WANGIRI, SIM_CLONING, PBX_HACKING, SUBSCRIPTION_FRAUD)
TAG_PREFIX = "fraud:"
#: The anomaly generator's own IRSF burst (pipelines/generate/anomalies.py), counted here too.
ANOMALY_BURST_TAG = "fraud_burst"

#: One case of each pattern per this many subscribers (at least one, at most MAX_CASES).
SUBSCRIBERS_PER_CASE = 40
MAX_CASES = 5

# IRSF: answered calls of 2-10 minutes to satellite and premium ranges, pumped in a
# 2-hour window starting between midnight and 03:00 local.
IRSF_CALLS = (15, 26)
IRSF_START_HOURS = (0, 1, 2, 3)
IRSF_PREFIXES = ("881", "882", "979")
BURST_WINDOW_SECONDS = 2 * 3600

# Wangiri: one-ring calls (1-4 s, unanswered) from one Dominican Republic exchange
# (NANP area code 809, on the FCC warning list) to many lines within 3 hours, then a few
# victims call the number back.
WANGIRI_AREA = "1809"
WANGIRI_MIN_TARGETS = 10
WANGIRI_TARGET_SHARE = 0.4
WANGIRI_WAVE_SECONDS = 3 * 3600
WANGIRI_CALLBACKS = (2, 4)

# PBX hacking: an enterprise trunk calls ordinary international numbers all night.
PBX_CALLS = (12, 21)
PBX_START_HOURS = (1, 2, 3)
PBX_PREFIXES = ("44", "447", "49", "4915", "91", "86", "234")

# SIM cloning: a second handset with the line's SIM calls from a city a thousand
# kilometres or more away, within 20 minutes of the line's own calls.
CLONE_CALLS = 3
CLONE_OFFSET_SECONDS = 20 * 60
CLONE_PREFIXES = ("44", "49")

# Subscription fraud: a new consumer account, three plan changes in its first week, heavy
# international calling every day from its creation and never a payment.
SUBSCRIPTION_CALLS_PER_DAY = (8, 13)
SUBSCRIPTION_PREFIXES = ("234", "91", "4915")
SUBSCRIPTION_PLANS = ("MOB-TALK2", "MOB-MAX30", "MOB-PLUS10", "MOB-MAX30")


@dataclass(frozen=True)
class Site:
    """A city where the network has cells: its first location area code and centre."""

    city: str
    location_area: int
    latitude: float
    longitude: float


#: Cell-site cities: the operator's four (customers.CITIES) and the far cities clones are
#: seen in (location areas no home line uses).
HOME_SITES = (
    Site("Chicago", CITIES_BY_NAME["Chicago"].location_area, 41.8781, -87.6298),
    Site("Springfield", CITIES_BY_NAME["Springfield"].location_area, 39.7817, -89.6501),
    Site("Gary", CITIES_BY_NAME["Gary"].location_area, 41.5934, -87.3464),
    Site("Milwaukee", CITIES_BY_NAME["Milwaukee"].location_area, 43.0389, -87.9065),
)
CLONE_SITES = (
    Site("New York", 5101, 40.7128, -74.0060),
    Site("Miami", 5301, 25.7617, -80.1918),
    Site("Los Angeles", 5501, 34.0522, -118.2437),
    Site("Houston", 5701, 29.7604, -95.3698),
)
LOCATION_AREAS_PER_CITY = 20


@dataclass(frozen=True)
class BurstCase:
    """An IRSF or PBX burst: one line, a local night, a start hour."""

    line: Subscriber
    day: date
    start_hour: int


@dataclass(frozen=True)
class CloneCase:
    line: Subscriber
    site: Site
    imei: str


@dataclass(frozen=True)
class FraudPlan:
    """The fraud cases of one operator, chosen before any file is written."""

    irsf: tuple[BurstCase, ...]
    pbx: tuple[BurstCase, ...]
    clones: tuple[CloneCase, ...]
    wangiri: tuple[tuple[str, date], ...]  # calling range, day of the wave
    fraudsters: tuple[Subscriber, ...]  # subscription fraud lines (new accounts)
    enterprises: tuple[Subscriber, ...]  # enterprise trunks added for PBX hacking
    address_rows: tuple[dict[str, object], ...]
    order_rows: tuple[dict[str, object], ...]

    @property
    def added_base(self) -> CustomerBase:
        """The accounts and lines fraud adds, as a base the reference writers render."""
        lines = (*self.fraudsters, *self.enterprises)
        return CustomerBase(
            tuple(line.account for line in lines), lines, self.address_rows, self.order_rows
        )

    def account_rows(self) -> list[dict[str, object]]:
        return account_rows(self.added_base)

    def subscriber_rows(self) -> list[dict[str, object]]:
        return subscriber_rows(self.added_base)

    def hlr_lines(self) -> tuple[HlrLine, ...]:
        return tuple(HlrLine(s.imsi, s.msisdn, "active") for s in self.fraudsters)


def case_count(subscribers: int) -> int:
    """Cases of each pattern for an operator of ``subscribers`` lines."""
    return max(1, min(MAX_CASES, subscribers // SUBSCRIBERS_PER_CASE))


def _whole_window(line: Subscriber, days: list[date]) -> bool:
    return line.status == "active" and all(line.is_active_on(day) for day in days)


def _pick(rng: np.random.Generator, lines: list[Subscriber], count: int) -> list[Subscriber]:
    if not lines:
        return []
    chosen = rng.choice(len(lines), size=min(count, len(lines)), replace=False)
    return [lines[int(i)] for i in sorted(chosen)]


def plan_fraud(
    rng: np.random.Generator,
    base: CustomerBase,
    days: list[date],
    month_end: date,
    excluded: frozenset[str],
    holidays: frozenset[date],
) -> FraudPlan:
    """Choose the lines, nights and ranges of every case, and create the accounts the
    patterns need: subscription fraudsters always, enterprise trunks when the base has too
    few business or government fixed lines. ``excluded`` subscriber ids carry other
    anomalies and are left alone."""
    cases = case_count(len(base.subscribers))
    usable = [
        s
        for s in base.subscribers
        if s.subscriber_id not in excluded and _whole_window(s, days) and s.msisdn
    ]
    consumer_mobile = [
        s
        for s in usable
        if s.service_type == "mobile" and s.account.account_class in ("consumer", "lifeline")
    ]
    trunks = [
        s
        for s in usable
        if s.service_type == "fixed_voip" and s.account.account_class in ("business", "government")
    ]

    # IRSF pumps mobile lines: a fixed VoIP line's taxes on that much premium traffic
    # exceed half its invoice, which the billing audit rightly flags on its own.
    irsf_lines = _pick(rng, consumer_mobile, cases)
    taken = {s.subscriber_id for s in irsf_lines}
    clone_lines = _pick(rng, [s for s in consumer_mobile if s.subscriber_id not in taken], cases)
    pbx_lines = _pick(rng, trunks, cases)

    used_numbers = {s.msisdn for s in base.subscribers}
    used_imsis = {s.imsi for s in base.subscribers}
    addresses: list[dict[str, object]] = []
    orders: list[dict[str, object]] = []
    fraudsters = []
    enterprises = []
    chicago = CITIES_BY_NAME["Chicago"]
    for n in range(1, cases + (cases - len(pbx_lines)) + 1):
        enterprise = n > cases
        city = CITIES[int(rng.integers(len(CITIES)))] if not enterprise else chicago
        address_id = f"ADRF{n:05d}"
        addresses.append(
            {
                "service_address_id": address_id,
                "street": f"{int(rng.integers(100, 9999))} {city.streets[0]}",
                "city": city.city,
                "county": city.county,
                "state": city.state,
                "postal_code": city.postal_codes[0],
                "country": "US",
            }
        )
        msisdn = ""
        while not msisdn or msisdn in used_numbers:
            msisdn = random_nanp_number(rng, city.area_codes[0])
        used_numbers.add(msisdn)
        if enterprise:
            # An established business whose PBX is hacked: years old, ordinary line.
            created = date(2022, 3, 1)
            account = Account(
                f"ACCF{n:05d}", f"Lakeside Freight {n}", "business", address_id, created, city
            )
            line = Subscriber(
                f"SUBF{n:05d}", account, "fixed_voip", msisdn, "", "", "VOIP-BIZ",
                "VOIP-BIZ", None, created, None, "active", (),
            )  # fmt: skip
            enterprises.append(line)
            orders.append(_order(line, "activation", "VOIP-BIZ", created))
            continue
        imsi = ""
        while not imsi or imsi in used_imsis:
            imsi = random_imsi(rng)
        used_imsis.add(imsi)
        created = days[int(rng.integers(max(1, len(days) // 3)))]
        account = Account(f"ACCF{n:05d}", f"Jordan Vale {n}", "consumer", address_id, created, city)
        cells = tuple(
            f"310-260-{city.location_area + int(rng.integers(0, LOCATION_AREAS_PER_CITY))}"
            f"-{int(rng.integers(10000, 65536))}"
            for _ in range(3)
        )
        imei = random_imei(rng, HANDSET_TACS[int(rng.integers(len(HANDSET_TACS)))])
        line = Subscriber(
            f"SUBF{n:05d}", account, "mobile", msisdn, imsi, imei, SUBSCRIPTION_PLANS[-1],
            SUBSCRIPTION_PLANS[0], None, created, None, "active", cells,
        )  # fmt: skip
        fraudsters.append(line)
        orders.append(_order(line, "activation", SUBSCRIPTION_PLANS[0], created))
        # Plan changes every other day of the first week, whatever the month has left.
        for step, plan in enumerate(SUBSCRIPTION_PLANS[1:], start=1):
            orders.append(
                _order(
                    line,
                    "plan_change",
                    plan,
                    min(month_end, created + timedelta(days=2 * step - 1)),
                )
            )

    pbx_cases = pbx_lines + enterprises
    off_days = [d for d in days if d.weekday() >= 5 or d in holidays] or days
    wangiri_count = cases
    exchanges = rng.choice(np.arange(200, 1000), size=wangiri_count, replace=False)
    return FraudPlan(
        irsf=tuple(
            BurstCase(line, days[int(rng.integers(len(days)))], int(rng.choice(IRSF_START_HOURS)))
            for line in irsf_lines
        ),
        pbx=tuple(
            BurstCase(
                line, off_days[int(rng.integers(len(off_days)))], int(rng.choice(PBX_START_HOURS))
            )
            for line in pbx_cases
        ),
        clones=tuple(
            CloneCase(
                line,
                CLONE_SITES[int(rng.integers(len(CLONE_SITES)))],
                random_imei(rng, HANDSET_TACS[int(rng.integers(len(HANDSET_TACS)))]),
            )
            for line in clone_lines
        ),
        wangiri=tuple(
            (f"{WANGIRI_AREA}{int(exchange)}", days[int(rng.integers(len(days)))])
            for exchange in exchanges
        ),
        fraudsters=tuple(fraudsters),
        enterprises=tuple(enterprises),
        address_rows=tuple(addresses),
        order_rows=tuple({"order_id": f"ORDF{n:06d}", **row} for n, row in enumerate(orders, 1)),
    )


def _order(line: Subscriber, order_type: str, plan_id: str, completed: date) -> dict[str, object]:
    return {
        "account_id": line.account.account_id,
        "subscriber_id": line.subscriber_id,
        "order_type": order_type,
        "plan_id": plan_id,
        "ordered_date": completed.isoformat(),
        "completed_date": completed.isoformat(),
        "order_status": "completed",
    }


@dataclass(frozen=True)
class FraudTraffic:
    """Tagged fraud events: fixed calls per line (the writer routes them to the line's
    switch) and mobile sessions."""

    fixed_calls: list[AsteriskCall]
    mobile_sessions: list[MobileSession]


def _tag(pattern: str, key: str) -> str:
    return f"{TAG_PREFIX}{pattern}:{key}"


def burst_key(msisdn: str, day: date) -> str:
    """The case key of an IRSF or PBX burst: the line and the local date of the night."""
    return f"{msisdn}|{day.isoformat()}"


def _destinations(prefixes: Iterable[str]) -> list[Destination]:
    wanted = set(prefixes)
    return [d for d in DESTINATIONS if d.prefix in wanted]


def fraud_traffic(
    builder: TrafficBuilder,
    plan: FraudPlan,
    base: CustomerBase,
    days: list[date],
    home_sessions: list[MobileSession],
) -> FraudTraffic:
    """Every fraud event of the plan, each tagged with its pattern and case key.
    ``home_sessions`` are the lines' own mobile sessions in the home network (after
    roaming took the days abroad), which clones shadow."""
    rng = builder.rng
    fixed: list[AsteriskCall] = []
    sessions: list[MobileSession] = []

    def place(line: Subscriber, start: int, party: Party, outcome: Outcome, tag: str) -> None:
        if line.service_type == "fixed_voip":
            fixed.append(replace(builder.fixed_outbound(line, start, party, outcome), anomaly=tag))
        else:
            for session in builder.mobile_call(mobile_identity(line), start, party, outcome):
                sessions.append(replace(session, anomaly=tag))

    def burst(
        case: BurstCase, pattern: str, prefixes: tuple[str, ...], calls: tuple[int, int]
    ) -> None:
        tag = _tag(pattern, burst_key(case.line.msisdn, case.day))
        targets = [destination_party(rng, d) for d in _destinations(prefixes) for _ in range(2)]
        window_start = builder.at(case.day, case.start_hour, 0)
        for _ in range(int(rng.integers(*calls))):
            outcome = builder.talk_outcome(120, 600)
            latest = BURST_WINDOW_SECONDS - outcome.ring_seconds - outcome.talk_seconds
            start = window_start + int(rng.integers(0, latest))
            place(case.line, start, targets[int(rng.integers(len(targets)))], outcome, tag)

    for case in plan.irsf:
        burst(case, IRSF, IRSF_PREFIXES, IRSF_CALLS)
    for case in plan.pbx:
        burst(case, PBX_HACKING, PBX_PREFIXES, PBX_CALLS)

    for calling_range, day in plan.wangiri:
        tag = _tag(WANGIRI, calling_range)
        victims = [
            s
            for s in (*base.subscribers, *plan.fraudsters)
            if s.service_type in ("mobile", "fixed_voip") and s.msisdn and s.is_active_on(day)
        ]
        count = max(WANGIRI_MIN_TARGETS, math.ceil(WANGIRI_TARGET_SHARE * len(victims)))
        wave_start = builder.at(day, int(rng.integers(9, 18)), 0)
        called: list[tuple[Subscriber, Party, int]] = []
        for victim in _pick(rng, victims, count):
            number = f"{calling_range}{int(rng.integers(0, 10000)):04d}"
            caller = Party("international", number, TRUNK_INTERNATIONAL, TRUNK_INTERNATIONAL)
            start = wave_start + int(rng.integers(0, WANGIRI_WAVE_SECONDS))
            ring = Outcome("NO ANSWER", int(rng.integers(1, 5)), 0)
            if victim.service_type == "fixed_voip":
                fixed.append(
                    replace(builder.fixed_inbound(victim, start, caller, ring), anomaly=tag)
                )
            else:
                for session in builder.mobile_call(
                    mobile_identity(victim), start, caller, ring, True
                ):
                    sessions.append(replace(session, anomaly=tag))
            called.append((victim, caller, start))
        for index in rng.choice(
            len(called), size=min(int(rng.integers(*WANGIRI_CALLBACKS)), len(called)), replace=False
        ):
            victim, caller, rang = called[int(index)]
            callback = replace(caller, kind="international")
            start = rang + int(rng.integers(600, 4 * 3600))
            place(victim, start, callback, builder.talk_outcome(30, 240), tag)

    for clone in plan.clones:
        tag = _tag(SIM_CLONING, clone.line.imsi)
        own = sorted(
            (
                cdr
                for session in home_sessions
                for cdr in session.cdrs
                if cdr.served_imsi == clone.line.imsi
                and cdr.record_type in ("voice_mo", "voice_mt")
            ),
            key=lambda cdr: cdr.started_at,
        )
        if not own:
            continue
        anchors = [
            own[int(i)]
            for i in sorted(rng.choice(len(own), size=min(CLONE_CALLS, len(own)), replace=False))
        ]
        area = clone.site.location_area + int(rng.integers(0, LOCATION_AREAS_PER_CITY))
        cell = f"310-260-{area}-{int(rng.integers(10000, 65536))}"
        who = replace(mobile_identity(clone.line), imei=clone.imei, cells=(cell,))
        targets = [destination_party(rng, d) for d in _destinations(CLONE_PREFIXES)]
        for anchor in anchors:
            start = int(anchor.started_at.timestamp()) + int(
                rng.integers(-CLONE_OFFSET_SECONDS, CLONE_OFFSET_SECONDS)
            )
            party = targets[int(rng.integers(len(targets)))]
            for session in builder.mobile_call(who, start, party, builder.talk_outcome(60, 600)):
                sessions.append(replace(session, anomaly=tag))

    for line in plan.fraudsters:
        tag = _tag(SUBSCRIPTION_FRAUD, line.account.account_id)
        targets = [destination_party(rng, d) for d in _destinations(SUBSCRIPTION_PREFIXES)]
        for day in days:
            if not line.is_active_on(day):
                continue
            for _ in range(int(rng.integers(*SUBSCRIPTION_CALLS_PER_DAY))):
                start = builder.at(day, int(rng.integers(9, 22)), int(rng.integers(0, 3600)))
                party = targets[int(rng.integers(len(targets)))]
                place(line, start, party, builder.talk_outcome(300, 1200), tag)

    for line in plan.enterprises:
        # The hacked enterprise's own daytime traffic, so its trunk is not silent otherwise.
        for day in days:
            fixed.extend(builder.fixed_day(line, day, []))
    return FraudTraffic(fixed, sessions)


# --- network reference data -------------------------------------------------------------


def _site_of(location_area: int) -> Site | None:
    for site in (*HOME_SITES, *CLONE_SITES):
        if site.location_area <= location_area < site.location_area + LOCATION_AREAS_PER_CITY:
            return site
    return None


def cell_site_rows(cell_ids: Iterable[str]) -> list[dict[str, object]]:
    """cell_sites.csv rows: every cell id the records carry (``310-260-<LAC>-<CI>``), at
    its city's centre plus an offset of up to about 5 km derived from the cell identity, so
    the same cell is always in the same place."""
    rows: list[dict[str, object]] = []
    for cell_id in sorted(set(cell_ids)):
        parts = cell_id.split("-")
        if len(parts) != 4:
            continue
        site = _site_of(int(parts[2]))
        if site is None:
            continue
        ci = int(parts[3])
        rows.append(
            {
                "cell_id": cell_id,
                "latitude": f"{site.latitude + ((ci % 200) - 100) * 0.0004:.5f}",
                "longitude": f"{site.longitude + (((ci // 200) % 200) - 100) * 0.0004:.5f}",
                "city": site.city,
            }
        )
    return rows


def session_cells(sessions: Iterable[MobileSession]) -> set[str]:
    return {cdr.cell_id for session in sessions for cdr in session.cdrs if cdr.cell_id}


# --- ground truth ------------------------------------------------------------------------


@dataclass(frozen=True)
class TerminationRate:
    prefix: str
    price_micros: int  # per 60 seconds
    first_increment: int
    increment: int
    effective_from: date
    effective_to: date | None


def termination_rates(rows: Iterable[dict[str, object]]) -> list[TerminationRate]:
    """The carriers' termination decks of interconnect_rates.csv rows."""
    return [
        TerminationRate(
            str(row["prefix"]),
            int(str(row["price_micros"])),
            int(str(row["first_increment"])),
            int(str(row["increment"])),
            date.fromisoformat(str(row["effective_from"])),
            date.fromisoformat(str(row["effective_to"])) if row["effective_to"] else None,
        )
        for row in rows
        if row["direction"] == "termination"
    ]


def termination_cost(
    rates: list[TerminationRate], number: str, talk_seconds: int, local_day: date
) -> int:
    """What the carrier charges us to terminate one answered call, per its deck: the
    longest prefix in force on the call's local date, the first increment as one block,
    then every started increment, price per 60 s rounded half up to 100 micros."""
    if talk_seconds <= 0:
        return 0
    live = [
        r
        for r in rates
        if number.startswith(r.prefix)
        and r.effective_from <= local_day
        and (r.effective_to is None or local_day <= r.effective_to)
    ]
    if not live:
        return 0
    rate = max(live, key=lambda r: len(r.prefix))
    extra = max(0, talk_seconds - rate.first_increment)
    billable = rate.first_increment + math.ceil(extra / rate.increment) * rate.increment
    return (rate.price_micros * billable + 3000) // 6000 * 100


@dataclass(frozen=True)
class _Event:
    """What the ground truth needs of one injected record."""

    direction: str  # outbound or inbound
    served_msisdn: str
    other_party: str  # E.164 digits
    answered: bool
    talk_seconds: int
    started_at: int  # epoch seconds


def _cdr_event(cdr: MobileCdr) -> _Event:
    talk = int((cdr.ended_at - cdr.answered_at).total_seconds()) if cdr.answered_at else 0
    return _Event(
        "inbound" if cdr.record_type.endswith("_mt") else "outbound",
        cdr.served_msisdn or "",
        str(cdr.other_party_number or ""),
        cdr.answered_at is not None,
        talk,
        int(cdr.started_at.timestamp()),
    )


def _call_event(call: AsteriskCall) -> _Event:
    outbound = call.dcontext == FIXED_CONTEXT_OUT
    talk = call.end - call.answer if call.answer is not None else 0
    return _Event(
        "outbound" if outbound else "inbound",
        "1" + (call.src if outbound else call.dst),
        call.dst.removeprefix("011") if outbound else call.src.lstrip("+"),
        call.answer is not None,
        talk,
        call.start,
    )


def _events_by_tag(traffic: FraudTraffic) -> dict[str, list[_Event]]:
    """The injected events of each tag (only the caller's record of an on-net call)."""
    by_tag: dict[str, list[_Event]] = {}
    for call in traffic.fixed_calls:
        if call.anomaly:
            by_tag.setdefault(call.anomaly, []).append(_call_event(call))
    for session in traffic.mobile_sessions:
        if session.anomaly:
            by_tag.setdefault(session.anomaly, []).append(_cdr_event(session.cdrs[0]))
    return by_tag


def fraud_manifest(
    *,
    generator: object,
    plan: FraudPlan,
    traffic: FraudTraffic,
    files: list[LandingFile],
    anomaly_line: Subscriber,
    interconnect_rows: list[dict[str, object]],
    tz: ZoneInfo,
) -> dict[str, object]:
    """The ground truth of every fraud case: its key (as docs/fraud.md defines it), what
    was injected, where its records were written, and the termination cost it puts at
    risk, priced from the reference decks the generator wrote (not by the pipeline)."""
    rates = termination_rates(interconnect_rows)
    written: dict[str, list[dict[str, object]]] = {}
    anomaly_burst: list[_Event] = []
    for f in files:
        for number, entry in enumerate(f.entries, start=1):
            if not entry.anomaly:
                continue
            if entry.anomaly.startswith(TAG_PREFIX):
                written.setdefault(entry.anomaly, []).append(
                    {"file_name": f.name, "record_number": number}
                )
            elif entry.anomaly == ANOMALY_BURST_TAG and isinstance(entry.payload, MobileCdr):
                anomaly_burst.append(_cdr_event(entry.payload))
                written.setdefault(ANOMALY_BURST_TAG, []).append(
                    {"file_name": f.name, "record_number": number}
                )
    injected = _events_by_tag(traffic)

    def cost(items: Iterable[_Event]) -> int:
        return sum(
            termination_cost(
                rates,
                e.other_party,
                e.talk_seconds,
                datetime.fromtimestamp(e.started_at, tz).date(),
            )
            for e in items
            if e.direction == "outbound" and e.answered
        )

    cases: dict[str, list[dict[str, object]]] = {pattern: [] for pattern in PATTERNS}
    bursts = [(IRSF, c) for c in plan.irsf] + [(PBX_HACKING, c) for c in plan.pbx]
    for pattern, case in bursts:
        key = burst_key(case.line.msisdn, case.day)
        calls = injected.get(_tag(pattern, key), [])
        cases[pattern].append(
            {
                "case_key": key,
                "subscriber_id": case.line.subscriber_id,
                "account_id": case.line.account.account_id,
                "msisdn": case.line.msisdn,
                "service_type": case.line.service_type,
                "local_date": case.day.isoformat(),
                "call_count": len(calls),
                "destinations": sorted({e.other_party for e in calls}),
                "termination_cost_micros": cost(calls),
                "records": written.get(_tag(pattern, key), []),
            }
        )
    if anomaly_burst:
        night = datetime.fromtimestamp(min(e.started_at for e in anomaly_burst), tz).date()
        cases[IRSF].append(
            {
                "case_key": burst_key(anomaly_line.msisdn, night),
                "subscriber_id": anomaly_line.subscriber_id,
                "account_id": anomaly_line.account.account_id,
                "msisdn": anomaly_line.msisdn,
                "service_type": anomaly_line.service_type,
                "local_date": night.isoformat(),
                "call_count": len(anomaly_burst),
                "destinations": sorted({e.other_party for e in anomaly_burst}),
                "termination_cost_micros": cost(anomaly_burst),
                "records": written[ANOMALY_BURST_TAG],
                "source": "anomalies.json fraud_bursts",
            }
        )
    for calling_range, day in plan.wangiri:
        wave = injected.get(_tag(WANGIRI, calling_range), [])
        rings = [e for e in wave if e.direction == "inbound"]
        callbacks = [e for e in wave if e.direction == "outbound"]
        cases[WANGIRI].append(
            {
                "case_key": calling_range,
                "calling_range": calling_range,
                "local_date": day.isoformat(),
                "call_count": len(rings),
                "lines_called": sorted({e.served_msisdn for e in rings}),
                "callback_count": len(callbacks),
                "callback_msisdns": sorted({e.served_msisdn for e in callbacks}),
                "termination_cost_micros": cost(callbacks),
                "records": written.get(_tag(WANGIRI, calling_range), []),
            }
        )
    for clone in plan.clones:
        calls = injected.get(_tag(SIM_CLONING, clone.line.imsi), [])
        if not calls:
            continue  # a line without calls of its own to shadow
        cases[SIM_CLONING].append(
            {
                "case_key": clone.line.imsi,
                "imsi": clone.line.imsi,
                "msisdn": clone.line.msisdn,
                "subscriber_id": clone.line.subscriber_id,
                "home_city": clone.line.account.city.city,
                "clone_city": clone.site.city,
                "clone_imei": clone.imei,
                "call_count": len(calls),
                "termination_cost_micros": cost(calls),
                "records": written.get(_tag(SIM_CLONING, clone.line.imsi), []),
            }
        )
    for line in plan.fraudsters:
        key = line.account.account_id
        calls = injected.get(_tag(SUBSCRIPTION_FRAUD, key), [])
        cases[SUBSCRIPTION_FRAUD].append(
            {
                "case_key": key,
                "account_id": key,
                "subscriber_id": line.subscriber_id,
                "msisdn": line.msisdn,
                "created_date": line.account.created_date.isoformat(),
                "plan_changes": len(SUBSCRIPTION_PLANS) - 1,
                "call_count": len(calls),
                "termination_cost_micros": cost(calls),
                "records": written.get(_tag(SUBSCRIPTION_FRAUD, key), []),
            }
        )
    return {
        "generator": generator,
        "counts": {pattern: len(cases[pattern]) for pattern in PATTERNS},
        **cases,
    }
