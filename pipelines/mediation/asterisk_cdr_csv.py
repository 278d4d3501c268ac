"""Parser for Asterisk ``cdr_csv`` Master.csv files (docs/formats/asterisk_cdr_csv.md).

The file has no header. Each line is one CDR; its column layout is recognised per line by
its column count, because a switch whose cdr.conf changes mid-file writes both layouts.
``map_cdr`` checks and maps one CDR given by column name, for this layout and for the
operator-chosen column orders of ``cdr_custom`` (asterisk_cdr_custom.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.mediation.local_time import CallTimes, best_call_times, local_instants
from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import RowError, read_line_records, whole_seconds
from pipelines.schema import RejectReason

BASE_COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
)
#: Column layouts by column count: base, + loguniqueid/loguserfield, + newcdrcolumns.
#: 17 and 19 columns are deliberately absent: with only one of uniqueid/userfield on, the
#: count cannot tell which one it is (and 19 is also the sample cdr_custom mapping, whose
#: files asterisk_cdr_custom reads by their configured order).
LAYOUTS: dict[int, tuple[str, ...]] = {
    16: BASE_COLUMNS,
    18: (*BASE_COLUMNS, "uniqueid", "userfield"),
    21: (*BASE_COLUMNS, "uniqueid", "userfield", "peeraccount", "linkedid", "sequence"),
}

#: The columns a CDR needs to become a usage record (uniqueid, sequence, linkedid are optional).
REQUIRED_COLUMNS = (
    "src",
    "dst",
    "dcontext",
    "channel",
    "dstchannel",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
)

#: Dialplan contexts that receive calls from other networks; every other context is a
#: subscriber's own dialling.
INBOUND_CONTEXTS = frozenset({"from-trunk", "from-pstn"})
#: Caller ids a carrier presents for a withheld or unknown caller (compared lowercased).
WITHHELD_CALLERS = frozenset({"", "anonymous", "restricted", "unavailable", "unknown"})
#: Asterisk with ``initiatedseconds=yes`` rounds billsec up from half a second, so billsec
#: can exceed duration (which is truncated) by one second; more than that is impossible.
BILLSEC_OVER_DURATION_TOLERANCE = 1

#: The technology of Asterisk's dialplan loopback channels, ``Local/<exten>@<context>-<n>;<1|2>``.
LOCAL_CHANNEL = "Local"
# A channel's peer is a 10-digit number for a subscriber's own endpoint (on-net), any
# other name for a trunk group.
_SUBSCRIBER_ENDPOINT = re.compile(r"[0-9]{10}")


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one ParsedRecord or RejectedRecord per non-blank line of a Master.csv file.

    record_number is the 1-based line number. Blank lines carry no record and are skipped
    (their numbers are not reused). A file without any record yields a single EMPTY_FILE
    reject with record_number 0. Lines are parsed one at a time so that an unclosed quote
    spoils only its own line: Python's csv module, reading a whole file, would silently
    swallow every following line into the open field.
    """
    tz = ZoneInfo(context.timezone)
    yield from read_line_records(data, lambda fields: _parse_row(fields, tz))


def _parse_row(fields: list[str], tz: ZoneInfo) -> dict[str, Any]:
    layout = LAYOUTS.get(len(fields))
    if layout is None:
        raise RowError(
            RejectReason.UNKNOWN_COLUMN_LAYOUT,
            f"{len(fields)} columns; cdr_csv layouts have {', '.join(map(str, LAYOUTS))}",
        )
    return map_cdr(dict(zip(layout, fields, strict=True)), fields, tz)


def map_cdr(row: Mapping[str, str], fields: list[str], tz: ZoneInfo) -> dict[str, Any]:
    """Check one CDR and map it to the usage values; raise RowError to reject it.

    ``row`` maps Asterisk's CDR column names to the line's texts; it must have at least
    ``REQUIRED_COLUMNS`` and may have uniqueid, sequence and linkedid. ``fields`` is the
    line's fields in file order: a CDR without a uniqueid is keyed by their hash.
    """
    for column in ("src", "dst", "start", "end", "duration", "billsec", "disposition"):
        if not row[column].strip() and not (column == "src" and _is_inbound(row)):
            raise RowError(RejectReason.MISSING_FIELD, f"{column} is empty")

    duration = whole_seconds("duration", row["duration"].strip())
    billsec = whole_seconds("billsec", row["billsec"].strip())
    if billsec > duration + BILLSEC_OVER_DURATION_TOLERANCE:
        raise RowError(
            RejectReason.INVALID_DURATION,
            f"billsec {billsec} exceeds duration {duration}: billed time cannot exceed the call",
        )
    if billsec > 0 and not row["answer"]:
        raise RowError(RejectReason.INVALID_DURATION, f"billsec {billsec} without an answer time")
    started_at, answered_at, ended_at = _call_times(row, duration, billsec, tz)

    inbound = _is_inbound(row)
    try:
        if inbound:
            served = normalise_number(row["dst"])
            caller = row["src"].strip()
            other = None if caller.lower() in WITHHELD_CALLERS else normalise_number(caller)
        else:
            served = normalise_number(row["src"])
            other = normalise_number(row["dst"])
    except InvalidNumberError as exc:
        raise RowError(RejectReason.INVALID_NUMBER, str(exc)) from exc

    return {
        "record_key": _record_key(row, fields),
        "record_type": "voice_mt" if inbound else "voice_mo",
        "service": "voice",
        "direction": "inbound" if inbound else "outbound",
        "served_msisdn": served,
        "served_imsi": None,
        "served_imei": None,
        "other_party_number": other,
        "started_at": started_at,
        "answered_at": answered_at,
        "ended_at": ended_at,
        "duration_seconds": billsec,
        "uplink_bytes": 0,
        "downlink_bytes": 0,
        "data_volume_bytes": 0,
        "is_answered": row["disposition"] == "ANSWERED" and billsec > 0,
        "release_cause": row["disposition"],
        "outgoing_trunk_group": None if inbound else _trunk_group(row["dstchannel"]),
        "incoming_trunk_group": _trunk_group(row["channel"]) if inbound else None,
        "cell_id": None,
        # The legs of one call (a fork, a failover retry, a transfer) share the linkedid;
        # consolidation collapses them into the call (pipelines/mediation/sessions.py).
        "session_key": row.get("linkedid") or None,
    }


def _is_inbound(row: Mapping[str, str]) -> bool:
    return row["dcontext"] in INBOUND_CONTEXTS


def _call_times(row: Mapping[str, str], duration: int, billsec: int, tz: ZoneInfo) -> CallTimes:
    """Convert start, answer and end from switch local time to UTC (see local_time)."""
    answer = row["answer"]
    return best_call_times(
        local_instants("start", row["start"], tz),
        local_instants("answer", answer, tz) if answer else [],
        local_instants("end", row["end"], tz),
        duration,
        billsec,
        (row["start"], answer, row["end"]),
    )


def _trunk_group(channel: str) -> str | None:
    """The trunk group of a channel name ``<tech>/<peer>-<hex>``; None for a subscriber,
    and for a Local channel (a dialplan loopback: the real trunk is on another leg)."""
    tech, slash, rest = channel.partition("/")
    peer, dash, _ = rest.rpartition("-")
    if tech == LOCAL_CHANNEL:
        return None
    if not slash or not dash or not peer or _SUBSCRIBER_ENDPOINT.fullmatch(peer):
        return None
    return peer


def _record_key(row: Mapping[str, str], fields: list[str]) -> str:
    """The CDR's natural key: uniqueid (with sequence when written), else a row hash.

    Asterisk 12+ writes several CDRs for one channel after a transfer or fork; they share
    the uniqueid and differ in sequence, so uniqueid alone would drop real calls as
    duplicates. The 16-column layout has no id at all: identical rows are the same CDR.
    """
    uniqueid = row.get("uniqueid", "")
    if not uniqueid:
        digest = hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()
        return f"row:{digest[:32]}"
    if "sequence" in row:
        return f"{uniqueid}#{row['sequence']}"
    return uniqueid
