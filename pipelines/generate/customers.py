"""The operator's customers: accounts, service addresses, subscriber lines, CRM orders, HLR.

Everything random here draws from the customer stream of the seed, so the customer base
does not move when traffic or anomaly generation changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from pipelines.config import OPERATOR_CURRENCY
from pipelines.generate.numbering import random_imei, random_imsi, random_nanp_number


@dataclass(frozen=True)
class City:
    city: str
    county: str
    state: str
    area_codes: tuple[str, ...]
    postal_codes: tuple[str, ...]
    streets: tuple[str, ...]
    location_area: int  # first mobile location area code of the city's cells
    weight: float


CITIES = (
    City("Chicago", "Cook", "IL", ("312", "773", "872"),
         ("60601", "60605", "60607", "60614", "60622", "60640", "60647", "60657"),
         ("N Clark St", "W Belmont Ave", "S Halsted St", "W Division St", "N Milwaukee Ave",
          "E 47th St", "W Irving Park Rd", "N Broadway"), 4101, 0.55),
    City("Springfield", "Sangamon", "IL", ("217",), ("62701", "62702", "62703", "62704"),
         ("S 6th St", "W Washington St", "E Cook St", "S MacArthur Blvd"), 4301, 0.15),
    City("Gary", "Lake", "IN", ("219",), ("46402", "46403", "46404", "46408"),
         ("Broadway", "W 5th Ave", "Grant St", "Martin Luther King Dr"), 4501, 0.12),
    City("Milwaukee", "Milwaukee", "WI", ("414",), ("53202", "53204", "53207", "53211"),
         ("N Water St", "W Wisconsin Ave", "S Kinnickinnic Ave", "N Farwell Ave"), 4701,
         0.18),
)  # fmt: skip
CITIES_BY_NAME = {city.city: city for city in CITIES}

FIRST_NAMES = (
    "Maria", "James", "Aisha", "Robert", "Mei", "Carlos", "Olivia", "Darnell", "Priya",
    "Michael", "Fatima", "David", "Sofia", "Tyrone", "Anna", "Luis", "Grace", "Kevin",
    "Jasmine", "Tomasz", "Emily", "Andre", "Rosa", "Brian",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Johnson", "Nguyen", "Kowalski", "Patel", "Williams", "Okafor", "Brown",
    "Hernandez", "Chen", "Jackson", "Novak", "Rodriguez", "Miller", "Khan", "Davis",
    "Santos", "Wilson", "Lopez", "Anderson",
)  # fmt: skip
BUSINESS_KINDS = (
    "Plumbing",
    "Dental Care",
    "Logistics",
    "Bakery",
    "Law Office",
    "Auto Repair",
    "Consulting",
    "Realty",
)
GOVERNMENT_UNITS = ("Public Library", "Department of Streets", "Parks District", "Water Department")

ACCOUNT_CLASS_SHARES = {"consumer": 0.80, "business": 0.12, "government": 0.03, "lifeline": 0.05}
SERVICE_SHARES = {"mobile": 0.60, "fixed_voip": 0.20, "broadband": 0.12, "tv": 0.08}
#: Lines per consumer account and their shares; business and government accounts hold
#: 2 to 5 (low, high exclusive); Lifeline accounts one.
CONSUMER_LINES = {1: 0.55, 2: 0.30, 3: 0.15}
ORGANISATION_LINES = (2, 6)
#: The plan of a line whose service type and account class leave no choice.
CLASS_MOBILE_PLANS = {
    "lifeline": "MOB-LIFELINE",
    "business": "MOB-BIZ20",
    "government": "MOB-BIZ20",
}
CLASS_VOIP_PLANS = {
    "consumer": "VOIP-HOME",
    "lifeline": "VOIP-HOME",
    "business": "VOIP-BIZ",
    "government": "VOIP-BIZ",
}
#: Plan mixes where a line's service type and account class leave a choice.
CONSUMER_MOBILE_PLANS = {"MOB-TALK2": 0.35, "MOB-PLUS10": 0.45, "MOB-MAX30": 0.20}
BROADBAND_PLANS = {"BB-FIBER300": 0.7, "BB-FIBER1G": 0.3}
TV_PLANS = {"TV-BASIC": 0.6, "TV-PLUS": 0.4}
#: Shares of lines activated in the month, cancelled in it, and suspended.
ACTIVATED_IN_MONTH_SHARE = 0.06
CANCELLED_IN_MONTH_SHARE = 0.05
SUSPENDED_SHARE = 0.02
#: Consumer mobile lines activated before RETIRED_PLAN_CHANGES[0] came from the retired
#: plan at this share, and changed plans between the two dates.
RETIRED_PLAN_ID = "MOB-5GB-2023"
RETIRED_PLAN_SHARE = 0.3
RETIRED_PLAN_CHANGES = (date(2025, 1, 1), date(2025, 6, 30))
#: Serving cells a mobile line is usually seen in; their location areas are the city's
#: first one plus 0 to 19, their cell identities 10000-65535.
CELLS_PER_LINE = 3
LOCATION_AREA_SPAN = 20
CELL_IDENTITIES = (10000, 65536)
#: CRM orders: an activation is ordered 0 to 3 days before the line starts, a
#: cancellation 0 to 5 days before it ends (high exclusive).
ACTIVATION_LEAD_DAYS = (0, 4)
CANCELLATION_NOTICE_DAYS = (0, 6)
#: Active lines on OPEN_PLAN_CHANGE[0] have an upgrade to OPEN_PLAN_CHANGE[1] ordered in
#: the month's last 0 to 4 days, not yet completed, at this share.
OPEN_PLAN_CHANGE = ("MOB-PLUS10", "MOB-MAX30")
OPEN_PLAN_CHANGE_SHARE = 0.08
OPEN_PLAN_CHANGE_DAYS = (0, 5)
# Type allocation codes of a few common handsets (the first 8 digits of their IMEIs).
HANDSET_TACS = ("35332311", "35391110", "35925406", "86891203", "35875711")

EARLIEST_ACTIVATION = date(2019, 1, 1)


@dataclass(frozen=True)
class Account:
    account_id: str
    account_name: str
    account_class: str
    service_address_id: str
    created_date: date
    city: City


@dataclass(frozen=True)
class Subscriber:
    """One service line, with what traffic generation needs to know about it."""

    subscriber_id: str
    account: Account
    service_type: str
    msisdn: str  # E.164 digits; empty for broadband and TV
    imsi: str  # mobile only
    imei: str  # mobile only
    plan_id: str
    initial_plan_id: str  # plan at activation; differs when a plan_change order exists
    plan_changed_date: date | None
    activated_date: date
    cancelled_date: date | None
    status: str
    cells: tuple[str, ...]  # serving cells the line is usually seen in (mobile)

    def is_active_on(self, day: date) -> bool:
        """In service on ``day``: activated, not yet cancelled, not suspended.

        The cancelled date itself is treated as out of service, so no usage ever falls on
        or after it whichever way proration counts that day.
        """
        return (
            self.status != "suspended"
            and self.activated_date <= day
            and (self.cancelled_date is None or day < self.cancelled_date)
        )


@dataclass(frozen=True)
class CustomerBase:
    accounts: tuple[Account, ...]
    subscribers: tuple[Subscriber, ...]
    address_rows: tuple[dict[str, object], ...]
    order_rows: tuple[dict[str, object], ...]


def quota_counts(shares: dict[str, float], total: int) -> dict[str, int]:
    """Split ``total`` by ``shares`` (largest remainder), at least one each when possible.

    Quotas instead of independent draws keep a tiny operator (20 lines) from missing a
    whole service type or customer class.
    """
    raw = {key: share * total for key, share in shares.items()}
    counts = {key: int(value) for key, value in raw.items()}
    by_remainder = sorted(raw, key=lambda key: (-(raw[key] - counts[key]), key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    if total >= len(shares):
        for key in shares:
            while counts[key] == 0:
                largest = max(counts, key=lambda k: (counts[k], k))
                counts[largest] -= 1
                counts[key] += 1
    return counts


def _random_date(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def _lines_for_class(rng: np.random.Generator, account_class: str) -> int:
    if account_class == "lifeline":
        return 1
    if account_class == "consumer":
        return int(rng.choice(list(CONSUMER_LINES), p=list(CONSUMER_LINES.values())))
    return int(rng.integers(*ORGANISATION_LINES))


def _account_name(rng: np.random.Generator, account_class: str, city: City) -> str:
    last = LAST_NAMES[rng.integers(len(LAST_NAMES))]
    if account_class == "business":
        return f"{last} {BUSINESS_KINDS[rng.integers(len(BUSINESS_KINDS))]} LLC"
    if account_class == "government":
        return f"City of {city.city} {GOVERNMENT_UNITS[rng.integers(len(GOVERNMENT_UNITS))]}"
    return f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {last}"


def _plan_for(rng: np.random.Generator, service_type: str, account_class: str) -> str:
    if service_type == "mobile":
        if account_class in CLASS_MOBILE_PLANS:
            return CLASS_MOBILE_PLANS[account_class]
        return _choose(rng, CONSUMER_MOBILE_PLANS)
    if service_type == "fixed_voip":
        return CLASS_VOIP_PLANS[account_class]
    if service_type == "broadband":
        return _choose(rng, BROADBAND_PLANS)
    return _choose(rng, TV_PLANS)


def _choose(rng: np.random.Generator, shares: dict[str, float]) -> str:
    return str(rng.choice(list(shares), p=list(shares.values())))


def build_customer_base(
    rng: np.random.Generator, subscribers: int, month_start: date, month_end: date
) -> CustomerBase:
    """Accounts, addresses and ``subscribers`` service lines as exported at ``month_end``.

    About 6% of lines are activated and 5% cancelled during the month (so recurring fees
    are prorated), 2% are suspended; the rest have been active since before the month.
    """
    if subscribers < 8:
        raise ValueError("an operator needs at least 8 subscribers to carry every anomaly")
    # Account classes: one of each rare class first so tiny operators still have them.
    classes: list[str] = ["business", "government", "lifeline"]
    lines_per_account: list[int] = [_lines_for_class(rng, c) for c in classes]
    class_names = list(ACCOUNT_CLASS_SHARES)
    class_p = list(ACCOUNT_CLASS_SHARES.values())
    while sum(lines_per_account) < subscribers:
        account_class = str(rng.choice(class_names, p=class_p))
        classes.append(account_class)
        lines_per_account.append(_lines_for_class(rng, account_class))
    lines_per_account[-1] -= sum(lines_per_account) - subscribers
    order = rng.permutation(len(classes))
    classes = [classes[i] for i in order]
    lines_per_account = [lines_per_account[i] for i in order]
    lines_per_account = [max(n, 1) for n in lines_per_account]
    while sum(lines_per_account) > subscribers:
        lines_per_account[lines_per_account.index(max(lines_per_account))] -= 1

    accounts: list[Account] = []
    addresses: list[dict[str, object]] = []
    city_p = np.array([city.weight for city in CITIES])
    for index, account_class in enumerate(classes, start=1):
        city = CITIES[int(rng.choice(len(CITIES), p=city_p / city_p.sum()))]
        address_id = f"ADR{index:06d}"
        addresses.append(
            {
                "service_address_id": address_id,
                "street": f"{rng.integers(100, 9999)} {rng.choice(city.streets)}",
                "city": city.city,
                "county": city.county,
                "state": city.state,
                "postal_code": city.postal_codes[rng.integers(len(city.postal_codes))],
                "country": "US",
            }
        )
        created = _random_date(rng, EARLIEST_ACTIVATION, month_start - timedelta(days=60))
        accounts.append(
            Account(
                f"ACC{index:06d}",
                _account_name(rng, account_class, city),
                account_class,
                address_id,
                created,
                city,
            )
        )

    # Service types by quota, shuffled over the lines; Lifeline accounts must hold a phone
    # line, so a Lifeline line that drew something else swaps with a mobile line.
    type_counts = quota_counts(SERVICE_SHARES, subscribers)
    types = [t for t, n in type_counts.items() for _ in range(n)]
    types = [types[i] for i in rng.permutation(len(types))]
    owners = [
        account for account, n in zip(accounts, lines_per_account, strict=True) for _ in range(n)
    ]
    for i, owner in enumerate(owners):
        if owner.account_class == "lifeline" and types[i] != "mobile":
            j = next(
                j
                for j, t in enumerate(types)
                if t == "mobile" and owners[j].account_class != "lifeline"
            )
            types[i], types[j] = types[j], types[i]

    used_numbers: set[str] = set()  # membership only; never iterated
    used_imsis: set[str] = set()
    lines: list[Subscriber] = []
    for index, (owner, service_type) in enumerate(zip(owners, types, strict=True), start=1):
        msisdn = imsi = imei = ""
        cells: tuple[str, ...] = ()
        if service_type in ("mobile", "fixed_voip"):
            while not msisdn or msisdn in used_numbers:
                area = owner.city.area_codes[rng.integers(len(owner.city.area_codes))]
                msisdn = random_nanp_number(rng, area)
            used_numbers.add(msisdn)
        if service_type == "mobile":
            while not imsi or imsi in used_imsis:
                imsi = random_imsi(rng)
            used_imsis.add(imsi)
            imei = random_imei(rng, HANDSET_TACS[rng.integers(len(HANDSET_TACS))])
            cells = tuple(
                f"310-260-{owner.city.location_area + int(rng.integers(0, LOCATION_AREA_SPAN))}"
                f"-{int(rng.integers(*CELL_IDENTITIES))}"
                for _ in range(CELLS_PER_LINE)
            )
        plan_id = _plan_for(rng, service_type, owner.account_class)
        roll = rng.random()
        activated = _random_date(rng, owner.created_date, month_start - timedelta(days=1))
        cancelled: date | None = None
        status = "active"
        if roll < ACTIVATED_IN_MONTH_SHARE:
            activated = _random_date(rng, month_start + timedelta(days=1), month_end)
        elif roll < ACTIVATED_IN_MONTH_SHARE + CANCELLED_IN_MONTH_SHARE:
            cancelled = _random_date(rng, month_start + timedelta(days=1), month_end)
            status = "cancelled"
        elif roll < ACTIVATED_IN_MONTH_SHARE + CANCELLED_IN_MONTH_SHARE + SUSPENDED_SHARE:
            status = "suspended"
        initial_plan, changed = plan_id, None
        # Lines on a current mobile plan for over a year may have come from the retired one.
        if (
            service_type == "mobile"
            and owner.account_class == "consumer"
            and activated < RETIRED_PLAN_CHANGES[0]
            and rng.random() < RETIRED_PLAN_SHARE
        ):
            initial_plan = RETIRED_PLAN_ID
            changed = _random_date(
                rng, max(activated, RETIRED_PLAN_CHANGES[0]), RETIRED_PLAN_CHANGES[1]
            )
        lines.append(
            Subscriber(
                f"SUB{index:06d}",
                owner,
                service_type,
                msisdn,
                imsi,
                imei,
                plan_id,
                initial_plan,
                changed,
                activated,
                cancelled,
                status,
                cells,
            )
        )

    return CustomerBase(
        tuple(accounts), tuple(lines), tuple(addresses), tuple(_order_rows(rng, lines, month_end))
    )


def _order_rows(
    rng: np.random.Generator, lines: list[Subscriber], month_end: date
) -> list[dict[str, object]]:
    """CRM orders consistent with the lines: an activation each, plan changes, cancellations.

    A few lines also have an open plan change (ordered, not yet completed) that must not
    change their plan.
    """
    orders: list[tuple[date, str, dict[str, object]]] = []

    def add(
        line: Subscriber, order_type: str, plan_id: str, ordered: date, completed: date | None
    ) -> None:
        orders.append(
            (
                ordered,
                line.subscriber_id,
                {
                    "account_id": line.account.account_id,
                    "subscriber_id": line.subscriber_id,
                    "order_type": order_type,
                    "plan_id": plan_id,
                    "ordered_date": ordered.isoformat(),
                    "completed_date": completed.isoformat() if completed else "",
                    "order_status": "completed" if completed else "open",
                },
            )
        )

    for line in lines:
        lead = timedelta(days=int(rng.integers(*ACTIVATION_LEAD_DAYS)))
        ordered = max(line.activated_date - lead, line.account.created_date)
        add(line, "activation", line.initial_plan_id, ordered, line.activated_date)
        if line.plan_changed_date is not None:
            add(line, "plan_change", line.plan_id, line.plan_changed_date, line.plan_changed_date)
        if line.cancelled_date is not None:
            notice = timedelta(days=int(rng.integers(*CANCELLATION_NOTICE_DAYS)))
            add(
                line,
                "cancellation",
                line.plan_id,
                line.cancelled_date - notice,
                line.cancelled_date,
            )
        elif (
            line.status == "active"
            and line.plan_id == OPEN_PLAN_CHANGE[0]
            and rng.random() < OPEN_PLAN_CHANGE_SHARE
        ):
            ordered = month_end - timedelta(days=int(rng.integers(*OPEN_PLAN_CHANGE_DAYS)))
            add(line, "plan_change", OPEN_PLAN_CHANGE[1], ordered, None)
    orders.sort(key=lambda item: (item[0], item[1], str(item[2]["order_type"])))
    return [{"order_id": f"ORD{n:07d}", **row} for n, (_, _, row) in enumerate(orders, 1)]


#: Business and government accounts bill mid-month; the others on the 1st.
CYCLE_DAYS = {"business": 15, "government": 15}


def bill_cycle_day(account: Account) -> int:
    return CYCLE_DAYS.get(account.account_class, 1)


def account_rows(base: CustomerBase) -> list[dict[str, object]]:
    """accounts.csv rows, in the operator currency, on their class's cycle day."""
    return [
        {
            "account_id": a.account_id,
            "account_name": a.account_name,
            "account_class": a.account_class,
            "bill_cycle_day": bill_cycle_day(a),
            "currency": OPERATOR_CURRENCY,
            "service_address_id": a.service_address_id,
            "created_date": a.created_date.isoformat(),
        }
        for a in base.accounts
    ]


def subscriber_rows(base: CustomerBase) -> list[dict[str, object]]:
    """subscribers.csv rows."""
    return [
        {
            "subscriber_id": s.subscriber_id,
            "account_id": s.account.account_id,
            "service_type": s.service_type,
            "msisdn": s.msisdn,
            "imsi": s.imsi,
            "plan_id": s.plan_id,
            "service_address_id": s.account.service_address_id,
            "activated_date": s.activated_date.isoformat(),
            "cancelled_date": s.cancelled_date.isoformat() if s.cancelled_date else "",
            "status": s.status,
        }
        for s in base.subscribers
    ]


@dataclass(frozen=True)
class HlrLine:
    imsi: str
    msisdn: str
    provisioning_status: str


def hlr_rows(
    base: CustomerBase,
    *,
    omitted_imsis: frozenset[str],
    extra: tuple[HlrLine, ...],
    snapshot_date: date,
) -> list[dict[str, object]]:
    """The HLR/HSS export: every non-cancelled mobile line (suspended ones barred), minus
    ``omitted_imsis``, plus ``extra`` lines that billing does not know; sorted by IMSI."""
    entries = [
        HlrLine(s.imsi, s.msisdn, "barred" if s.status == "suspended" else "active")
        for s in base.subscribers
        if s.service_type == "mobile" and s.status != "cancelled" and s.imsi not in omitted_imsis
    ]
    entries.extend(extra)
    return [
        {
            "imsi": e.imsi,
            "msisdn": e.msisdn,
            "provisioning_status": e.provisioning_status,
            "snapshot_date": snapshot_date.isoformat(),
        }
        for e in sorted(entries, key=lambda e: e.imsi)
    ]
