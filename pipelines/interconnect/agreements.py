"""Interconnect agreements: carriers' terms, trunk groups, rate decks and number portability.

Reference files (docs/interconnect.md gives every column):

- ``carriers.csv``: one row per carrier and the terms of its agreement: currency,
  settlement period, how each call's amount is rounded, and the dispute tolerance.
- ``trunk_groups.csv``: which carrier is on the far end of each trunk group.
- ``interconnect_rates.csv``: each carrier's decks, effective-dated: ``termination`` (what
  it charges us for calls we hand it) and ``origination`` (what we charge it for calls it
  hands us), per 60 seconds, with the billing increments of the agreement.
- ``ported_numbers.csv`` and ``number_blocks.csv`` (optional: an operator outside a
  portability regime has neither): the porting database (number -> LRN and SPID,
  effective-dated, as the NPAC gives it) and the block holders (as the LERG gives them).

The decks become a tariff catalog (``pipelines.tariffs.model.Catalog``) with one rating plan
per carrier and direction, so legs are rated by the same kernels as retail usage
(``kernels.tariff_api``). Every rule is checked here, before a leg is read, so a bad deck
fails the rating stage with the file's name instead of mis-pricing a month of traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from pipelines.config import OPERATOR_CURRENCY, Layout
from pipelines.reference import read_reference
from pipelines.tariffs.compile import CompiledCatalog, compile_catalog
from pipelines.tariffs.model import (
    ALWAYS,
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

PORTED_NUMBERS_FILE = "ported_numbers.csv"
NUMBER_BLOCKS_FILE = "number_blocks.csv"
#: The tariff catalog tenant of wholesale rating; the category is the deck's direction and
#: the subject the carrier.
WHOLESALE_TENANT = "wholesale"
TERMINATION = "termination"
ORIGINATION = "origination"
DECK_DIRECTIONS = (TERMINATION, ORIGINATION)
TRUNK_DIRECTIONS = ("outgoing", "incoming", "both")
#: Deck prices are per this many seconds.
PRICE_UNIT_SECONDS = 60
#: The NANP country code: domestic numbers are portable and rated on their LRN.
NANP = "1"


class AgreementError(ValueError):
    """A reference file of the interconnect agreements breaks a rule; names file and row."""


@dataclass(frozen=True)
class Agreements:
    """The agreements in force, as rating reads them.

    carriers: carriers.csv typed. trunks: trunk_group, carrier_id, trunk_direction.
    deck: one row per deck version, keyed by ``tariff_version``
    (``<carrier>/<direction>/<prefix>/<effective_from>``, the catalog's rate id).
    ported: number, lrn, spid, effective_from, effective_to (Date; null open).
    blocks: prefix, spid.
    """

    carriers: pl.DataFrame
    trunks: pl.DataFrame
    deck: pl.DataFrame
    catalog: CompiledCatalog
    ported: pl.DataFrame
    blocks: pl.DataFrame


def _problem(file: str, frame: pl.DataFrame, bad: pl.Series, what: str) -> None:
    """Raise naming the first offending line (file line = row + 2, after the header)."""
    rows = frame.with_row_index("row").filter(bad)
    if rows.height:
        raise AgreementError(f"{file} line {rows['row'][0] + 2}: {what}")


def _int_column(file: str, frame: pl.DataFrame, column: str, low: int, high: int) -> pl.Series:
    values = frame[column].cast(pl.Int64, strict=False)
    _problem(
        file,
        frame,
        values.is_null() | (values < low) | (values > high),
        f"{column} must be an integer from {low} to {high}",
    )
    return values


def _date_column(file: str, frame: pl.DataFrame, column: str, *, required: bool) -> pl.Series:
    text = frame[column].fill_null("")
    values = text.str.to_date("%Y-%m-%d", strict=False)
    bad = values.is_null() & ((text != "") | required)
    _problem(
        file, frame, bad, f"{column} must be a date YYYY-MM-DD" + ("" if required else " or empty")
    )
    return values


def _digits_column(file: str, frame: pl.DataFrame, column: str) -> None:
    _problem(
        file,
        frame,
        ~frame[column].fill_null("").str.contains(r"^[0-9]{1,15}$"),
        f"{column} must be 1 to 15 digits",
    )


def _one_of(file: str, frame: pl.DataFrame, column: str, allowed: tuple[str, ...]) -> None:
    _problem(
        file,
        frame,
        ~frame[column].fill_null("").is_in(list(allowed)),
        f"{column} must be one of {', '.join(allowed)}",
    )


def _no_overlap(file: str, frame: pl.DataFrame, keys: list[str]) -> None:
    """Versions of one key must not overlap: each starts after the previous one ends."""
    ordered = frame.with_row_index("row").sort([*keys, "effective_from"])
    previous_end = pl.col("effective_to").shift(1).over(keys)
    clash = ordered.filter(
        pl.col("row").shift(1).over(keys).is_not_null()
        & (previous_end.is_null() | (previous_end >= pl.col("effective_from")))
    )
    if clash.height:
        row = clash.row(0, named=True)
        key = "/".join(str(row[k]) for k in keys)
        raise AgreementError(f"{file} line {row['row'] + 2}: {key} overlaps an earlier version")


def load_carriers(layout: Layout) -> pl.DataFrame:
    file = "carriers.csv"
    frame = read_reference(layout, file)
    _problem(file, frame, frame["carrier_id"].is_duplicated(), "carrier_id is listed twice")
    _one_of(file, frame, "rounding_method", tuple(m.value for m in RoundingMethod))
    # The ledger posts settlement in the operator's currency; converting a carrier's would
    # need the agreement's exchange-rate terms, which no file carries yet.
    _problem(
        file, frame, frame["currency"].fill_null("") != OPERATOR_CURRENCY,
        f"currency must be {OPERATOR_CURRENCY}: settlement in another currency is not supported",
    )  # fmt: skip
    return frame.select(
        "carrier_id",
        "carrier_name",
        "country",
        pl.col("spid").fill_null(""),
        "currency",
        "settlement_period",
        "rounding_method",
        _int_column(file, frame, "rounding_decimals", 0, 6),
        _int_column(file, frame, "dispute_tolerance_micros", 0, 10**15),
        _int_column(file, frame, "dispute_tolerance_bp", 0, 10_000),
    )


def load_trunks(layout: Layout, carriers: pl.DataFrame) -> pl.DataFrame:
    file = "trunk_groups.csv"
    frame = read_reference(layout, file)
    _problem(file, frame, frame["trunk_group"].is_duplicated(), "a trunk group is listed twice")
    _problem(
        file, frame, ~frame["carrier_id"].is_in(carriers["carrier_id"].to_list()),
        "carrier_id is not in carriers.csv",
    )  # fmt: skip
    _one_of(file, frame, "direction", TRUNK_DIRECTIONS)
    return frame.select("trunk_group", "carrier_id", pl.col("direction").alias("trunk_direction"))


def load_deck(layout: Layout, carriers: pl.DataFrame) -> pl.DataFrame:
    file = "interconnect_rates.csv"
    frame = read_reference(layout, file)
    _problem(
        file, frame, ~frame["carrier_id"].is_in(carriers["carrier_id"].to_list()),
        "carrier_id is not in carriers.csv",
    )  # fmt: skip
    _one_of(file, frame, "direction", DECK_DIRECTIONS)
    _digits_column(file, frame, "prefix")
    deck = frame.select(
        "carrier_id",
        "direction",
        "prefix",
        "destination_name",
        "destination_group",
        _int_column(file, frame, "price_micros", 0, 10**12),
        _int_column(file, frame, "first_increment", 1, 3_600),
        _int_column(file, frame, "increment", 1, 3_600),
        _date_column(file, frame, "effective_from", required=True),
        _date_column(file, frame, "effective_to", required=False),
    )
    _problem(
        file, deck, deck["effective_to"] < deck["effective_from"],
        "effective_to is before effective_from",
    )  # fmt: skip
    _no_overlap(file, deck, ["carrier_id", "direction", "prefix"])
    return deck.with_columns(
        pl.format(
            "{}/{}/{}/{}",
            "carrier_id",
            "direction",
            "prefix",
            pl.col("effective_from").dt.to_string("%Y-%m-%d"),
        ).alias("tariff_version")
    )


def load_ported_numbers(layout: Layout) -> pl.DataFrame:
    """ported_numbers.csv typed; empty without the file."""
    path = layout.reference / PORTED_NUMBERS_FILE
    schema = {"number": pl.String, "lrn": pl.String, "spid": pl.String,
              "effective_from": pl.Date, "effective_to": pl.Date}  # fmt: skip
    if not path.is_file():
        return pl.DataFrame(schema=schema)
    file = PORTED_NUMBERS_FILE
    frame = pl.read_csv(path, infer_schema=False)
    _digits_column(file, frame, "number")
    _digits_column(file, frame, "lrn")
    ported = frame.select(
        "number",
        "lrn",
        pl.col("spid").fill_null(""),
        _date_column(file, frame, "effective_from", required=True),
        _date_column(file, frame, "effective_to", required=False),
    )
    _no_overlap(file, ported, ["number"])
    return ported


def ported_on_the_day(calls: pl.DataFrame, ported: pl.DataFrame) -> pl.DataFrame:
    """The calls to a domestic number ported on their ``event_date``: their other columns
    (keys) with ``lrn`` and ``ported_spid``. ``calls`` holds ``number`` and ``event_date``;
    ``ported`` is ``load_ported_numbers``'s (versions do not overlap: one match at most)."""
    keys = [c for c in calls.columns if c not in ("number", "event_date")]
    return (
        calls.filter(pl.col("number").str.starts_with(NANP))
        .join(ported, on="number")
        .filter(
            (pl.col("effective_from") <= pl.col("event_date"))
            & (pl.col("effective_to").is_null() | (pl.col("event_date") <= pl.col("effective_to")))
        )
        .select(*keys, "lrn", pl.col("spid").alias("ported_spid"))
    )


def block_holder(numbers: pl.Series, blocks: pl.DataFrame) -> pl.Series:
    """The SPID holding each number's block: its longest matching block prefix (null: none)."""
    frame = pl.DataFrame({"number": numbers}).with_row_index("row")
    holder = pl.Series("spid", [None] * frame.height, dtype=pl.String)
    for length in sorted(set(blocks["prefix"].str.len_chars().to_list()), reverse=True):
        matched = frame.with_columns(pl.col("number").str.slice(0, length).alias("prefix")).join(
            blocks.filter(pl.col("prefix").str.len_chars() == length), on="prefix", how="left"
        )
        holder = holder.fill_null(matched.sort("row")["spid"])
    return holder


def load_number_blocks(layout: Layout) -> pl.DataFrame:
    """number_blocks.csv (prefix -> block holder SPID); empty without the file."""
    path = layout.reference / NUMBER_BLOCKS_FILE
    if not path.is_file():
        return pl.DataFrame(schema={"prefix": pl.String, "spid": pl.String})
    frame = pl.read_csv(path, infer_schema=False)
    _digits_column(NUMBER_BLOCKS_FILE, frame, "prefix")
    _problem(NUMBER_BLOCKS_FILE, frame, frame["prefix"].is_duplicated(), "prefix is listed twice")
    return frame.select("prefix", "spid")


def plan_id(carrier_id: str, direction: str) -> str:
    return f"{carrier_id}/{direction}"


def wholesale_catalog(deck: pl.DataFrame, carriers: pl.DataFrame) -> Catalog:
    """The decks as a tariff catalog: a plan per carrier and direction, a rate per version.

    A version bills its first ``first_increment`` seconds as one block, then every started
    ``increment`` (two rate slots, as CGRateS writes "60/1"); each call's amount is rounded
    as the carrier's agreement says.
    """
    terms = {row["carrier_id"]: row for row in carriers.iter_rows(named=True)}
    destinations: dict[str, Destination] = {}
    rates: dict[str, Rate] = {}
    tables: dict[tuple[str, str], list[DestinationRate]] = {}
    for row in deck.iter_rows(named=True):
        key = (row["carrier_id"], row["direction"])
        destination_id = f"{plan_id(*key)}/{row['prefix']}"
        destinations[destination_id] = Destination(
            destination_id, (row["prefix"],), row["destination_name"]
        )
        rates[row["tariff_version"]] = increment_rate(
            row["tariff_version"],
            row["price_micros"],
            PRICE_UNIT_SECONDS,
            row["first_increment"],
            row["increment"],
        )
        agreement = terms[row["carrier_id"]]
        tables.setdefault(key, []).append(
            DestinationRate(
                destination_id,
                row["tariff_version"],
                rounding_method=RoundingMethod(agreement["rounding_method"]),
                rounding_decimals=agreement["rounding_decimals"],
                effective_from=row["effective_from"],
                effective_to=row["effective_to"],
            )
        )
    since = datetime(1970, 1, 1, tzinfo=UTC)
    return Catalog(
        version="interconnect",
        currency="",
        destinations=destinations,
        timings={ALWAYS.timing_id: ALWAYS},
        rates=rates,
        destination_rates={plan_id(*key): tuple(rows) for key, rows in tables.items()},
        rating_plans={
            plan_id(*key): RatingPlan(
                plan_id(*key), (PlanEntry(plan_id(*key), ALWAYS.timing_id, 10),)
            )
            for key in tables
        },
        profiles=tuple(
            RatingProfile(WHOLESALE_TENANT, direction, carrier, since, plan_id(carrier, direction))
            for carrier, direction in tables
        ),
    )


def load_agreements(layout: Layout) -> Agreements:
    carriers = load_carriers(layout)
    deck = load_deck(layout, carriers)
    return Agreements(
        carriers=carriers,
        trunks=load_trunks(layout, carriers),
        deck=deck,
        catalog=compile_catalog(wholesale_catalog(deck, carriers)),
        ported=load_ported_numbers(layout),
        blocks=load_number_blocks(layout),
    )
