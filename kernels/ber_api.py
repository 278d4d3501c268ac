"""Validated entry point to the TS 32.298 BER fast path (``kernels.ber_nb``).

``frame_cdrs`` finds the CDRs of a TS 32.297 file body and ``decode_cdrs`` turns their BER
payloads into the ``values`` dicts of ``pipelines.mediation.ts32298_ber`` (canonical usage
columns). A record the kernel does not read with certainty gets ``None``: the caller hands
it to the pycrate decoder. ``decode_cdr_arrays`` and ``gather_texts`` give the kernel's
arrays themselves, from which ``kernels.ber_columns`` builds Arrow columns.

The field tables below state, per CallEventRecord alternative, which SET fields the kernel
reads and how; pycrate's mandatory components and the fields the library parser requires
are both mandatory here, so a record missing one goes to the library, which produces the
reject.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import numpy as np

from kernels.ber_nb import count_cdrs_nb, decode_cdrs_nb, frame_cdrs_nb, gather_texts_nb
from pipelines.mediation.ts32298_codes import (
    CALL_PARTIAL_CAUSES,
    CAUSE_FOR_REC_CLOSING_NAMES,
    CAUSE_FOR_TERM_NAMES,
    CHANGE_CONDITION_CODES,
    PARTIAL_CLOSING_CAUSES,
    PARTIAL_SEQUENCE_MAX,
    SERVING_NODE_TYPE_CODES,
)


class Kind(IntEnum):
    """How the kernel reads a SET field (codes shared with kernels.ber_nb)."""

    INTEGER = 1
    TBCD = 2
    NUMBER = 3  # AddressString or BCDDirectoryNumber: TON/NPI octet, then TBCD digits
    TIMESTAMP = 4
    OCTETS = 5  # an OCTET STRING the library never reads: only its size is checked
    LOCATION = 6
    TRUNK_GROUP = 7
    CALL_REFERENCE = 8
    CAMEL_SMS = 9
    SMS_ADDRESS = 10
    GSN_ADDRESS = 11
    GSN_ADDRESS_LIST = 12
    IA5 = 13
    TRAFFIC_VOLUMES = 14
    USER_LOCATION = 15
    ENUM_LIST = 16
    BASIC_SERVICE = 17


class Status(IntEnum):
    """Per-record kernel outcome; anything but OK means "decode with the library"."""

    OK = 0
    NOT_BER = 1
    UNEXPECTED_TAG = 2
    UNREAD_LENGTH = 3  # indefinite, non-minimal, or past the enclosing content
    UNKNOWN_FIELD = 4
    FIELD_ORDER = 5  # a SET field out of ascending tag order or present twice
    UNREAD_VALUE = 6
    MISSING_FIELD = 7
    TRAFFIC_VOLUMES = 8  # a container outside the subset, or sums beyond 2**62


#: CallEventRecord alternatives in kernel index order, with their outer context tags.
ALTERNATIVES = ("moCallRecord", "mtCallRecord", "moSMSRecord", "mtSMSRecord", "pGWRecord")
_OUTER_TAGS = (0, 1, 6, 7, 79)


class IntSlot(IntEnum):
    """Columns of ``DecodedCdrs.ints``."""

    DURATION = 0
    CAUSE = 1
    SEQUENCE = 2  # sequenceNumber (calls) or recordSequenceNumber (PGW); 0 when absent
    CHARGING_ID = 3
    UPLINK = 4  # listOfTrafficVolumes sums: uplink here, downlink in the next slot
    DOWNLINK = 5


class TextSlot(IntEnum):
    """Columns of ``DecodedCdrs.text_start`` and ``text_length``."""

    IMSI = 0
    IMEI = 1
    MSISDN = 2
    OTHER = 3  # the other party's number
    ENTITY = 4  # recordingEntity digits
    TRUNK_IN = 5
    TRUNK_OUT = 6
    CELL = 7


class TimeSlot(IntEnum):
    """Columns of ``DecodedCdrs.times``."""

    START = 0  # seizure, origination, delivery or opening time
    ANSWER = 1
    RELEASE = 2


_CHANGE_CONDITION_TABLE, _SERVING_NODE_TYPE_TABLE = 0, 1
_SMS_REFERENCE_BIT = 63  # kernel bit of the nested cAMELSMSInformation.smsReferenceNumber

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Durations beyond 31 bits go to the library: it adds them to datetimes (an overflow there
#: is its own behaviour to keep) and no switch writes them; so do negative ones, which it
#: rejects.
_DURATION_LIMIT = 2**31 - 1
_ANY = 0xFFFF  # no size constraint (a CDR holds at most 65535 octets)

_Field = tuple[Kind, int, int, int]  # kind, output slot (-1: none), low, high


def _integer(slot: int = -1, low: int = _INT64_MIN, high: int = _INT64_MAX) -> _Field:
    return (Kind.INTEGER, slot, low, high)


def _sized(kind: Kind, slot: int = -1, low: int = 0, high: int = _ANY) -> _Field:
    return (kind, slot, low, high)


_DURATION_FIELD = _integer(IntSlot.DURATION, 0, _DURATION_LIMIT)
# Sizes are pycrate's constraints (IMSI 3..8, IMEI 8, MSISDN 1..9, AddressString 1..20,
# TimeStamp 9, CallReferenceNumber 1..8, AccessPointNameNI 1..63, ChargingCharacteristics 2);
# unconstrained types take any size.
_IMSI_FIELD = _sized(Kind.TBCD, TextSlot.IMSI, 3, 8)
_IMEI_FIELD = _sized(Kind.TBCD, TextSlot.IMEI, 8, 8)
_ENTITY_FIELD = _sized(Kind.NUMBER, TextSlot.ENTITY, 1, 20)
_ADDRESS_STRING = _sized(Kind.OCTETS, -1, 1, 20)


def _time(slot: int) -> _Field:
    return _sized(Kind.TIMESTAMP, slot, 9, 9)


_MO_CALL: dict[int, _Field] = {
    0: _integer(),
    1: _IMSI_FIELD,
    2: _IMEI_FIELD,
    3: _sized(Kind.NUMBER, TextSlot.MSISDN, 1, 9),
    4: _sized(Kind.OCTETS),  # callingNumber: the library reads calledNumber for MO
    5: _sized(Kind.NUMBER, TextSlot.OTHER),
    9: _ENTITY_FIELD,
    10: _sized(Kind.TRUNK_GROUP, TextSlot.TRUNK_IN),
    11: _sized(Kind.TRUNK_GROUP, TextSlot.TRUNK_OUT),
    12: _sized(Kind.LOCATION, TextSlot.CELL),
    14: _sized(Kind.BASIC_SERVICE),
    22: _time(TimeSlot.START),
    23: _time(TimeSlot.ANSWER),
    24: _time(TimeSlot.RELEASE),
    25: _DURATION_FIELD,
    30: _integer(IntSlot.CAUSE),
    32: _sized(Kind.CALL_REFERENCE, -1, 1, 8),
    33: _integer(IntSlot.SEQUENCE, 0, PARTIAL_SEQUENCE_MAX),  # the library rejects the rest
    39: _ADDRESS_STRING,
}
_MT_CALL: dict[int, _Field] = {
    0: _integer(),
    1: _IMSI_FIELD,
    2: _IMEI_FIELD,
    3: _sized(Kind.NUMBER, TextSlot.MSISDN),  # MTCallRecord's BCDDirectoryNumber: no size limit
    4: _sized(Kind.NUMBER, TextSlot.OTHER),
    6: _ENTITY_FIELD,
    7: _sized(Kind.TRUNK_GROUP, TextSlot.TRUNK_IN),
    8: _sized(Kind.TRUNK_GROUP, TextSlot.TRUNK_OUT),
    9: _sized(Kind.LOCATION, TextSlot.CELL),
    11: _sized(Kind.BASIC_SERVICE),
    19: _time(TimeSlot.START),
    20: _time(TimeSlot.ANSWER),
    21: _time(TimeSlot.RELEASE),
    22: _DURATION_FIELD,
    27: _integer(IntSlot.CAUSE),
    29: _sized(Kind.CALL_REFERENCE, -1, 1, 8),
    30: _integer(IntSlot.SEQUENCE, 0, PARTIAL_SEQUENCE_MAX),  # the library rejects the rest
    34: _ADDRESS_STRING,
}
_MO_SMS: dict[int, _Field] = {
    0: _integer(),
    1: _IMSI_FIELD,
    2: _IMEI_FIELD,
    3: _sized(Kind.NUMBER, TextSlot.MSISDN, 1, 9),
    4: _sized(Kind.OCTETS),  # msClassmark
    5: _ADDRESS_STRING,  # serviceCentre
    6: _ENTITY_FIELD,
    7: _sized(Kind.LOCATION, TextSlot.CELL),
    8: _sized(Kind.OCTETS),  # messageReference
    9: _time(TimeSlot.START),
    12: _sized(Kind.SMS_ADDRESS, TextSlot.OTHER),
    13: _sized(Kind.CAMEL_SMS),  # its callingPartyNumber is unused for MO
}
_MT_SMS: dict[int, _Field] = {
    0: _integer(),
    1: _ADDRESS_STRING,  # serviceCentre
    2: _IMSI_FIELD,
    3: _IMEI_FIELD,
    4: _sized(Kind.NUMBER, TextSlot.MSISDN, 1, 9),
    5: _sized(Kind.OCTETS),  # msClassmark
    6: _ENTITY_FIELD,
    7: _sized(Kind.LOCATION, TextSlot.CELL),
    8: _time(TimeSlot.START),
    12: _sized(Kind.CAMEL_SMS, TextSlot.OTHER),
}
_PGW: dict[int, _Field] = {
    0: _integer(),
    3: _IMSI_FIELD,
    4: _sized(Kind.GSN_ADDRESS),
    5: _integer(IntSlot.CHARGING_ID, 0, 2**32 - 1),
    6: _sized(Kind.GSN_ADDRESS_LIST),
    7: _sized(Kind.IA5, -1, 1, 63),
    12: _sized(Kind.TRAFFIC_VOLUMES, IntSlot.UPLINK),  # and the downlink sum in DOWNLINK
    13: _time(TimeSlot.START),
    14: _DURATION_FIELD,
    15: _integer(IntSlot.CAUSE),
    17: _integer(IntSlot.SEQUENCE, 0, PARTIAL_SEQUENCE_MAX),  # the library rejects the rest
    22: _sized(Kind.NUMBER, TextSlot.MSISDN, 1, 9),
    23: _sized(Kind.OCTETS, -1, 2, 2),
    29: _IMEI_FIELD,
    30: _integer(-1, 0, 255),
    32: _sized(Kind.USER_LOCATION, TextSlot.CELL),
    35: _sized(Kind.ENUM_LIST, _SERVING_NODE_TYPE_TABLE),
}
_FIELDS = (_MO_CALL, _MT_CALL, _MO_SMS, _MT_SMS, _PGW)
#: Tags that must be present: pycrate's mandatory components plus what the library parser
#: requires (servedMSISDN everywhere, calledNumber of MO calls, destinationNumber of MO SMS,
#: the CAMEL SMS reference).
_MANDATORY = (
    (0, 3, 5, 9, 25, 30, 32),
    (0, 1, 3, 6, 22, 27, 29),
    (0, 1, 3, 4, 5, 6, 8, 9, 12, _SMS_REFERENCE_BIT),
    (0, 1, 2, 4, 5, 6, 8, _SMS_REFERENCE_BIT),
    (0, 4, 5, 6, 13, 14, 15, 22, 23, 35),
)
#: Call records need seizure or answer time (started_at) and release or answer time.
_ANY_OF = (((22, 23), (24, 23)), ((19, 20), (21, 20)), (), (), ())


def _mask(tags: tuple[int, ...]) -> int:
    return sum(1 << tag for tag in set(tags))


def _enum_table(codes: frozenset[int]) -> np.ndarray:
    allowed = np.zeros(256, dtype=np.bool_)
    allowed[[code for code in codes if 0 <= code < 256]] = True
    return allowed


@dataclass(frozen=True)
class _Tables:
    outer_alternative: np.ndarray
    field_kind: np.ndarray
    field_slot: np.ndarray
    field_low: np.ndarray
    field_high: np.ndarray
    mandatory: np.ndarray
    any_of: np.ndarray
    enum_allowed: np.ndarray


def _build_tables() -> _Tables:
    outer = np.full(128, -1, dtype=np.int64)
    outer[list(_OUTER_TAGS)] = np.arange(len(_OUTER_TAGS))
    shape = (len(ALTERNATIVES), 64)
    kind, slot = np.zeros(shape, np.int64), np.full(shape, -1, np.int64)
    low, high = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for alt, fields in enumerate(_FIELDS):
        for tag, (field_kind, field_slot, field_low, field_high) in fields.items():
            kind[alt, tag], slot[alt, tag] = field_kind, field_slot
            low[alt, tag], high[alt, tag] = field_low, field_high
    any_of = np.zeros((len(ALTERNATIVES), 2), np.uint64)
    for alt, groups in enumerate(_ANY_OF):
        for g, group in enumerate(groups):
            any_of[alt, g] = _mask(group)
    return _Tables(
        outer_alternative=outer,
        field_kind=kind,
        field_slot=slot,
        field_low=low,
        field_high=high,
        mandatory=np.array([_mask(tags) for tags in _MANDATORY], dtype=np.uint64),
        any_of=any_of,
        enum_allowed=np.stack(
            [_enum_table(CHANGE_CONDITION_CODES), _enum_table(SERVING_NODE_TYPE_CODES)]
        ),
    )


_TABLES = _build_tables()


@dataclass(frozen=True)
class CdrFrames:
    """CDRs found by ``frame_cdrs``: payload_start, payload_length int64 (n,) offsets into
    the file bytes; data_format int8 (n,) (1 = BER); truncated_at: offset of the CDR header
    where a CDR runs past the end of the data (parsing stops there), or -1."""

    payload_start: np.ndarray
    payload_length: np.ndarray
    data_format: np.ndarray
    truncated_at: int


def _as_array(data: bytes | np.ndarray) -> np.ndarray:
    if isinstance(data, bytes):
        return np.frombuffer(data, dtype=np.uint8)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise TypeError("data must be bytes or a 1-D uint8 array")
    if not data.flags.c_contiguous:
        raise ValueError("data must be C-contiguous")
    return data


def frame_cdrs(data: bytes | np.ndarray, start: int) -> CdrFrames:
    """The CDRs of a TS 32.297 file from offset ``start`` (the file header length), framed
    exactly as ``pipelines.formats.ts32297.iter_cdrs`` frames them."""
    array = _as_array(data)
    if not 0 <= start <= array.size:
        raise ValueError(f"start {start} outside the data")
    n, truncated_at = count_cdrs_nb(array, start)
    payload_start = np.empty(n, np.int64)
    payload_length = np.empty(n, np.int64)
    data_format = np.empty(n, np.int8)
    frame_cdrs_nb(array, start, n, payload_start, payload_length, data_format)
    return CdrFrames(payload_start, payload_length, data_format, int(truncated_at))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: SET tag of seizureTime in MO and MT call records; answerTime and releaseTime follow it.
_SEIZURE_TAG = (22, 19)  # MO, MT
#: SET tag of sequenceNumber (MO, MT call) or recordSequenceNumber (pGWRecord) by
#: alternative, present on a partial record; SMS records have none (_HAS_SEQUENCE False).
_SEQUENCE_TAG = np.array((33, 30, 0, 0, 17), np.uint64)
_HAS_SEQUENCE = np.array((True, True, False, False, True))


@dataclass(frozen=True)
class DecodedCdrs:
    """What the kernel read from n CDR payloads of the file bytes ``data`` (uint8).

    status: int8 (n,), 0 where the kernel decoded the record, else a Status (the library
    must decode it); alternative: int8 (n,) index into ALTERNATIVES (-1: unknown); present:
    uint64 (n,) bitmask of the SET tags present (bit 63: the CAMEL smsReferenceNumber);
    ints: int64 (n, len(IntSlot)); refs: uint64 (n,) call or SMS reference; times: int64
    (n, len(TimeSlot)) UTC epoch seconds; text: uint8 ASCII, text slot k of record i being
    ``text_length[i, k]`` characters from ``text_start[i, k]`` (both int64
    (n, len(TextSlot)); length -1: absent); ip_start, ip_length: int64 (n,) the GSNAddress
    octets in ``data`` (length -1: absent). A slot the record's fields do not write is 0.
    """

    data: np.ndarray
    status: np.ndarray
    alternative: np.ndarray
    present: np.ndarray
    ints: np.ndarray
    refs: np.ndarray
    times: np.ndarray
    text: np.ndarray
    text_start: np.ndarray
    text_length: np.ndarray
    ip_start: np.ndarray
    ip_length: np.ndarray

    def _has_tag(self, tag: np.ndarray | int) -> np.ndarray:
        return ((self.present >> np.asarray(tag, np.uint64)) & np.uint64(1)).astype(bool)

    def call_times(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """bool (n,) each: whether a call record holds seizureTime, answerTime and
        releaseTime (meaningless for other alternatives)."""
        seizure = np.where(self.alternative == 0, _SEIZURE_TAG[0], _SEIZURE_TAG[1])
        return self._has_tag(seizure), self._has_tag(seizure + 1), self._has_tag(seizure + 2)

    def is_partial(self) -> np.ndarray:
        """bool (n,): whether a call record holds a sequenceNumber or a pGWRecord a
        recordSequenceNumber (is one partial record of a longer call or session); False
        for SMS records, meaningless where the alternative is unknown (-1)."""
        alternative = np.maximum(self.alternative, 0)
        known = (self.alternative >= 0) & _HAS_SEQUENCE[alternative]
        return known & self._has_tag(_SEQUENCE_TAG[alternative])


def decode_cdr_arrays(
    data: bytes | np.ndarray,
    payload_start: np.ndarray,
    payload_length: np.ndarray,
    data_format: np.ndarray,
) -> DecodedCdrs:
    """The kernel's reading of each CDR payload data[start:start + length] (see DecodedCdrs).

    payload_start, payload_length: int64 (n,) within the data; data_format: int8 (n,).
    """
    array = _as_array(data)
    for name, column, dtype in (
        ("payload_start", payload_start, np.int64),
        ("payload_length", payload_length, np.int64),
        ("data_format", data_format, np.int8),
    ):
        if not isinstance(column, np.ndarray) or column.dtype != dtype or column.ndim != 1:
            raise TypeError(f"{name} must be a 1-D {np.dtype(dtype)} array")
        if not column.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
    n = payload_start.size
    if payload_length.size != n or data_format.size != n:
        raise ValueError("payload_start, payload_length and data_format differ in size")
    if n and (
        payload_start.min() < 0
        or payload_length.min() < 0
        or (payload_start + payload_length).max() > array.size
    ):
        raise ValueError("a payload lies outside the data")
    text_base = np.zeros(n + 1, np.int64)
    # Digits take at most two characters an octet; a cell text a few more than its octets.
    np.cumsum(2 * payload_length + 64, out=text_base[1:])
    tables = _TABLES
    outputs = decode_cdrs_nb(
        array,
        payload_start,
        payload_length,
        data_format,
        text_base,
        tables.outer_alternative,
        tables.field_kind,
        tables.field_slot,
        tables.field_low,
        tables.field_high,
        tables.mandatory,
        tables.any_of,
        tables.enum_allowed,
        len(IntSlot),
        len(TextSlot),
        len(TimeSlot),
    )
    return DecodedCdrs(array, *outputs)


def gather_texts(decoded: DecodedCdrs, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each text slot (in TextSlot order) of the records ``rows`` (int64 (m,)) as the
    buffers of an Arrow string column: offsets int32 (m + 1,) and data uint8. An absent
    text is empty (the caller masks it as null)."""
    if not isinstance(rows, np.ndarray) or rows.dtype != np.int64 or rows.ndim != 1:
        raise TypeError("rows must be a 1-D int64 array")
    if rows.size and (rows.min() < 0 or rows.max() >= decoded.status.size):
        raise ValueError("a row lies outside the decoded records")
    offsets, data, base = gather_texts_nb(
        decoded.text, decoded.text_start, decoded.text_length, rows
    )
    if offsets[-1].max(initial=0) > np.iinfo(np.int32).max:
        raise ValueError("the text of these rows overflows an Arrow string column")
    return [
        (offsets[:, k].astype(np.int32), data[base[k] : base[k + 1]]) for k in range(len(TextSlot))
    ]


def decode_cdrs(
    data: bytes | np.ndarray,
    payload_start: np.ndarray,
    payload_length: np.ndarray,
    data_format: np.ndarray,
) -> list[dict[str, Any] | None]:
    """Canonical ``values`` of each CDR payload data[start:start + length], as
    ``pipelines.mediation.ts32298_ber`` builds them; None where the library must decode
    the record (see Status).

    payload_start, payload_length: int64 (n,) within the data; data_format: int8 (n,).
    """
    return _values(decode_cdr_arrays(data, payload_start, payload_length, data_format))


def _values(decoded: DecodedCdrs) -> list[dict[str, Any] | None]:
    # Column lists of plain str/int/datetime: those are not tracked by the garbage
    # collector, so building them does not trigger collections over the (large) heap the
    # way per-row lists would. One str holds all text; slicing it beats decoding per field.
    text = decoded.text.tobytes().decode("latin-1")
    texts = []
    for slot in TextSlot:
        starts = decoded.text_start[:, slot].tolist()
        lengths = decoded.text_length[:, slot].tolist()
        texts.append(
            [text[s : s + n] if n >= 0 else None for s, n in zip(starts, lengths, strict=True)]
        )
    imsi, imei, msisdn, other, entity, trunk_in, trunk_out, cell = texts
    duration, cause, sequence, charging_id, uplink, downlink = (
        decoded.ints[:, slot].tolist() for slot in IntSlot
    )
    moments: dict[int, datetime] = {}  # hourly files repeat seconds: share the datetimes

    def moment(epoch: int) -> datetime:
        at = moments.get(epoch)
        if at is None:
            at = moments[epoch] = _EPOCH + timedelta(seconds=epoch)
        return at

    start, answer, release = (decoded.times[:, slot].tolist() for slot in TimeSlot)
    has_seizure, has_answer, has_release = (flags.tolist() for flags in decoded.call_times())
    partial = decoded.is_partial().tolist()
    references = decoded.refs.tolist()
    data = decoded.data
    gateways: dict[bytes, str] = {}
    out: list[dict[str, Any] | None] = []
    alternatives = decoded.alternative.tolist()
    for i, (code, alt) in enumerate(zip(decoded.status.tolist(), alternatives, strict=True)):
        if code:
            out.append(None)
        elif alt <= 1:
            answered = moment(answer[i]) if has_answer[i] else None
            # A call partial after the first is answered without answerTime (library rule).
            is_answered = answered is not None or (partial[i] and sequence[i] > 1)
            seconds = duration[i]
            # No releaseTime: the library ends the call callDuration after the answer.
            ended = moment(release[i]) if has_release[i] else moment(answer[i] + seconds)
            reason = cause[i]
            call: dict[str, Any] = {
                "record_key": f"{entity[i]}-{references[i]}-{sequence[i]}",
                "record_type": "voice_mo" if alt == 0 else "voice_mt",
                "service": "voice",
                "direction": "outbound" if alt == 0 else "inbound",
                "served_msisdn": msisdn[i],
                "served_imsi": imsi[i],
                "served_imei": imei[i],
                "other_party_number": other[i],
                "started_at": moment(start[i]) if has_seizure[i] else answered,
                "answered_at": answered,
                "ended_at": ended,
                "duration_seconds": seconds if is_answered else 0,
                "uplink_bytes": 0,
                "downlink_bytes": 0,
                "data_volume_bytes": 0,
                "is_answered": is_answered,
                "release_cause": CAUSE_FOR_TERM_NAMES.get(reason, str(reason)),
                "outgoing_trunk_group": trunk_out[i],
                "incoming_trunk_group": trunk_in[i],
                "cell_id": cell[i],
            }
            if partial[i]:  # a whole call leaves the partial columns out, as the library does
                call["session_key"] = f"{entity[i]}-{references[i]}"
                call["partial_sequence"] = sequence[i]
                call["is_last_partial"] = reason not in CALL_PARTIAL_CAUSES
            out.append(call)
        elif alt <= 3:
            event = moment(start[i])
            out.append(
                {
                    "record_key": f"{entity[i]}-{references[i]}-0",
                    "record_type": "sms_mo" if alt == 2 else "sms_mt",
                    "service": "sms",
                    "direction": "outbound" if alt == 2 else "inbound",
                    "served_msisdn": msisdn[i],
                    "served_imsi": imsi[i],
                    "served_imei": imei[i],
                    "other_party_number": other[i],
                    "started_at": event,
                    "answered_at": None,
                    "ended_at": event,
                    "duration_seconds": 0,
                    "uplink_bytes": 0,
                    "downlink_bytes": 0,
                    "data_volume_bytes": 0,
                    "is_answered": True,
                    # The kernel does not read smsResult, so a record it decodes has none.
                    "release_cause": "normalRelease",
                    "outgoing_trunk_group": None,
                    "incoming_trunk_group": None,
                    "cell_id": cell[i],
                }
            )
        else:
            at = int(decoded.ip_start[i])
            octets = data[at : at + int(decoded.ip_length[i])].tobytes()
            gateway = gateways.get(octets)
            if gateway is None:
                gateway = gateways[octets] = str(ipaddress.ip_address(octets))
            seconds, reason = duration[i], cause[i]
            out.append(
                {
                    "record_key": f"{gateway}-{charging_id[i]}-{sequence[i]}",
                    "record_type": "data",
                    "service": "data",
                    "direction": "none",
                    "served_msisdn": msisdn[i],
                    "served_imsi": imsi[i],
                    "served_imei": imei[i],
                    "other_party_number": None,
                    "started_at": moment(start[i]),
                    "answered_at": None,
                    "ended_at": moment(start[i] + seconds),
                    "duration_seconds": seconds,
                    "uplink_bytes": uplink[i],
                    "downlink_bytes": downlink[i],
                    "data_volume_bytes": uplink[i] + downlink[i],
                    "is_answered": True,
                    "release_cause": CAUSE_FOR_REC_CLOSING_NAMES.get(reason, str(reason)),
                    "outgoing_trunk_group": None,
                    "incoming_trunk_group": None,
                    "cell_id": cell[i],
                    "session_key": f"{gateway}-{charging_id[i]}" if partial[i] else None,
                    "partial_sequence": sequence[i] if partial[i] else None,
                    "is_last_partial": (
                        reason not in PARTIAL_CLOSING_CAUSES if partial[i] else None
                    ),
                }
            )
    return out
