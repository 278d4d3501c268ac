"""Wholesale rating: every interconnect leg priced with its carrier's own deck.

A leg is an answered voice record that crossed to a carrier on a trunk group:

- outbound (we handed the call over on ``outgoing_trunk_group``): the carrier bills us at
  its termination deck, a payable. The destination is priced on its **rated number**: for a
  domestic (NANP) number ported at the call's start, its LRN from the porting table, since
  the network the call terminates on is the LRN's, not the dialled prefix's holder. The
  terminating network (SPID) is the porting table's, else the holder of the number's block.
- inbound (the carrier handed the call to us on ``incoming_trunk_group``): we bill the
  carrier at its origination deck on the calling number, a receivable.

Roaming records (feed tap3) are settled with TAP files, not here. The legs are rated by the
retail tariff kernels (``kernels.tariff_api``) against ``agreements.wholesale_catalog``: the
deck version in force on the call's local start date, the agreement's billing increments,
each call's amount rounded as the agreement says. A leg that cannot be priced is kept in
suspense with its reason, never given a zero cost.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from kernels import tariff_api
from pipelines.interconnect.agreements import (
    NANP,
    ORIGINATION,
    TERMINATION,
    WHOLESALE_TENANT,
    Agreements,
    block_holder,
    ported_on_the_day,
)
from pipelines.schema import Feed, LegDirection, RatingStatus, SuspenseReason
from pipelines.tariffs.compile import resolve_plan_chains

#: The deck each leg direction is rated with, and the usage column naming its trunk.
_DECK = {LegDirection.OUTBOUND.value: TERMINATION, LegDirection.INBOUND.value: ORIGINATION}
_TRUNK_COLUMN = {
    LegDirection.OUTBOUND.value: "outgoing_trunk_group",
    LegDirection.INBOUND.value: "incoming_trunk_group",
}


def _i64(frame: pl.DataFrame, column: str) -> np.ndarray:
    return np.ascontiguousarray(frame[column].to_numpy(), dtype=np.int64)


def crossing_legs(usage: pl.DataFrame) -> pl.DataFrame:
    """One row per (record, direction) that crossed a trunk group, with ``trunk_group``."""
    answered_voice = usage.filter(
        (pl.col("service") == "voice")
        & pl.col("is_answered").fill_null(False)
        & (pl.col("feed") != Feed.TAP3.value)
    )
    return pl.concat(
        [
            answered_voice.filter(pl.col(column).fill_null("") != "").with_columns(
                pl.lit(direction).alias("leg_direction"), pl.col(column).alias("trunk_group")
            )
            for direction, column in _TRUNK_COLUMN.items()
        ]
    ).sort("usage_id", "leg_direction")


def rate_legs(usage: pl.DataFrame, agreements: Agreements) -> pl.DataFrame:
    """The period's interconnect legs (``INTERCONNECT_LEG_SCHEMA`` columns), by usage_id."""
    legs = crossing_legs(usage).join(
        agreements.trunks.select("trunk_group", "carrier_id"), on="trunk_group", how="left"
    )
    outbound = legs.filter(pl.col("leg_direction") == LegDirection.OUTBOUND.value).select(
        "usage_id", "leg_direction", pl.col("other_party_number").alias("number"), "event_date"
    )
    legs = legs.join(
        ported_on_the_day(outbound, agreements.ported), on=["usage_id", "leg_direction"], how="left"
    ).with_columns(
        pl.col("lrn").is_not_null().alias("ported"),
        pl.coalesce("lrn", "other_party_number").alias("rated_number"),
    )
    outbound_domestic = (pl.col("leg_direction") == LegDirection.OUTBOUND.value) & pl.col(
        "other_party_number"
    ).str.starts_with(NANP)
    holder = block_holder(legs["other_party_number"], agreements.blocks)
    legs = legs.with_columns(
        pl.when(outbound_domestic)
        .then(pl.coalesce("ported_spid", holder))
        .alias("terminating_spid"),
        pl.col("leg_direction").replace_strict(_DECK).alias("deck_direction"),
    )
    ratings = _rate(legs, agreements)
    rated = ratings.error == tariff_api.TariffError.NONE
    versions = pl.Series(agreements.catalog.rate_ids or [""], dtype=pl.String)
    legs = legs.with_columns(
        versions.gather(np.where(rated, ratings.rate, 0)).alias("tariff_version"),
        pl.Series("billable_seconds", np.where(rated, ratings.billed_usage, 0)),
        pl.Series("amount_micros", np.where(rated, ratings.cost_micros, 0)),
        pl.Series("rated", rated),
    )
    deck = agreements.deck.select(
        "tariff_version",
        pl.col("prefix").alias("destination_prefix"),
        "destination_name",
        "destination_group",
        "price_micros",
    )
    currencies = agreements.carriers.select("carrier_id", "currency")
    return (
        legs.with_columns(pl.when("rated").then("tariff_version").alias("tariff_version"))
        .join(deck, on="tariff_version", how="left")
        .join(currencies, on="carrier_id", how="left")
        .with_columns(
            pl.when("rated")
            .then(pl.lit(RatingStatus.RATED.value))
            .otherwise(pl.lit(RatingStatus.SUSPENSE.value))
            .alias("rating_status"),
            pl.when(pl.col("carrier_id").is_null())
            .then(pl.lit(SuspenseReason.NO_CARRIER_FOR_TRUNK.value))
            .when(~pl.col("rated"))
            .then(pl.lit(SuspenseReason.NO_RATE_FOR_DESTINATION.value))
            .alias("suspense_reason"),
        )
        .sort("usage_id", "leg_direction")
    )


def _rate(legs: pl.DataFrame, agreements: Agreements) -> tariff_api.TariffRatings:
    """Each leg rated with its carrier's deck of its direction (no plan: no carrier)."""
    n = legs.height
    chains = resolve_plan_chains(
        agreements.catalog,
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), [WHOLESALE_TENANT]),
        legs["deck_direction"],
        legs["carrier_id"].fill_null(""),
        legs["started_at"].dt.epoch("s").cast(pl.Int64).to_numpy(),
    )
    number_value, number_len = tariff_api.encode_destinations(legs["rated_number"].to_arrow())
    return tariff_api.rate_events(
        agreements.catalog,
        chains,
        _i64(legs, "local_seconds"),
        number_value,
        number_len,
        np.ascontiguousarray(legs["duration_seconds"].fill_null(0).to_numpy(), dtype=np.int64),
        # Rated whole at its start: a deck has no time bands, and the version in force on
        # the local start date prices the whole call, past midnight too.
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.int64),
    )
