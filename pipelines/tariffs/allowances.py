"""Allowance draw-down over a billing cycle: the specification.

Given the offers the subscribers hold and their rated events of one cycle, this decides
how many billed units of each event an allowance pays (``covered`` in
``reference.rate_event``; the rest is overage, priced by rating) and what each allowance
has left at the cycle's close, from which the next cycle's rollover comes. Plain Python
over dictionaries and sorted lists, day by day, so it shares no encoding with the Numba
kernel (``kernels.allowance_api.draw_allowances``) tested against it.

The rules (docs/allowances-and-pricing.md states them for users, with worked examples):

1. Offers in effect. A subscription row says a subscriber (a line of one account) holds one
   offer version (a plan or an add-on) from ``start_date`` to ``end_date`` (last day,
   inclusive; None: open). It applies on the days that range and the version's own
   ``effective_from``..``effective_to`` both cover. A line holds at most one plan per day.
2. Buckets. Allowances are summed into buckets keyed by (owner, pooled, category, scope):
   the owner is the subscriber for a line's own allowances and the account for pooled
   ones; the scope is the allowance's ``destination_groups`` (empty: every charged group).
   Allowances of different scopes never share a bucket, so a restricted add-on cannot pay
   for what it does not cover.
3. Grant at an event. A bucket's grant at an event is the sum of the ``units`` of the
   allowances that the offers in effect on the event's local date give it: the line's
   offers for its own buckets, the offers of all the account's lines for a pool. A plan
   change mid-cycle therefore changes the grant from the change on, and what the bucket
   used so far counts against the new grant: remaining = max(grant - used_from_grant, 0).
4. Who draws. An event draws only if its billed units are > 0, its destination group is
   charged (toll-free and emergency never draw) and lies in the bucket's scope (any
   charged group for an empty scope), its category is the bucket's, and the bucket is
   the line's own or the pool of its account while the line holds, that day, an offer
   with a pooled allowance of that category (it is then a pooled line).
5. Order. Events draw one at a time by ``started_at``, then ``event_id``. An event draws
   ``min(remaining, still to pay)`` from each bucket it may draw, in this order: first
   the rolled-in units of every such bucket, then their own grants. Rolled-in units
   expire at the cycle's end, so they go first. Within each of the two passes, buckets
   go the line's own before the pool (a line's private units before the account's
   shared ones, which leaves more for the other lines), then the narrower scope first
   (a restricted allowance pays what it can before the general one, which covers more),
   then by scope names. ``covered`` = units drawn; billed - covered is overage.
6. Rollover. A bucket's rollover cap is the sum of the ``rollover_cap`` of the
   allowances granting it on the cycle's last day, as is its ``granted``. At the close,
   unused = max(granted - used_from_grant, 0) and rolled_out = min(unused, cap): that
   many units come into the same bucket next cycle (``rollover``), drawn first, and
   expire at that cycle's end; rolled-in units never roll again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pipelines.tariffs.model import ZERO_RATED_GROUPS, DestinationGroup, Offer


@dataclass(frozen=True)
class BillingCycle:
    """The days of one billing cycle, ``start`` to ``end`` inclusive (local dates)."""

    start: date
    end: date


@dataclass(frozen=True)
class Subscription:
    """A line holding one offer version (plan or add-on) over days of the cycle (rule 1)."""

    subscriber_id: str
    account_id: str
    offer: Offer
    start_date: date
    end_date: date | None = None  # last day held, inclusive; None: still held


@dataclass(frozen=True)
class UsageEvent:
    """A rated event that may draw from allowances.

    started_at orders the draw (UTC); local_date selects the offers in effect.
    billed_units: the units rating billed (after minimum usage and increments).
    """

    event_id: str
    subscriber_id: str
    category: str
    started_at: datetime
    local_date: date
    billed_units: int
    destination_group: DestinationGroup


@dataclass(frozen=True)
class Bucket:
    """Units of one category that one owner draws (rule 2).

    owner_id: the subscriber, or the account when ``pooled``. destination_groups: the
    scope (empty: every charged group).
    """

    owner_id: str
    pooled: bool
    category: str
    destination_groups: frozenset[DestinationGroup] = frozenset()

    def covers(self, group: DestinationGroup) -> bool:
        if group in ZERO_RATED_GROUPS:
            return False
        return not self.destination_groups or group in self.destination_groups


@dataclass(frozen=True)
class BucketDraw:
    """Units one event drew from one bucket."""

    bucket: Bucket
    from_rollover: int
    from_grant: int


@dataclass(frozen=True)
class EventDraw:
    """What allowances paid of one event: covered = sum of its draws."""

    event_id: str
    billed_units: int
    covered: int
    draws: tuple[BucketDraw, ...]  # buckets drawn from, in draw order (rule 5)


@dataclass(frozen=True)
class BucketBalance:
    """A bucket at the cycle's close (rule 6)."""

    bucket: Bucket
    granted: int  # grant on the cycle's last day
    rolled_in: int
    used_from_rollover: int
    used_from_grant: int
    unused: int  # of the grant; rolled-in units left simply expire
    rollover_cap: int
    rolled_out: int


@dataclass(frozen=True)
class CycleAllowances:
    """Draws by event (in draw order) and balances of every bucket seen in the cycle."""

    draws: tuple[EventDraw, ...]
    balances: dict[Bucket, BucketBalance]


def draw_order(bucket: Bucket) -> tuple[bool, bool, int, tuple[str, ...]]:
    """Sort key of the buckets one event draws from, within each pass (rule 5)."""
    scope = bucket.destination_groups
    return (bucket.pooled, not scope, len(scope), tuple(sorted(scope)))


def _in_effect(subscription: Subscription, day: date) -> bool:
    offer = subscription.offer
    return (
        subscription.start_date <= day
        and (subscription.end_date is None or day <= subscription.end_date)
        and offer.effective_from <= day
        and (offer.effective_to is None or day <= offer.effective_to)
    )


@dataclass(frozen=True)
class _Day:
    """Grants and rollover caps of every bucket, and the pooled lines, on one day."""

    grant: dict[Bucket, int]
    cap: dict[Bucket, int]
    pooled_lines: set[tuple[str, str]]  # (subscriber, category)


def _day(subscriptions: list[Subscription], day: date) -> _Day:
    grant: dict[Bucket, int] = defaultdict(int)
    cap: dict[Bucket, int] = defaultdict(int)
    pooled_lines: set[tuple[str, str]] = set()
    for subscription in subscriptions:
        if not _in_effect(subscription, day):
            continue
        for allowance in subscription.offer.allowances:
            owner = subscription.account_id if allowance.pooled else subscription.subscriber_id
            bucket = Bucket(
                owner, allowance.pooled, allowance.category, allowance.destination_groups
            )
            grant[bucket] += allowance.units
            cap[bucket] += allowance.rollover_cap
            if allowance.pooled:
                pooled_lines.add((subscription.subscriber_id, allowance.category))
    return _Day(dict(grant), dict(cap), pooled_lines)


def _check(
    cycle: BillingCycle,
    subscriptions: list[Subscription],
    events: list[UsageEvent],
    rolled_in: Mapping[Bucket, int],
) -> dict[str, str]:
    """Refuse inputs the rules do not define; return each line's account."""
    if cycle.end < cycle.start:
        raise ValueError("the cycle ends before it starts")
    account_of: dict[str, str] = {}
    for subscription in subscriptions:
        known = account_of.setdefault(subscription.subscriber_id, subscription.account_id)
        if known != subscription.account_id:
            raise ValueError(f"line {subscription.subscriber_id} belongs to two accounts")
        for allowance in subscription.offer.allowances:
            if allowance.units < 0 or allowance.rollover_cap < 0:
                raise ValueError(f"offer {subscription.offer.offer_id}: negative allowance")
    day = cycle.start
    while day <= cycle.end:
        plans: dict[str, int] = defaultdict(int)
        for subscription in subscriptions:
            if subscription.offer.kind == "plan" and _in_effect(subscription, day):
                plans[subscription.subscriber_id] += 1
        if any(count > 1 for count in plans.values()):
            raise ValueError(f"a line holds two plans on {day}")
        day += timedelta(days=1)
    ids = [event.event_id for event in events]
    if len(set(ids)) != len(ids):
        raise ValueError("event ids must be unique")
    for event in events:
        if not cycle.start <= event.local_date <= cycle.end:
            raise ValueError(f"event {event.event_id} is outside the cycle")
        if event.billed_units < 0:
            raise ValueError(f"event {event.event_id}: billed_units must be >= 0")
    if any(units < 0 for units in rolled_in.values()):
        raise ValueError("rolled-in units must be >= 0")
    return account_of


def apply_allowances(
    cycle: BillingCycle,
    subscriptions: Iterable[Subscription],
    events: Iterable[UsageEvent],
    rolled_in: Mapping[Bucket, int] | None = None,
) -> CycleAllowances:
    """Draw the cycle's events from the allowances in event order (module docstring).

    subscriptions: every offer version the cycle's lines hold (rule 1). events: the
    cycle's rated events (local dates within the cycle). rolled_in: units each bucket
    carries from the previous cycle (``rollover`` of its balances).
    """
    subscriptions = list(subscriptions)
    events = list(events)
    rolled_in = dict(rolled_in or {})
    account_of = _check(cycle, subscriptions, events, rolled_in)
    days: dict[date, _Day] = {}
    day = cycle.start
    while day <= cycle.end:
        days[day] = _day(subscriptions, day)
        day += timedelta(days=1)
    buckets = set(rolled_in).union(*(d.grant for d in days.values()))
    used_from_rollover: dict[Bucket, int] = defaultdict(int)
    used_from_grant: dict[Bucket, int] = defaultdict(int)
    draws: list[EventDraw] = []
    for event in sorted(events, key=lambda e: (e.started_at, e.event_id)):
        on = days[event.local_date]
        account = account_of.get(event.subscriber_id)
        eligible = sorted(
            (
                bucket
                for bucket in buckets
                if bucket.category == event.category
                and bucket.covers(event.destination_group)
                and (
                    bucket.owner_id == account
                    and (event.subscriber_id, event.category) in on.pooled_lines
                    if bucket.pooled
                    else bucket.owner_id == event.subscriber_id
                )
            ),
            key=draw_order,
        )
        to_pay = event.billed_units
        from_rollover: dict[Bucket, int] = {}
        for bucket in eligible:
            take = min(rolled_in.get(bucket, 0) - used_from_rollover[bucket], to_pay)
            from_rollover[bucket] = take
            used_from_rollover[bucket] += take
            to_pay -= take
        from_grant: dict[Bucket, int] = {}
        for bucket in eligible:
            remaining = max(on.grant.get(bucket, 0) - used_from_grant[bucket], 0)
            take = min(remaining, to_pay)
            from_grant[bucket] = take
            used_from_grant[bucket] += take
            to_pay -= take
        drawn = tuple(
            BucketDraw(bucket, from_rollover[bucket], from_grant[bucket])
            for bucket in eligible
            if from_rollover[bucket] or from_grant[bucket]
        )
        covered = event.billed_units - to_pay
        draws.append(EventDraw(event.event_id, event.billed_units, covered, drawn))
    closing = days[cycle.end]
    balances = {}
    for bucket in buckets:
        granted = closing.grant.get(bucket, 0)
        unused = max(granted - used_from_grant[bucket], 0)
        cap = closing.cap.get(bucket, 0)
        balances[bucket] = BucketBalance(
            bucket=bucket,
            granted=granted,
            rolled_in=rolled_in.get(bucket, 0),
            used_from_rollover=used_from_rollover[bucket],
            used_from_grant=used_from_grant[bucket],
            unused=unused,
            rollover_cap=cap,
            rolled_out=min(unused, cap),
        )
    return CycleAllowances(tuple(draws), balances)


def rollover(balances: Mapping[Bucket, BucketBalance]) -> dict[Bucket, int]:
    """The next cycle's rolled-in units: each bucket's rolled_out, where there is any."""
    return {bucket: b.rolled_out for bucket, b in balances.items() if b.rolled_out > 0}
