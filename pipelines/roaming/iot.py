"""Inter-operator tariffs (IOT): roaming events priced with the retail rating kernels.

A partner's IOT rows (roaming_iot_rates.csv) become a tariff catalog (``tariffs.model``)
in the partner's TAP currency, so the events go through the same compiled catalog and
Numba kernels as retail rating (``kernels.tariff_api.rate_events``), not a pricing loop
of their own:

- each row's prefix is a destination (``""`` matches every number, and data: ``*any``);
- its price and increments are a rate: the first block of ``first_increment`` units, then
  each started ``increment`` (two slots when they differ), ``price_micros`` per
  ``price_unit`` units;
- the rows of one (direction, service) are the destination-rates table and rating plan
  ``<direction>/<service>``, always active, with the versions' effective dates; a profile
  (tenant ``roaming``, category = service, subject = direction) selects it;
- every charge is rounded once, half up, to the partner's ``tap_decimal_places``: a TAP
  charge is an integer in those units.

Events are not split at midnight or at band changes (an IOT has no time bands): the
kernel rates them whole at their start (``time_based`` false).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa

from kernels import tariff_api
from pipelines.roaming.partners import RoamingPartner
from pipelines.tariffs.compile import EPOCH, CompiledCatalog, compile_catalog, resolve_plan_chains
from pipelines.tariffs.model import (
    ALWAYS,
    ANY,
    Catalog,
    Destination,
    DestinationRate,
    PlanEntry,
    Rate,
    RatingPlan,
    RatingProfile,
    RoundingMethod,
    increment_rate,
)

#: The tenant of IOT rating profiles, apart from the operator's retail tenant.
IOT_TENANT = "roaming"
_ACTIVE_SINCE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IotTariff:
    """One partner's IOT as a compiled catalog."""

    partner: RoamingPartner
    catalog: Catalog
    compiled: CompiledCatalog


def _rate(row: dict[str, object]) -> Rate:
    price, unit = int(str(row["price_micros"])), int(str(row["price_unit"]))
    first, step = int(str(row["first_increment"])), int(str(row["increment"]))
    return increment_rate(f"{price}/{unit}:{first}/{step}", price, unit, first, step)


def iot_catalog(partner: RoamingPartner, rates: pl.DataFrame) -> Catalog:
    """The partner's IOT rows (``partners.load_iot_rates``) as a tariff catalog."""
    own = rates.filter(pl.col("tadig") == partner.tadig).sort(
        "direction", "service", "prefix", "effective_from"
    )
    destinations: dict[str, Destination] = {}
    catalog_rates: dict[str, Rate] = {}
    tables: dict[str, list[DestinationRate]] = {}
    for row in own.iter_rows(named=True):
        prefix = row["prefix"]
        if prefix:
            destinations[prefix] = Destination(prefix, (prefix,), row["destination_name"])
        rate = _rate(row)
        catalog_rates[rate.rate_id] = rate
        tables.setdefault(f"{row['direction']}/{row['service']}", []).append(
            DestinationRate(
                prefix or ANY,
                rate.rate_id,
                RoundingMethod.HALF_UP,
                partner.tap_decimal_places,
                effective_from=row["effective_from"],
                effective_to=row["effective_to"],
            )
        )
    plans = {table: RatingPlan(table, (PlanEntry(table, ANY, 10),)) for table in tables}
    profiles = tuple(
        RatingProfile(IOT_TENANT, table.split("/")[1], table.split("/")[0], _ACTIVE_SINCE, table)
        for table in tables
    )
    return Catalog(
        version=f"iot/{partner.tadig}",
        currency=partner.tap_currency,
        destinations=destinations,
        timings={ANY: ALWAYS},
        rates=catalog_rates,
        destination_rates={table: tuple(entries) for table, entries in tables.items()},
        rating_plans=plans,
        profiles=profiles,
    )


def iot_tariff(partner: RoamingPartner, rates: pl.DataFrame, years: range) -> IotTariff:
    """The partner's IOT compiled for events in ``years`` (no holidays: no time bands)."""
    catalog = iot_catalog(partner, rates)
    return IotTariff(partner, catalog, compile_catalog(catalog, holiday_years=years))


def price_events(tariff: IotTariff, events: pl.DataFrame, direction: str) -> pl.DataFrame:
    """Price ``events`` at the partner's IOT of ``direction`` (payable or receivable).

    ``events``: record_type (the IOT service), other_party_number (null: ``*any`` only),
    local_seconds (the event's start as wall-clock seconds since 1970-01-01T00:00 where it
    happened: effective dates apply to that local date), start_utc_seconds, units (seconds,
    messages, bytes). Adds, per event: iot_priced (bool: an IOT row priced it),
    billed_units (after increments), charge_micros (micro-units of the TAP currency, a
    multiple of 10 ** (6 - tap_decimal_places); 0 when not priced) and iot_version
    (``<tadig>/<direction>/<service>/<prefix or *>/<effective_from>``, null when not priced).
    """
    n = events.height
    compiled = tariff.compiled
    if n == 0:
        return events.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("iot_priced"),
            pl.lit(None, dtype=pl.Int64).alias("billed_units"),
            pl.lit(None, dtype=pl.Int64).alias("charge_micros"),
            pl.lit(None, dtype=pl.String).alias("iot_version"),
        )
    chains = resolve_plan_chains(
        compiled,
        pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), [IOT_TENANT]),
        events["record_type"],
        pl.Series([direction] * n, dtype=pl.String),
        _i64(events["start_utc_seconds"]),
    )
    value, length = tariff_api.encode_destinations(events["other_party_number"].to_arrow())
    ratings = tariff_api.rate_events(
        compiled,
        chains,
        _i64(events["local_seconds"]),
        value,
        length,
        _i64(events["units"]),
        np.zeros(n, dtype=np.bool_),  # rated whole at the start: no midnight split
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.int64),
    )
    priced = ratings.error == tariff_api.TariffError.NONE
    binding = np.where(priced, ratings.binding, 0)
    prefix_index = np.where(priced, ratings.prefix, -1)
    prefixes = [compiled.prefixes[i] if i >= 0 else "*" for i in prefix_index.tolist()]
    starts = [
        (EPOCH + timedelta(days=int(day))).isoformat()
        for day in compiled.binding_effective_from[binding].tolist()
    ]
    versions = [
        f"{tariff.partner.tadig}/{direction}/{service}/{prefix}/{start}" if ok else None
        for service, prefix, start, ok in zip(
            events["record_type"].to_list(), prefixes, starts, priced.tolist(), strict=True
        )
    ]
    return events.with_columns(
        pl.Series("iot_priced", priced),
        pl.Series("billed_units", np.where(priced, ratings.billed_usage, 0)),
        pl.Series("charge_micros", np.where(priced, ratings.cost_micros, 0)),
        pl.Series("iot_version", versions, dtype=pl.String),
    )


def _i64(series: pl.Series) -> np.ndarray:
    return np.ascontiguousarray(series.to_numpy(), dtype=np.int64)
