"""One hour of calls and SMS for every line at once, as NumPy columns.

The distributions are the per-object generator's (``pipelines.generate.traffic``: diurnal
curves, talk time, outcomes, destination mixes, business lines busier on weekdays), at the
volumes of ``traffic_plan``. Shares that change how many records an event writes (MO or
MT, on-net or not) are dealt exactly, by a shuffled list of labels, so the hour's record
count is known before it is drawn; everything else is drawn freely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernels.ber_encode_api import CallCause, RecordKind
from pipelines.generate.traffic import OUTCOMES, TALK_MEDIAN_SECONDS
from pipelines.generate.volume.traffic_columns import FixedCalls, MobileRecords
from pipelines.generate.volume.traffic_lines import (
    DOMESTIC,
    EMERGENCY,
    INTERNATIONAL,
    NO_TRUNK,
    ONNET,
    TOLL_FREE,
    Lines,
    Network,
    Parties,
)

#: Asterisk dispositions in OUTCOMES order, as codes.
DISPOSITIONS = tuple(OUTCOMES)
ANSWERED = DISPOSITIONS.index("ANSWERED")
_OUTCOME_SHARES = np.array(list(OUTCOMES.values()))
#: Ringing seconds [low, high) of each disposition (traffic.TrafficBuilder.outcome).
_RING = np.array([(3, 21), (15, 46), (1, 7), (0, 4)])
_LONGEST_TALK = 5400


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` by largest remainder (ties to the
    first): int64 counts summing to ``total``."""
    if total == 0 or weights.sum() == 0:
        return np.zeros(weights.size, dtype=np.int64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def dealt(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Labels 0..k-1, ``counts[k]`` of each, in random order (int8)."""
    return rng.permutation(np.repeat(np.arange(counts.size, dtype=np.int8), counts))


@dataclass(frozen=True)
class ActiveLines:
    """The lines of one service type in service on a day, and how busy each is."""

    rows: np.ndarray  # int32 rows of the Lines
    cdf: np.ndarray  # float64 cumulative activity of ``rows``

    @property
    def activity(self) -> float:
        return float(self.cdf[-1]) if self.cdf.size else 0.0

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` lines drawn by activity."""
        at = np.searchsorted(self.cdf, rng.random(count) * self.cdf[-1], side="right")
        return self.rows[at]

    def other_than(self, rng: np.random.Generator, line: np.ndarray) -> np.ndarray:
        """A line drawn uniformly for each of ``line``, never that line itself."""
        at = rng.integers(0, self.rows.size - 1, line.size)
        return np.where(self.rows[at] == line, self.rows[-1], self.rows[at])


def active_lines(lines: Lines, day_start: int, weekend: bool) -> ActiveLines:
    """The lines in service on the day starting at ``day_start``, weighted as
    ``traffic.activity``: business and government lines 1.5 on weekdays and 0.4 at
    weekends, the others 1.0 and 1.1."""
    rows = lines.active_on(day_start).astype(np.int32)
    business = lines.business[rows]
    weight = np.where(business, 0.4 if weekend else 1.5, 1.1 if weekend else 1.0)
    return ActiveLines(rows, np.cumsum(weight))


@dataclass(frozen=True)
class PartyDraw:
    other: np.ndarray
    other_digits: np.ndarray
    trunk_out: np.ndarray
    trunk_in: np.ndarray
    callee: np.ndarray


def _from_pool(rng: np.random.Generator, pool: Parties, count: int) -> PartyDraw:
    rows = pool.sample(rng, count)
    return PartyDraw(
        pool.number.value[rows],
        pool.number.count[rows],
        pool.trunk_out[rows].astype(np.int32),
        pool.trunk_in[rows].astype(np.int32),
        np.full(count, -1, dtype=np.int32),
    )


def draw_parties(
    rng: np.random.Generator,
    kind: np.ndarray,
    caller: np.ndarray,
    active: ActiveLines,
    lines: Lines,
    network: Network,
) -> PartyDraw:
    """The far end of each event by its party kind: another line in service (on-net), or
    a number of the kind's pool with the trunk groups towards it and from it."""
    n = kind.size
    draw = PartyDraw(
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int8),
        np.full(n, NO_TRUNK, dtype=np.int32),
        np.full(n, NO_TRUNK, dtype=np.int32),
        np.full(n, -1, dtype=np.int32),
    )
    pools = network.pools
    by_kind = {
        DOMESTIC: pools.domestic,
        TOLL_FREE: pools.toll_free,
        INTERNATIONAL: pools.international,
        EMERGENCY: pools.emergency,
    }
    for code, pool in by_kind.items():
        rows = np.flatnonzero(kind == code)
        if rows.size:
            part = _from_pool(rng, pool, rows.size)
            for name in ("other", "other_digits", "trunk_out", "trunk_in"):
                getattr(draw, name)[rows] = getattr(part, name)
    onnet = np.flatnonzero(kind == ONNET)
    if onnet.size:
        callee = active.other_than(rng, caller[onnet])
        draw.callee[onnet] = callee
        draw.other[onnet] = lines.msisdn_digits.value[callee]
        draw.other_digits[onnet] = lines.msisdn_digits.count[callee]
    return draw


@dataclass(frozen=True)
class Outcomes:
    disposition: np.ndarray  # int8
    answered: np.ndarray  # int64 offset from the start, -1 unanswered
    ended: np.ndarray  # int64 offset from the start


def draw_outcomes(rng: np.random.Generator, always_answered: np.ndarray) -> Outcomes:
    """How each call attempt ends (``traffic.TrafficBuilder.outcome``): ~15% unanswered,
    answered ones ringing 3-20 s then talking a lognormal time (median 100 s, 3 s to 90
    min); toll-free and emergency calls are always answered."""
    n = always_answered.size
    disposition = rng.choice(len(DISPOSITIONS), size=n, p=_OUTCOME_SHARES).astype(np.int8)
    disposition[always_answered] = ANSWERED
    low, high = _RING[disposition, 0], _RING[disposition, 1]
    ring = low + (rng.random(n) * (high - low)).astype(np.int64)
    talk = np.clip(rng.lognormal(math.log(TALK_MEDIAN_SECONDS), 1.0, n), 3, _LONGEST_TALK)
    answered = disposition == ANSWERED
    return Outcomes(
        disposition,
        np.where(answered, ring, -1),
        ring + np.where(answered, talk.astype(np.int64), 0),
    )


def _fit_before(limit: np.ndarray, *times: np.ndarray) -> None:
    """Move events (their times, in place; -1 stays -1) earlier so the last time of each is
    before ``limit``: a call never outlasts its line's service or the generated window."""
    shift = np.maximum(times[-1] - (limit - 1), 0)
    for moment in times:
        moment -= np.where(moment >= 0, shift, 0)


def _limit(lines: Lines, window_end: int, *rows: np.ndarray) -> np.ndarray:
    limit = np.minimum(lines.service_until[rows[0]], window_end)
    for other in rows[1:]:
        limit = np.where(other >= 0, np.minimum(limit, lines.service_until[other]), limit)
    return limit


def _records(
    rng: np.random.Generator,
    network: Network,
    kind: np.ndarray,
    line: np.ndarray,
    other: np.ndarray,
    other_digits: np.ndarray,
    started: np.ndarray,
    answered: np.ndarray,
    ended: np.ndarray,
    cause: np.ndarray,
    incoming: np.ndarray,
    outgoing: np.ndarray,
) -> MobileRecords:
    n = line.size
    zeros = np.zeros(n, dtype=np.int64)
    return MobileRecords(
        kind=kind.astype(np.int8),
        line=line,
        other=other,
        other_digits=other_digits,
        started=started,
        answered=answered,
        ended=ended,
        cause=cause,
        cell=network.mobile.cell_of(rng, line),
        reference=zeros,
        sequence=np.full(n, -1, dtype=np.int64),
        uplink=zeros,
        downlink=zeros,
        incoming_trunk=incoming,
        outgoing_trunk=outgoing,
    )


@dataclass(frozen=True)
class EventCounts:
    """How many events of one kind an hour has, dealt: ``outbound`` of ``total`` are made by
    our lines, ``kinds`` of those go to each party kind (ONNET .. EMERGENCY)."""

    total: int
    outbound: int
    kinds: np.ndarray

    @property
    def records(self) -> int:
        """Records the events write on a switch that records both ends of an on-net event."""
        return self.total + int(self.kinds[ONNET])


def _events(
    rng: np.random.Generator,
    active: ActiveLines,
    counts: EventCounts,
    hour_start: int,
    international_in: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(our line, start, outbound, party kind) of the hour's events: lines by activity,
    starts uniform in the hour, directions and outbound party kinds dealt; an inbound
    event comes from abroad at ``international_in``, else from a domestic number."""
    line = active.sample(rng, counts.total)
    start = hour_start + rng.integers(0, 3600, counts.total)
    outbound = dealt(rng, np.array([counts.outbound, counts.total - counts.outbound])) == 0
    kind = np.empty(counts.total, dtype=np.int8)
    kind[outbound] = dealt(rng, counts.kinds)
    abroad = rng.random(counts.total - counts.outbound) < international_in
    kind[~outbound] = np.where(abroad, INTERNATIONAL, DOMESTIC)
    return line, start, outbound, kind


def mobile_calls(
    rng: np.random.Generator,
    network: Network,
    active: ActiveLines,
    counts: EventCounts,
    hour_start: int,
    window_end: int,
    international_in: float,
) -> MobileRecords:
    """The MSC's call records of calls starting in the hour: an MO record per outgoing
    call, an MT record per incoming one, and the callee's MT record of an on-net call."""
    mobile = network.mobile
    caller, start, outbound, kind = _events(rng, active, counts, hour_start, international_in)
    party = draw_parties(rng, kind, caller, active, mobile, network)
    outcome = draw_outcomes(rng, outbound & ((kind == TOLL_FREE) | (kind == EMERGENCY)))
    answered = np.where(outcome.answered >= 0, start + outcome.answered, -1)
    ended = start + outcome.ended
    _fit_before(_limit(mobile, window_end, caller, party.callee), start, answered, ended)
    cause = np.where(answered >= 0, CallCause.NORMAL_RELEASE, CallCause.UNSUCCESSFUL_CALL_ATTEMPT)
    none = np.full(counts.total, NO_TRUNK, dtype=np.int32)
    record_kind = np.where(outbound, RecordKind.MO_CALL, RecordKind.MT_CALL)
    served = _records(
        rng,
        network,
        record_kind,
        caller,
        party.other,
        party.other_digits,
        start,
        answered,
        ended,
        cause,
        np.where(outbound, none, party.trunk_in),
        np.where(outbound, party.trunk_out, none),
    )
    onnet = np.flatnonzero(party.callee >= 0)
    callee = party.callee[onnet]
    twins = _records(
        rng,
        network,
        np.full(onnet.size, RecordKind.MT_CALL),
        callee,
        mobile.msisdn_digits.value[caller[onnet]],
        mobile.msisdn_digits.count[caller[onnet]],
        start[onnet],
        answered[onnet],
        ended[onnet],
        cause[onnet],
        none[onnet],
        none[onnet],
    )
    return MobileRecords.concat([served, twins])


def mobile_sms(
    rng: np.random.Generator,
    network: Network,
    active: ActiveLines,
    counts: EventCounts,
    hour_start: int,
    window_end: int,
    international_in: float,
) -> MobileRecords:
    """The MSC's SMS records of messages sent in the hour: MO for ours, MT for those
    arriving, and the recipient's MT record, delivered 1-5 s later, of an on-net one."""
    mobile = network.mobile
    sender, sent, outbound, kind = _events(rng, active, counts, hour_start, international_in)
    party = draw_parties(rng, kind, sender, active, mobile, network)
    delivered = np.where(party.callee >= 0, sent + rng.integers(1, 6, counts.total), sent)
    _fit_before(_limit(mobile, window_end, sender, party.callee), sent, delivered)
    none = np.full(counts.total, NO_TRUNK, dtype=np.int32)
    unanswered = np.full(counts.total, -1, dtype=np.int64)
    cause = np.zeros(counts.total, dtype=np.int64)
    record_kind = np.where(outbound, RecordKind.MO_SMS, RecordKind.MT_SMS)
    served = _records(
        rng,
        network,
        record_kind,
        sender,
        party.other,
        party.other_digits,
        sent,
        unanswered,
        sent,
        cause,
        none,
        none,
    )
    onnet = np.flatnonzero(party.callee >= 0)
    twins = _records(
        rng,
        network,
        np.full(onnet.size, RecordKind.MT_SMS),
        party.callee[onnet],
        mobile.msisdn_digits.value[sender[onnet]],
        mobile.msisdn_digits.count[sender[onnet]],
        delivered[onnet],
        unanswered[onnet],
        delivered[onnet],
        cause[onnet],
        none[onnet],
        none[onnet],
    )
    return MobileRecords.concat([served, twins])


def fixed_calls(
    rng: np.random.Generator,
    network: Network,
    active: ActiveLines,
    counts: EventCounts,
    hour_start: int,
    window_end: int,
    international_in: float,
) -> FixedCalls:
    """Asterisk's calls of fixed lines starting in the hour, outgoing and incoming; an
    on-net call is one CDR (Asterisk bridges both lines in one call)."""
    fixed = network.fixed
    caller, start, outbound, kind = _events(rng, active, counts, hour_start, international_in)
    party = draw_parties(rng, kind, caller, active, fixed, network)
    outcome = draw_outcomes(rng, outbound & ((kind == TOLL_FREE) | (kind == EMERGENCY)))
    answered = np.where(outcome.answered >= 0, start + outcome.answered, -1)
    ended = start + outcome.ended
    _fit_before(_limit(fixed, window_end, caller, party.callee), start, answered, ended)
    return FixedCalls(
        line=caller,
        outbound=outbound,
        kind=kind,
        other=party.other,
        other_digits=party.other_digits,
        callee=party.callee,
        trunk=np.where(outbound, party.trunk_out, party.trunk_in),
        started=start,
        answered=answered,
        ended=ended,
        disposition=outcome.disposition,
        sequence=np.zeros(counts.total, dtype=np.int64),
    )
