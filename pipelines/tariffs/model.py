"""The tariff model: what a catalog says, independent of how it is stored or executed.

A catalog is read from YAML + CSV (``catalog_files``) or imported from a CGRateS tariff plan
folder (``cgrates``); the pure-Python ``reference`` engine and the Numba kernels
(``kernels.tariff_api``, fed by ``compile``) both rate events against it. The structure is
CGRateS's, so its plans import without loss, with the additions a retail catalog needs
(destination groups, holidays, effective dates, minimum charge and duration, allowances,
aggregate pricing, currencies). docs/tariff-catalog.md is the user-facing description.

Units and money:
- Usage is an integer count of units: seconds for voice, messages for SMS/MMS, bytes for
  data. Rates, increments and group interval starts are in the same units.
- Money is integer micro-units of the plan's currency. A price is ``price_micros`` per
  ``rate_unit`` units; the cost of ``n`` billed units is the exact fraction
  ``n * price_micros / rate_unit``, rounded once per event (see ``DestinationRate``).
- Times of day are local wall clock; day rules (week days, holidays) apply to local dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction

#: Matches every number, and events without one (data, SMS without a destination).
ANY = "*any"
SECONDS_PER_DAY = 86_400


class RoundingMethod(StrEnum):
    """How an event's exact cost becomes money with ``rounding_decimals`` decimals."""

    UP = "up"  # towards +infinity (CGRateS *up)
    HALF_UP = "half_up"  # nearest, halves up (CGRateS *middle)
    DOWN = "down"  # towards zero (CGRateS *down)


class MaxCostStrategy(StrEnum):
    FREE = "free"  # cost capped at max_cost_micros (CGRateS *free)
    DISCONNECT = "disconnect"  # cost unchanged; the switch is told to cut the call


class HolidayRule(StrEnum):
    """How a timing treats the catalog's holidays (``Catalog.holidays``)."""

    ANY = "any"  # holidays are days like others (CGRateS timings)
    ONLY = "only"  # active on holidays only
    NEVER = "never"  # never active on a holiday


class DestinationGroup(StrEnum):
    """What kind of numbers a destination holds; two groups are never charged."""

    DOMESTIC = "domestic"
    MOBILE = "mobile"
    INTERNATIONAL = "international"
    PREMIUM = "premium"
    ON_NET = "on_net"  # matched by the event's on-net flag, never by prefix
    TOLL_FREE = "toll_free"  # zero-rated
    EMERGENCY = "emergency"  # zero-rated: 911 and emergency numbers are never charged
    OTHER = "other"


ZERO_RATED_GROUPS = frozenset({DestinationGroup.TOLL_FREE, DestinationGroup.EMERGENCY})


@dataclass(frozen=True)
class Destination:
    """Named set of number prefixes (digits only; "" is not allowed, use ``*any``)."""

    destination_id: str
    prefixes: tuple[str, ...]
    name: str = ""
    group: DestinationGroup = DestinationGroup.OTHER


@dataclass(frozen=True)
class Timing:
    """When a rating-plan entry is active: every set is a filter, empty means any.

    week_days are ISO (1 Monday .. 7 Sunday). Active from ``start_second`` (inclusive) to
    ``end_second`` (exclusive) of each matching local day.
    """

    timing_id: str
    years: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    month_days: frozenset[int] = frozenset()
    week_days: frozenset[int] = frozenset()
    start_second: int = 0
    end_second: int = SECONDS_PER_DAY
    holidays: HolidayRule = HolidayRule.ANY


ALWAYS = Timing(ANY)


@dataclass(frozen=True)
class RateSlot:
    """One row of a rate: applies from ``group_interval_start`` units into the event.

    The first slot of a rate starts at 0; its ``connect_fee_micros`` is the event's connect
    fee (the fees of later slots are ignored, as in CGRateS).
    """

    group_interval_start: int
    price_micros: int
    rate_unit: int
    increment: int
    connect_fee_micros: int = 0


@dataclass(frozen=True)
class Rate:
    """Slots by ascending group_interval_start, the first at 0 (60/1 = two slots)."""

    rate_id: str
    slots: tuple[RateSlot, ...]


def increment_rate(
    rate_id: str,
    price_micros: int,
    rate_unit: int,
    first_increment: int,
    increment: int,
    connect_fee_micros: int = 0,
) -> Rate:
    """A rate billing the first ``first_increment`` units as one block, then each started
    ``increment`` (price lists and decks write it "60/1"; CGRateS as two slots)."""
    slots = [RateSlot(0, price_micros, rate_unit, first_increment, connect_fee_micros)]
    if increment != first_increment:
        slots.append(RateSlot(first_increment, price_micros, rate_unit, increment))
    return Rate(rate_id, tuple(slots))


@dataclass(frozen=True)
class DestinationRate:
    """A destination priced by a rate, with per-event rules.

    Of an event's rating, the first span's entry gives connect fee, minimum duration and
    charge, and maximum cost; rounding uses the entry with the most decimals among the spans.
    effective_from / effective_to (last day, inclusive; None open) filter on the event's
    local start date.
    """

    destination_id: str
    rate_id: str
    rounding_method: RoundingMethod = RoundingMethod.HALF_UP
    rounding_decimals: int = 6
    max_cost_micros: int = 0  # 0: no maximum
    max_cost_strategy: MaxCostStrategy | None = None
    min_charge_micros: int = 0
    min_usage: int = 0  # an answered event shorter than this is billed as this long
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True)
class PlanEntry:
    """A RatingPlans row: a table of destination rates, active at ``timing_id``."""

    destination_rates_id: str
    timing_id: str
    weight: int


@dataclass(frozen=True)
class RatingPlan:
    rating_plan_id: str
    entries: tuple[PlanEntry, ...]


@dataclass(frozen=True)
class RatingProfile:
    """Which rating plan prices (tenant, category, subject) from ``activation`` on.

    activation is an aware datetime; a naive one is read as UTC.
    """

    tenant: str
    category: str
    subject: str
    activation: datetime
    rating_plan_id: str
    fallback_subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays from the ``holidays`` package, plus and minus explicit dates."""

    country: str | None = None
    subdivision: str | None = None
    extra: frozenset[date] = frozenset()
    removed: frozenset[date] = frozenset()


class PricingModel(StrEnum):
    """Pricing of a cycle's aggregated chargeable usage (Lago, Kill Bill, BillRun)."""

    GRADUATED = "graduated"  # each tier prices the units that fall in it
    VOLUME = "volume"  # all units at the price of the tier the total reaches
    PACKAGE = "package"  # per started block of ``package_size`` after ``free_units``


@dataclass(frozen=True)
class Tier:
    """Units from the previous tier's ``up_to`` to this one's (None: no end)."""

    up_to: int | None
    price_micros: int  # per ``AggregatePrice.unit`` (per package for PACKAGE)
    flat_fee_micros: int = 0  # charged once when usage reaches the tier


@dataclass(frozen=True)
class AggregatePrice:
    """Prices a category's chargeable units summed over a subscriber's billing cycle.

    Units are first converted to ``unit`` (e.g. 1_000_000 bytes = 1 MB), rounding up.
    """

    category: str
    model: PricingModel
    unit: int
    tiers: tuple[Tier, ...]
    package_size: int = 1
    free_units: int = 0


@dataclass(frozen=True)
class Allowance:
    """Units of a category included per billing cycle, drawn in event order.

    pooled: the units join the account's pool, which all its pooled lines draw from.
    rollover_cap: unused units carried into the next cycle only (0: none), drawn first.
    destination_groups: what the allowance covers (empty: every charged group).
    destinations: destination ids it covers (empty: any destination of those groups);
    bundles such as "calls to the EU" name their destinations.
    """

    category: str
    units: int
    pooled: bool = False
    rollover_cap: int = 0
    destination_groups: frozenset[DestinationGroup] = frozenset()
    destinations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Offer:
    """A retail plan or add-on version: fee, rating subject, allowances, aggregate prices.

    The offer's usage is rated with profile subject ``subject``. Versions of one offer
    share offer_id and must not overlap (effective_to is the last day, inclusive).
    """

    offer_id: str
    name: str
    kind: str  # "plan" or "addon"
    service_type: str
    monthly_fee_micros: int
    subject: str
    effective_from: date
    effective_to: date | None = None
    allowances: tuple[Allowance, ...] = ()
    aggregate_prices: tuple[AggregatePrice, ...] = ()


@dataclass(frozen=True)
class ExchangeRate:
    """1 unit of ``source`` = ``target_per_source`` units of ``target`` from ``effective``."""

    effective: date
    source: str
    target: str
    target_per_source: Fraction


@dataclass(frozen=True)
class Catalog:
    """A complete, versioned tariff catalog. Ids are unique within their kind."""

    version: str
    currency: str
    destinations: dict[str, Destination]
    timings: dict[str, Timing]
    rates: dict[str, Rate]
    destination_rates: dict[str, tuple[DestinationRate, ...]]
    rating_plans: dict[str, RatingPlan]
    profiles: tuple[RatingProfile, ...]
    holidays: HolidayCalendar = field(default_factory=HolidayCalendar)
    offers: tuple[Offer, ...] = ()
    exchange_rates: tuple[ExchangeRate, ...] = ()
    #: Roaming zone -> visited networks in it: TADIG codes (``DEUD2``) or their 3-letter
    #: country part (``DEU``: every network of the country). A subscriber's usage abroad
    #: is rated with category ``<service>@<zone>`` (``roaming_category``).
    roaming_zones: dict[str, frozenset[str]] = field(default_factory=dict)


def roaming_zone(catalog: Catalog, visited_network: str) -> str | None:
    """The zone of a visited network (TADIG), its own code before its country's; None if none."""
    for key in (visited_network, visited_network[:3]):
        for zone, networks in sorted(catalog.roaming_zones.items()):
            if key in networks:
                return zone
    return None


def roaming_category(service: str, zone: str) -> str:
    """The rating category of ``service`` used in roaming ``zone``."""
    return f"{service}@{zone}"


@dataclass(frozen=True)
class Event:
    """One usage event to rate.

    start: local wall-clock start (naive); start_utc: the same instant, aware (for profile
    activation; defaults to ``start`` read as UTC). usage: units (seconds, messages, bytes).
    time_based: voice-like usage, split at band changes and midnight.
    """

    tenant: str
    category: str
    subject: str
    destination: str | None
    start: datetime
    usage: int
    time_based: bool = True
    on_net: bool = False
    start_utc: datetime | None = None


class RatingError(StrEnum):
    """Why an event has no cost (CGRateS's names where it has one)."""

    RATING_PLAN_NOT_FOUND = "RATING_PLAN_NOT_FOUND"  # no profile active for the subject
    UNAUTHORIZED_DESTINATION = "UNAUTHORIZED_DESTINATION"  # no entry for the number
    RATING_PLAN_GAP = "RATING_PLAN_GAP"  # no entry active at some instant of the event


@dataclass(frozen=True)
class Span:
    """A part of the event priced by one slot of one entry."""

    start_usage: int  # units into the event where the span starts
    usage: int  # units the span covers of the event
    billed: int  # units billed (usage rounded up to the increment)
    rating_plan_id: str
    destination_rates_id: str
    destination_id: str
    prefix: str
    rate_id: str
    timing_id: str
    slot: int
    price_micros: int
    rate_unit: int
    increment: int
    binding: DestinationRate  # the entry's destination rate (rounding, caps)

    @property
    def cost(self) -> Fraction:
        """Exact cost in micros: billed units at the slot's price per rate unit."""
        return Fraction(self.billed * self.price_micros, self.rate_unit)


@dataclass(frozen=True)
class Rating:
    """An event's cost in micros, or the error that left it unrated."""

    cost_micros: int = 0
    error: RatingError | None = None
    zero_rated: bool = False
    spans: tuple[Span, ...] = ()
    subject: str | None = None  # the subject whose plan priced it (after fallbacks)
    connect_fee_micros: int = 0
    billed_usage: int = 0  # usage after minimum usage and increments
    allowance_units: int = 0  # billed units an allowance paid
