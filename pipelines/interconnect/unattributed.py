"""Our answered calls that left the network with no interconnect leg: the evidence that
decides whether traffic a carrier bills, on a day we have no leg of, is ``extra_traffic``
(we have no record of any such call) or ``unmatched_carrier_traffic`` (we do, but cannot
tell which carrier carried it).

A call has no leg when its switch record names no outgoing trunk group (some switches
never write one) or a trunk group of no carrier. Such a call did leave our network unless
it went to one of our own subscribers (an on-net call), so the unattributed calls of a
period are its answered outbound voice records (not roaming, feed tap3) that have no
outbound leg with a carrier and do not call one of our own numbers (subscribers.csv).

A call is placed under a carrier's destination code as the carrier would rate it: its
number (the LRN of a domestic number ported on the call's date, as the porting table
says) against the longest prefix of the carrier's termination deck in force that day.
A domestic call whose terminating network (the porting record's SPID, else the block
holder's) is a carrier we interconnect with directly is routed to that carrier, so it is
placed under that carrier's codes only; any other call may have gone to any carrier
whose deck prices it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date
from typing import cast

import polars as pl
import pyarrow as pa

from pipelines.config import Layout
from pipelines.interconnect.agreements import (
    NANP,
    TERMINATION,
    block_holder,
    load_number_blocks,
    load_ported_numbers,
    ported_on_the_day,
)
from pipelines.rating.buckets import read_period_table
from pipelines.reference import read_reference
from pipelines.schema import Feed, LegDirection

#: The rated_usage columns the unattributed calls are drawn from.
RATED_USAGE_COLUMNS = (
    "usage_id", "event_date", "feed", "service", "direction", "is_answered", "other_party_number",
)  # fmt: skip
UNATTRIBUTED_SCHEMA = pl.Schema(
    {"event_date": pl.Date, "rated_number": pl.String, "terminating_spid": pl.String}
)


def unattributed_calls(
    rated_usage: pa.Table,
    legs: pa.Table,
    own_numbers: set[str],
    ported: pl.DataFrame,
    blocks: pl.DataFrame,
) -> pl.DataFrame:
    """The period's answered outbound calls with no carrier's leg, to numbers not ours:
    event_date and the number a carrier rates (``UNATTRIBUTED_SCHEMA``), sorted.

    ``rated_usage``: RATED_USAGE_SCHEMA; ``legs``: INTERCONNECT_LEG_SCHEMA; ``ported``:
    ``agreements.load_ported_numbers``; ``blocks``: ``agreements.load_number_blocks``.
    """
    usage = cast(pl.DataFrame, pl.from_arrow(rated_usage))
    with_leg = (
        cast(pl.DataFrame, pl.from_arrow(legs))
        .filter(
            (pl.col("leg_direction") == LegDirection.OUTBOUND.value)
            & pl.col("carrier_id").is_not_null()
        )
        .get_column("usage_id")
    )
    calls = usage.filter(
        (pl.col("service") == "voice")
        & (pl.col("direction") == "outbound")
        & pl.col("is_answered").fill_null(False)
        & (pl.col("feed") != Feed.TAP3.value)
        & pl.col("other_party_number").is_not_null()
        & ~pl.col("usage_id").is_in(with_leg.implode())
        & ~pl.col("other_party_number").is_in(sorted(own_numbers))
    ).select("usage_id", "event_date", pl.col("other_party_number").alias("number"))
    lrn = ported_on_the_day(calls, ported)
    calls = calls.join(lrn, on="usage_id", how="left")
    holder = block_holder(calls["number"], blocks)
    return (
        calls.select(
            "event_date",
            pl.coalesce("lrn", "number").alias("rated_number"),
            pl.when(pl.col("number").str.starts_with(NANP))
            .then(pl.coalesce("ported_spid", holder))
            .alias("terminating_spid"),
        )
        .sort("event_date", "rated_number")
        .cast(UNATTRIBUTED_SCHEMA)
    )


def read_unattributed_calls(layout: Layout, billing_period: str, legs: pa.Table) -> pl.DataFrame:
    """``unattributed_calls`` of the period's rated usage; empty without rated usage."""
    rated_usage = read_period_table(layout, "rated_usage", billing_period, RATED_USAGE_COLUMNS)
    if rated_usage.num_rows == 0:
        return pl.DataFrame(schema=UNATTRIBUTED_SCHEMA)
    subscribers = read_reference(layout, "subscribers.csv")
    own = {number for number in subscribers["msisdn"].to_list() if number}
    return unattributed_calls(
        rated_usage, legs, own, load_ported_numbers(layout), load_number_blocks(layout)
    )


class UnattributedCalls:
    """The unattributed calls of a period, counted per carrier destination code and day."""

    def __init__(
        self, calls: pl.DataFrame, deck: pl.DataFrame, carrier_spids: Mapping[str, str]
    ) -> None:
        """``calls``: ``unattributed_calls``; ``deck``: ``agreements.load_deck``;
        ``carrier_spids``: the SPID of each carrier whose own network we reach directly."""
        self._numbers: dict[date, list[tuple[str, str | None]]] = defaultdict(list)
        for day, number, spid in calls.select(
            "event_date", "rated_number", "terminating_spid"
        ).iter_rows():
            self._numbers[day].append((number, spid))
        self._network_carrier = {spid: carrier for carrier, spid in carrier_spids.items() if spid}
        self._placed: dict[tuple[str, date], Counter[str | None]] = {}
        self._versions: dict[str, list[tuple[str, date, date | None]]] = defaultdict(list)
        for row in deck.filter(pl.col("direction") == TERMINATION).iter_rows(named=True):
            self._versions[row["carrier_id"]].append(
                (row["prefix"], row["effective_from"], row["effective_to"])
            )

    def count(self, carrier_id: str, destination_code: str, day: date) -> int:
        """Unattributed calls of ``day`` the carrier would rate on ``destination_code``."""
        if (carrier_id, day) not in self._placed:
            self._placed[carrier_id, day] = self._place(carrier_id, day)
        return self._placed[carrier_id, day][destination_code]

    def _place(self, carrier_id: str, day: date) -> Counter[str | None]:
        """The day's calls routed to the carrier, counted per destination code: each number
        placed once, under the longest prefix of the carrier's deck in force that day."""
        prefixes = {
            prefix
            for prefix, since, until in self._versions.get(carrier_id, [])
            if since <= day and (until is None or day <= until)
        }

        def code(number: str) -> str | None:
            return next(
                (number[:n] for n in range(len(number), 0, -1) if number[:n] in prefixes), None
            )

        # A call to a network we reach directly went to that network's carrier.
        return Counter(
            code(number)
            for number, spid in self._numbers.get(day, [])
            if self._network_carrier.get(spid or "", carrier_id) == carrier_id
        )
