"""RAP: the partners' batches mediation refused whole go back to them (TD.32).

A batch whose AuditControlInfo does not reconcile gets a RAP 1.5 ReturnBatch with one
fatal return (``pipelines.mediation.tap3.build_rap``), written to
``outbound/rap/<partner TADIG>/RC<our TADIG><partner TADIG><RAP sequence:05d>``. RAP
sequence numbers count per partner across periods (``rap_returns``): a batch returned
before keeps its RAP number and file, so a rerun writes the same bytes; a new return takes
the partner's next number. The RAP is stamped with the period's file creation time.

A file mediation could not read at all (not BER, another TAP release, a fatal header
error) has no batch a RAP could name with certainty: it is recorded as not returnable,
for an analyst to take up with the partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.config import OPERATOR_TADIG, Layout
from pipelines.mediation import tap3
from pipelines.roaming.tap_in import ReturnedBatch, UnreadableFile
from pipelines.roaming.tap_out import MAX_SEQUENCE, TapOutFile, period_times
from pipelines.schema import RejectReason

#: TD.32 file name prefix of a chargeable-data RAP file.
RAP_PREFIX = "RC"


class RapStatus:
    RETURNED = "returned"
    NOT_RETURNABLE = "not_returnable"


@dataclass(frozen=True)
class RapReturns:
    files: list[TapOutFile]  # the RAP files to write
    rows: list[dict[str, Any]]  # RAP_RETURN_SCHEMA


def rap_file_name(partner: str, sequence: int) -> str:
    return f"{RAP_PREFIX}{OPERATOR_TADIG}{partner}{sequence:05d}"


def build_returns(
    layout: Layout,
    billing_period: str,
    returned: Sequence[ReturnedBatch],
    unreadable: Sequence[UnreadableFile],
    earlier_returns: pl.DataFrame,
) -> RapReturns:
    """A RAP for each returned batch (in file date and name order) and a row for each file.

    ``earlier_returns``: every rap_returns row already in the lake (any period).
    """
    _, created = period_times(billing_period)
    numbered = {
        row["file_id"]: int(row["rap_file_sequence_number"])
        for row in earlier_returns.filter(pl.col("rap_file_sequence_number").is_not_null())
        .select("file_id", "rap_file_sequence_number")
        .to_dicts()
    }
    last: dict[str, int] = {}
    for row in earlier_returns.filter(pl.col("rap_file_sequence_number").is_not_null()).to_dicts():
        last[row["tadig"]] = max(last.get(row["tadig"], 0), int(row["rap_file_sequence_number"]))
    out = RapReturns([], [])
    for item in sorted(returned, key=lambda r: (r.file_date, r.file_name)):
        sequence = numbered.get(item.file_id)
        if sequence is None:
            sequence = last.get(item.tadig, 0) % MAX_SEQUENCE + 1
            last[item.tadig] = sequence
        name = rap_file_name(item.tadig, sequence)
        data = tap3.build_rap(
            item.batch, item.reason_detail, rap_file_sequence_number=sequence, created_at=created
        )
        path = layout.outbound / "rap" / item.tadig / name
        out.files.append(TapOutFile(item.tadig, name, Path(path), data))
        out.rows.append(
            {
                "billing_period": billing_period,
                "tadig": item.tadig,
                "file_name": item.file_name,
                "file_id": item.file_id,
                "file_date": item.file_date,
                "file_sequence_number": item.batch.file_sequence_number,
                "reason_code": RejectReason.AUDIT_MISMATCH.value,
                "reason_detail": item.reason_detail,
                "returned_events": len(item.batch.events),
                "returned_charge_micros": item.batch.computed.total_charge_micros,
                "tap_currency": item.batch.tap_currency,
                "rap_status": RapStatus.RETURNED,
                "rap_file_name": name,
                "rap_file_sequence_number": f"{sequence:05d}",
                "rap_created_at": created,
            }
        )
    for file in sorted(unreadable, key=lambda u: (u.file_date, u.file_name)):
        out.rows.append(
            {
                "billing_period": billing_period,
                "tadig": file.tadig,
                "file_name": file.file_name,
                "file_id": file.file_id,
                "file_date": file.file_date,
                "file_sequence_number": None,
                "reason_code": RejectReason.UNREADABLE_FILE.value,
                "reason_detail": file.reason_detail,
                "returned_events": None,
                "returned_charge_micros": None,
                "tap_currency": None,
                "rap_status": RapStatus.NOT_RETURNABLE,
                "rap_file_name": None,
                "rap_file_sequence_number": None,
                "rap_created_at": None,
            }
        )
    return out
