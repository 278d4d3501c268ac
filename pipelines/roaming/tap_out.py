"""TAP out: the visitors' usage of a billing period, priced at our IOT, one file per partner.

The visitors' records are the period's ``rated_usage`` rows whose served IMSI belongs to a
partner's network (rating left them out of retail as not billable). Each is priced with
``iot.price_events`` (receivable direction) and written, in charging-start order, into one
TAP 3.12 transfer batch to the partner (``tap_file``); a partner without any chargeable
visitor event gets a Notification. Unanswered calls are not chargeable (TAP carries
chargeable events), and an event no IOT row prices is left out with that reason: both stay
in ``roaming_events`` so every visitor record is accounted for once.

File sequence numbers count per partner across periods (``roaming_files``): a period run
again keeps its number, so a rerun writes the same bytes; the time stamps derive from the
period (the cut-off is its end, the file is created two hours later), never from the clock.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.config import OPERATOR_CURRENCY, OPERATOR_TADIG, OPERATOR_TIMEZONE, Layout
from pipelines.mediation.tap3 import MICROS_DECIMAL_PLACES
from pipelines.periods import parse_period, run_after
from pipelines.rating.buckets import read_period_table
from pipelines.roaming import iot, tap_file
from pipelines.roaming.partners import RoamingPartner, SettlementDirection, visited_partner
from pipelines.roaming.settlement import operator_rate
from pipelines.roaming.tap_in import RoamingError
from pipelines.schema import RoamingFileStatus
from pipelines.tariffs.model import ExchangeRate

#: Our files are created this long after the period's cut-off (its end).
CREATED_AFTER_CUT_OFF = timedelta(hours=2)
#: TD.57 file sequence numbers run 00001..99999, then start again at 00001.
MAX_SEQUENCE = 99_999
#: The country calling code of our network: MO calls within it are national.
NATIONAL_PREFIX = "1"


#: The usage columns a visitor record brings to TAP out.
USAGE_COLUMNS = (
    "usage_id",
    "record_type",
    "service",
    "served_imsi",
    "served_msisdn",
    "served_imei",
    "other_party_number",
    "started_at",
    "answered_at",
    "duration_seconds",
    "uplink_bytes",
    "downlink_bytes",
    "data_volume_bytes",
    "is_answered",
    "cell_id",
)


class Exclusion:
    """Why a visitor record is not in our TAP file."""

    UNANSWERED = "unanswered"  # not a chargeable event
    NO_IOT_RATE = "no_iot_rate"  # no IOT row of the partner prices it


@dataclass(frozen=True)
class TapOutFile:
    tadig: str
    file_name: str
    path: Path
    data: bytes


@dataclass(frozen=True)
class TapOut:
    """The period's TAP out: files (written by the caller), their roaming_files rows and
    one roaming_events row per visitor record."""

    files: list[TapOutFile]
    file_rows: list[dict[str, Any]]
    events: list[dict[str, Any]]


def period_times(billing_period: str) -> tuple[datetime, datetime]:
    """(transfer cut-off, file creation) of the period's files: its end, two hours later."""
    cut_off = run_after(billing_period)
    # Elapsed time, not wall-clock: the cut-off may fall on a clock change.
    created = (cut_off.astimezone(UTC) + CREATED_AFTER_CUT_OFF).astimezone(cut_off.tzinfo)
    return cut_off, created


def visitor_usage(
    layout: Layout, billing_period: str, partners: Mapping[str, RoamingPartner]
) -> pl.DataFrame:
    """The period's rated_usage rows of visitors (USAGE_COLUMNS, feed, switch_id,
    event_date), with ``visited_partner`` (TADIG)."""
    plmns = {plmn: p.tadig for p in partners.values() for plmn in p.plmn_ids}
    columns = (*USAGE_COLUMNS, "feed", "switch_id", "event_date")
    rated = pl.from_arrow(read_period_table(layout, "rated_usage", billing_period, columns))
    assert isinstance(rated, pl.DataFrame)
    return rated.with_columns(visited_partner(plmns)).filter(
        pl.col("visited_partner").is_not_null()
    )


def next_sequence(
    files: pl.DataFrame, billing_period: str, tadig: str, direction: SettlementDirection
) -> int:
    """The file sequence number of the period's file to ``tadig``: the one it was given if
    the period ran before, else one after the last earlier period's (1 for the first)."""
    own = files.filter((pl.col("direction") == direction.value) & (pl.col("tadig") == tadig))
    this = own.filter(pl.col("billing_period") == billing_period)["file_sequence_number"]
    if this.len():
        return int(this[0])
    later = sorted(own.filter(pl.col("billing_period") > billing_period)["billing_period"])
    if later:
        raise RoamingError(
            f"{direction.value} files to {tadig} are numbered up to period {later[-1]}: "
            f"run {billing_period} before them"
        )
    earlier = own.filter(pl.col("billing_period") < billing_period).sort("billing_period")
    if not earlier.height:
        return 1
    return int(earlier["file_sequence_number"][-1]) % MAX_SEQUENCE + 1


def build_tap_out(
    layout: Layout,
    billing_period: str,
    partners: Mapping[str, RoamingPartner],
    iot_rates: pl.DataFrame,
    exchange_rates: Sequence[ExchangeRate],
    earlier_files: pl.DataFrame,
) -> TapOut:
    """The period's TAP files to every partner and the rows recording them."""
    first, last = parse_period(billing_period)
    years = range(first.year - 1, last.year + 2)
    usage = _prepared(visitor_usage(layout, billing_period, partners))
    cut_off, created = period_times(billing_period)
    out = TapOut([], [], [])
    for tadig, partner in sorted(partners.items()):
        own = usage.filter(pl.col("visited_partner") == tadig)
        answered = own.filter(pl.col("chargeable"))
        priced = iot.price_events(
            iot.iot_tariff(partner, iot_rates, years),
            answered,
            SettlementDirection.RECEIVABLE.value,
        )
        sent = priced.filter(pl.col("iot_priced")).sort("charging_start", "usage_id")
        sequence = next_sequence(
            earlier_files, billing_period, tadig, SettlementDirection.RECEIVABLE
        )
        name = tap_file.file_name(OPERATOR_TADIG, tadig, sequence)
        header = tap_file.BatchHeader(
            sender=OPERATOR_TADIG,
            recipient=tadig,
            file_sequence_number=sequence,
            created_at=created,
            available_at=created,
            cut_off_at=cut_off,
            zone=ZoneInfo(OPERATOR_TIMEZONE),
            national_prefix=NATIONAL_PREFIX,
            local_currency=OPERATOR_CURRENCY,
            tap_currency=partner.tap_currency,
            tap_decimal_places=partner.tap_decimal_places,
            exchange_rate=operator_rate(exchange_rates, partner.tap_currency, last),
            recording_entities=_entities(sent),
        )
        codes = {(e.entity_type, e.identity): e.code for e in header.recording_entities}
        events = [_tap_event(row, partner, codes) for row in sent.to_dicts()]
        data = tap_file.transfer_batch(header, events) if events else tap_file.notification(header)
        path = layout.outbound / "tap" / tadig / name
        out.files.append(TapOutFile(tadig, name, path, data))
        out.file_rows.append(
            {
                "billing_period": billing_period,
                "direction": SettlementDirection.RECEIVABLE.value,
                "tadig": tadig,
                "sender": OPERATOR_TADIG,
                "recipient": tadig,
                "file_name": name,
                "file_path": str(path.relative_to(layout.root)),
                "file_id": _sha256(data),
                "file_sequence_number": f"{sequence:05d}",
                "file_kind": "transfer_batch" if events else "notification",
                "file_date": created.date(),  # our local date: created is on our clock
                "file_created_at": created,
                "events": len(events),
                "total_charge_micros": int(sent["charge_micros"].sum() or 0),
                "tap_currency": partner.tap_currency,
                "tap_decimal_places": partner.tap_decimal_places,
                "file_status": RoamingFileStatus.SENT.value,
            }
        )
        numbers = {usage_id: n for n, usage_id in enumerate(sent["usage_id"], start=1)}
        for row in own.join(
            priced.select("usage_id", "iot_priced", "billed_units", "charge_micros", "iot_version"),
            on="usage_id",
            how="left",
        ).to_dicts():
            out.events.append(_event_row(billing_period, partner, row, name, sequence, numbers))
    return out


def write_files(files: Sequence[TapOutFile]) -> None:
    """Write each file whole, replacing an earlier run's (same name, same bytes)."""
    for item in files:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = item.path.with_name(f".{item.path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(item.data)
        os.replace(temporary, item.path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _prepared(usage: pl.DataFrame) -> pl.DataFrame:
    """The pricing columns: charging start (a call's answer, else the start), its local
    wall-clock seconds, units, and whether the record is chargeable at all."""
    voice = pl.col("service") == "voice"
    start = (
        pl.when(voice & pl.col("answered_at").is_not_null())
        .then(pl.col("answered_at"))
        .otherwise(pl.col("started_at"))
    )
    local = start.dt.convert_time_zone(OPERATOR_TIMEZONE).dt.replace_time_zone(None)
    return usage.with_columns(
        start.alias("charging_start"),
        local.dt.epoch("s").alias("local_seconds"),
        start.dt.epoch("s").alias("start_utc_seconds"),
        pl.when(voice)
        .then(pl.col("duration_seconds"))
        .when(pl.col("service") == "sms")
        .then(pl.lit(1, dtype=pl.Int64))
        .otherwise(pl.col("data_volume_bytes"))
        .fill_null(0)
        .alias("units"),
        (~voice | pl.col("is_answered").fill_null(False)).alias("chargeable"),
    )


def _entities(sent: pl.DataFrame) -> tuple[tap_file.RecordingEntity, ...]:
    """An MSC per switch of the voice and SMS records, a gateway per switch of the data."""
    kinds = sorted(
        {
            (tap_file.GATEWAY_ENTITY if service == "data" else tap_file.MSC_ENTITY, switch)
            for service, switch in zip(sent["service"], sent["switch_id"], strict=True)
        }
    )
    return tuple(
        tap_file.RecordingEntity(code, kind, switch)
        for code, (kind, switch) in enumerate(kinds, start=1)
    )


def _cell(cell_id: str | None) -> tuple[int | None, int | None]:
    """Location area and cell of a lake cell id (``MCC-MNC-LAC-CI``)."""
    parts = (cell_id or "").split("-")
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2].isdigit():
        return int(parts[-2]), int(parts[-1])
    return None, None


def _digits(text: str | None) -> str | None:
    return text if text and text.isascii() and text.isdigit() else None


def _tap_event(
    row: Mapping[str, Any], partner: RoamingPartner, codes: Mapping[tuple[int, str], int]
) -> tap_file.TapCallEvent:
    scale = 10 ** (MICROS_DECIMAL_PLACES - partner.tap_decimal_places)
    charge, remainder = divmod(int(row["charge_micros"]), scale)
    if remainder:  # the IOT rounds to the TAP decimals: a remainder is a pricing bug
        raise RoamingError(f"{row['usage_id']}: {row['charge_micros']} micros is not in TAP units")
    data = row["service"] == "data"
    area, cell = _cell(row["cell_id"])
    kind = tap_file.GATEWAY_ENTITY if data else tap_file.MSC_ENTITY
    return tap_file.TapCallEvent(
        record_type=row["record_type"],
        imsi=row["served_imsi"],
        msisdn=_digits(row["served_msisdn"]),
        imei=_digits(row["served_imei"]),
        other_party_number=None if data else _digits(row["other_party_number"]),
        started_at=row["charging_start"],
        duration_seconds=0 if row["service"] == "sms" else int(row["duration_seconds"] or 0),
        uplink_bytes=int(row["uplink_bytes"] or 0),
        downlink_bytes=int(row["downlink_bytes"] or 0),
        recording_entity=codes[(kind, row["switch_id"])],
        location_area=area,
        cell_id=cell,
        charge=charge,
        chargeable_units=int(row["units"]),
        charged_units=int(row["billed_units"]),
    )


def _event_row(
    billing_period: str,
    partner: RoamingPartner,
    row: Mapping[str, Any],
    file_name: str,
    sequence: int,
    numbers: Mapping[str, int],
) -> dict[str, Any]:
    number = numbers.get(row["usage_id"])
    if number is not None:
        reason = None
    elif not row["chargeable"]:
        reason = Exclusion.UNANSWERED
    else:
        reason = Exclusion.NO_IOT_RATE
    sent = number is not None
    return {
        "billing_period": billing_period,
        "direction": SettlementDirection.RECEIVABLE.value,
        "tadig": partner.tadig,
        "file_name": file_name if sent else None,
        "file_sequence_number": f"{sequence:05d}" if sent else None,
        "record_number": number,
        "usage_id": row["usage_id"],
        "record_type": row["record_type"],
        "service": row["record_type"],
        "served_imsi": row["served_imsi"],
        "served_msisdn": row["served_msisdn"],
        "other_party_number": row["other_party_number"],
        "started_at": row["charging_start"],
        "event_date": row["event_date"],
        "units": row["units"],
        "billed_units": row["billed_units"] if sent else None,
        "charge_micros": row["charge_micros"] if sent else 0,
        "tax_micros": 0,
        "discount_micros": 0,
        "tap_currency": partner.tap_currency,
        "iot_version": row["iot_version"] if sent else None,
        "is_settled": sent,
        "exclusion_reason": reason,
        "reject_reason": None,
    }
