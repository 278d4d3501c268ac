"""A catalog compiled to flat NumPy arrays for the Numba rating kernels (``kernels.tariff_api``).

``compile_catalog`` turns the model's objects into tables the kernels index by integer:
bindings (a plan's entries crossed with their destination rates, in the reference's file
``order``), timings, rates and their slots, holidays as local day numbers, and per plan the
candidate bindings of every prefix in a longest-prefix CSR structure (one binary search per
prefix length, prefixes as int64 values, as ``kernels.api.build_rate_table``). The names of
every index stay in the compiled catalog so results can be explained.

Profile resolution (tenant, category, subject, activation, fallback subjects, ``*any``) is
string work done here, once per distinct key: ``resolve_plan_chains`` gives each event the
chain of rating plans the reference's ``rate_event`` would try, in its order.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from kernels.profile_keys_nb import dense_distinct_nb, profile_keys_nb
from pipelines.tariffs.model import (
    ANY,
    SECONDS_PER_DAY,
    ZERO_RATED_GROUPS,
    Catalog,
    DestinationGroup,
    HolidayRule,
    MaxCostStrategy,
    RateSlot,
    RatingProfile,
    RoundingMethod,
    Timing,
)
from pipelines.tariffs.prefix_index import (
    MAX_PREFIX_DIGITS,
    build_head_tables,
    build_key_hash,
)
from pipelines.tariffs.reference import is_holiday

#: Kernel codes, by position.
ROUNDING_METHODS = (RoundingMethod.UP, RoundingMethod.HALF_UP, RoundingMethod.DOWN)
HOLIDAY_RULES = (HolidayRule.ANY, HolidayRule.ONLY, HolidayRule.NEVER)
DESTINATION_GROUPS = tuple(DestinationGroup)
#: Open effective dates and an unbounded holiday range, as day numbers.
FIRST_DAY = int(np.iinfo(np.int64).min)
LAST_DAY = int(np.iinfo(np.int64).max)
#: The kernels add fractions of a micro over the lcm of all rate units in int64; with
#: numerators below twice the lcm this keeps them exact.
MAX_RATE_UNIT_LCM = 2**61
EPOCH = date(1970, 1, 1)
#: Columns of the row-major tables the kernels read (``kernels.tariff_nb`` indexes them by
#: position: change an order there too). A candidate's, timing's or slot's fields share
#: cache lines, and the kernels' helpers take a few tables instead of dozens of arrays.
TIMING_TABLE_COLUMNS = (
    "start_second",
    "end_second",
    "month_mask",
    "month_day_mask",
    "week_day_mask",
    "holiday_rule",
    "first_year",  # timing_years[first_year:end_years] are the allowed years
    "end_years",
)
CANDIDATE_TABLE_COLUMNS = (
    "binding",
    "timing",
    "weight",
    "effective_from",
    "effective_to",
    "first_slot",  # slot_table rows first_slot:end_slot are the binding's rate's slots
    "end_slot",
    "rounding_decimals",
    # The binding's rules the walk ends with, so that rating an event reads no binding row.
    "min_usage",
    "zero_rated",
    "max_cost_micros",
    "max_cost_free",
    "min_charge_micros",
    "rounding_method",
    "unused_0",  # two spare columns: a row is 128 bytes, two whole cache lines
    "unused_1",
)
SLOT_TABLE_COLUMNS = (
    "start",
    "price_micros",
    "rate_unit",
    "increment",
    "connect_fee_micros",
    "unit_scale",
)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the kernels' local day numbers)."""
    return (day - EPOCH).days


def _micros_utc(moment: datetime) -> int:
    """Microseconds since the epoch of a UTC instant (naive datetimes are UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH_UTC) // timedelta(microseconds=1)


@dataclass(frozen=True)
class _ProfileVersion:
    activation_us: int
    rating_plan: int
    subject: int  # index into CompiledCatalog.subject_ids
    fallback_subjects: tuple[str, ...]


@dataclass(frozen=True)
class CompiledCatalog:
    """A catalog as the kernels read it. Arrays are int64 unless stated.

    Names: ``*_ids`` give the catalog id of each index (``prefixes`` the digits of a prefix
    id). Bindings (b,), plan-major in the reference's file order: binding_plan,
    binding_entry (entry index within its plan), binding_deck (index into deck_ids, the
    destination-rates tables), binding_row (row in that table), binding_destination (-1: not
    a catalog destination, e.g. ``*any``), binding_group (index into DESTINATION_GROUPS, -1
    none), binding_timing, binding_rate, binding_weight, binding_effective_from /
    binding_effective_to (local day numbers, inclusive; FIRST_DAY / LAST_DAY when open),
    binding_rounding_method (index into ROUNDING_METHODS), binding_rounding_decimals,
    binding_max_cost_micros, binding_max_cost_free (bool: strategy ``free``),
    binding_min_charge_micros, binding_min_usage, binding_zero_rated (bool).

    Timings (t,): timing_start_second, timing_end_second, timing_month_mask (bit m for month
    m, 0 any), timing_month_day_mask (bit d), timing_week_day_mask (bit ISO day),
    timing_holiday_rule (index into HOLIDAY_RULES), and the allowed years as CSR
    (timing_year_offsets (t + 1,), timing_years; none: any year).

    Rates (r,): slots ``rate_slot_offsets[r]:rate_slot_offsets[r + 1]`` of slot_start (group
    interval start), slot_price_micros, slot_rate_unit, slot_increment,
    slot_connect_fee_micros, slot_unit_scale (rate_unit_lcm // slot_rate_unit).

    Candidates: ``candidates`` holds binding indices, each list in binding order. Plan p's
    on-net list is ``candidates[plan_on_net[p, 0]:plan_on_net[p, 1]]``, its ``*any`` list
    ``plan_any[p]`` likewise. Prefix keys (k,) sorted by (plan, length, value): the keys of
    plan p with L digits are ``prefix_offsets[p, L]:prefix_offsets[p, L + 1]``, key_value is
    the prefix as an integer, key_prefix its prefix id, and its candidates are
    ``candidates[key_candidates[k]:key_candidates[k + 1]]``.

    holiday_days: ascending local day numbers of holidays from holiday_first_day to
    holiday_last_day (FIRST_DAY / LAST_DAY when the calendar names no country, so explicit
    dates are complete).

    The same fields as the kernels read them, row-major int64: timing_table (t, 8)
    (TIMING_TABLE_COLUMNS), slot_table (s, 6) (SLOT_TABLE_COLUMNS), candidate_table
    (len(candidates), 16) (CANDIDATE_TABLE_COLUMNS: each candidate's binding fields, row
    for row with ``candidates``). key_hash (h, 8) and
    the dense head tables (plan_heads (p, 2), head_table int32) find an event's longest
    prefix key: ``pipelines.tariffs.prefix_index``.

    Schedules: which of a candidate list's bindings wins at an instant depends only on the
    list's (timing, weight, effective_from, effective_to) rows, its schedule. Lists with
    equal rows share one: ``schedule_lists`` (S, 2) holds one list (start, end) per
    schedule, and plan_on_net[p, 2], plan_any[p, 2] and key_hash[:, 5] name each list's.
    The kernels tabulate each schedule's winners per day of a batch
    (``kernels.tariff_nb.day_schedules_nb``).
    """

    version: str
    currency: str
    plan_ids: tuple[str, ...]
    deck_ids: tuple[str, ...]
    destination_ids: tuple[str, ...]
    timing_ids: tuple[str, ...]
    rate_ids: tuple[str, ...]
    prefixes: tuple[str, ...]
    subject_ids: tuple[str, ...]

    binding_plan: np.ndarray
    binding_entry: np.ndarray
    binding_deck: np.ndarray
    binding_row: np.ndarray
    binding_destination: np.ndarray
    binding_group: np.ndarray
    binding_timing: np.ndarray
    binding_rate: np.ndarray
    binding_weight: np.ndarray
    binding_effective_from: np.ndarray
    binding_effective_to: np.ndarray
    binding_rounding_method: np.ndarray
    binding_rounding_decimals: np.ndarray
    binding_max_cost_micros: np.ndarray
    binding_max_cost_free: np.ndarray
    binding_min_charge_micros: np.ndarray
    binding_min_usage: np.ndarray
    binding_zero_rated: np.ndarray

    timing_start_second: np.ndarray
    timing_end_second: np.ndarray
    timing_month_mask: np.ndarray
    timing_month_day_mask: np.ndarray
    timing_week_day_mask: np.ndarray
    timing_holiday_rule: np.ndarray
    timing_year_offsets: np.ndarray
    timing_years: np.ndarray

    rate_slot_offsets: np.ndarray
    slot_start: np.ndarray
    slot_price_micros: np.ndarray
    slot_rate_unit: np.ndarray
    slot_increment: np.ndarray
    slot_connect_fee_micros: np.ndarray
    slot_unit_scale: np.ndarray
    rate_unit_lcm: int

    candidates: np.ndarray
    plan_on_net: np.ndarray
    plan_any: np.ndarray
    prefix_offsets: np.ndarray
    key_value: np.ndarray
    key_prefix: np.ndarray
    key_candidates: np.ndarray

    holiday_days: np.ndarray
    holiday_first_day: int
    holiday_last_day: int

    timing_table: np.ndarray
    slot_table: np.ndarray
    candidate_table: np.ndarray
    key_hash: np.ndarray
    plan_heads: np.ndarray
    head_table: np.ndarray
    schedule_lists: np.ndarray

    _profiles: dict[tuple[str, str, str], tuple[_ProfileVersion, ...]] = field(
        repr=False, compare=False
    )
    _activations: dict[tuple[str, str], np.ndarray] = field(repr=False, compare=False)


def _i64(values: Sequence[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _table(fields: dict[str, np.ndarray], names: tuple[str, ...], rows: int) -> np.ndarray:
    """Row-major int64 (rows, len(names)) table of ``fields`` in the order of ``names``."""
    table = np.empty((rows, len(names)), dtype=np.int64)
    for k, name in enumerate(names):
        table[:, k] = fields[name]
    return table


def _schedules(candidate_table: np.ndarray, lists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(schedule of each list (n,), one list per schedule (S, 2)) of candidate lists (n, 2).

    A schedule is the sequence of a list's (timing, weight, effective_from, effective_to).
    Lists of one length are compared as rows of a matrix, one length at a time: a deck has
    few list lengths and many lists.
    """
    kinds = np.zeros(0, dtype=np.int64)
    if candidate_table.shape[0]:
        _, kinds = np.unique(candidate_table[:, 1:5], axis=0, return_inverse=True)
        kinds = kinds.reshape(-1)
    lo, hi = lists[:, 0], lists[:, 1]
    lengths = hi - lo
    schedule = np.empty(lists.shape[0], dtype=np.int64)
    representatives = [np.zeros(0, dtype=np.int64)]
    known = 0
    for length in np.unique(lengths).tolist():
        at = np.flatnonzero(lengths == length)
        # An empty list is a row of one constant: all empty lists share one schedule.
        rows = kinds[lo[at, None] + np.arange(length)] if length else np.zeros((at.size, 1))
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        schedule[at] = known + inverse.reshape(-1)
        representatives.append(at[first])
        known += first.size
    return schedule, np.ascontiguousarray(lists[np.concatenate(representatives)])


def _mask(values: frozenset[int], low: int, high: int, what: str, timing_id: str) -> int:
    if any(not low <= v <= high for v in values):
        raise ValueError(f"timing {timing_id!r}: {what} must lie in [{low}, {high}]")
    return sum(1 << v for v in values)


def _check_timing(timing: Timing) -> None:
    if not 0 <= timing.start_second <= SECONDS_PER_DAY:
        raise ValueError(f"timing {timing.timing_id!r}: start_second outside the day")
    if not 0 <= timing.end_second <= SECONDS_PER_DAY:
        raise ValueError(f"timing {timing.timing_id!r}: end_second outside the day")


def _holiday_days(catalog: Catalog, holiday_years: range | None) -> tuple[np.ndarray, int, int]:
    calendar = catalog.holidays
    if calendar.country is None:
        days = sorted(day_number(d) for d in calendar.extra - calendar.removed)
        return _i64(days), FIRST_DAY, LAST_DAY
    if holiday_years is None or not holiday_years:
        raise ValueError(
            f"the catalog's holidays follow country {calendar.country!r}: "
            "give holiday_years, the years events may fall in"
        )
    first = date(holiday_years[0], 1, 1)
    last = date(holiday_years[-1], 12, 31)
    # is_holiday decides each day, so the kernels and the reference cannot disagree.
    days = [
        day_number(first) + k
        for k in range((last - first).days + 1)
        if is_holiday(calendar, first + timedelta(days=k))
    ]
    return _i64(days), day_number(first), day_number(last)


def _profile_index(
    profiles: Sequence[RatingProfile], plan_index: dict[str, int], subject_index: dict[str, int]
) -> tuple[
    dict[tuple[str, str, str], tuple[_ProfileVersion, ...]], dict[tuple[str, str], np.ndarray]
]:
    versions: dict[tuple[str, str, str], list[_ProfileVersion]] = {}
    for profile in profiles:
        if profile.rating_plan_id not in plan_index:
            raise ValueError(
                f"profile {profile.subject!r} names unknown rating plan {profile.rating_plan_id!r}"
            )
        key = (profile.tenant, profile.category, profile.subject)
        versions.setdefault(key, []).append(
            _ProfileVersion(
                _micros_utc(profile.activation),
                plan_index[profile.rating_plan_id],
                subject_index[profile.subject],
                profile.fallback_subjects,
            )
        )
    # Stable sort: of versions activated at the same instant the first in file order wins.
    by_subject = {
        key: tuple(sorted(found, key=lambda v: v.activation_us)) for key, found in versions.items()
    }
    activations: dict[tuple[str, str], set[int]] = {}
    for (tenant, category, _), found in by_subject.items():
        activations.setdefault((tenant, category), set()).update(v.activation_us for v in found)
    return by_subject, {pair: _i64(sorted(acts)) for pair, acts in activations.items()}


def compile_catalog(catalog: Catalog, holiday_years: range | None = None) -> CompiledCatalog:
    """Compile ``catalog`` for ``kernels.tariff_api.rate_events``.

    holiday_years: the years events may fall in, required when the holiday calendar follows
    a country (its days are materialised for those years; the kernels refuse events outside
    them). Raises ValueError on what the reference could not rate either: unknown ids,
    rates whose slots do not start at 0 or are unordered, increments or rate units below 1,
    prefixes that are not 1-15 ASCII digits, rounding decimals outside 0..6, and rate units
    whose lcm exceeds MAX_RATE_UNIT_LCM.
    """
    plan_ids = tuple(catalog.rating_plans)
    deck_ids = tuple(catalog.destination_rates)
    destination_ids = tuple(catalog.destinations)
    timing_ids = tuple(catalog.timings)
    rate_ids = tuple(catalog.rates)
    plan_index = {p: i for i, p in enumerate(plan_ids)}
    deck_index = {d: i for i, d in enumerate(deck_ids)}
    destination_index = {d: i for i, d in enumerate(destination_ids)}
    timing_index = {t: i for i, t in enumerate(timing_ids)}
    rate_index = {r: i for i, r in enumerate(rate_ids)}

    # Rates and slots.
    slot_offsets = [0]
    slots: list[RateSlot] = []
    for rate_id, rate in catalog.rates.items():
        slot_starts = [s.group_interval_start for s in rate.slots]
        if not slot_starts or slot_starts[0] != 0 or slot_starts != sorted(slot_starts):
            raise ValueError(f"rate {rate_id!r}: slots must ascend from group interval start 0")
        for slot in rate.slots:
            if slot.increment < 1 or slot.rate_unit < 1:
                raise ValueError(f"rate {rate_id!r}: increment and rate_unit must be >= 1")
        slots.extend(rate.slots)
        slot_offsets.append(len(slots))
    rate_unit_lcm = math.lcm(1, *(s.rate_unit for s in slots))
    if rate_unit_lcm > MAX_RATE_UNIT_LCM:
        raise ValueError(
            f"the rate units' lcm {rate_unit_lcm} exceeds {MAX_RATE_UNIT_LCM}: "
            "exact costs would not fit int64"
        )

    # Timings.
    year_offsets = [0]
    years: list[int] = []
    timing_masks = []
    for timing_id, timing in catalog.timings.items():
        _check_timing(timing)
        years.extend(sorted(timing.years))
        year_offsets.append(len(years))
        timing_masks.append(
            (
                _mask(timing.months, 1, 12, "months", timing_id),
                _mask(timing.month_days, 1, 31, "month_days", timing_id),
                _mask(timing.week_days, 1, 7, "week_days", timing_id),
            )
        )
    timings = list(catalog.timings.values())

    # Destinations' prefixes, CSR by destination; on-net destinations are never matched
    # by prefix, so they hold none here.
    prefix_ids: dict[str, int] = {}
    destination_prefix_offsets = [0]
    destination_prefixes: list[int] = []
    for destination_id, destination in catalog.destinations.items():
        if destination.group is not DestinationGroup.ON_NET:
            for prefix in dict.fromkeys(destination.prefixes):
                if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= MAX_PREFIX_DIGITS):
                    raise ValueError(
                        f"destination {destination_id!r}: prefix {prefix!r} is not "
                        f"1-{MAX_PREFIX_DIGITS} digits"
                    )
                destination_prefixes.append(prefix_ids.setdefault(prefix, len(prefix_ids)))
        destination_prefix_offsets.append(len(destination_prefixes))
    prefixes = tuple(prefix_ids)
    prefix_len = _i64([len(p) for p in prefixes])
    prefix_value = _i64([int(p) for p in prefixes])

    # Bindings: each plan entry crossed with its table's rows, in file order.
    rows: list[tuple[int, ...]] = []
    for p, (plan_id, plan) in enumerate(catalog.rating_plans.items()):
        for e, entry in enumerate(plan.entries):
            if entry.timing_id not in timing_index:
                raise ValueError(f"plan {plan_id!r} names unknown timing {entry.timing_id!r}")
            if entry.destination_rates_id not in deck_index:
                raise ValueError(
                    f"plan {plan_id!r} names unknown destination rates "
                    f"{entry.destination_rates_id!r}"
                )
            for row, binding in enumerate(catalog.destination_rates[entry.destination_rates_id]):
                if binding.rate_id not in rate_index:
                    raise ValueError(
                        f"destination rates {entry.destination_rates_id!r} name unknown rate "
                        f"{binding.rate_id!r}"
                    )
                if not 0 <= binding.rounding_decimals <= 6:
                    raise ValueError(
                        f"destination rates {entry.destination_rates_id!r}: rounding_decimals "
                        "must lie in 0..6"
                    )
                bound = catalog.destinations.get(binding.destination_id)
                group = None if bound is None else bound.group
                rows.append(
                    (
                        p,
                        e,
                        deck_index[entry.destination_rates_id],
                        row,
                        destination_index.get(binding.destination_id, -1),
                        -1 if group is None else DESTINATION_GROUPS.index(group),
                        timing_index[entry.timing_id],
                        rate_index[binding.rate_id],
                        entry.weight,
                        FIRST_DAY
                        if binding.effective_from is None
                        else day_number(binding.effective_from),
                        LAST_DAY
                        if binding.effective_to is None
                        else day_number(binding.effective_to),
                        ROUNDING_METHODS.index(binding.rounding_method),
                        binding.rounding_decimals,
                        binding.max_cost_micros,
                        binding.max_cost_strategy is MaxCostStrategy.FREE,
                        binding.min_charge_micros,
                        binding.min_usage,
                        group in ZERO_RATED_GROUPS,
                        binding.destination_id == ANY,
                        group is DestinationGroup.ON_NET,
                    )
                )
    columns = np.array(rows, dtype=np.int64).reshape(len(rows), 20).T
    binding_plan = np.ascontiguousarray(columns[0])
    binding_destination = np.ascontiguousarray(columns[4])
    is_any = columns[18].astype(bool)
    is_on_net = columns[19].astype(bool)

    # Per-plan on-net and *any lists, then the prefix keys' lists, in one array.
    n_plans = len(plan_ids)
    plan_lists: list[int] = []
    plan_on_net = np.zeros((n_plans, 3), dtype=np.int64)
    plan_any = np.zeros((n_plans, 3), dtype=np.int64)
    for p in range(n_plans):
        in_plan = binding_plan == p
        for bounds, wanted in ((plan_on_net, is_on_net), (plan_any, is_any)):
            bounds[p, 0] = len(plan_lists)
            plan_lists.extend(np.flatnonzero(in_plan & wanted).tolist())
            bounds[p, 1] = len(plan_lists)

    # Every (binding, prefix of its destination): sorted by (plan, length, value, binding).
    offsets = _i64(destination_prefix_offsets)
    by_prefix = np.flatnonzero(binding_destination >= 0)
    counts = (offsets[1:] - offsets[:-1])[binding_destination[by_prefix]]
    pair_binding = np.repeat(by_prefix, counts)
    first_of_pair = np.repeat(np.cumsum(counts) - counts, counts)
    within = np.arange(pair_binding.size, dtype=np.int64) - first_of_pair
    pair_prefix = _i64(destination_prefixes)[offsets[binding_destination[pair_binding]] + within]
    pair_plan = binding_plan[pair_binding]
    pair_len = prefix_len[pair_prefix]
    pair_value = prefix_value[pair_prefix]
    order = np.lexsort((pair_binding, pair_value, pair_len, pair_plan))
    pair_binding, pair_prefix, pair_plan, pair_len = (
        pair_binding[order],
        pair_prefix[order],
        pair_plan[order],
        pair_len[order],
    )
    new_key = np.ones(pair_binding.size, dtype=bool)
    new_key[1:] = (pair_prefix[1:] != pair_prefix[:-1]) | (pair_plan[1:] != pair_plan[:-1])
    key_start = np.flatnonzero(new_key)
    key_plan_len = pair_plan[key_start] * (MAX_PREFIX_DIGITS + 1) + pair_len[key_start]
    starts = np.searchsorted(key_plan_len, np.arange(n_plans * (MAX_PREFIX_DIGITS + 1) + 1))
    prefix_offsets = np.empty((n_plans, MAX_PREFIX_DIGITS + 2), dtype=np.int64)
    prefix_offsets[:, :-1] = starts[:-1].reshape(n_plans, MAX_PREFIX_DIGITS + 1)
    prefix_offsets[:, -1] = starts[MAX_PREFIX_DIGITS + 1 :: MAX_PREFIX_DIGITS + 1]
    key_prefix = pair_prefix[key_start]

    holiday_days, holiday_first_day, holiday_last_day = _holiday_days(catalog, holiday_years)
    subject_ids = tuple(dict.fromkeys(p.subject for p in catalog.profiles))
    profiles, activations = _profile_index(
        catalog.profiles, plan_index, {s: i for i, s in enumerate(subject_ids)}
    )

    def column(k: int) -> np.ndarray:
        return np.ascontiguousarray(columns[k])

    timing_start = _i64([t.start_second for t in timings])
    timing_end = _i64([t.end_second for t in timings])
    timing_month_mask = _i64([m[0] for m in timing_masks])
    timing_month_day_mask = _i64([m[1] for m in timing_masks])
    timing_week_day_mask = _i64([m[2] for m in timing_masks])
    timing_holiday_rule = _i64([HOLIDAY_RULES.index(t.holidays) for t in timings])
    timing_year_offsets = _i64(year_offsets)
    slot_start = _i64([s.group_interval_start for s in slots])
    slot_price = _i64([s.price_micros for s in slots])
    slot_rate_unit = _i64([s.rate_unit for s in slots])
    slot_increment = _i64([s.increment for s in slots])
    slot_connect_fee = _i64([s.connect_fee_micros for s in slots])
    slot_unit_scale = _i64([rate_unit_lcm // s.rate_unit for s in slots])
    timing_fields = {
        "start_second": timing_start,
        "end_second": timing_end,
        "month_mask": timing_month_mask,
        "month_day_mask": timing_month_day_mask,
        "week_day_mask": timing_week_day_mask,
        "holiday_rule": timing_holiday_rule,
        "first_year": timing_year_offsets[:-1],
        "end_years": timing_year_offsets[1:],
    }
    slot_fields = {
        "start": slot_start,
        "price_micros": slot_price,
        "rate_unit": slot_rate_unit,
        "increment": slot_increment,
        "connect_fee_micros": slot_connect_fee,
        "unit_scale": slot_unit_scale,
    }
    candidates = np.concatenate([_i64(plan_lists), pair_binding]).astype(np.int64)
    key_candidates = np.append(key_start, pair_binding.size).astype(np.int64) + len(plan_lists)
    slot_offsets_array = _i64(slot_offsets)
    candidate_rate = columns[7][candidates]
    candidate_fields = {
        "binding": candidates,
        "timing": columns[6][candidates],
        "weight": columns[8][candidates],
        "effective_from": columns[9][candidates],
        "effective_to": columns[10][candidates],
        "first_slot": slot_offsets_array[candidate_rate],
        "end_slot": slot_offsets_array[candidate_rate + 1],
        "rounding_decimals": columns[12][candidates],
        "min_usage": columns[16][candidates],
        "zero_rated": columns[17][candidates],
        "max_cost_micros": columns[13][candidates],
        "max_cost_free": columns[14][candidates],
        "min_charge_micros": columns[15][candidates],
        "rounding_method": columns[11][candidates],
        "unused_0": np.zeros(candidates.size, dtype=np.int64),
        "unused_1": np.zeros(candidates.size, dtype=np.int64),
    }
    candidate_table = _table(candidate_fields, CANDIDATE_TABLE_COLUMNS, candidates.size)
    lists = np.concatenate(
        [
            plan_on_net[:, :2],
            plan_any[:, :2],
            np.column_stack((key_candidates[:-1], key_candidates[1:])),
        ]
    )
    list_schedule, schedule_lists = _schedules(candidate_table, lists)
    plan_on_net[:, 2] = list_schedule[:n_plans]
    plan_any[:, 2] = list_schedule[n_plans : 2 * n_plans]
    key_plan = pair_plan[key_start]
    key_len = pair_len[key_start]
    key_value = np.ascontiguousarray(prefix_value[key_prefix])
    key_hash, key_row = build_key_hash(
        key_plan,
        key_len,
        key_value,
        key_prefix,
        key_candidates,
        list_schedule[2 * n_plans :],
    )
    plan_heads, head_table = build_head_tables(n_plans, key_plan, key_len, key_value, key_row)

    return CompiledCatalog(
        version=catalog.version,
        currency=catalog.currency,
        plan_ids=plan_ids,
        deck_ids=deck_ids,
        destination_ids=destination_ids,
        timing_ids=timing_ids,
        rate_ids=rate_ids,
        prefixes=prefixes,
        subject_ids=subject_ids,
        binding_plan=binding_plan,
        binding_entry=column(1),
        binding_deck=column(2),
        binding_row=column(3),
        binding_destination=binding_destination,
        binding_group=column(5),
        binding_timing=column(6),
        binding_rate=column(7),
        binding_weight=column(8),
        binding_effective_from=column(9),
        binding_effective_to=column(10),
        binding_rounding_method=column(11),
        binding_rounding_decimals=column(12),
        binding_max_cost_micros=column(13),
        binding_max_cost_free=columns[14].astype(np.bool_),
        binding_min_charge_micros=column(15),
        binding_min_usage=column(16),
        binding_zero_rated=columns[17].astype(np.bool_),
        timing_start_second=timing_start,
        timing_end_second=timing_end,
        timing_month_mask=timing_month_mask,
        timing_month_day_mask=timing_month_day_mask,
        timing_week_day_mask=timing_week_day_mask,
        timing_holiday_rule=timing_holiday_rule,
        timing_year_offsets=timing_year_offsets,
        timing_years=_i64(years),
        rate_slot_offsets=slot_offsets_array,
        slot_start=slot_start,
        slot_price_micros=slot_price,
        slot_rate_unit=slot_rate_unit,
        slot_increment=slot_increment,
        slot_connect_fee_micros=slot_connect_fee,
        slot_unit_scale=slot_unit_scale,
        rate_unit_lcm=rate_unit_lcm,
        candidates=candidates,
        plan_on_net=plan_on_net,
        plan_any=plan_any,
        prefix_offsets=prefix_offsets,
        key_value=key_value,
        key_prefix=np.ascontiguousarray(key_prefix),
        key_candidates=key_candidates,
        holiday_days=holiday_days,
        holiday_first_day=holiday_first_day,
        holiday_last_day=holiday_last_day,
        timing_table=_table(timing_fields, TIMING_TABLE_COLUMNS, len(timings)),
        slot_table=_table(slot_fields, SLOT_TABLE_COLUMNS, len(slots)),
        candidate_table=candidate_table,
        key_hash=key_hash,
        plan_heads=plan_heads,
        head_table=head_table,
        schedule_lists=schedule_lists,
        _profiles=profiles,
        _activations=activations,
    )


@dataclass(frozen=True)
class PlanChains:
    """The rating plans each event tries, in order (``rate_event``'s profile rules).

    chain: int64 (n,) chain id per event, -1 when no profile applies (RATING_PLAN_NOT_FOUND).
    Chain c is ``offsets[c]:offsets[c + 1]`` of plans (int64, index into plan_ids) and
    subjects (int64, index into subject_ids: the subject whose profile named the plan).
    """

    chain: np.ndarray
    offsets: np.ndarray
    plans: np.ndarray
    subjects: np.ndarray


def _chain(
    compiled: CompiledCatalog, tenant: str, category: str, subject: str, at_us: int
) -> tuple[tuple[int, int], ...]:
    """(plan, subject) pairs in the order rate_event tries them if each finds no destination.

    rate_event stops at the first plan that rates the event or reports a gap; a plan met a
    second time would find no destination again, so only its first occurrence is kept.
    """
    tried: list[str] = []
    queue = [subject]
    chain: dict[int, int] = {}
    while queue:
        current = queue.pop(0)
        if current in tried:
            continue
        tried.append(current)
        versions = compiled._profiles.get((tenant, category, current), ())
        activations = [v.activation_us for v in versions]
        latest = bisect.bisect_right(activations, at_us)
        if latest == 0:
            if current != ANY:
                queue.append(ANY)
            continue
        version = versions[bisect.bisect_left(activations, activations[latest - 1])]
        chain.setdefault(version.rating_plan, version.subject)
        queue[:0] = list(version.fallback_subjects)
        if current != ANY:
            queue.append(ANY)
    return tuple(chain.items())


def _instant_in_epoch(activations: np.ndarray, epoch: int) -> int:
    """An instant (us) preceded by exactly ``epoch`` of the sorted activations: the chain
    depends only on which activations precede the event, so any such instant resolves it."""
    if epoch:
        return int(activations[epoch - 1])
    return int(activations[0]) - 1 if activations.size else 0


#: Distinct-key codes are counted in a dense table while it has at most this many entries
#: (or one per event); beyond that they are sorted.
DENSE_KEY_CODES = 1 << 22


def dictionary_codes(
    values: Sequence[str] | pl.Series | pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, list[str]]:
    """(integer codes (n,), names): a string column as dictionary codes.

    Dictionary-encoded input (a Parquet column read with ``read_dictionary``) keeps its
    dictionary; anything else is encoded once, by hashing. Raises ValueError on a null,
    whether the column or its dictionary holds it.
    """
    if isinstance(values, pl.Series):
        values = values.to_arrow()
    elif not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values, type=pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if values.null_count:
        raise ValueError("tenant, category and subject must not be null")
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(values.cast(pa.string()))
    names = values.dictionary.cast(pa.string()).to_pylist()
    codes = values.indices.to_numpy(zero_copy_only=False)
    null_names = [k for k, name in enumerate(names) if name is None]
    if null_names and np.isin(codes, null_names).any():
        raise ValueError("tenant, category and subject must not be null")
    return codes, names


def _distinct(codes: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """(ascending distinct codes, each code's index among them) of codes in [0, space)."""
    if space <= max(DENSE_KEY_CODES, codes.size):
        return dense_distinct_nb(codes, space)
    distinct, inverse = np.unique(codes, return_inverse=True)
    return distinct, inverse.reshape(-1)


def resolve_plan_chains(
    compiled: CompiledCatalog,
    tenant: Sequence[str] | pl.Series | pa.Array | pa.ChunkedArray,
    category: Sequence[str] | pl.Series | pa.Array | pa.ChunkedArray,
    subject: Sequence[str] | pl.Series | pa.Array | pa.ChunkedArray,
    start_utc_seconds: np.ndarray,
) -> PlanChains:
    """Each event's plan chain from its (tenant, category, subject) and UTC start.

    start_utc_seconds: int64 (n,) seconds since 1970-01-01T00:00Z (an event without a UTC
    start uses its local start, as ``Event.start_utc`` does). The chain depends on the
    subject and on which of its (tenant, category)'s profile activations precede the event,
    so each distinct such key is resolved once; events reach their key by integer codes
    (dictionary indices, ``kernels.profile_keys_nb``), never by comparing strings.
    """
    if not isinstance(start_utc_seconds, np.ndarray) or start_utc_seconds.dtype != np.int64:
        raise TypeError("start_utc_seconds must be an int64 numpy array")
    tenant_code, tenant_names = dictionary_codes(tenant)
    category_code, category_names = dictionary_codes(category)
    subject_code, subject_names = dictionary_codes(subject)
    n = tenant_code.size
    if category_code.size != n or subject_code.size != n:
        raise ValueError("tenant, category and subject must have one value per event")
    if start_utc_seconds.size != n:
        raise ValueError(f"start_utc_seconds has {start_utc_seconds.size} rows, expected {n}")
    n_categories, n_subjects = max(len(category_names), 1), max(len(subject_names), 1)
    # Each (tenant, category) pair's activations; pairs with no profile have none, so their
    # events stay at epoch 0 (no chain).
    pair_activations = [
        compiled._activations.get((tenant_id, category_id), _i64([]))
        for tenant_id in tenant_names or [""]
        for category_id in category_names or [""]
    ]
    pair_offsets = _i64([0, *np.cumsum([a.size for a in pair_activations]).tolist()])
    key_code, epochs = profile_keys_nb(
        tenant_code,
        category_code,
        subject_code,
        start_utc_seconds * 1_000_000,
        n_categories,
        n_subjects,
        pair_offsets,
        np.concatenate([_i64([]), *pair_activations]),
    )
    distinct, key_index = _distinct(key_code, len(pair_activations) * n_subjects * epochs)

    def key_names(code: int) -> tuple[str, str, str, int]:
        key, e = divmod(code, epochs)
        pair, s = divmod(key, n_subjects)
        t, c = divmod(pair, n_categories)
        return tenant_names[t], category_names[c], subject_names[s], e

    # Chain ids follow the keys' sorted names, so they do not depend on the events' order.
    named = sorted((key_names(code), k) for k, code in enumerate(distinct.tolist()))
    chain_ids: dict[tuple[tuple[int, int], ...], int] = {}
    code_chain = np.empty(distinct.size, dtype=np.int64)
    for (tenant_id, category_id, subject_id, e), k in named:
        activations = compiled._activations.get((tenant_id, category_id), _i64([]))
        at = _instant_in_epoch(activations, e)
        found = _chain(compiled, tenant_id, category_id, subject_id, at)
        code_chain[k] = chain_ids.setdefault(found, len(chain_ids)) if found else -1
    pairs_of_chains = [pair for found in chain_ids for pair in found]
    return PlanChains(
        chain=code_chain[key_index],
        offsets=_i64([0, *np.cumsum([len(found) for found in chain_ids]).tolist()]),
        plans=_i64([plan for plan, _ in pairs_of_chains]),
        subjects=_i64([subject_id for _, subject_id in pairs_of_chains]),
    )


def single_plan_chains(compiled: CompiledCatalog, rating_plan_id: str, n: int) -> PlanChains:
    """Chains that rate n events with one plan, as ``reference.rate_with_plan`` (subject -1)."""
    return PlanChains(
        chain=np.zeros(n, dtype=np.int64),
        offsets=_i64([0, 1]),
        plans=_i64([compiled.plan_ids.index(rating_plan_id)]),
        subjects=_i64([-1]),
    )
