"""What a feed parser hands to mediation: accepted records and rejected ones.

Every parser exposes ``parse_file(data: bytes, context: FileContext) ->
Iterator[ParsedRecord | RejectedRecord]`` and yields exactly one item per record it finds
(plus file-level rejects with record_number 0), so mediation can count records in,
accepted and rejected without trusting the parser's own totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.schema import RejectReason

#: Canonical usage columns a parser fills; mediation adds usage_id, file_id, file_name,
#: feed, switch_id and file_date.
PARSER_COLUMNS = (
    "record_key",
    "record_type",
    "service",
    "direction",
    "served_msisdn",
    "served_imsi",
    "served_imei",
    "other_party_number",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "uplink_bytes",
    "downlink_bytes",
    "data_volume_bytes",
    "is_answered",
    "release_cause",
    "outgoing_trunk_group",
    "incoming_trunk_group",
    "cell_id",
)


@dataclass(frozen=True)
class FileContext:
    """What a parser may know about the file besides its bytes."""

    file_name: str
    switch_id: str
    timezone: str  # IANA name of the switch clock, for formats that write local times
    file_sequence_number: int | None = None


@dataclass(frozen=True)
class ParsedRecord:
    record_number: int
    values: dict[str, Any] = field(repr=False)  # keys: PARSER_COLUMNS; times UTC-aware


@dataclass(frozen=True)
class RejectedRecord:
    record_number: int  # 0: the whole file
    reason: RejectReason
    detail: str
    raw_text: str
