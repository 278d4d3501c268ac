"""The roaming agreements: partners (roaming_partners.csv) and their IOT rates
(roaming_iot_rates.csv), read from the reference folder and checked.

Both files are optional: an operator without roaming agreements has neither, and then no
visitor on its network and nothing to settle. docs/roaming.md describes their columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

import polars as pl

from pipelines.config import Layout
from pipelines.schema import Feed

PARTNERS_FILE = "roaming_partners.csv"
IOT_RATES_FILE = "roaming_iot_rates.csv"

PARTNER_COLUMNS = (
    "tadig",
    "partner_name",
    "country",
    "plmn_ids",
    "tap_currency",
    "tap_decimal_places",
    "settlement_currency",
    "settlement_period",
)
IOT_COLUMNS = (
    "tadig",
    "direction",
    "service",
    "prefix",
    "destination_name",
    "price_micros",
    "price_unit",
    "first_increment",
    "increment",
    "effective_from",
    "effective_to",
)

_TADIG = re.compile(r"[A-Z]{3}[A-Z0-9]{2}")
_PLMN = re.compile(r"[0-9]{5,6}")  # MCC (3 digits) + MNC (2 or 3)
_CURRENCY = re.compile(r"[A-Z]{3}")
_PREFIX = re.compile(r"[0-9]{0,15}")


class SettlementDirection(StrEnum):
    """Who pays whom for a roaming event."""

    PAYABLE = "payable"  # a partner's TAP file charges us for our subscribers on its network
    RECEIVABLE = "receivable"  # our TAP file charges a partner for its visitors on ours


class RoamingService(StrEnum):
    """What an IOT rate prices: the record types TAP carries and we rate."""

    VOICE_MO = "voice_mo"
    VOICE_MT = "voice_mt"
    SMS_MO = "sms_mo"
    SMS_MT = "sms_mt"
    DATA = "data"


class ReferenceFileError(ValueError):
    """A roaming reference file that cannot be used, named with its line."""


@dataclass(frozen=True)
class RoamingPartner:
    """One roaming agreement (a row of roaming_partners.csv)."""

    tadig: str
    partner_name: str
    country: str  # ISO 3166 alpha-2
    plmn_ids: tuple[str, ...]  # MCC + MNC of the partner's networks: its IMSIs start so
    tap_currency: str  # ISO 4217: the currency of every TAP charge between us
    tap_decimal_places: int  # TAP charges are integers scaled by 10 ** this (0..6)
    settlement_currency: str
    settlement_period: str


def _read(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False, empty_string_is_null=False)
    if tuple(frame.columns) != columns:
        raise ReferenceFileError(
            f"{path.name}: columns {frame.columns} are not {list(columns)} (docs/roaming.md)"
        )
    return frame.with_columns(pl.all().fill_null(""))


def load_partners(layout: Layout) -> dict[str, RoamingPartner]:
    """Partners by TADIG code; empty when the operator has no roaming_partners.csv."""
    path = layout.reference / PARTNERS_FILE
    if not path.is_file():
        return {}
    partners: dict[str, RoamingPartner] = {}
    plmn_owner: dict[str, str] = {}
    for line, row in enumerate(_read(path, PARTNER_COLUMNS).iter_rows(named=True), start=2):
        where = f"{PARTNERS_FILE} line {line}"
        tadig = row["tadig"]
        if not _TADIG.fullmatch(tadig):
            raise ReferenceFileError(f"{where}: tadig {tadig!r} is not a TADIG code")
        if tadig in partners:
            raise ReferenceFileError(f"{where}: tadig {tadig} is listed twice")
        plmns = tuple(p for p in row["plmn_ids"].split(";") if p)
        if not plmns or not all(_PLMN.fullmatch(p) for p in plmns):
            raise ReferenceFileError(f"{where}: plmn_ids {row['plmn_ids']!r} are not MCC+MNC")
        for plmn in plmns:
            # An IMSI must name one partner: no PLMN may start another's digits.
            for other, owner in plmn_owner.items():
                if plmn.startswith(other) or other.startswith(plmn):
                    raise ReferenceFileError(f"{where}: PLMN {plmn} overlaps {other} of {owner}")
            plmn_owner[plmn] = tadig
        for column in ("tap_currency", "settlement_currency"):
            if not _CURRENCY.fullmatch(row[column]):
                raise ReferenceFileError(f"{where}: {column} {row[column]!r} is not ISO 4217")
        places = row["tap_decimal_places"]
        if not (places.isdigit() and int(places) <= 6):
            raise ReferenceFileError(
                f"{where}: tap_decimal_places {places!r} must be 0..6 (TD.57; micro-units hold 6)"
            )
        if row["settlement_period"] != "monthly":
            raise ReferenceFileError(f"{where}: settlement_period must be monthly")
        partners[tadig] = RoamingPartner(
            tadig=tadig,
            partner_name=row["partner_name"],
            country=row["country"],
            plmn_ids=plmns,
            tap_currency=row["tap_currency"],
            tap_decimal_places=int(places),
            settlement_currency=row["settlement_currency"],
            settlement_period=row["settlement_period"],
        )
    return partners


def visiting_networks(partners: Mapping[str, RoamingPartner]) -> dict[str, str]:
    """PLMN id (MCC+MNC) -> TADIG code of every partner network."""
    return {plmn: p.tadig for p in partners.values() for plmn in p.plmn_ids}


def visited_partner(plmns: Mapping[str, str]) -> pl.Expr:
    """The TADIG code of the partner whose subscriber a record of our own network serves
    (a visitor: its IMSI starts with the partner's MCC+MNC), else null.

    TAP records are our subscribers abroad, never visitors, whatever their IMSI says.
    """
    found: pl.Expr = pl.lit(None, dtype=pl.String)
    # PLMN ids never overlap (load_partners), so the order of the tests does not matter.
    for plmn, tadig in sorted(plmns.items()):
        found = (
            pl.when(pl.col("served_imsi").str.starts_with(plmn))
            .then(pl.lit(tadig))
            .otherwise(found)
        )
    return pl.when(pl.col("feed") != Feed.TAP3.value).then(found).alias("visited_partner")


def load_iot_rates(layout: Layout, partners: Mapping[str, RoamingPartner]) -> pl.DataFrame:
    """roaming_iot_rates.csv typed and checked: integers, dates (effective_to null when
    open), known partners, directions and services, and no two versions of one (tadig,
    direction, service, prefix) in force on the same day. Empty when the file is absent."""
    schema = {
        "tadig": pl.String,
        "direction": pl.String,
        "service": pl.String,
        "prefix": pl.String,
        "destination_name": pl.String,
        "price_micros": pl.Int64,
        "price_unit": pl.Int64,
        "first_increment": pl.Int64,
        "increment": pl.Int64,
        "effective_from": pl.Date,
        "effective_to": pl.Date,
    }
    path = layout.reference / IOT_RATES_FILE
    if not path.is_file():
        return pl.DataFrame(schema=schema)
    rows = []
    for line, row in enumerate(_read(path, IOT_COLUMNS).iter_rows(named=True), start=2):
        where = f"{IOT_RATES_FILE} line {line}"
        if row["tadig"] not in partners:
            raise ReferenceFileError(f"{where}: {row['tadig']!r} is not in {PARTNERS_FILE}")
        if row["direction"] not in set(SettlementDirection):
            raise ReferenceFileError(f"{where}: direction {row['direction']!r} unknown")
        if row["service"] not in set(RoamingService):
            raise ReferenceFileError(f"{where}: service {row['service']!r} unknown")
        if not _PREFIX.fullmatch(row["prefix"]):
            raise ReferenceFileError(f"{where}: prefix {row['prefix']!r} is not digits")
        numbers = {}
        for column, low in (
            ("price_micros", 0),
            ("price_unit", 1),
            ("first_increment", 1),
            ("increment", 1),
        ):
            text = row[column]
            if not text.isdigit() or int(text) < low:
                raise ReferenceFileError(f"{where}: {column} {text!r} must be an integer >= {low}")
            numbers[column] = int(text)
        try:
            start = date.fromisoformat(row["effective_from"])
            end = date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
        except ValueError as error:
            raise ReferenceFileError(f"{where}: {error}") from error
        if end is not None and end < start:
            raise ReferenceFileError(f"{where}: effective_to is before effective_from")
        rows.append({**row, **numbers, "effective_from": start, "effective_to": end})
    rates = pl.DataFrame(rows, schema=schema, orient="row")
    _check_versions(rates)
    return rates


def _check_versions(rates: pl.DataFrame) -> None:
    keys = ["tadig", "direction", "service", "prefix"]
    ordered = rates.sort([*keys, "effective_from"])
    previous_key, previous_end = None, None
    for row in ordered.iter_rows(named=True):
        key = tuple(row[k] for k in keys)
        if key == previous_key and (previous_end is None or previous_end >= row["effective_from"]):
            raise ReferenceFileError(
                f"{IOT_RATES_FILE}: versions of {'/'.join(key)} overlap on {row['effective_from']}"
            )
        previous_key, previous_end = key, row["effective_to"]
