"""Switch-local call times to UTC, across DST changes.

Asterisk and FreeSWITCH write call times as ``YYYY-MM-DD HH:MM:SS`` on the switch's wall
clock, without an offset. A wall time skipped at spring-forward names no instant; one in the
hour repeated at fall-back names two, and only the call's other times and its durations can
tell which one the switch meant.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pipelines.mediation.text_records import RowError
from pipelines.schema import RejectReason

#: start, answer (None when unanswered) and end of a call, UTC.
CallTimes = tuple[datetime, datetime | None, datetime]

_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def local_instants(column: str, value: str, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants the wall time ``value`` in ``tz`` can mean, earlier first.

    One instant, or two in the hour repeated at fall-back (the daylight-time reading first).
    Raises RowError INVALID_TIMESTAMP, naming ``column``, for a value that is not a
    ``YYYY-MM-DD HH:MM:SS`` time, one outside datetime's range in UTC, or a wall time
    skipped at spring-forward.
    """
    try:
        if not _STAMP.fullmatch(value):
            raise ValueError("not YYYY-MM-DD HH:MM:SS")
        local = datetime.strptime(value, _STAMP_FORMAT)
    except ValueError as exc:
        raise RowError(RejectReason.INVALID_TIMESTAMP, f"{column} {value!r}: {exc}") from exc
    instants: list[datetime] = []
    for fold in (0, 1):
        try:
            instant = local.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        except OverflowError as exc:  # e.g. 9999-12-31 23:00 west of UTC is in year 10000
            raise RowError(RejectReason.INVALID_TIMESTAMP, f"{column} {value}: {exc}") from exc
        # A wall time skipped by a DST change does not survive the round trip.
        if instant.astimezone(tz).replace(tzinfo=None) == local and instant not in instants:
            instants.append(instant)
    if not instants:
        raise RowError(
            RejectReason.INVALID_TIMESTAMP,
            f"{column} {value} does not exist in {tz.key} (skipped by a DST change)",
        )
    return instants


def best_call_times(
    starts: Sequence[datetime],
    answers: Sequence[datetime],
    ends: Sequence[datetime],
    duration: int,
    billsec: int,
    written: tuple[str, str, str],
) -> CallTimes:
    """Choose the readings of start, answer and end that the call's durations confirm.

    ``starts``, ``answers`` and ``ends`` are each time's possible instants, earlier first
    (``answers`` empty for an unanswered call). Of the combinations in order
    (start <= answer <= end), take the one whose spans best match ``duration`` (end - start)
    and ``billsec`` (end - answer); on a tie, the earlier (daylight-time) reading. Raises
    RowError INVALID_TIMESTAMP when no combination is in order, quoting ``written``: start,
    answer and end as the row wrote them.
    """

    def mismatch(times: CallTimes) -> float:
        start, answer, end = times
        gap = abs((end - start).total_seconds() - duration)
        if answer is not None:
            gap += abs((end - answer).total_seconds() - billsec)
        return gap

    answer_readings: Sequence[datetime | None] = answers or [None]
    ordered = [
        (start, answer, end)
        for start, answer, end in itertools.product(starts, answer_readings, ends)
        if start <= end and (answer is None or start <= answer <= end)
    ]
    if not ordered:
        start, answer, end = written
        raise RowError(
            RejectReason.INVALID_TIMESTAMP,
            f"times out of order: start {start}, answer {answer or '-'}, end {end}",
        )
    # min keeps the first of equal mismatches, and product lists earlier readings first.
    return min(ordered, key=mismatch)
