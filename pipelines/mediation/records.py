"""What a feed parser hands to mediation: accepted records and rejected ones.

Every parser exposes ``parse_file(data: bytes, context: FileContext) ->
Iterator[ParsedRecord | RejectedRecord]`` and yields exactly one item per record it finds
(plus file-level rejects with record_number 0), so mediation can count records in,
accepted and rejected without trusting the parser's own totals.

A parser may also expose a columnar fast path, ``parse_file_columnar(data, context) ->
ParsedBatch | None``: the same records as one Arrow table, or None when the file is not
one the fast path reads with certainty (mediation then calls ``parse_file``). For every
file it does not decline, ``ParsedBatch`` must equal ``parsed_batch(parse_file(...))``;
each format's tests prove that on its fixtures, generated files and the public samples.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from pipelines.schema import USAGE_SCHEMA, RejectReason

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

#: Columns only formats that cut one long call or session into partial records fill
#: (3GPP recordSequenceNumber): the key the partials of one session share, the partial's
#: sequence number (1, 2, ...) and whether its closing cause ends the session. A parser
#: may leave them out of ``values``; they are then None (a record that is a whole event).
PARTIAL_COLUMNS = ("session_key", "partial_sequence", "is_last_partial")

#: The table a columnar parser returns: record_number, then every parser column with its
#: usage type, in ascending record_number.
PARSED_SCHEMA = pa.schema(
    [
        pa.field("record_number", pa.int32(), nullable=False),
        *(USAGE_SCHEMA.field(name) for name in (*PARSER_COLUMNS, *PARTIAL_COLUMNS)),
    ]
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


@dataclass(frozen=True)
class ParsedBatch:
    """One file's parser output in columns: accepted records (PARSED_SCHEMA, ascending
    record_number) and every reject, record-level and file-level (record_number 0)."""

    records: pa.Table
    rejects: list[RejectedRecord]


def parsed_batch(items: Iterable[ParsedRecord | RejectedRecord]) -> ParsedBatch:
    """The columnar form of a row parser's items (records sorted by record_number)."""
    records: list[ParsedRecord] = []
    rejects: list[RejectedRecord] = []
    for item in items:
        if isinstance(item, ParsedRecord):
            records.append(item)
        else:
            rejects.append(item)
    records.sort(key=lambda record: record.record_number)
    columns: dict[str, list[Any]] = {name: [] for name in PARSED_SCHEMA.names}
    for record in records:
        columns["record_number"].append(record.record_number)
        for name in PARSED_SCHEMA.names[1:]:
            columns[name].append(record.values.get(name))
    return ParsedBatch(pa.table(columns, schema=PARSED_SCHEMA), rejects)
