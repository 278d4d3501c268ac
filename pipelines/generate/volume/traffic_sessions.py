"""PGW data sessions of volume traffic, and the partial records the PGW cuts them into.

A session (an IP-CAN bearer) lasts a lognormal time and carries a lognormal downlink rate;
the PGW closes a partial record every ``partial_seconds`` of it (causeForRecClosing
timeLimit) and the last when the session ends (normalRelease). Sessions are drawn per hour
until their records reach the hour's budget, and their records are materialised only for
the stretch of time being written.
"""

from __future__ import annotations

import math

import numpy as np

from kernels.ber_encode_api import RecordClosingCause, RecordKind
from pipelines.generate.volume.traffic_columns import DataSessions, MobileRecords, no_sessions
from pipelines.generate.volume.traffic_events import ActiveLines
from pipelines.generate.volume.traffic_lines import NO_TRUNK, Network

#: A data session's length (lognormal) and its downlink throughput (lognormal, bytes/s);
#: the uplink is 5-20% of the downlink; a session carries at most SESSION_MAX_BYTES down.
SESSION_MEDIAN_SECONDS = 3600.0
SESSION_SIGMA = 1.0
SESSION_MIN_SECONDS = 30
SESSION_MAX_SECONDS = 24 * 3600
THROUGHPUT_MEDIAN = 12_000.0
THROUGHPUT_SIGMA = 1.0
SESSION_MAX_BYTES = 4_000_000_000


def _survival(seconds: np.ndarray) -> np.ndarray:
    """P(session length > seconds) for the clipped lognormal of session lengths."""
    mu = math.log(SESSION_MEDIAN_SECONDS)
    safe = np.maximum(seconds, 1.0)
    tail = 0.5 * np.vectorize(math.erfc)((np.log(safe) - mu) / (SESSION_SIGMA * math.sqrt(2)))
    return np.where(
        seconds < SESSION_MIN_SECONDS, 1.0, np.where(seconds >= SESSION_MAX_SECONDS, 0.0, tail)
    )


def expected_records(time_left: float, partial_seconds: int) -> float:
    """Mean partial records of a session that must end within ``time_left`` seconds:
    E[ceil(min(L, t) / T)] = sum over k with kT < t of P(L > kT)."""
    steps = np.arange(0, max(1, math.ceil(time_left / partial_seconds))) * partial_seconds
    return float(_survival(steps.astype(np.float64)).sum())


def data_sessions(
    rng: np.random.Generator,
    network: Network,
    active: ActiveLines,
    budget: int,
    hour_start: int,
    window_end: int,
    partial_seconds: int,
) -> DataSessions:
    """Sessions starting in the hour whose partial records number exactly ``budget``.

    Sessions are drawn (line by activity, start uniform in the hour, lognormal length)
    until their records reach the budget; the last one drawn is released early to end on
    it exactly. A session ends before its line's service and the window do.
    """
    parts: list[DataSessions] = []
    need = budget
    mean = expected_records(window_end - hour_start - 1800, partial_seconds)
    while need > 0:
        batch = max(16, math.ceil(need / mean * 1.05))
        line = active.sample(rng, batch)
        start = hour_start + rng.integers(0, 3600, batch)
        drawn = rng.lognormal(math.log(SESSION_MEDIAN_SECONDS), SESSION_SIGMA, batch)
        length = np.clip(drawn, SESSION_MIN_SECONDS, SESSION_MAX_SECONDS).astype(np.int64)
        length = np.minimum(
            length, np.minimum(network.mobile.service_until[line], window_end) - 1 - start
        )
        records = -(-length // partial_seconds)
        total = np.cumsum(records)
        taken = batch
        if total[-1] >= need:
            taken = int(np.searchsorted(total, need)) + 1
            records[taken - 1] -= int(total[taken - 1]) - need
            length[taken - 1] = min(
                int(length[taken - 1]), int(records[taken - 1]) * partial_seconds
            )
        need -= int(records[:taken].sum())
        throughput = rng.lognormal(math.log(THROUGHPUT_MEDIAN), THROUGHPUT_SIGMA, batch)
        downlink = np.minimum(length * throughput, SESSION_MAX_BYTES).astype(np.int64)
        uplink = (downlink * rng.uniform(0.05, 0.2, batch)).astype(np.int64)
        drawn_sessions = DataSessions(
            line, start, length, records, downlink, uplink, np.zeros(batch, dtype=np.int64)
        )
        parts.append(drawn_sessions.take(np.arange(taken)))
    return DataSessions.concat(parts) if parts else no_sessions()


def session_records(
    rng: np.random.Generator,
    network: Network,
    sessions: DataSessions,
    since: int,
    until: int,
    partial_seconds: int,
) -> MobileRecords:
    """The partial records of ``sessions`` that end in [since, until) (epoch seconds).

    Record j of a session covers [start + jT, start + min((j + 1)T, length)); all but the
    last close on the time limit (timeLimit) and carry the session's volumes pro rata to
    time (rounded down), the last closes the session (normalRelease) with the remainder.
    A session of one record is a whole record (no recordSequenceNumber).
    """
    t = partial_seconds
    before = since - sessions.start
    after = until - sessions.start
    first = np.maximum(0, -(-before // t) - 1)
    last = np.where(sessions.length < after, sessions.records - 1, -(-after // t) - 2)
    first = np.where(sessions.length < before, sessions.records, first)
    count = np.maximum(last - first + 1, 0)
    session = np.repeat(np.arange(len(sessions)), count)
    j = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + first[session]
    s = sessions.take(session)
    closing = j == s.records - 1
    started = s.start + j * t
    ended = s.start + np.minimum((j + 1) * t, s.length)
    share_down = s.downlink * t // np.maximum(s.length, 1)
    share_up = s.uplink * t // np.maximum(s.length, 1)
    whole = s.records == 1
    return MobileRecords(
        kind=np.full(j.size, RecordKind.PGW, dtype=np.int8),
        line=s.line,
        other=np.zeros(j.size, dtype=np.int64),
        other_digits=np.zeros(j.size, dtype=np.int8),
        started=started,
        answered=np.full(j.size, -1, dtype=np.int64),
        ended=ended,
        cause=np.where(closing, RecordClosingCause.NORMAL_RELEASE, RecordClosingCause.TIME_LIMIT),
        cell=network.mobile.cell_of(rng, s.line),
        reference=s.charging_id,
        sequence=np.where(whole, -1, j + 1),
        uplink=np.where(closing, s.uplink - (s.records - 1) * share_up, share_up),
        downlink=np.where(closing, s.downlink - (s.records - 1) * share_down, share_down),
        incoming_trunk=np.full(j.size, NO_TRUNK, dtype=np.int32),
        outgoing_trunk=np.full(j.size, NO_TRUNK, dtype=np.int32),
    )
