"""Validated entry points to the tariff rating kernels (``kernels.tariff_nb``).

``rate_events`` rates a batch of events against a ``CompiledCatalog`` with the semantics of
``pipelines.tariffs.reference.rate_event`` (chains from ``resolve_plan_chains``) or
``rate_with_plan`` (chains from ``single_plan_chains``). Arrays must have the exact dtypes
documented (C-contiguous, one dimension): a silent cast on a money path hides the bug that
produced it. Times are seconds of local wall-clock time since 1970-01-01T00:00
(``local_seconds``); usage is units (seconds, messages, bytes); money is micro-units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np
import pyarrow as pa

from kernels.api import MAX_PREFIX_DIGITS, _check, encode_number_strings
from kernels.tariff_nb import (
    batch_extent_nb,
    day_schedules_nb,
    rate_events_nb,
)
from pipelines.tariffs.compile import CompiledCatalog, PlanChains
from pipelines.tariffs.prefix_index import POW10

SECONDS_PER_DAY = 86_400
_INT64_MAX = int(np.iinfo(np.int64).max)
#: A batch tabulates its days' schedules when there are at most this many (schedule, day)
#: pairs or at most SCHEDULE_DAYS_PER_EVENT per event: tabulating a pair costs about what
#: scanning one event's timings does.
MIN_TABULATED_SCHEDULE_DAYS = 65_536
SCHEDULE_DAYS_PER_EVENT = 1


class TariffError(IntEnum):
    """``TariffRatings.error`` codes; the names are ``model.RatingError``'s."""

    NONE = 0
    RATING_PLAN_NOT_FOUND = 1
    UNAUTHORIZED_DESTINATION = 2
    RATING_PLAN_GAP = 3


def encode_destinations(
    numbers: pa.Array | pa.ChunkedArray | Sequence[str | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Destination numbers as the tariff kernels match them: (value, length), int64 (n,).

    As the reference, one leading "+" is dropped; then ``kernels.api.encode_numbers``: the
    first MAX_PREFIX_DIGITS digits decide, and a null or non-digit number matches only
    ``*any`` (length 0).
    """
    return encode_number_strings(numbers, skip_plus=True)


@dataclass(frozen=True)
class TariffRatings:
    """Per event (n,); -1 where an index does not apply.

    int64: cost_micros; billed_usage (after minimum usage and increments); allowance_units
    (billed units the allowance paid); connect_fee_micros (0 when nothing was charged).
    error: int8 ``TariffError``; zero_rated: bool. The rest are int32 indices, of the first
    span: rating_plan (index into
    ``CompiledCatalog.plan_ids``), subject (``subject_ids``; -1 for single-plan chains),
    binding, destination_rates (``deck_ids``), destination (``destination_ids``; -1 for
    ``*any``), prefix (``prefixes``; -1 for on-net and ``*any``), rate (``rate_ids``),
    timing (``timing_ids``). n_spans: spans of the event (0 on error). rating_plan and
    subject are also set for RATING_PLAN_GAP, as the reference names the subject.
    """

    error: np.ndarray
    cost_micros: np.ndarray
    zero_rated: np.ndarray
    billed_usage: np.ndarray
    allowance_units: np.ndarray
    connect_fee_micros: np.ndarray
    rating_plan: np.ndarray
    subject: np.ndarray
    binding: np.ndarray
    destination_rates: np.ndarray
    destination: np.ndarray
    prefix: np.ndarray
    rate: np.ndarray
    timing: np.ndarray
    n_spans: np.ndarray

    @classmethod
    def empty(cls, n: int) -> TariffRatings:
        """Uninitialised arrays for n events, to be passed as ``out``."""
        return cls(
            **{
                field.name: np.empty(n, dtype=RATINGS_DTYPES.get(field.name, np.int32))
                for field in fields(cls)
            }
        )

    def head(self, n: int) -> TariffRatings:
        """Views of the first n rows: a buffer sized for the largest batch serves them all."""
        return TariffRatings(
            **{field.name: getattr(self, field.name)[:n] for field in fields(self)}
        )


#: TariffRatings fields that are not int32 indices.
RATINGS_DTYPES = {
    "error": np.int8,
    "cost_micros": np.int64,
    "zero_rated": np.bool_,
    "billed_usage": np.int64,
    "allowance_units": np.int64,
    "connect_fee_micros": np.int64,
}


@dataclass(frozen=True)
class RatedSpans:
    """Every event's spans: event i's are rows ``offsets[i]:offsets[i + 1]``, int64 (s,).

    start_usage (units into the event), usage (units covered), billed (rounded up to the
    increment), binding, slot (index within the binding's rate).
    """

    offsets: np.ndarray
    start_usage: np.ndarray
    usage: np.ndarray
    billed: np.ndarray
    binding: np.ndarray
    slot: np.ndarray


def _check_chains(chains: PlanChains, compiled: CompiledCatalog, n: int) -> None:
    _check("chain", chains.chain, np.int64, n)
    n_chains = _check("offsets", chains.offsets, np.int64).size - 1
    _check("plans", chains.plans, np.int64)
    _check("subjects", chains.subjects, np.int64, chains.plans.size)
    if n_chains < 0 or chains.offsets[0] != 0 or chains.offsets[-1] != chains.plans.size:
        raise ValueError("chain offsets must run from 0 to the number of chained plans")
    if (np.diff(chains.offsets) < 0).any():
        raise ValueError("chain offsets must not decrease")
    if n and (chains.chain.min() < -1 or chains.chain.max() >= n_chains):
        raise ValueError(f"chain ids must lie in [-1, {n_chains})")
    if chains.plans.size and (
        chains.plans.min() < 0 or chains.plans.max() >= len(compiled.plan_ids)
    ):
        raise ValueError("chained plans must index compiled.plan_ids")


def _guard(
    compiled: CompiledCatalog, local_seconds: np.ndarray, usage: np.ndarray, time_based: np.ndarray
) -> tuple[int, int]:
    """Refuse a batch whose arithmetic could leave int64 or whose days lack holidays.

    Returns the first and last day the batch's events start on (1, 0 for no events).
    """
    if not usage.size:
        return 1, 0
    min_usage = int(compiled.binding_min_usage.max(initial=0))
    max_usage, first_second, last_second, reach_end = (
        int(v) for v in batch_extent_nb(local_seconds, usage, time_based, min_usage)
    )
    # An event's billed units never exceed its usage (or minimum) plus one increment.
    longest = max(max_usage, min_usage) + int(compiled.slot_increment.max(initial=1))
    price = int(np.abs(compiled.slot_price_micros).max(initial=0))
    bound = (
        longest * price
        + int(np.abs(compiled.slot_connect_fee_micros).max(initial=0))
        + int(np.abs(compiled.binding_min_charge_micros).max(initial=0))
        + int(np.abs(compiled.binding_max_cost_micros).max(initial=0))
        + 10**6  # a rounding step
    )
    if bound > _INT64_MAX:
        raise OverflowError(
            "usage x price could exceed int64 micros; split the events or rescale the rate"
        )
    if last_second + longest > _INT64_MAX or first_second < -(2**62):
        raise OverflowError("local_seconds out of range")
    first_day = first_second // SECONDS_PER_DAY
    # A time-based event is rated at instants up to its end (its minimum usage at most).
    last_day = reach_end // SECONDS_PER_DAY
    if first_day < compiled.holiday_first_day or last_day > compiled.holiday_last_day:
        raise ValueError(
            "events fall outside the years whose holidays were compiled; compile the catalog "
            "with holiday_years covering them"
        )
    return first_day, last_second // SECONDS_PER_DAY


def _day_schedules(
    compiled: CompiledCatalog, first_day: int, last_day: int, n: int
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(first day, days, offsets, segments): the schedules tabulated for the batch's start
    days (``tariff_nb.day_schedules_nb``), or no days when tabulating every schedule would
    cost more than the scans it saves (many schedules, few events per day)."""
    days = last_day - first_day + 1
    entries = compiled.schedule_lists.shape[0] * days
    if days <= 0 or entries > max(SCHEDULE_DAYS_PER_EVENT * n, MIN_TABULATED_SCHEDULE_DAYS):
        return 0, 0, np.zeros(1, dtype=np.int64), np.zeros((0, 2), dtype=np.int64)
    offsets, segments = day_schedules_nb(
        compiled.schedule_lists,
        compiled.candidate_table,
        compiled.timing_table,
        compiled.timing_years,
        compiled.holiday_days,
        first_day,
        days,
    )
    return first_day, days, offsets, segments


def _rate(
    compiled: CompiledCatalog,
    chains: PlanChains,
    local_seconds: np.ndarray,
    number_value: np.ndarray,
    number_len: np.ndarray,
    usage: np.ndarray,
    time_based: np.ndarray,
    on_net: np.ndarray,
    covered: np.ndarray,
    span_offsets: np.ndarray,
    spans: np.ndarray,
    out: TariffRatings | None,
) -> TariffRatings:
    n = _check("local_seconds", local_seconds, np.int64).size
    if out is None:
        out = TariffRatings.empty(n)
    for field in fields(out):
        dtype = RATINGS_DTYPES.get(field.name, np.int32)
        _check(f"out.{field.name}", getattr(out, field.name), dtype, n)
    _check("number_value", number_value, np.int64, n)
    _check("number_len", number_len, np.int64, n)
    _check("usage", usage, np.int64, n)
    _check("time_based", time_based, np.bool_, n)
    _check("on_net", on_net, np.bool_, n)
    _check("covered", covered, np.int64, n)
    _check_chains(chains, compiled, n)
    if n and (number_len.min() < 0 or number_len.max() > MAX_PREFIX_DIGITS):
        raise ValueError(
            f"number_len must lie in [0, {MAX_PREFIX_DIGITS}]; use encode_destinations"
        )
    if n and number_value.min() < 0:
        raise ValueError("number_value must be >= 0; use encode_destinations")
    if n and (usage.min() < 0 or covered.min() < 0):
        raise ValueError("usage and covered must be >= 0")
    first_day, last_day = _guard(compiled, local_seconds, usage, time_based)
    schedule_first_day, schedule_days, schedule_offsets, schedule_segments = _day_schedules(
        compiled, first_day, last_day, n
    )
    rate_events_nb(
        chains.chain,
        chains.offsets,
        chains.plans,
        local_seconds,
        number_value,
        number_len,
        usage,
        time_based,
        on_net,
        covered,
        compiled.candidate_table,
        compiled.timing_table,
        compiled.timing_years,
        compiled.slot_table,
        compiled.plan_on_net,
        compiled.plan_any,
        compiled.prefix_offsets,
        compiled.key_hash,
        compiled.plan_heads,
        compiled.head_table,
        POW10,
        compiled.holiday_days,
        schedule_first_day,
        schedule_days,
        schedule_offsets,
        schedule_segments,
        compiled.rate_unit_lcm,
        chains.subjects,
        compiled.binding_deck,
        compiled.binding_destination,
        compiled.binding_rate,
        compiled.binding_timing,
        span_offsets,
        spans,
        *(getattr(out, field.name) for field in fields(out)),
    )
    return out


def _no_spans() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros((5, 0), dtype=np.int64)


def rate_events(
    compiled: CompiledCatalog,
    chains: PlanChains,
    local_seconds: np.ndarray,
    number_value: np.ndarray,
    number_len: np.ndarray,
    usage: np.ndarray,
    time_based: np.ndarray,
    on_net: np.ndarray,
    covered: np.ndarray,
    out: TariffRatings | None = None,
) -> TariffRatings:
    """Rate a batch of events (``reference.rate_event`` per event, in parallel).

    chains: from ``resolve_plan_chains`` (or ``single_plan_chains``) for these n events.
    local_seconds: int64 (n,) local wall-clock start; number_value, number_len: int64 (n,)
    from ``encode_destinations``; usage: int64 (n,) >= 0 units; time_based, on_net: bool
    (n,); covered: int64 (n,) >= 0, billed units an allowance pays (the reference's
    ``covered``). Raises OverflowError when the batch's usage and the catalog's prices could
    overflow int64, and ValueError for events outside the compiled holiday years.

    out: arrays for n events to write into and return (``TariffRatings.empty(n)``, or
    ``.head(n)`` of a larger one); new ones when None. A stage that rates batch after batch
    into the same arrays touches no new memory, and fresh pages cost more than rating.
    """
    span_offsets, spans = _no_spans()
    return _rate(
        compiled,
        chains,
        local_seconds,
        number_value,
        number_len,
        usage,
        time_based,
        on_net,
        covered,
        span_offsets,
        spans,
        out,
    )


def rate_events_with_spans(
    compiled: CompiledCatalog,
    chains: PlanChains,
    local_seconds: np.ndarray,
    number_value: np.ndarray,
    number_len: np.ndarray,
    usage: np.ndarray,
    time_based: np.ndarray,
    on_net: np.ndarray,
    covered: np.ndarray,
) -> tuple[TariffRatings, RatedSpans]:
    """``rate_events`` plus every span, for explanations of small batches (rates twice)."""
    args = (local_seconds, number_value, number_len, usage, time_based, on_net, covered)
    empty_offsets, empty_spans = _no_spans()
    counted = _rate(compiled, chains, *args, empty_offsets, empty_spans, None)
    offsets = np.concatenate(([0], np.cumsum(counted.n_spans))).astype(np.int64)
    # Rows: start_usage, usage, billed, binding, slot; each row is contiguous.
    spans = np.zeros((5, int(offsets[-1])), dtype=np.int64)
    ratings = _rate(compiled, chains, *args, offsets, spans, None)
    start_usage, usage_of_span, billed, binding, slot = spans
    return ratings, RatedSpans(
        offsets=offsets,
        start_usage=start_usage,
        usage=usage_of_span,
        billed=billed,
        binding=binding,
        slot=slot,
    )
