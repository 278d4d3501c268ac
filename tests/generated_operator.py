"""Mediate a generated operator's period the way ``telcolake mediate`` does, for the tests
that run the real stages on a generated operator."""

from __future__ import annotations

from collections.abc import Collection

from pipelines.config import Layout
from pipelines.mediation.consolidate import consolidate_period
from pipelines.mediation.stage import landing_partitions, mediate_partition
from pipelines.periods import mediation_dates


def mediate_period(layout: Layout, period: str, feeds: Collection[str] | None = None) -> None:
    """Mediate every landing partition of the period's file dates (of ``feeds`` only, when
    given), then consolidate each feed mediated."""
    dates = mediation_dates(period)
    partitions = [
        (feed, file_date)
        for feed, file_date in landing_partitions(layout)
        if file_date in dates and (feeds is None or feed in feeds)
    ]
    for feed, file_date in partitions:
        mediate_partition(layout, feed, file_date)
    for feed in sorted({feed for feed, _ in partitions}):
        consolidate_period(layout, feed, period)
