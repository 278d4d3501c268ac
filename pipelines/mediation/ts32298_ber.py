"""Parser of the ``ts32298_ber`` feed: TS 32.297 CDR files of TS 32.298 BER records.

``parse_file`` yields one item per CDR in file order (record_number = 1-based CDR
position), plus a record-0 reject when the whole file is refused:

- 0-byte file: EMPTY_FILE (record 0), nothing else;
- unreadable file header: UNREADABLE_FILE (record 0), nothing else;
- a CDR whose header or declared length runs past the end of the file: one
  TRUNCATED_RECORD for it (raw_text: hex of every remaining byte), and parsing stops;
- a CDR that is not BER, or that BER decoding refuses: UNDECODABLE_RECORD;
- a CallEventRecord alternative other than MO/MT call, MO/MT SMS and PGW: UNSUPPORTED_RECORD_TYPE;
- a record lacking a field the canonical row needs: MISSING_FIELD; an unreadable number or
  TimeStamp: INVALID_NUMBER / INVALID_TIMESTAMP; a PGW recordSequenceNumber or a call's
  sequenceNumber outside 0..PARTIAL_SEQUENCE_MAX: INVALID_NUMBER;
- a negative callDuration or PGW duration: INVALID_DURATION; a negative traffic volume:
  INVALID_VOLUME.

A pGWRecord with a recordSequenceNumber, or an MO/MT call record with a sequenceNumber, is
one partial record of a longer session or call: its values also hold PARTIAL_COLUMNS
(session_key, partial_sequence, is_last_partial; None on a record without one). SMS records
leave them out. A call partial after the first (sequenceNumber > 1) is answered even
without answerTime (the MSC writes it on the first partial only), so it keeps callDuration.

The file header's CDR count is not used to drop or invent records. A caller that wants to
compare it with what was found calls ``read_header(data)`` and compares
``frame.header.cdr_count`` with the number of records parse_file yielded (record_number > 0).
docs/formats/ts32298.md documents the field mapping.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pipelines.formats import ts32298
from pipelines.formats.ts32297 import (
    DATA_RECORD_FORMAT_BER,
    FileFrame,
    TruncatedCdrError,
    Ts32297Error,
    decode_file_header,
    iter_cdrs,
)
from pipelines.mediation.records import PARSER_COLUMNS, FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.ts32298_codes import PARTIAL_SEQUENCE_MAX, RECORD_TYPES
from pipelines.schema import RejectReason

#: pycrate decodes into shared objects (its compiled record types, and the field decoders
#: pipelines.formats.ts32298 reuses), so one record is decoded at a time, also when two
#: files are parsed on two threads (mediation's stage): otherwise each would read values
#: of the other's records.
_DECODING = threading.Lock()


class _RecordError(Exception):
    """A decoded record that cannot become a canonical row."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_header(data: bytes) -> FileFrame | None:
    """The file's TS 32.297 header (declared file length, CDR count, sequence number, ...),
    or None when the file is empty or its header unreadable (parse_file rejects it then)."""
    try:
        return decode_file_header(data)
    except Ts32297Error:
        return None


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Parse a TS 32.297 CDR file into canonical usage records and rejects (see module doc).

    Never raises on any input. ``context`` is unused: TS 32.298 TimeStamps carry their own
    UTC offset.
    """
    if not data:
        yield RejectedRecord(0, RejectReason.EMPTY_FILE, "file has 0 bytes", "")
        return
    try:
        frame = decode_file_header(data)
    except Ts32297Error as error:
        yield RejectedRecord(0, RejectReason.UNREADABLE_FILE, str(error), data[:64].hex())
        return
    record_number = 0
    try:
        for cdr in iter_cdrs(data, frame.header_length):
            record_number += 1
            yield _parse_cdr(record_number, cdr.header.data_record_format, cdr.payload)
    except TruncatedCdrError as error:
        yield RejectedRecord(
            record_number + 1, RejectReason.TRUNCATED_RECORD, str(error), error.remaining.hex()
        )


def _parse_cdr(
    record_number: int, data_format: int, payload: bytes
) -> ParsedRecord | RejectedRecord:
    with _DECODING:
        return _decode_cdr(record_number, data_format, payload)


def _decode_cdr(
    record_number: int, data_format: int, payload: bytes
) -> ParsedRecord | RejectedRecord:
    if data_format != DATA_RECORD_FORMAT_BER:
        return RejectedRecord(
            record_number,
            RejectReason.UNDECODABLE_RECORD,
            f"data record format {data_format} is not BER",
            payload.hex(),
        )
    try:
        alternative, record = ts32298.decode_call_event_record(payload)
    except ts32298.UndecodableRecordError as error:
        return RejectedRecord(
            record_number, RejectReason.UNDECODABLE_RECORD, str(error), payload.hex()
        )
    if alternative not in RECORD_TYPES:
        return RejectedRecord(
            record_number,
            RejectReason.UNSUPPORTED_RECORD_TYPE,
            f"CallEventRecord alternative {alternative} is not mapped",
            payload.hex(),
        )
    try:
        values = _canonical(alternative, record)
    except _RecordError as error:
        return RejectedRecord(record_number, error.reason, error.detail, payload.hex())
    return ParsedRecord(record_number, values)


def _after(moment: datetime, seconds: int, field: str) -> datetime:
    """``moment`` plus a duration the switch wrote; one past the calendar is a bad record."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError as error:
        raise _RecordError(
            RejectReason.INVALID_DURATION, f"{field} {seconds} s runs past the calendar"
        ) from error


def _seconds(record: dict[str, Any], field: str) -> int:
    """A required duration field: whole seconds, never negative (a call cannot last less
    than nothing; the text formats and TAP refuse it too)."""
    seconds = int(_required(record, field))
    if seconds < 0:
        raise _RecordError(RejectReason.INVALID_DURATION, f"{field} {seconds} is negative")
    return seconds


def _required(record: dict[str, Any], field: str) -> Any:
    if field not in record:
        raise _RecordError(RejectReason.MISSING_FIELD, f"{field} is missing")
    return record[field]


def _time(record: dict[str, Any], field: str) -> datetime | None:
    if field not in record:
        return None
    try:
        return ts32298.decode_timestamp(record[field])
    except ValueError as error:
        raise _RecordError(RejectReason.INVALID_TIMESTAMP, f"{field}: {error}") from error


def _number(record: dict[str, Any], field: str, decode: Any) -> str | None:
    if field not in record:
        return None
    # pycrate's number codecs raise assorted errors on malformed octets.
    try:
        _, digits = decode(record[field])
    except Exception as error:
        raise _RecordError(RejectReason.INVALID_NUMBER, f"{field}: {error}") from error
    if not digits:
        raise _RecordError(RejectReason.INVALID_NUMBER, f"{field} holds no digits")
    return str(digits)


def _tbcd(record: dict[str, Any], field: str) -> str | None:
    if field not in record:
        return None
    digits = ts32298.decode_tbcd(record[field])
    if not digits:
        raise _RecordError(RejectReason.INVALID_NUMBER, f"{field} holds no digits")
    return digits


def _integer(octets: bytes) -> int:
    return int.from_bytes(octets, "big")


def _cell(record: dict[str, Any]) -> str | None:
    location = record.get("location")
    if location is None:
        return None
    lac, ci = _integer(location["locationAreaCode"]), _integer(location["cellId"])
    if "mCC-MNC" not in location:
        return f"{lac}-{ci}"
    try:
        plmn = ts32298.decode_plmn(location["mCC-MNC"])
    except Exception as error:  # pycrate's PLMN codec raises assorted errors
        raise _RecordError(RejectReason.INVALID_NUMBER, f"mCC-MNC: {error}") from error
    return ts32298.format_cell_id(plmn, lac, ci)


def _trunk(record: dict[str, Any], field: str) -> str | None:
    if field not in record:
        return None
    _, value = record[field]  # tkgpName (text) or tkgpNumber (integer)
    return str(value)


def _canonical(alternative: str, record: dict[str, Any]) -> dict[str, Any]:
    record_type, service, direction = RECORD_TYPES[alternative]
    values: dict[str, Any] = dict.fromkeys(PARSER_COLUMNS)
    values.update(
        record_type=record_type,
        service=service,
        direction=direction,
        served_imsi=_tbcd(record, "servedIMSI"),
        served_imei=_tbcd(record, "servedIMEI"),
        uplink_bytes=0,
        downlink_bytes=0,
        data_volume_bytes=0,
    )
    if service == "voice":
        _call_values(alternative, record, values)
    elif service == "sms":
        _sms_values(alternative, record, values)
    else:
        _pgw_values(record, values)
    if values["served_msisdn"] is None:
        raise _RecordError(RejectReason.MISSING_FIELD, "servedMSISDN is missing")
    return values


def _msisdn(record: dict[str, Any], alternative: str) -> str | None:
    # MTCallRecord types servedMSISDN as a BCDDirectoryNumber, the others as AddressString;
    # both open with the TON/NPI octet and carry the same digits.
    decode = (
        ts32298.decode_bcd_directory_number
        if alternative == "mtCallRecord"
        else ts32298.decode_address_string
    )
    return _number(record, "servedMSISDN", decode)


def _recording_entity(record: dict[str, Any]) -> str:
    _required(record, "recordingEntity")
    entity = _number(record, "recordingEntity", ts32298.decode_address_string)
    assert entity is not None
    return entity


def _partial_sequence(record: dict[str, Any], field: str) -> int | None:
    """The record's partial sequence number, None on a record that is a whole event."""
    sequence = record.get(field)
    if sequence is not None and not 0 <= sequence <= PARTIAL_SEQUENCE_MAX:
        raise _RecordError(
            RejectReason.INVALID_NUMBER, f"{field} {sequence} is outside 0..{PARTIAL_SEQUENCE_MAX}"
        )
    return sequence


def _call_values(alternative: str, record: dict[str, Any], values: dict[str, Any]) -> None:
    entity = _recording_entity(record)
    call_reference = _integer(_required(record, "callReference"))
    # A sequenceNumber makes the record one partial of a longer call.
    sequence = _partial_sequence(record, "sequenceNumber")
    partial = sequence is not None
    seized, answered = _time(record, "seizureTime"), _time(record, "answerTime")
    released = _time(record, "releaseTime")
    duration = _seconds(record, "callDuration")
    started = seized or answered
    if started is None:
        raise _RecordError(RejectReason.MISSING_FIELD, "seizureTime and answerTime are missing")
    if released is None:
        if answered is None:
            raise _RecordError(RejectReason.MISSING_FIELD, "releaseTime is missing")
        released = _after(answered, duration, "callDuration")
    if alternative == "moCallRecord":
        _required(record, "calledNumber")
        other = _number(record, "calledNumber", ts32298.decode_bcd_directory_number)
    else:
        # A withheld or absent CLI leaves the calling number out of an MT record.
        other = _number(record, "callingNumber", ts32298.decode_bcd_directory_number)
    cause = int(_required(record, "causeForTerm"))
    # Only the first partial of a call carries answerTime; a later one is the call going on.
    is_answered = answered is not None or (sequence is not None and sequence > 1)
    values.update(
        record_key=f"{entity}-{call_reference}-{sequence if partial else 0}",
        served_msisdn=_msisdn(record, alternative),
        other_party_number=other,
        started_at=started,
        answered_at=answered,
        ended_at=released,
        duration_seconds=duration if is_answered else 0,
        is_answered=is_answered,
        release_cause=ts32298.CAUSE_FOR_TERM_NAMES.get(cause, str(cause)),
        outgoing_trunk_group=_trunk(record, "mscOutgoingTKGP"),
        incoming_trunk_group=_trunk(record, "mscIncomingTKGP"),
        cell_id=_cell(record),
    )
    if partial:
        values.update(
            session_key=f"{entity}-{call_reference}",
            partial_sequence=sequence,
            is_last_partial=cause not in ts32298.CALL_PARTIAL_CAUSES,
        )


def _sms_values(alternative: str, record: dict[str, Any], values: dict[str, Any]) -> None:
    entity = _recording_entity(record)
    camel = record.get("cAMELSMSInformation", {})
    if "smsReferenceNumber" not in camel:
        raise _RecordError(
            RejectReason.MISSING_FIELD, "cAMELSMSInformation.smsReferenceNumber is missing"
        )
    reference = _integer(camel["smsReferenceNumber"])
    if alternative == "moSMSRecord":
        event_field = "originationTime"
        _required(record, "destinationNumber")
        other = _number(record, "destinationNumber", ts32298.decode_sms_address)
    else:
        event_field = "deliveryTime"
        other = _number(camel, "callingPartyNumber", ts32298.decode_bcd_directory_number)
    _required(record, event_field)
    event_time = _time(record, event_field)
    result = record.get("smsResult")
    values.update(
        record_key=f"{entity}-{reference}-0",
        served_msisdn=_msisdn(record, alternative),
        other_party_number=other,
        started_at=event_time,
        ended_at=event_time,
        duration_seconds=0,
        is_answered=True,
        release_cause="normalRelease" if result is None else f"{result[0]}:{result[1]}",
        cell_id=_cell(record),
    )


def _pgw_values(record: dict[str, Any], values: dict[str, Any]) -> None:
    try:
        gateway = ts32298.decode_ip_address(_required(record, "p-GWAddress"))
    except ValueError as error:
        raise _RecordError(RejectReason.INVALID_NUMBER, f"p-GWAddress: {error}") from error
    charging_id = int(_required(record, "chargingID"))
    # A recordSequenceNumber makes the record one partial of a longer session.
    sequence = _partial_sequence(record, "recordSequenceNumber")
    _required(record, "recordOpeningTime")
    opened = _time(record, "recordOpeningTime")
    assert opened is not None
    duration = _seconds(record, "duration")
    containers = record.get("listOfTrafficVolumes", [])
    uplinks = [c.get("dataVolumeGPRSUplink", 0) for c in containers]
    downlinks = [c.get("dataVolumeGPRSDownlink", 0) for c in containers]
    lowest = min([0, *uplinks, *downlinks])
    if lowest < 0:
        raise _RecordError(
            RejectReason.INVALID_VOLUME, f"listOfTrafficVolumes holds a negative volume {lowest}"
        )
    uplink, downlink = sum(uplinks), sum(downlinks)
    cause = int(_required(record, "causeForRecClosing"))
    cell = None
    if "userLocationInformation" in record:
        try:
            cell = ts32298.decode_user_location(record["userLocationInformation"])
        except Exception as error:  # pycrate's ULI codec raises assorted errors
            raise _RecordError(
                RejectReason.INVALID_NUMBER, f"userLocationInformation: {error}"
            ) from error
    partial = sequence is not None
    values.update(
        record_key=f"{gateway}-{charging_id}-{sequence if partial else 0}",
        served_msisdn=_msisdn(record, "pGWRecord"),
        started_at=opened,
        ended_at=_after(opened, duration, "duration"),
        duration_seconds=duration,
        uplink_bytes=uplink,
        downlink_bytes=downlink,
        data_volume_bytes=uplink + downlink,
        is_answered=True,
        release_cause=ts32298.CAUSE_FOR_REC_CLOSING_NAMES.get(cause, str(cause)),
        cell_id=cell,
        session_key=f"{gateway}-{charging_id}" if partial else None,
        partial_sequence=sequence,
        is_last_partial=cause not in ts32298.PARTIAL_CLOSING_CAUSES if partial else None,
    )
