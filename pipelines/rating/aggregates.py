"""Aggregate pricing in the rate stage: a cycle's usage priced as a whole, not per record.

An offer version may price a category's usage on aggregate (``model.AggregatePrice``:
graduated, volume or package tiers; docs/allowances-and-pricing.md). Its rated records of
that category then carry their units but no charge, and one ``usage_aggregate_charges``
row per (subscriber, offer version, category) prices their summed chargeable units (after
allowances) with ``kernels.allowance_api.price_aggregates``. Each plan version in force
during the month prices the records it rated: a mid-month plan change gives two rows.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from kernels import allowance_api
from pipelines.schema import RatingStatus
from pipelines.tariffs.model import Catalog


def _priced_categories(catalog: Catalog) -> pl.DataFrame:
    rows = [
        {
            "plan_id": offer.offer_id,
            "offer_effective_from": offer.effective_from,
            "offer_effective_to": offer.effective_to,
            "service": price.category,
            "pricing_model": price.model.value,
            "price": index,
        }
        for index, (offer, price) in enumerate(
            (offer, price) for offer in catalog.offers for price in offer.aggregate_prices
        )
    ]
    return pl.DataFrame(
        rows,
        schema={
            "plan_id": pl.String,
            "offer_effective_from": pl.Date,
            "offer_effective_to": pl.Date,
            "service": pl.String,
            "pricing_model": pl.String,
            "price": pl.Int64,
        },
    )


def price_aggregates(
    rated: pl.DataFrame, catalog: Catalog, billing_period: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rated with aggregate-priced records' charges set to 0, the aggregate charges)."""
    prices = [price for offer in catalog.offers for price in offer.aggregate_prices]
    categories = _priced_categories(catalog)
    in_force = (pl.col("offer_effective_from") <= pl.col("event_date")) & (
        pl.col("offer_effective_to").is_null()
        | (pl.col("event_date") <= pl.col("offer_effective_to"))
    )
    matched = (
        rated.filter(pl.col("rating_status") == RatingStatus.RATED.value)
        .select("usage_id", "plan_id", "service", "event_date")
        .join(categories, on=["plan_id", "service"])
        .filter(in_force)
        .select("usage_id", "offer_effective_from", "pricing_model", "price")
    )
    if matched.is_empty():
        return rated, pl.DataFrame(schema=_CHARGE_SCHEMA)
    marked = rated.join(matched, on="usage_id", how="left")
    cycles = (
        marked.filter(pl.col("price").is_not_null())
        .group_by(*_CYCLE_KEYS)
        .agg(pl.len().alias("records"), pl.col("chargeable_units").sum())
        .sort("subscriber_id", "plan_id", "offer_effective_from", "service")
    )
    table = allowance_api.aggregate_price_table(prices)
    charged = allowance_api.price_aggregates(
        np.ascontiguousarray(cycles["chargeable_units"].to_numpy(), dtype=np.int64),
        np.ascontiguousarray(cycles["price"].to_numpy(), dtype=np.int64),
        table,
    )
    charges = cycles.with_columns(
        pl.lit(billing_period).alias("billing_period"),
        pl.Series("priced_units", charged.units),
        pl.Series("charge_micros", charged.charge_micros),
        pl.Series("tiers", _tier_texts(charged)),
        pl.col("records").cast(pl.Int64),
        # The billing currency: the rate stage converts the charge into it.
        pl.lit(None, dtype=pl.String).alias("currency"),
    ).select(list(_CHARGE_SCHEMA))
    rerated = marked.with_columns(
        pl.when(pl.col("price").is_not_null())
        .then(0)
        .otherwise(pl.col("charge_micros"))
        .alias("charge_micros")
    ).drop("offer_effective_from", "pricing_model", "price")
    return rerated, charges


def _tier_texts(charged: allowance_api.AggregateCharges) -> list[str]:
    """Each cycle's reached tiers as JSON, for the invoice line and the auditor."""
    texts = []
    offsets = charged.tier_row_offsets
    for cycle in range(offsets.size - 1):
        rows = range(offsets[cycle], offsets[cycle + 1])
        texts.append(
            json.dumps(
                [
                    {
                        "tier": int(row - offsets[cycle]) + 1,
                        "units": int(charged.tier_units[row]),
                        "quantity": int(charged.quantity[row]),
                        "amount_micros": int(charged.amount_micros[row]),
                    }
                    for row in rows
                    if charged.reached[row]
                ]
            )
        )
    return texts


_CYCLE_KEYS = (
    "subscriber_id",
    "account_id",
    "plan_id",
    "offer_effective_from",
    "service",
    "pricing_model",
    "price",
)
_CHARGE_SCHEMA = {
    "billing_period": pl.String,
    "subscriber_id": pl.String,
    "account_id": pl.String,
    "plan_id": pl.String,
    "offer_effective_from": pl.Date,
    "service": pl.String,
    "pricing_model": pl.String,
    "records": pl.Int64,
    "chargeable_units": pl.Int64,
    "priced_units": pl.Int64,
    "charge_micros": pl.Int64,
    "tiers": pl.String,
    "currency": pl.String,
}
