"""Retail rating of attributed usage against the operator's tariff catalog.

The catalog is ``reference/tariff_catalog/`` (docs/tariff-catalog.md) when the operator
exports one, else the published price list (rate_deck.csv, time_bands.csv, holidays.csv,
plans.csv) converted by ``pipelines.tariffs.price_list``. Records are rated by the Numba
engine (``kernels.tariff_api``) in two passes around the allowance draw-down
(``kernels.allowance_api``): the first finds each record's billed units and destination,
the allowances pay what they cover in event order, the second prices what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction

import numpy as np
import polars as pl
import pyarrow as pa

from kernels import allowance_api, tariff_api
from pipelines.config import OPERATOR_COUNTRY, TENANT, Layout
from pipelines.periods import parse_period
from pipelines.rating.tariff import (
    SERVICES,
    _date,
    _require_values,
    load_subscribers,
    load_time_bands,
    read_reference,
)
from pipelines.reference import TARIFF_CATALOG_DIR
from pipelines.roaming import partners
from pipelines.schema import Feed
from pipelines.tariffs import price_list
from pipelines.tariffs.catalog_files import catalog_digest, load_catalog
from pipelines.tariffs.compile import (
    DESTINATION_GROUPS,
    CompiledCatalog,
    PlanChains,
    compile_catalog,
    resolve_plan_chains,
)
from pipelines.tariffs.currency import convert_with, exchange_rate
from pipelines.tariffs.model import Allowance, Catalog, roaming_zone

#: Services whose usage is a duration, split where the band changes and at midnight.
TIME_BASED = ("voice",)


@dataclass(frozen=True)
class RetailCatalog:
    catalog: Catalog
    compiled: CompiledCatalog
    #: MCC+MNC -> TADIG of the roaming partners' networks (roaming_partners.csv): a record
    #: of ours serving one of their IMSIs is a visitor's, not a customer's.
    visiting_networks: Mapping[str, str] = field(default_factory=dict)


def load_tariff_catalog(layout: Layout) -> Catalog:
    """The operator's catalog: reference/tariff_catalog/, else the converted price list."""
    folder = layout.reference / TARIFF_CATALOG_DIR
    if (folder / "catalog.yaml").is_file():
        return load_catalog(folder)
    check_price_list(layout)
    holidays = read_reference(layout, "holidays.csv").filter(pl.col("country") == OPERATOR_COUNTRY)[
        "holiday_date"
    ]
    catalog = price_list.catalog_from_price_list(
        read_reference(layout, "rate_deck.csv").iter_rows(named=True),
        read_reference(layout, "time_bands.csv").iter_rows(named=True),
        [date.fromisoformat(day) for day in holidays if day],
        read_reference(layout, "plans.csv").iter_rows(named=True),
    )
    return replace(catalog, version=f"price-list+{catalog_digest(catalog)[:12]}")


def load_retail_catalog(layout: Layout, billing_period: str) -> RetailCatalog:
    """The operator's catalog compiled for a period's usage.

    Holidays are compiled for the period's years and the ones around it: a call that starts
    on New Year's Eve runs into the next year's.
    """
    first, last = parse_period(billing_period)
    catalog = load_tariff_catalog(layout)
    years = range(first.year - 1, last.year + 2)
    visitors = partners.visiting_networks(partners.load_partners(layout))
    return RetailCatalog(catalog, compile_catalog(catalog, holiday_years=years), visitors)


def is_visitor(catalog: RetailCatalog) -> pl.Expr:
    """A record of our network serving a roaming partner's subscriber (a visitor): not our
    customer's usage, so never rated for an invoice (rating marks it not_billable). The
    partner pays for it through our TAP file (pipelines.roaming)."""
    return partners.visited_partner(catalog.visiting_networks).is_not_null()


ADDONS_FILE = "subscriber_addons.csv"
_ADDON = pl.Struct({"offer_id": pl.String, "added_date": pl.Date, "removed_date": pl.Date})


def load_lines(layout: Layout) -> pl.DataFrame:
    """subscribers.csv typed, with the billing ``currency`` of each line's account and the
    line's ``addons`` (list of offer_id, added_date, removed_date) from the optional
    reference file subscriber_addons.csv (removed_date exclusive, empty open).
    """
    accounts = read_reference(layout, "accounts.csv").select("account_id", "currency")
    lines = load_subscribers(layout).join(accounts, on="account_id", how="left")
    path = layout.reference / ADDONS_FILE
    if not path.is_file():
        return lines.with_columns(pl.lit([], dtype=pl.List(_ADDON)).alias("addons"))
    addons = pl.read_csv(path, infer_schema=False).with_columns(pl.all().fill_null(""))
    addons = addons.select("subscriber_id", "offer_id", _date("added_date"), _date("removed_date"))
    if addons["added_date"].null_count():
        raise ValueError(f"{ADDONS_FILE}: every add-on needs an added_date")
    grouped = addons.group_by("subscriber_id").agg(
        pl.struct("offer_id", "added_date", "removed_date").alias("addons")
    )
    return lines.join(grouped, on="subscriber_id", how="left").with_columns(
        pl.col("addons").fill_null(pl.lit([], dtype=pl.List(_ADDON)))
    )


def addon_versions(catalog: Catalog) -> pl.DataFrame:
    """The add-on offers' versions as plan versions (plan_id, effective_from, effective_to,
    monthly_fee_micros), so the bill run prorates an add-on like a plan."""
    return pl.DataFrame(
        [
            (o.offer_id, o.effective_from, o.effective_to, o.monthly_fee_micros)
            for o in catalog.offers
            if o.kind == "addon"
        ],
        schema={
            "plan_id": pl.String,
            "effective_from": pl.Date,
            "effective_to": pl.Date,
            "monthly_fee_micros": pl.Int64,
        },
        orient="row",
    )


def _holdings(subscribers: pl.DataFrame) -> pl.DataFrame:
    """The offers each line holds and when: its plan while active, and its add-ons.

    Columns subscriber_id, account_id, offer_id, kind (plan, addon), held_from,
    held_until (exclusive, null open); the offer version in force is chosen by the date.
    """
    plans = subscribers.select(
        "subscriber_id",
        "account_id",
        pl.col("plan_id").alias("offer_id"),
        pl.lit("plan").alias("kind"),
        pl.col("activated_date").alias("held_from"),
        pl.col("cancelled_date").alias("held_until"),
    )
    addons = (
        subscribers.select(
            "subscriber_id", "account_id", "activated_date", "cancelled_date", "addons"
        )
        .explode("addons")
        .drop_nulls("addons")
        .unnest("addons")
        .select(
            "subscriber_id",
            "account_id",
            "offer_id",
            pl.lit("addon").alias("kind"),
            pl.max_horizontal("added_date", "activated_date").alias("held_from"),
            pl.min_horizontal("removed_date", "cancelled_date").alias("held_until"),
        )
    )
    return pl.concat([plans, addons]).filter(pl.col("held_from").is_not_null())


def rating_categories(usage: pl.DataFrame, catalog: Catalog) -> pl.Series:
    """The rating category of each record: its service at home, ``<service>@<zone>`` abroad.

    Abroad means a TAP record of the visited network, whose TADIG code leads the
    record_key (``<sender>:<recipient>:<file sequence>:<event>``). A network in no zone of
    the catalog gives a null category (rating suspends the record: no_roaming_zone).
    """
    visited = (
        pl.when(pl.col("feed") == Feed.TAP3.value)
        .then(pl.col("record_key").str.split(":").list.first())
        .alias("visited")
    )
    frame = usage.select("service", visited)
    networks = frame["visited"].drop_nulls().unique().to_list()
    zones = pl.DataFrame(
        {"visited": networks, "zone": [roaming_zone(catalog, n) for n in networks]},
        schema={"visited": pl.String, "zone": pl.String},
    )
    return (
        frame.join(zones, on="visited", how="left", maintain_order="left")
        .select(
            pl.when(pl.col("visited").is_null())
            .then(pl.col("service"))
            .when(pl.col("zone").is_not_null())
            .then(pl.concat_str("service", pl.lit("@"), "zone"))
            .alias("category")
        )
        .to_series()
    )


def rating_subjects(usage: pl.DataFrame, catalog: Catalog) -> pl.Series:
    """The rating subject of each record: its plan's offer version's ``subject`` that day.

    A plan the catalog has no offer for is its own subject (as the price list makes them).
    """
    offers = pl.DataFrame(
        [(o.offer_id, o.effective_from, o.effective_to, o.subject) for o in catalog.offers],
        schema={
            "plan_id": pl.String,
            "offer_from": pl.Date,
            "offer_to": pl.Date,
            "offer_subject": pl.String,
        },
        orient="row",
    ).sort("offer_from")
    found = (
        usage.select("plan_id", "event_date")
        .with_row_index("row")
        .sort("event_date")
        .join_asof(
            offers,
            left_on="event_date",
            right_on="offer_from",
            by="plan_id",
            strategy="backward",
            check_sortedness=False,
        )
        .sort("row")
    )
    in_force = pl.col("offer_to").is_null() | (pl.col("event_date") <= pl.col("offer_to"))
    return found.select(
        pl.when(in_force)
        .then(pl.col("offer_subject"))
        .otherwise(None)
        .fill_null(pl.col("plan_id"))
        .alias("subject")
    ).to_series()


def to_billing_currency(
    frame: pl.DataFrame, column: str, catalog: Catalog, billing_currency: str = "currency"
) -> pl.Series:
    """``column`` (micros of the catalog's currency) in each row's billing currency.

    At the exchange rate in force on the row's ``event_date`` (pipelines.tariffs.currency);
    rows already in the catalog's currency, or with no billing currency, are unchanged.
    """
    pending = (
        frame.select(
            pl.col(billing_currency).fill_null(catalog.currency).alias("target"), "event_date"
        )
        .with_row_index("row")
        .filter(pl.col("target") != catalog.currency)
    )
    if pending.is_empty():
        return frame[column]
    amounts = frame[column].to_list()
    converted = list(amounts)
    rates: dict[tuple[str, date], Fraction] = {}
    for row, target, day in pending.iter_rows():
        if amounts[row] is None:
            continue
        key = (target, day)
        if key not in rates:
            rates[key] = exchange_rate(catalog.exchange_rates, catalog.currency, target, day)
        converted[row] = convert_with(amounts[row], rates[key])
    return pl.Series(column, converted, dtype=pl.Int64)


def check_price_list(layout: Layout) -> None:
    """Fail, naming the file, on gaps or ties in the bands or deck rows naming no band."""
    band_names = load_time_bands(layout)
    deck = read_reference(layout, "rate_deck.csv")
    _require_values(deck, "rate_deck.csv", "service", SERVICES)
    _require_values(deck, "rate_deck.csv", "time_band", band_names)
    if (deck["effective_from"] == "").any():
        raise ValueError("rate_deck.csv: every row needs an effective_from")


def _i64(frame: pl.DataFrame, column: str) -> np.ndarray:
    return np.ascontiguousarray(frame[column].to_numpy(), dtype=np.int64)


def _bool(frame: pl.DataFrame, column: str) -> np.ndarray:
    return np.ascontiguousarray(frame[column].to_numpy(), dtype=np.bool_)


def _names(ids: tuple[str, ...], index: np.ndarray) -> pl.Series:
    table = np.array([*ids, ""], dtype=object)
    return pl.Series(table[np.where(index >= 0, index, len(ids))], dtype=pl.String).replace(
        "", None
    )


@dataclass(frozen=True)
class _KernelInputs:
    """The events as the tariff kernel reads them, prepared once for both passes."""

    chains: PlanChains
    local_seconds: np.ndarray
    number_value: np.ndarray
    number_len: np.ndarray
    units: np.ndarray
    time_based: np.ndarray
    on_net: np.ndarray

    @classmethod
    def of(cls, events: pl.DataFrame, compiled: CompiledCatalog) -> _KernelInputs:
        chains = resolve_plan_chains(
            compiled,
            # One tenant: a one-entry dictionary, not a string per event.
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(events.height, np.int32)), [TENANT]),
            events["category"].fill_null(""),
            events["subject"].fill_null(""),
            _i64(events, "start_utc_seconds"),
        )
        value, length = tariff_api.encode_destinations(events["other_party_number"].to_arrow())
        return cls(
            chains,
            _i64(events, "local_seconds"),
            value,
            length,
            _i64(events, "units"),
            _bool(events, "time_based"),
            _bool(events, "on_net"),
        )

    def rate(
        self, compiled: CompiledCatalog, covered: np.ndarray, rows: np.ndarray | None = None
    ) -> tariff_api.TariffRatings:
        """Rate every event, or only ``rows`` (indices), with ``covered`` units paid."""
        chains = self.chains
        pick = (lambda a: a) if rows is None else (lambda a: np.ascontiguousarray(a[rows]))
        if rows is not None:
            chains = replace(chains, chain=pick(chains.chain))
        return tariff_api.rate_events(
            compiled,
            chains,
            pick(self.local_seconds),
            pick(self.number_value),
            pick(self.number_len),
            pick(self.units),
            pick(self.time_based),
            pick(self.on_net),
            pick(covered),
        )


#: The scope of an allowance that covers every charged destination of its category.
ANY_SCOPE = "any"


def _bucket(owner_kind: str, owner: str, first: int) -> list[pl.Expr]:
    """A candidate bucket row; a narrower scope draws before the owner's general one."""
    return [
        pl.col("event"),
        (pl.lit(first) + (pl.col("scope") == ANY_SCOPE).cast(pl.Int64)).alias("order"),
        pl.lit(owner_kind).alias("owner_kind"),
        pl.col(owner).alias("owner_id"),
        pl.col("category").alias("service"),
        pl.col("scope"),
        pl.col("grant"),
        pl.col("rollover_cap"),
    ]


def _scope(allowance: Allowance) -> str:
    """What an allowance covers, as text: its bucket is one per owner, category and scope."""
    parts = []
    if allowance.destination_groups:
        parts.append("groups:" + ";".join(sorted(g.value for g in allowance.destination_groups)))
    if allowance.destinations:
        parts.append("destinations:" + ";".join(sorted(allowance.destinations)))
    return " ".join(parts) or ANY_SCOPE


def _allowance_buckets(
    events: pl.DataFrame, retail: RetailCatalog, subscribers: pl.DataFrame
) -> pl.DataFrame:
    """Per drawing event, the buckets it may draw and each one's grant on its date.

    A bucket is one per owner, category and scope (what its allowances cover). A line's
    own buckets (owner: the subscriber) come before the account's pool (owner: the
    account, grant = the pooled units of every line of the account active that date,
    [activated_date, cancelled_date)); within each, a restricted scope before ``any``.
    """
    events = events.with_columns(
        pl.col("destination_group").fill_null("").alias("group_key"),
        pl.col("destination_id").fill_null("").alias("destination_key"),
    )
    allowances = pl.DataFrame(
        [
            {
                "offer_id": offer.offer_id,
                "offer_from": offer.effective_from,
                "offer_to": offer.effective_to,
                "category": allowance.category,
                "granted": allowance.units,
                "pooled": allowance.pooled,
                "rollover_cap": allowance.rollover_cap,
                "groups": [g.value for g in allowance.destination_groups],
                "destinations": sorted(allowance.destinations),
                "scope": _scope(allowance),
            }
            for offer in retail.catalog.offers
            for allowance in offer.allowances
        ],
        schema={
            "offer_id": pl.String,
            "offer_from": pl.Date,
            "offer_to": pl.Date,
            "category": pl.String,
            "granted": pl.Int64,
            "pooled": pl.Boolean,
            "rollover_cap": pl.Int64,
            "groups": pl.List(pl.String),
            "destinations": pl.List(pl.String),
            "scope": pl.String,
        },
    )
    in_force = (pl.col("offer_from") <= pl.col("event_date")) & (
        pl.col("offer_to").is_null() | (pl.col("event_date") <= pl.col("offer_to"))
    )
    covers = (
        (pl.col("groups").list.len() == 0)
        | pl.col("groups").list.contains(pl.col("destination_group"))
    ) & (
        (pl.col("destinations").list.len() == 0)
        | pl.col("destinations").list.contains(pl.col("destination_id"))
    )
    holdings = _holdings(subscribers)
    held = (pl.col("held_from") <= pl.col("event_date")) & (
        pl.col("held_until").is_null() | (pl.col("event_date") < pl.col("held_until"))
    )
    own = (
        events.join(holdings.drop("account_id", "kind"), on="subscriber_id")
        .filter(held)
        .join(allowances.filter(~pl.col("pooled")), on=["offer_id", "category"])
        .filter(in_force & covers)
        .group_by("event", "subscriber_id", "category", "scope")
        .agg(pl.col("granted").sum().alias("grant"), pl.col("rollover_cap").max())
        .select(_bucket("line", "subscriber_id", 0))
    )
    pool_keys = ["account_id", "event_date", "category", "group_key", "destination_key"]
    pool_grants = (
        events.select(*pool_keys, "destination_group", "destination_id")
        .unique()
        .join(holdings.drop("subscriber_id", "kind"), on="account_id")
        .filter(held)
        .join(allowances.filter(pl.col("pooled")), on=["offer_id", "category"])
        .filter(in_force & covers)
        .group_by(*pool_keys, "scope")
        .agg(pl.col("granted").sum().alias("grant"), pl.col("rollover_cap").max())
    )
    pool = events.join(pool_grants, on=pool_keys).select(_bucket("account", "account_id", 2))
    return pl.concat([own, pool]).sort("event", "order", "scope")


def draw_allowances(
    events: pl.DataFrame,
    retail: RetailCatalog,
    subscribers: pl.DataFrame,
    rolled_in: pl.DataFrame,
) -> tuple[np.ndarray, pl.DataFrame]:
    """Units each event's allowances pay, and the cycle's closing balance per bucket.

    ``events`` are the drawing candidates with ``billed_usage`` and ``destination_group``;
    ``rolled_in`` (owner_kind, owner_id, service, rolled_in) is what the previous cycle
    carried over. Returns covered units per row of ``events`` and the balances.
    """
    ordered = events.with_row_index("row").sort("account_id", "started_at", "usage_id")
    ordered = ordered.with_row_index("event")
    candidates = _allowance_buckets(ordered, retail, subscribers)
    keys = ["owner_kind", "owner_id", "service", "scope"]
    buckets = (
        candidates.join(ordered.select("event", "account_id", "event_date"), on="event")
        .sort("event_date")
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("account_id").first(),
            pl.col("grant").last().alias("granted_at_close"),
            pl.col("rollover_cap").max(),
        )
        .sort(keys)
        .join(rolled_in, on=keys, how="left")
        .with_columns(pl.col("rolled_in").fill_null(0))
        .with_row_index("bucket")
    )
    candidates = candidates.join(buckets.select(*keys, "bucket"), on=keys).sort("event", "order")
    accounts = ordered["account_id"].rank("dense").cast(pl.Int64)
    bucket_accounts = buckets.join(
        ordered.select("account_id", accounts.alias("account")).unique(), on="account_id"
    ).sort("bucket")
    counts = np.bincount(_i64(candidates, "event"), minlength=ordered.height)
    draws = allowance_api.draw_allowances(
        account=np.ascontiguousarray(accounts.to_numpy(), dtype=np.int64),
        billed_units=_i64(ordered, "billed_usage"),
        candidate_offsets=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        candidate_bucket=_i64(candidates, "bucket"),
        candidate_grant=_i64(candidates, "grant"),
        bucket_account=_i64(bucket_accounts, "account"),
        rolled_in=_i64(buckets, "rolled_in"),
        granted_at_close=_i64(buckets, "granted_at_close"),
        rollover_cap=_i64(buckets, "rollover_cap"),
    )
    covered = np.zeros(events.height, dtype=np.int64)
    covered[_i64(ordered, "row")] = draws.covered
    balances = buckets.select(
        *keys,
        "granted_at_close",
        "rolled_in",
        pl.Series("used_from_rollover", draws.used_from_rollover),
        pl.Series("used_from_grant", draws.used_from_grant),
        pl.Series("unused", draws.unused),
        pl.Series("rolled_out", draws.rolled_out),
    )
    return covered, balances


@dataclass(frozen=True)
class RetailRatings:
    """Per event: the kernel's ratings and names, and the allowance balances of the cycle."""

    frame: pl.DataFrame
    balances: pl.DataFrame


def rate_retail(
    events: pl.DataFrame,
    retail: RetailCatalog,
    subscribers: pl.DataFrame,
    rolled_in: pl.DataFrame,
) -> RetailRatings:
    """Rate ``events`` (columns: usage_id, subscriber_id, account_id, plan_id, service,
    other_party_number, on_net, started_at, event_date, local_seconds, start_utc_seconds,
    units, time_based, rateable). Rows not ``rateable`` are rated too but neither draw
    allowances nor count; the caller gives them their status. ``subscribers`` are the lines
    (subscribers.csv typed) whose pooled allowances make their accounts' pools.
    """
    compiled = retail.compiled
    inputs = _KernelInputs.of(events, compiled)
    first = inputs.rate(compiled, np.zeros(events.height, dtype=np.int64))
    group_names = tuple(g.value for g in DESTINATION_GROUPS)
    named = events.with_columns(
        pl.Series("error", first.error.astype(np.int64)),
        pl.Series("zero_rated", first.zero_rated),
        pl.Series("billed_usage", first.billed_usage),
        _names(group_names, _of_binding(compiled.binding_group, first.binding)).alias(
            "destination_group"
        ),
        _names(
            compiled.destination_ids, _of_binding(compiled.binding_destination, first.binding)
        ).alias("destination_id"),
    )
    drawing = (
        pl.col("rateable")
        & (pl.col("error") == 0)
        & ~pl.col("zero_rated")
        & (pl.col("billed_usage") > 0)
    )
    candidates = named.with_row_index("position").filter(drawing)
    covered = np.zeros(events.height, dtype=np.int64)
    if candidates.height:
        drawn, balances = draw_allowances(candidates, retail, subscribers, rolled_in)
        covered[_i64(candidates, "position")] = drawn
    else:
        balances = pl.DataFrame(schema=BALANCE_SCHEMA)
    # An allowance changes only an event's money, never its spans: re-price only the
    # events it pays, and keep the first pass for the rest.
    cost, allowance_units = first.cost_micros.copy(), first.allowance_units.copy()
    paid = np.flatnonzero(covered)
    if paid.size:
        second = inputs.rate(compiled, covered, paid)
        cost[paid], allowance_units[paid] = second.cost_micros, second.allowance_units
    frame = named.with_columns(
        pl.Series("cost_micros", cost),
        pl.Series("allowance_units", allowance_units),
        _names(compiled.plan_ids, first.rating_plan).alias("rating_plan_id"),
        _names(compiled.deck_ids, first.destination_rates).alias("destinations_table"),
        _names(compiled.prefixes, first.prefix).alias("destination_prefix"),
        _names(compiled.rate_ids, first.rate).alias("rate_id"),
        _names(compiled.timing_ids, first.timing).alias("timing_id"),
    )
    destinations = pl.DataFrame(
        {
            "destination_id": list(retail.catalog.destinations),
            "destination_name": [d.name for d in retail.catalog.destinations.values()],
        },
        schema={"destination_id": pl.String, "destination_name": pl.String},
    )
    return RetailRatings(frame.join(destinations, on="destination_id", how="left"), balances)


ROLLED_IN_SCHEMA = {
    "owner_kind": pl.String,
    "owner_id": pl.String,
    "service": pl.String,
    "scope": pl.String,
    "rolled_in": pl.Int64,
}
BALANCE_SCHEMA = {
    "owner_kind": pl.String,
    "owner_id": pl.String,
    "service": pl.String,
    "scope": pl.String,
    "granted_at_close": pl.Int64,
    "rolled_in": pl.Int64,
    "used_from_rollover": pl.Int64,
    "used_from_grant": pl.Int64,
    "unused": pl.Int64,
    "rolled_out": pl.Int64,
}


def _of_binding(table: np.ndarray, binding: np.ndarray) -> np.ndarray:
    """``table`` at each event's first binding (-1: unrated, or the table says none)."""
    found = binding >= 0
    out = np.full(binding.size, -1, dtype=np.int64)
    out[found] = table[binding[found]]
    return out
