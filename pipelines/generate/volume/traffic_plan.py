"""How many records each hour of a volume day holds, decided before anything is drawn.

The day's total is ``records_per_line_day`` times the lines of ``subscribers.csv`` (every
service type), exactly. Calls and SMS come first, at fixed rates per line in service (the
per-object generator's shares and diurnal curve, heavier volumes); the data records fill
the rest. They are the PGW's partial records: a data session is cut every
``partial_record_seconds`` (causeForRecClosing timeLimit), so the interval, with the
session lengths, sets how many sessions make up the data budget.

The default, 300 s (5 minutes), is the short end of what PGWs are configured with, as a
heavy-data operator controls usage near real time: at 100 records a line, data sessions
write about 88% of the records, SMS 7%, mobile calls 4% and fixed VoIP 1%, as on a
smartphone network whose CDR volume is mostly data (a mobile line has about 13 hours of
bearer and 1 GB down a day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.generate.traffic import (
    DATA_BY_HOUR,
    FIXED_CALL_MIX,
    MOBILE_CALL_MIX,
    SMS_MIX,
    VOICE_BY_HOUR,
)
from pipelines.generate.volume.traffic_events import (
    ActiveLines,
    EventCounts,
    active_lines,
    apportion,
)
from pipelines.generate.volume.traffic_lines import DOMESTIC, ONNET, PARTY_KINDS, Network
from pipelines.generate.volume.traffic_sessions import expected_records

#: Events per line in service and day, before the activity multiplier (business lines 1.5
#: on weekdays, 0.4 at weekends): heavier than the per-object generator's 3 calls and 2
#: SMS, closer to a US smartphone's day.
MOBILE_CALLS_PER_DAY = 6.0
MOBILE_SMS_PER_DAY = 10.0
FIXED_CALLS_PER_DAY = 4.0
#: Shares of events our line originates (the per-object generator's).
CALL_OUTBOUND_SHARE = 0.55
SMS_OUTBOUND_SHARE = 0.5
#: Shares of incoming calls and SMS from abroad.
MOBILE_CALLS_FROM_ABROAD = 0.08
FIXED_CALLS_FROM_ABROAD = 0.10
SMS_FROM_ABROAD = 0.05
#: The PGW's partial record interval (see the module docstring).
PARTIAL_RECORD_SECONDS = 300


@dataclass(frozen=True)
class HourPlan:
    start: int  # epoch seconds of the start of the local hour
    calls: EventCounts
    sms: EventCounts
    fixed: EventCounts
    data_records: int  # partial records of the data sessions starting in the hour


@dataclass(frozen=True)
class DayPlan:
    day: date
    mobile: ActiveLines
    fixed: ActiveLines
    hours: tuple[HourPlan, ...]

    @property
    def records(self) -> int:
        return sum(
            h.calls.records + h.sms.records + h.fixed.total + h.data_records for h in self.hours
        )


def _event_counts(
    total: int, outbound_share: float, mix: dict[str, float], lines: int
) -> EventCounts:
    outbound = int(apportion(total, np.array([outbound_share, 1 - outbound_share]))[0])
    shares = np.array([mix.get(kind, 0.0) for kind in PARTY_KINDS])
    if lines < 2:  # nobody to call on-net: those calls go to domestic numbers
        shares[DOMESTIC] += shares[ONNET]
        shares[ONNET] = 0.0
    return EventCounts(total, outbound, apportion(outbound, shares))


def local_midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def plan_day(
    network: Network,
    day: date,
    tz: ZoneInfo,
    window_end: int,
    records: int,
    partial_seconds: int,
) -> DayPlan:
    """``records`` records for the local ``day``: events per hour on the voice curve, the
    data budget on the data curve, weighted by how many records a session starting in the
    hour can have before the window ends (so session starts, not records, follow it).

    Raises ValueError when calls and SMS alone write more than ``records``.
    """
    start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    weekend = day.weekday() >= 5
    mobile = active_lines(network.mobile, start, weekend)
    fixed = active_lines(network.fixed, start, weekend)
    hour_starts = np.arange(start, end, 3600)
    local_hours = np.array([datetime.fromtimestamp(int(h), tz).hour for h in hour_starts])
    voice = VOICE_BY_HOUR[local_hours]
    calls = apportion(round(MOBILE_CALLS_PER_DAY * mobile.activity), voice)
    sms = apportion(round(MOBILE_SMS_PER_DAY * mobile.activity), voice)
    fixed_calls = apportion(round(FIXED_CALLS_PER_DAY * fixed.activity), voice)
    counts = [
        (
            _event_counts(int(c), CALL_OUTBOUND_SHARE, MOBILE_CALL_MIX, mobile.rows.size),
            _event_counts(int(s), SMS_OUTBOUND_SHARE, SMS_MIX, mobile.rows.size),
            _event_counts(int(f), CALL_OUTBOUND_SHARE, FIXED_CALL_MIX, fixed.rows.size),
        )
        for c, s, f in zip(calls, sms, fixed_calls, strict=True)
    ]
    switched = sum(c.records + s.records + f.total for c, s, f in counts)
    data = records - switched
    if data < 0 or (data > 0 and mobile.rows.size == 0):
        raise ValueError(
            f"{records} records on {day} cannot be made: calls and SMS alone write {switched}"
        )
    per_session = np.array(
        [expected_records(window_end - int(h) - 1800, partial_seconds) for h in hour_starts]
    )
    budgets = apportion(data, DATA_BY_HOUR[local_hours] * per_session)
    hours = tuple(
        HourPlan(int(h), c, s, f, int(b))
        for h, (c, s, f), b in zip(hour_starts, counts, budgets, strict=True)
    )
    return DayPlan(day, mobile, fixed, hours)
