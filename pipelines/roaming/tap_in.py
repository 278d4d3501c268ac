"""The partners' TAP files of a billing period: which settle, which go back, and their events.

A partner's file belongs to the period its mediation file date falls in (the day it
reached us: TAP is settled by file, each file once). Mediation has already judged each
file (``file_registry`` and ``rejects`` of feed tap3); this module reads the landed bytes
again with ``pipelines.mediation.tap3`` for what settlement needs and mediation does not
keep: the batch's identity, currency and every event's charge.

- a batch that reconciles, addressed to us and not settled before under its (sender,
  sequence number), settles: all its events are payable, also those mediation refused one
  by one (the partner charges them; a severe-error RAP would be needed to contest them);
- a batch whose audit does not reconcile is returned whole (``rap.py``);
- a file mediation could not read is recorded as not returnable: no batch to name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from pipelines import lake
from pipelines.config import OPERATOR_TADIG, OPERATOR_TIMEZONE, Layout
from pipelines.mediation import tap3
from pipelines.mediation.records import ParsedRecord
from pipelines.periods import parse_period
from pipelines.roaming.partners import SettlementDirection
from pipelines.schema import Feed, FileStatus, RejectReason, RoamingFileStatus
from pipelines.storage import ObjectStore


class RoamingError(RuntimeError):
    """Roaming settlement cannot run: a file mediation read is gone or changed, or files
    would be numbered out of order."""


#: A payable event that is not a call, SMS or GPRS record (e.g. a supplementary service)
#: still carries a charge: it is settled under this service.
OTHER_SERVICE = "other"


@dataclass(frozen=True)
class ReturnedBatch:
    """A partner's batch whose audit does not reconcile, to return with a RAP."""

    tadig: str
    file_name: str
    file_id: str
    file_date: date
    batch: tap3.TapBatch
    reason_detail: str


@dataclass(frozen=True)
class UnreadableFile:
    tadig: str
    file_name: str
    file_id: str
    file_date: date
    reason_detail: str


@dataclass(frozen=True)
class PartnerFiles:
    """The period's partner files: one row each (ROAMING_FILE_SCHEMA), the events of those
    that settle (ROAMING_EVENT_SCHEMA), and those mediation refused whole."""

    files: list[dict[str, Any]]
    events: list[dict[str, Any]]
    returned: list[ReturnedBatch]
    unreadable: list[UnreadableFile]


def partner_files(
    layout: Layout, billing_period: str, settled_before: set[tuple[str, str]]
) -> PartnerFiles:
    """Read the tap3 files mediation filed in ``billing_period``.

    ``settled_before``: (sender, file sequence number) of batches settled in other periods.
    """
    first, last = parse_period(billing_period)
    registry = _frame(lake.read_table(layout, "file_registry", {"feed": Feed.TAP3.value}))
    registry = registry.filter(pl.col("file_date").is_between(first, last)).sort(
        "file_date", "file_name", "switch_id"
    )
    rejects = _frame(lake.read_table(layout, "rejects", {"feed": Feed.TAP3.value}))
    usage = _frame(
        lake.read_table(
            layout, "usage", {"feed": Feed.TAP3.value}, ["usage_id", "file_id", "record_number"]
        )
    )
    accepted = {(r["file_id"], r["record_number"]): r["usage_id"] for r in usage.to_dicts()}
    out = PartnerFiles([], [], [], [])
    seen = set(settled_before)
    for entry in registry.to_dicts():
        if entry["file_status"] == FileStatus.DUPLICATE_FILE:
            continue  # the same bytes as a file already read
        landing_key = f"{Feed.TAP3.value}/{entry['switch_id']}/{entry['file_name']}"
        data = _landed(layout.landing_store, landing_key, entry["file_id"])
        own_rejects = rejects.filter(
            (pl.col("file_id") == entry["file_id"]) & (pl.col("file_name") == entry["file_name"])
        )
        row = {
            "billing_period": billing_period,
            "direction": SettlementDirection.PAYABLE.value,
            "tadig": entry["switch_id"],
            "sender": None,
            "recipient": None,
            "file_name": entry["file_name"],
            # Its landing path, the same wherever the landing area is kept (docs/storage.md).
            "file_path": f"landing/{landing_key}",
            "file_id": entry["file_id"],
            "file_sequence_number": None,
            "file_kind": None,
            "file_date": entry["file_date"],
            "file_created_at": None,
            "events": 0,
            "total_charge_micros": 0,
            "tap_currency": None,
            "tap_decimal_places": None,
        }
        try:
            batch = tap3.read_batch(data)
        except tap3.TapFileError as error:
            if entry["file_status"] == FileStatus.EMPTY:
                kind = "notification" if data else None
                out.files.append({**row, "file_kind": kind, "file_status": RoamingFileStatus.EMPTY})
                continue
            detail = _detail(own_rejects, RejectReason.UNREADABLE_FILE) or str(error)
            out.unreadable.append(
                UnreadableFile(
                    entry["switch_id"],
                    entry["file_name"],
                    entry["file_id"],
                    entry["file_date"],
                    detail,
                )
            )
            out.files.append({**row, "file_status": RoamingFileStatus.NOT_RETURNABLE})
            continue
        row.update(
            tadig=batch.sender,
            sender=batch.sender,
            recipient=batch.recipient,
            file_sequence_number=batch.file_sequence_number,
            file_kind="transfer_batch",
            file_created_at=batch.file_creation_at,
            events=len(batch.events),
            total_charge_micros=batch.computed.total_charge_micros,
            tap_currency=batch.tap_currency,
            tap_decimal_places=batch.tap_decimal_places,
        )
        key = (batch.sender, batch.file_sequence_number)
        if batch.audit_mismatches():
            detail = _detail(own_rejects, RejectReason.AUDIT_MISMATCH) or "audit mismatch"
            out.returned.append(
                ReturnedBatch(
                    batch.sender,
                    entry["file_name"],
                    entry["file_id"],
                    entry["file_date"],
                    batch,
                    detail,
                )
            )
            out.files.append({**row, "file_status": RoamingFileStatus.RETURNED})
        elif batch.recipient != OPERATOR_TADIG:
            out.files.append({**row, "file_status": RoamingFileStatus.NOT_ADDRESSED_TO_US})
        elif key in seen:
            out.files.append({**row, "file_status": RoamingFileStatus.ALREADY_SETTLED})
        else:
            seen.add(key)
            out.files.append({**row, "file_status": RoamingFileStatus.SETTLED})
            reasons = {
                r["record_number"]: r["reason_code"]
                for r in own_rejects.filter(pl.col("record_number") > 0).to_dicts()
            }
            out.events.extend(_events(billing_period, entry, batch, data, accepted, reasons))
    return out


def _frame(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _landed(store: ObjectStore, key: str, file_id: str) -> bytes:
    data = store.read_if_exists(key)
    if data is None:
        raise RoamingError(
            f"{store.location(key)} was mediated but is no longer in the landing area"
        )
    if hashlib.sha256(data).hexdigest() != file_id:
        raise RoamingError(
            f"{store.location(key)} changed since mediation read it (file_id {file_id[:16]})"
        )
    return data


def _detail(rejects: pl.DataFrame, reason: RejectReason) -> str | None:
    found = rejects.filter(pl.col("reason_code") == reason.value)["reason_detail"]
    return str(found[0]) if found.len() else None


def _events(
    billing_period: str,
    entry: Mapping[str, Any],
    batch: tap3.TapBatch,
    data: bytes,
    accepted: Mapping[tuple[str, int], str],
    reasons: Mapping[int, str],
) -> list[dict[str, Any]]:
    """One payable row per call event of a settled batch, in file order."""
    rows = []
    decoded = list(tap3.decode_events(data))
    for money, item in zip(batch.events, decoded, strict=True):
        values = item.values if isinstance(item, ParsedRecord) else {}
        service = values.get("service")
        units = {"voice": values.get("duration_seconds"), "sms": 1}.get(
            service or "", values.get("data_volume_bytes")
        )
        started = values.get("started_at")
        rows.append(
            {
                "billing_period": billing_period,
                "direction": SettlementDirection.PAYABLE.value,
                "tadig": batch.sender,
                "file_name": entry["file_name"],
                "file_sequence_number": batch.file_sequence_number,
                "record_number": money.record_number,
                "usage_id": accepted.get((entry["file_id"], money.record_number)),
                "record_type": values.get("record_type") or money.kind,
                "service": values.get("record_type") or OTHER_SERVICE,
                "served_imsi": values.get("served_imsi"),
                "served_msisdn": values.get("served_msisdn"),
                "other_party_number": values.get("other_party_number"),
                "started_at": started,
                "event_date": None if started is None else _local_date(started),
                "units": units if values else 0,
                "billed_units": None,
                "charge_micros": money.charge_micros,
                "tax_micros": money.tax_micros,
                "discount_micros": money.discount_micros,
                "tap_currency": batch.tap_currency,
                "iot_version": None,
                "is_settled": True,
                "exclusion_reason": None,
                "reject_reason": reasons.get(money.record_number),
            }
        )
    return rows


def _local_date(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(OPERATOR_TIMEZONE)).date()
