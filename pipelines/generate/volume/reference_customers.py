"""The customer base of a volume operator, drawn as columns: accounts, addresses, lines.

The distributions are ``pipelines.generate.customers``' (its constants): account classes
with at least one of each rare class, lines per account by class, cities by weight with
their streets and ZIP codes, service types by quota with every Lifeline line mobile, plans
per class, lines activated, cancelled and suspended in the month, and consumer lines that
left the retired plan. Each is drawn once for all rows with NumPy, so two million lines
take seconds where the per-object generator takes a quarter of an hour. Numbers and
mobile identities are ``reference_numbers``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import polars as pl

from pipelines.config import OPERATOR_CURRENCY
from pipelines.generate.catalog import PLANS
from pipelines.generate.customers import (
    ACCOUNT_CLASS_SHARES,
    ACTIVATED_IN_MONTH_SHARE,
    BROADBAND_PLANS,
    BUSINESS_KINDS,
    CANCELLED_IN_MONTH_SHARE,
    CITIES,
    CLASS_MOBILE_PLANS,
    CLASS_VOIP_PLANS,
    CONSUMER_LINES,
    CONSUMER_MOBILE_PLANS,
    CYCLE_DAYS,
    EARLIEST_ACTIVATION,
    FIRST_NAMES,
    GOVERNMENT_UNITS,
    LAST_NAMES,
    ORGANISATION_LINES,
    RETIRED_PLAN_CHANGES,
    RETIRED_PLAN_ID,
    RETIRED_PLAN_SHARE,
    SERVICE_SHARES,
    SUSPENDED_SHARE,
    TV_PLANS,
    quota_counts,
)
from pipelines.generate.volume.reference_columns import (
    NO_DATE,
    dates,
    day_number,
    id_width,
    identifiers,
    pick,
)

CLASSES = tuple(ACCOUNT_CLASS_SHARES)
CONSUMER, BUSINESS, GOVERNMENT, LIFELINE = (
    CLASSES.index(name) for name in ("consumer", "business", "government", "lifeline")
)
SERVICE_TYPES = tuple(SERVICE_SHARES)
MOBILE, FIXED_VOIP, BROADBAND, TV = (
    SERVICE_TYPES.index(name) for name in ("mobile", "fixed_voip", "broadband", "tv")
)
STATUSES = ("active", "suspended", "cancelled")
ACTIVE, SUSPENDED, CANCELLED = range(len(STATUSES))
PLAN_IDS = tuple(plan.plan_id for plan in PLANS)
#: Rare classes first, as the per-object generator does, so every class is present.
_RARE_CLASSES = (BUSINESS, GOVERNMENT, LIFELINE)
#: The smallest operator drawn: enough lines for every class, service type and credit.
MIN_SUBSCRIBERS = 100


@dataclass(frozen=True)
class Customers:
    """Accounts (index ``a``, ACC number ``a + 1``) and lines (index ``i``, SUB number
    ``i + 1``) as columns; codes index CLASSES, CITIES, SERVICE_TYPES, PLAN_IDS and
    STATUSES; dates are day numbers (``reference_columns.day_number``), NO_DATE if none."""

    account_class: np.ndarray
    city: np.ndarray
    created: np.ndarray
    owner: np.ndarray  # per line: its account's index
    service_type: np.ndarray
    plan: np.ndarray
    initial_plan: np.ndarray  # the plan at activation (the retired one for some lines)
    plan_changed: np.ndarray
    activated: np.ndarray
    cancelled: np.ndarray
    status: np.ndarray

    @property
    def accounts(self) -> int:
        return len(self.account_class)

    @property
    def lines(self) -> int:
        return len(self.owner)

    @cached_property
    def account_ids(self) -> pl.Series:
        return identifiers("ACC", np.arange(1, self.accounts + 1), id_width(self.accounts))

    @cached_property
    def address_ids(self) -> pl.Series:
        return identifiers("ADR", np.arange(1, self.accounts + 1), id_width(self.accounts))

    @cached_property
    def subscriber_ids(self) -> pl.Series:
        return identifiers("SUB", np.arange(1, self.lines + 1), id_width(self.lines))

    def cycle_days(self) -> np.ndarray:
        """Each account's bill cycle day (``customers.CYCLE_DAYS``)."""
        days = np.ones(self.accounts, dtype=np.int64)
        for name, day in CYCLE_DAYS.items():
            days[self.account_class == CLASSES.index(name)] = day
        return days


def _account_classes(rng: np.random.Generator, subscribers: int) -> tuple[np.ndarray, np.ndarray]:
    """Account classes and lines per account, ``subscribers`` lines in all, shuffled."""
    shares = np.array(list(ACCOUNT_CLASS_SHARES.values()))
    consumer_lines = np.array(list(CONSUMER_LINES))
    consumer_shares = np.array(list(CONSUMER_LINES.values()))
    # Every account holds a line at least, so this many always hold all the lines.
    classes = np.concatenate(
        [np.array(_RARE_CLASSES), rng.choice(len(CLASSES), size=subscribers, p=shares)]
    )
    lines = np.where(
        classes == CONSUMER,
        rng.choice(consumer_lines, size=len(classes), p=consumer_shares),
        rng.integers(*ORGANISATION_LINES, size=len(classes)),
    )
    lines[classes == LIFELINE] = 1
    total = np.cumsum(lines)
    kept = int(np.searchsorted(total, subscribers)) + 1
    classes, lines = classes[:kept], lines[:kept].copy()
    lines[-1] -= int(total[kept - 1]) - subscribers  # the last account takes what is left
    order = rng.permutation(kept)
    return classes[order], lines[order]


def _service_types(
    rng: np.random.Generator, owner_class: np.ndarray, subscribers: int
) -> np.ndarray:
    """Service types by quota, shuffled; a Lifeline line that drew another type swaps
    with a random mobile line of another class."""
    counts = quota_counts(SERVICE_SHARES, subscribers)
    types = np.repeat(np.arange(len(SERVICE_TYPES)), [counts[name] for name in SERVICE_TYPES])
    types = types[rng.permutation(subscribers)]
    misplaced = np.flatnonzero((owner_class == LIFELINE) & (types != MOBILE))
    donors = np.flatnonzero((owner_class != LIFELINE) & (types == MOBILE))
    swapped = rng.choice(donors, size=len(misplaced), replace=False)
    types[misplaced], types[swapped] = MOBILE, types[misplaced]
    return types


def _choose(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    """Plan codes drawn by ``shares`` (plan id -> share)."""
    codes = np.array([PLAN_IDS.index(plan) for plan in shares])
    return codes[rng.choice(len(codes), size=size, p=list(shares.values()))]


def _plans(rng: np.random.Generator, types: np.ndarray, owner_class: np.ndarray) -> np.ndarray:
    """Each line's plan by its service type and account class."""
    n = len(types)
    consumer_mobile = _choose(rng, CONSUMER_MOBILE_PLANS, n)
    broadband = _choose(rng, BROADBAND_PLANS, n)
    tv = _choose(rng, TV_PLANS, n)
    # Consumers choose (-1: never read); the other classes have their class's plan.
    by_class = np.array(
        [PLAN_IDS.index(CLASS_MOBILE_PLANS[name]) if name in CLASS_MOBILE_PLANS else -1
         for name in CLASSES]
    )  # fmt: skip
    voip = np.array([PLAN_IDS.index(CLASS_VOIP_PLANS[name]) for name in CLASSES])
    mobile = np.where(owner_class == CONSUMER, consumer_mobile, by_class[owner_class])
    return np.select(
        [types == MOBILE, types == FIXED_VOIP, types == BROADBAND],
        [mobile, voip[owner_class], broadband],
        tv,
    )


def _uniform_days(rng: np.random.Generator, first: np.ndarray | int, last: int) -> np.ndarray:
    """A day number drawn uniformly from ``first`` to ``last`` (inclusive) per row."""
    first = np.asarray(first, dtype=np.int64)
    return first + rng.integers(0, last - first + 1)


def draw_customers(
    rng: np.random.Generator, subscribers: int, month_start: date, month_end: date
) -> Customers:
    """Accounts and ``subscribers`` lines as exported at ``month_end``."""
    if subscribers < MIN_SUBSCRIBERS:
        raise ValueError(f"a volume operator needs at least {MIN_SUBSCRIBERS} subscribers")
    account_class, lines_per_account = _account_classes(rng, subscribers)
    weights = np.array([city.weight for city in CITIES])
    city = rng.choice(len(CITIES), size=len(account_class), p=weights / weights.sum())
    start, end = day_number(month_start), day_number(month_end)
    created = _uniform_days(
        rng,
        np.full(len(account_class), day_number(EARLIEST_ACTIVATION)),
        day_number(month_start - timedelta(days=60)),
    )

    owner = np.repeat(np.arange(len(account_class)), lines_per_account)
    owner_class = account_class[owner]
    types = _service_types(rng, owner_class, subscribers)
    plan = _plans(rng, types, owner_class)
    roll = rng.random(subscribers)
    activated = _uniform_days(rng, created[owner], start - 1)
    new = roll < ACTIVATED_IN_MONTH_SHARE
    leaving = ~new & (roll < ACTIVATED_IN_MONTH_SHARE + CANCELLED_IN_MONTH_SHARE)
    suspended = (
        ~new
        & ~leaving
        & (roll < ACTIVATED_IN_MONTH_SHARE + CANCELLED_IN_MONTH_SHARE + SUSPENDED_SHARE)
    )
    activated = np.where(new, _uniform_days(rng, np.full(subscribers, start + 1), end), activated)
    cancelled = np.where(leaving, _uniform_days(rng, np.full(subscribers, start + 1), end), NO_DATE)
    status = np.select([leaving, suspended], [CANCELLED, SUSPENDED], ACTIVE)

    # Consumer mobile lines on a current plan since before the retirement came from it.
    retired_from, retired_until = (day_number(day) for day in RETIRED_PLAN_CHANGES)
    retired = (
        (types == MOBILE)
        & (owner_class == CONSUMER)
        & (activated < retired_from)
        & (rng.random(subscribers) < RETIRED_PLAN_SHARE)
    )
    # Drawn for every line, kept for the retired ones (activated before the window).
    earliest = np.minimum(np.maximum(activated, retired_from), retired_until)
    changed_on = _uniform_days(rng, earliest, retired_until)
    return Customers(
        account_class=account_class,
        city=city,
        created=created,
        owner=owner,
        service_type=types,
        plan=plan,
        initial_plan=np.where(retired, PLAN_IDS.index(RETIRED_PLAN_ID), plan),
        plan_changed=np.where(retired, changed_on, NO_DATE),
        activated=activated,
        cancelled=cancelled,
        status=status,
    )


def _per_city(
    rng: np.random.Generator, city: np.ndarray, options: list[tuple[str, ...]]
) -> pl.Series:
    """One of each row's city's ``options``, uniformly."""
    counts = np.array([len(choices) for choices in options])
    flat = [choice for choices in options for choice in choices]
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    index = offsets[city] + (rng.random(len(city)) * counts[city]).astype(np.int64)
    return pick(tuple(flat), index)


def address_frame(rng: np.random.Generator, customers: Customers) -> pl.DataFrame:
    """service_addresses.csv: one address per account in its city."""
    city = customers.city
    house = pl.Series(rng.integers(100, 9999, size=len(city)), dtype=pl.Int64).cast(pl.String)
    street = _per_city(rng, city, [c.streets for c in CITIES])
    return pl.DataFrame(
        {
            "service_address_id": customers.address_ids,
            "street": pl.select(house + " " + street).to_series(),
            "city": pick(tuple(c.city for c in CITIES), city),
            "county": pick(tuple(c.county for c in CITIES), city),
            "state": pick(tuple(c.state for c in CITIES), city),
            "postal_code": _per_city(rng, city, [c.postal_codes for c in CITIES]),
            "country": pl.repeat("US", len(city), eager=True),
        }
    )


def account_frame(rng: np.random.Generator, customers: Customers) -> pl.DataFrame:
    """accounts.csv: names as the per-object generator makes them for each class."""
    n = customers.accounts
    last = pick(LAST_NAMES, rng.integers(len(LAST_NAMES), size=n))
    first = pick(FIRST_NAMES, rng.integers(len(FIRST_NAMES), size=n))
    kind = pick(BUSINESS_KINDS, rng.integers(len(BUSINESS_KINDS), size=n))
    unit = pick(GOVERNMENT_UNITS, rng.integers(len(GOVERNMENT_UNITS), size=n))
    city = pick(tuple(c.city for c in CITIES), customers.city)
    account_class = pick(CLASSES, customers.account_class)
    names = pl.DataFrame({"cls": account_class, "first": first, "last": last, "kind": kind,
                          "unit": unit, "city": city})  # fmt: skip
    name = names.select(
        pl.when(pl.col("cls") == "business")
        .then(pl.col("last") + " " + pl.col("kind") + " LLC")
        .when(pl.col("cls") == "government")
        .then("City of " + pl.col("city") + " " + pl.col("unit"))
        .otherwise(pl.col("first") + " " + pl.col("last"))
    ).to_series()
    return pl.DataFrame(
        {
            "account_id": customers.account_ids,
            "account_name": name,
            "account_class": account_class,
            "bill_cycle_day": customers.cycle_days(),
            "currency": pl.repeat(OPERATOR_CURRENCY, n, eager=True),
            "service_address_id": customers.address_ids,
            "created_date": dates(customers.created, "created_date"),
        }
    )


def subscriber_frame(customers: Customers, msisdn: pl.Series, imsi: pl.Series) -> pl.DataFrame:
    """subscribers.csv; ``msisdn`` and ``imsi`` per line, null where the line has none."""
    account_ids = customers.account_ids
    address_ids = customers.address_ids
    owner = pl.Series(customers.owner, dtype=pl.Int64)
    return pl.DataFrame(
        {
            "subscriber_id": customers.subscriber_ids,
            "account_id": account_ids.gather(owner),
            "service_type": pick(SERVICE_TYPES, customers.service_type),
            "msisdn": msisdn,
            "imsi": imsi,
            "plan_id": pick(PLAN_IDS, customers.plan),
            "service_address_id": address_ids.gather(owner),
            "activated_date": dates(customers.activated, "activated_date"),
            "cancelled_date": dates(customers.cancelled, "cancelled_date"),
            "status": pick(STATUSES, customers.status),
        }
    )
