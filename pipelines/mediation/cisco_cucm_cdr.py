"""Parser for Cisco Unified CM CDR flat files (docs/formats/cisco_cucm_cdr.md).

A file is ``cdr_<cluster>_<node>_<yyyymmddhhmm>_<seq>``: a line of quoted field names, a
line of field types, then one call detail record per line. Columns are found by name,
because every CUCM release appends fields; times are epoch seconds in UTC.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import RowError, parse_line_record, split_lines
from pipelines.schema import RejectReason

#: Columns the parser reads; a header without one of them is an unknown layout. Every CUCM
#: release since 6.x writes all of them (later releases only append columns).
REQUIRED_COLUMNS = (
    "cdrRecordType",
    "globalCallID_callManagerId",
    "globalCallID_callId",
    "origLegCallIdentifier",
    "destLegIdentifier",
    "dateTimeOrigination",
    "dateTimeConnect",
    "dateTimeDisconnect",
    "duration",
    "callingPartyNumber",
    "finalCalledPartyNumber",
    "lastRedirectDn",
    "origCause_value",
    "destCause_value",
    "origDeviceName",
    "destDeviceName",
)
#: Other spellings of a required column. Cisco's field tables name the destination leg
#: ``destLegCallIdentifier`` while the files CUCM writes say ``destLegIdentifier``.
COLUMN_ALIASES = {"destlegcallidentifier": "destlegidentifier"}

#: cdrRecordType values (Cisco: 0 start record, not used; 1 CDR; 2 CMR).
CDR_RECORD_TYPE = "1"
OTHER_RECORD_TYPES = {
    "0": "start record (type 0): CUCM documents it as not used",
    "2": "CMR (call management record): quality data, not usage",
}

#: CUCM computes duration from millisecond times and writes whole seconds, so duration can
#: differ from dateTimeDisconnect - dateTimeConnect by one second (a 0.9 s call spanning a
#: second boundary has duration 0 and a one-second difference).
DURATION_TOLERANCE_SECONDS = 1

#: Call termination causes CUCM writes in origCause_value / destCause_value: ITU-T Q.850
#: causes and Cisco's own, named as in Cisco's CDR Administration Guide, "Call termination
#: cause codes". Inlined because users have no copy of that table at run time.
Q850_CAUSES: dict[int, str] = {
    0: "No error",
    1: "Unallocated (unassigned) number",
    2: "No route to specified transit network (national use)",
    3: "No route to destination",
    4: "Send special information tone",
    5: "Misdialed trunk prefix (national use)",
    6: "Channel unacceptable",
    7: "Call awarded and being delivered in an established channel",
    8: "Preemption",
    9: "Preemption - circuit reserved for reuse",
    16: "Normal call clearing",
    17: "User busy",
    18: "No user responding",
    19: "No answer from user (user alerted)",
    20: "Subscriber absent",
    21: "Call rejected",
    22: "Number changed",
    26: "Non-selected user clearing",
    27: "Destination out of order",
    28: "Invalid number format (address incomplete)",
    29: "Facility rejected",
    30: "Response to STATUS ENQUIRY",
    31: "Normal, unspecified",
    34: "No circuit/channel available",
    38: "Network out of order",
    39: "Permanent frame mode connection out of service",
    40: "Permanent frame mode connection operational",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    43: "Access information discarded",
    44: "Requested circuit/channel not available",
    46: "Precedence call blocked",
    47: "Resource unavailable, unspecified",
    49: "Quality of Service not available",
    50: "Requested facility not subscribed",
    53: "Service operation violated",
    54: "Incoming calls barred",
    55: "Incoming calls barred within Closed User Group (CUG)",
    57: "Bearer capability not authorized",
    58: "Bearer capability not presently available",
    62: "Inconsistency in designated outgoing access information and subscriber class",
    63: "Service or option not available, unspecified",
    65: "Bearer capability not implemented",
    66: "Channel type not implemented",
    69: "Requested facility not implemented",
    70: "Only restricted digital information bearer capability is available (national use)",
    79: "Service or option not implemented, unspecified",
    81: "Invalid call reference value",
    82: "Identified channel does not exist",
    83: "A suspended call exists, but this call identity does not",
    84: "Call identity in use",
    85: "No call suspended",
    86: "Call having the requested call identity has been cleared",
    87: "User not member of CUG (Closed User Group)",
    88: "Incompatible destination",
    90: "Destination number missing and DC not subscribed",
    91: "Invalid transit network selection (national use)",
    95: "Invalid message, unspecified",
    96: "Mandatory information element is missing",
    97: "Message type nonexistent or not implemented",
    98: (
        "Message is not compatible with the call state, or the message type is nonexistent "
        "or not implemented"
    ),
    99: "An information element or parameter does not exist or is not implemented",
    100: "Invalid information element contents",
    101: "The message is not compatible with the call state",
    102: (
        "Call terminated when timer expired; a recovery routine executed to recover from the error"
    ),
    103: "Parameter nonexistent or not implemented - passed on (national use)",
    110: "Message with unrecognized parameter discarded",
    111: "Protocol error, unspecified",
    122: "Precedence Level Exceeded",
    123: "Device not Preemptable",
    125: "Out of bandwidth (Cisco specific)",
    126: "Call split (Cisco specific)",
    127: "Interworking, unspecified",
    129: "Precedence out of bandwidth",
    131: "Call Control Discovery PSTN Failover (Cisco specific)",
    262144: "Conference Full",
    393216: "Call split",
    458752: "Conference drop any party/Conference drop last party",
}
#: Causes CUCM writes for a call a SIP response ended: an index in the high byte, the Q.850
#: equivalent in the low byte (0x46000011 = 486 Busy Here, cause 17 User busy). Values as
#: Cisco's table lists them; names are the RFC 3261 reason phrases.
SIP_CAUSES: dict[int, tuple[int, str]] = {
    16777257: (400, "Bad Request"),
    33554453: (401, "Unauthorized"),
    50331669: (402, "Payment Required"),
    67108885: (403, "Forbidden"),
    83886081: (404, "Not Found"),
    100663359: (405, "Method Not Allowed"),
    117440591: (406, "Not Acceptable"),
    134217749: (407, "Proxy Authentication Required"),
    150995046: (408, "Request Timeout"),
    184549398: (410, "Gone"),
    201326719: (411, "Length Required"),
    234881151: (413, "Request Entity Too Large"),
    251658367: (414, "Request-URI Too Long"),
    268435535: (415, "Unsupported Media Type"),
    285212799: (416, "Unsupported URI Scheme"),
    83886207: (420, "Bad Extension"),
    369098879: (421, "Extension Required"),
    402653311: (423, "Interval Too Brief"),
    1073741842: (480, "Temporarily Unavailable"),
    1090519081: (481, "Call/Transaction Does Not Exist"),
    1107296281: (482, "Loop Detected"),
    1124073497: (483, "Too Many Hops"),
    1140850716: (484, "Address Incomplete"),
    1157627905: (485, "Ambiguous"),
    1174405137: (486, "Busy Here"),
    1191182367: (487, "Request Terminated"),
    1207959583: (488, "Not Acceptable Here"),
    1258291217: (491, "Request Pending"),
    1291845649: (493, "Undecipherable"),
    1409286185: (500, "Server Internal Error"),
    1442840614: (502, "Bad Gateway"),
    1459617833: (503, "Service Unavailable"),
    1476395110: (504, "Server Time-out"),
    1493172351: (505, "Version Not Supported"),
    1509949567: (513, "Message Too Large"),
    2701131793: (600, "Busy Everywhere"),
    2717909013: (603, "Decline"),
    2734686209: (604, "Does Not Exist Anywhere"),
    2751463455: (606, "Not Acceptable"),
}
CAUSE_NAMES: dict[int, str] = {
    **Q850_CAUSES,
    **{code: f"SIP {status} {phrase}" for code, (status, phrase) in SIP_CAUSES.items()},
}

# The sequence number is stored as a BIGINT (and int() refuses 4,301 digits and more).
_FILE_NAME = re.compile(
    r"cdr_(?P<cluster>[A-Za-z0-9._-]+)_(?P<node>[0-9]+)_(?P<stamp>[0-9]{12})_(?P<seq>[0-9]{1,18})"
)
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIELD_TYPE = re.compile(r"[A-Za-z]+(\([0-9]+\))?")
# Bounded digit counts: identifiers and causes are 32-bit, epoch seconds fit in 12 digits;
# the bounds also keep int() away from its 4300-digit limit on hostile input.
_IDENTIFIER = re.compile(r"[0-9]{1,10}")
_CAUSE = re.compile(r"-?[0-9]{1,10}")
_EPOCH = re.compile(r"[0-9]{1,12}")


class InvalidFileNameError(ValueError):
    """A file name that is not ``cdr_<cluster>_<node>_<yyyymmddhhmm>_<seq>``."""


class CucmFileName(NamedTuple):
    """The parts of a CDR file name."""

    cluster: str
    node: str  # as written, leading zeros kept ("01")
    closed_at: datetime  # the minute in the name, UTC
    sequence: int


@dataclass(frozen=True)
class TrunkRule:
    """Which devices are trunks or gateways (the network edge) rather than phones.

    A device is a trunk when its name starts with one of ``prefixes`` or equals one of
    ``names``, compared case-insensitively (CUCM device names are unique regardless of case).
    """

    prefixes: tuple[str, ...] = ("SIP",)
    names: frozenset[str] = frozenset()

    def is_trunk(self, device_name: str) -> bool:
        name = device_name.strip().upper()
        if not name:
            return False
        return name in {n.upper() for n in self.names} or name.startswith(
            tuple(p.upper() for p in self.prefixes)
        )


DEFAULT_TRUNKS = TrunkRule()

#: The natural key of a CDR: the call (global call id) and its two legs.
_KEY_COLUMNS = (
    "globalCallID_callManagerId",
    "globalCallID_callId",
    "origLegCallIdentifier",
    "destLegIdentifier",
)
# CUCM fills these in every CDR; the numbers and destDeviceName may be empty (a caller that
# sent no number, a call that never reached a device), so they are checked where used.
_NEVER_EMPTY = (
    *_KEY_COLUMNS,
    "dateTimeOrigination",
    "dateTimeConnect",
    "dateTimeDisconnect",
    "duration",
    "origCause_value",
    "destCause_value",
    "origDeviceName",
)


def parse_file_name(name: str) -> CucmFileName:
    """Split ``cdr_<cluster>_<node>_<yyyymmddhhmm UTC>_<seq>`` into its parts.

    Raises InvalidFileNameError when the name has another shape or its minute does not exist.
    """
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        raise InvalidFileNameError(
            f"{name!r} is not cdr_<cluster>_<node>_<yyyymmddhhmm>_<sequence>"
        )
    try:
        closed_at = datetime.strptime(match["stamp"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidFileNameError(f"{name!r}: {match['stamp']} is not a time: {exc}") from exc
    return CucmFileName(match["cluster"], match["node"], closed_at, int(match["seq"]))


def parse_file(
    data: bytes, context: FileContext, *, trunks: TrunkRule = DEFAULT_TRUNKS
) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one ParsedRecord or RejectedRecord per data row of a CUCM CDR flat file.

    Line 1 names the fields and line 2 gives their types; every later non-blank line is a
    data row, numbered from 1. A file without any non-blank line, or with the two header
    lines only, is one EMPTY_FILE reject (record_number 0). A header that cannot be read is
    one UNREADABLE_FILE reject, and a header lacking a required column one
    UNKNOWN_COLUMN_LAYOUT reject, both with record_number 0; the rows of such a file are
    each rejected as UNKNOWN_COLUMN_LAYOUT, so that every row is still counted. Times are
    UTC epoch seconds: ``context.timezone`` is not needed.
    """
    lines = split_lines(data)
    if not any(line.strip() for line in lines):
        yield RejectedRecord(0, RejectReason.EMPTY_FILE, f"{len(data)} bytes, no line", "")
        return
    rows = [line for line in lines[2:] if line.strip()]
    header_text = b"\n".join(lines[:2]).decode("utf-8", errors="backslashreplace")
    layout_problem = None
    try:
        columns = _read_header(lines[0], lines[1] if len(lines) > 1 else None)
    except RowError as rejection:
        yield RejectedRecord(0, rejection.reason, rejection.detail, header_text)
        layout_problem = f"the file header is unreadable: {rejection.detail}"
        columns = {}
    else:
        missing = [c for c in REQUIRED_COLUMNS if c.lower() not in columns]
        if missing:
            layout_problem = f"the header lacks {', '.join(missing)}"
            yield RejectedRecord(0, RejectReason.UNKNOWN_COLUMN_LAYOUT, layout_problem, header_text)
        elif not rows:
            yield RejectedRecord(0, RejectReason.EMPTY_FILE, "header lines only, no CDR", "")
    for number, raw in enumerate(rows, start=1):
        if layout_problem is not None:
            text = raw.decode("utf-8", errors="backslashreplace")
            yield RejectedRecord(number, RejectReason.UNKNOWN_COLUMN_LAYOUT, layout_problem, text)
            continue
        yield parse_line_record(number, raw, lambda fields: _parse_row(fields, columns, trunks))


def group_legs(records: Iterable[ParsedRecord]) -> dict[str, list[ParsedRecord]]:
    """Group records by call: ``<globalCallID_callManagerId>:<globalCallID_callId>``.

    CUCM writes one CDR per call leg (transfers, conferences and forwards add legs); all legs
    of one call share the global call id, which opens every record_key. Records keep their
    input order within a call.
    """
    calls: dict[str, list[ParsedRecord]] = {}
    for record in records:
        manager_id, call_id, _ = record.values["record_key"].split(":", 2)
        calls.setdefault(f"{manager_id}:{call_id}", []).append(record)
    return calls


def _read_header(names_line: bytes, types_line: bytes | None) -> dict[str, int]:
    """Map lower-cased field names (aliases resolved) to column positions."""
    names = _csv_fields(names_line, "field-name line")
    if not all(_FIELD_NAME.fullmatch(name) for name in names):
        raise RowError(
            RejectReason.UNREADABLE_FILE, "line 1 is not a list of field names (CDR header)"
        )
    if types_line is None or not types_line.strip():
        raise RowError(RejectReason.UNREADABLE_FILE, "no field-type line after the header")
    types = _csv_fields(types_line, "field-type line")
    if len(types) != len(names) or not all(_FIELD_TYPE.fullmatch(t) for t in types):
        raise RowError(
            RejectReason.UNREADABLE_FILE,
            f"line 2 is not {len(names)} field types (INTEGER, VARCHAR(n), ...)",
        )
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        key = COLUMN_ALIASES.get(name.lower(), name.lower())
        if key in columns:
            raise RowError(RejectReason.UNREADABLE_FILE, f"field {name} appears twice")
        columns[key] = position
    return columns


def _csv_fields(line: bytes, what: str) -> list[str]:
    try:
        return next(csv.reader([line.decode("utf-8")], strict=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RowError(RejectReason.UNREADABLE_FILE, f"{what}: {exc}") from exc


def _parse_row(fields: list[str], columns: dict[str, int], trunks: TrunkRule) -> dict[str, Any]:
    # The record type first: a CMR row has its own, shorter layout and is named as a CMR
    # rather than as a row with the wrong column count.
    type_position = columns["cdrrecordtype"]
    record_type = fields[type_position].strip() if type_position < len(fields) else ""
    if record_type in OTHER_RECORD_TYPES:
        raise RowError(RejectReason.UNSUPPORTED_RECORD_TYPE, OTHER_RECORD_TYPES[record_type])
    if len(fields) != len(columns):
        raise RowError(
            RejectReason.MALFORMED_ROW, f"{len(fields)} columns; the header names {len(columns)}"
        )
    row = {name.lower(): fields[columns[name.lower()]].strip() for name in REQUIRED_COLUMNS}
    if record_type != CDR_RECORD_TYPE:
        if not record_type:
            raise RowError(RejectReason.MISSING_FIELD, "cdrRecordType is empty")
        raise RowError(
            RejectReason.UNSUPPORTED_RECORD_TYPE, f"cdrRecordType {record_type!r} is not 1 (CDR)"
        )
    for name in _NEVER_EMPTY:
        if not row[name.lower()]:
            raise RowError(RejectReason.MISSING_FIELD, f"{name} is empty")

    key_parts = [_identifier(row, name) for name in _KEY_COLUMNS]
    duration = _duration(row)
    started_at, answered_at, ended_at = _call_times(row, duration)
    release_cause = _release_cause(row)
    return {
        "record_key": ":".join(key_parts),
        **_parties(row, trunks),
        "service": "voice",
        "served_imsi": None,
        "served_imei": None,
        "started_at": started_at,
        "answered_at": answered_at,
        "ended_at": ended_at,
        "duration_seconds": duration,
        "uplink_bytes": 0,
        "downlink_bytes": 0,
        "data_volume_bytes": 0,
        "is_answered": answered_at is not None,
        "release_cause": release_cause,
        "cell_id": None,
    }


def _identifier(row: dict[str, str], name: str) -> str:
    value = row[name.lower()]
    if not _IDENTIFIER.fullmatch(value):
        raise RowError(RejectReason.MALFORMED_ROW, f"{name} {value!r} is not an INTEGER id")
    return str(int(value))


def _duration(row: dict[str, str]) -> int:
    value = row["duration"]
    if not _IDENTIFIER.fullmatch(value):
        raise RowError(
            RejectReason.INVALID_DURATION,
            f"duration {value!r} is not a whole non-negative number of seconds",
        )
    return int(value)


def _call_times(row: dict[str, str], duration: int) -> tuple[datetime, datetime | None, datetime]:
    """Read the three epoch times; check their order and that duration matches them."""
    origination = _epoch(row, "dateTimeOrigination")
    connect = _epoch(row, "dateTimeConnect")
    disconnect = _epoch(row, "dateTimeDisconnect")
    if origination == 0 or disconnect == 0:
        zero = "dateTimeOrigination" if origination == 0 else "dateTimeDisconnect"
        raise RowError(
            RejectReason.INVALID_TIMESTAMP, f"{zero} is 0 (only a call's connect may be)"
        )
    if not origination <= disconnect or (connect and not origination <= connect <= disconnect):
        raise RowError(
            RejectReason.INVALID_TIMESTAMP,
            f"times out of order: origination {origination}, connect {connect}, "
            f"disconnect {disconnect}",
        )
    connected_seconds = disconnect - connect if connect else 0
    if abs(duration - connected_seconds) > DURATION_TOLERANCE_SECONDS:
        raise RowError(
            RejectReason.INVALID_DURATION,
            f"duration {duration} but connected for {connected_seconds} s by the times",
        )
    try:
        started_at, ended_at = (datetime.fromtimestamp(t, UTC) for t in (origination, disconnect))
        answered_at = datetime.fromtimestamp(connect, UTC) if connect else None
    except (OverflowError, OSError, ValueError) as exc:
        raise RowError(RejectReason.INVALID_TIMESTAMP, f"time out of range: {exc}") from exc
    return started_at, answered_at, ended_at


def _epoch(row: dict[str, str], name: str) -> int:
    value = row[name.lower()]
    if not _EPOCH.fullmatch(value):
        raise RowError(
            RejectReason.INVALID_TIMESTAMP, f"{name} {value!r} is not epoch seconds (UTC)"
        )
    return int(value)


def _release_cause(row: dict[str, str]) -> str:
    """Name the cause that ended the call: origCause_value, else destCause_value.

    CUCM writes the cause on the side that cleared the call and 0 on the other, so the first
    non-zero of the two is the reason; both zero is "No error".
    """
    causes = []
    for name in ("origCause_value", "destCause_value"):
        value = row[name.lower()]
        if not _CAUSE.fullmatch(value):
            raise RowError(RejectReason.MALFORMED_ROW, f"{name} {value!r} is not an INTEGER")
        causes.append(int(value))
    cause = next((c for c in causes if c != 0), 0)
    return CAUSE_NAMES.get(cause, f"Unknown cause {cause}")


def _parties(row: dict[str, str], trunks: TrunkRule) -> dict[str, Any]:
    """Direction, numbers and trunk groups, from which side of the call is a trunk."""
    orig_device, dest_device = row["origdevicename"], row["destdevicename"]
    from_trunk, to_trunk = trunks.is_trunk(orig_device), trunks.is_trunk(dest_device)
    if from_trunk and not to_trunk:
        caller = row["callingpartynumber"]
        return {
            "record_type": "voice_mt",
            "direction": "inbound",
            "served_msisdn": _number(row, "finalCalledPartyNumber"),
            # A caller that sent no number: the call is still the subscriber's usage.
            "other_party_number": _number(row, "callingPartyNumber") if caller else None,
            "outgoing_trunk_group": None,
            "incoming_trunk_group": orig_device,
        }
    # Trunk to trunk is a call our subscriber forwarded back out: the forwarding subscriber
    # (the last redirecting number) pays the outgoing leg.
    served_column = "lastRedirectDn" if from_trunk else "callingPartyNumber"
    return {
        "record_type": "voice_mo",
        "direction": "outbound",
        "served_msisdn": _number(row, served_column),
        "other_party_number": _number(row, "finalCalledPartyNumber"),
        "outgoing_trunk_group": dest_device if to_trunk else None,
        "incoming_trunk_group": orig_device if from_trunk else None,
    }


def _number(row: dict[str, str], name: str) -> str:
    value = row[name.lower()]
    if not value:
        raise RowError(RejectReason.MISSING_FIELD, f"{name} is empty")
    try:
        return normalise_number(value)
    except InvalidNumberError as exc:
        raise RowError(RejectReason.INVALID_NUMBER, f"{name}: {exc}") from exc
