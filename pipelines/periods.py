"""Billing periods: calendar months in the operator's time zone."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines.config import OPERATOR_TIMEZONE

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(billing_period: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` billing period."""
    match = _PERIOD.match(billing_period)
    if not match:
        raise ValueError(f"billing period must look like 2026-10, got {billing_period!r}")
    year, month = int(match[1]), int(match[2])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def mediation_dates(billing_period: str) -> set[date]:
    """File dates whose files can hold the period's usage.

    A call that starts on the last evening of the previous month and ends after midnight
    lands in a file of the period's first day, and one that starts late on the last day
    lands in a file of the next month's first day: the day on each side is included.
    """
    first, last = parse_period(billing_period)
    days = (last - first).days + 3
    return {first - timedelta(days=1) + timedelta(days=n) for n in range(days)}


def run_after(billing_period: str) -> datetime:
    """The instant the period closes (next month's first midnight, operator time).

    Airflow's data-interval timetable runs an interval once it has ended, so a manual run
    or ``dags test`` at this instant bills exactly this period.
    """
    _, last = parse_period(billing_period)
    return datetime.combine(last + timedelta(days=1), time(), ZoneInfo(OPERATOR_TIMEZONE))
