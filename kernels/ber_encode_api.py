"""Validated entry point to the TS 32.298 BER encoder (``kernels.ber_encode_nb``).

``encode_cdr_file`` writes what ``pipelines.formats.ts32298.encode_cdr_file`` writes (a TS
32.297 file header, then each CallEventRecord behind its CDR header), byte for byte, from
NumPy columns instead of ``MobileCdr`` objects, at millions of records a second instead of
about a thousand: pycrate builds a Python object tree per record, the kernel writes octets.
The field-by-field mapping is docs/formats/ts32298.md's; what differs is only the input:

- numbers are ``Digits``: an int64 value and an int8 digit count (leading zeros are kept,
  so ``0044...`` and ``44...`` stay different), at most 18 digits;
- times are int64 epoch seconds (UTC), as switches truncate them; ``answered_at`` -1 is an
  unanswered call;
- release causes are their TS 32.298 codes (``CallCause``, ``RecordClosingCause``; SMS
  records carry none, so the column is not read for them);
- cells and texts (trunk group names, APNs) are tables, each record holding an index
  (-1: no trunk group); ``cell_table`` and ``TextTable.of`` build them once per run.

Nothing here imports pycrate, whose modules take seconds and ~600 MiB to load.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import IntEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.api import _check
from kernels.ber_encode_nb import encode_cdrs_nb
from pipelines.formats.ts32297 import (
    FileClosureReason,
    FileHeader,
    HeaderTimestamp,
    encode_file,
)

#: The TS 32.298 release and version every header names (pycrate's modules: Release 15).
RELEASE = 15
VERSION = 0
#: Longest number a ``Digits`` value holds: 18 decimal digits fit an int64.
MAX_DIGITS = 18
#: Octets one record may take besides its texts, CDR header included (the largest record
#: this encoder can write is about 200); the output buffer is sized from it.
RECORD_ROOM = 261
#: accessPointNameNI is an IA5String (SIZE(1..63)).
MAX_APN_OCTETS = 63
#: chargingID is an INTEGER (0..4294967295).
MAX_CHARGING_ID = 2**32 - 1


class RecordKind(IntEnum):
    """``record_type`` codes: the CallEventRecord alternative of each record."""

    MO_CALL = 0  # moCallRecord
    MT_CALL = 1  # mtCallRecord
    MO_SMS = 2  # moSMSRecord
    MT_SMS = 3  # mtSMSRecord
    PGW = 4  # pGWRecord


#: MobileCdr record_type -> RecordKind.
RECORD_KINDS = {
    "voice_mo": RecordKind.MO_CALL,
    "voice_mt": RecordKind.MT_CALL,
    "sms_mo": RecordKind.MO_SMS,
    "sms_mt": RecordKind.MT_SMS,
    "data": RecordKind.PGW,
}


class CallCause(IntEnum):
    """CauseForTerm codes of call records (TS 32.298 GenericChargingDataTypes)."""

    NORMAL_RELEASE = 0
    PARTIAL_RECORD = 1
    UNSUCCESSFUL_CALL_ATTEMPT = 3
    ABNORMAL_RELEASE = 4


class RecordClosingCause(IntEnum):
    """CauseForRecClosing codes of PGW records (TS 32.298 GenericChargingDataTypes)."""

    NORMAL_RELEASE = 0
    ABNORMAL_RELEASE = 4
    VOLUME_LIMIT = 16
    TIME_LIMIT = 17


@dataclass(frozen=True)
class Digits:
    """A column of decimal numbers: value int64 (n,) and digit count int8 (n,)."""

    value: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, numbers: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> Digits:
        """The digit strings ``numbers`` (null or empty: count 0) as a column; ValueError
        when one holds anything but 1 to 18 ASCII digits."""
        array = (
            numbers
            if isinstance(numbers, pa.Array | pa.ChunkedArray)
            else pa.array(numbers, type=pa.string())
        )
        text = pc.fill_null(array, "")
        valid = pc.match_substring_regex(text, f"^[0-9]{{0,{MAX_DIGITS}}}$")
        if not pc.all(valid).as_py():
            bad = pc.filter(text, pc.invert(valid))[0].as_py()
            raise ValueError(f"not a number of at most {MAX_DIGITS} digits: {bad!r}")
        count = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int8)
        value = pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64())
        return cls(np.ascontiguousarray(value.to_numpy(zero_copy_only=False)), count)


@dataclass(frozen=True)
class TextTable:
    """IA5String texts (trunk group names, APNs) as one byte buffer with offsets: text k is
    ``data[offsets[k]:offsets[k + 1]]``."""

    data: np.ndarray  # uint8
    offsets: np.ndarray  # int64 (m + 1,)

    @classmethod
    def of(cls, texts: Sequence[str]) -> TextTable:
        """The table of ``texts``; ValueError when one is not ASCII."""
        encoded = []
        for text in texts:
            if not text.isascii():
                raise ValueError(f"an IA5String holds ASCII only: {text!r}")
            encoded.append(text.encode("ascii"))
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
        return cls(data, offsets)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)


def _three_digits(text: pa.Array) -> np.ndarray:
    """int64 (n, 3) digit values of strings of exactly three ASCII digits."""
    fixed = pc.cast(pc.cast(text, pa.binary()), pa.binary(3))
    octets = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)[: 3 * len(fixed)]
    return octets.reshape(-1, 3).astype(np.int64) - ord("0")


def cell_table(cells: Sequence[str]) -> np.ndarray:
    """uint8 (m, 7) rows of the "MCC-MNC-LAC-CI" cells (LAC and CI decimal, at most
    65535): LAC 2 octets, CI 2 octets, then the TS 24.008 PLMN-Id (MCC2 MCC1, MNC3 MCC3,
    MNC2 MNC1; MNC3 'F' for a two-digit MNC), as LocationAreaAndCell and the ULI write
    them; ValueError names the first cell id that is not one."""
    text = pa.array(cells, type=pa.string())
    valid = pc.match_substring_regex(text, r"^[0-9]{3}-[0-9]{2,3}-[0-9]{1,5}-[0-9]{1,5}$")
    parts = pc.split_pattern(text, "-")
    if len(text) and pc.all(valid).as_py():
        lac = pc.cast(pc.list_element(parts, 2), pa.int64()).to_numpy()
        ci = pc.cast(pc.list_element(parts, 3), pa.int64()).to_numpy()
        valid = pa.array((lac <= 0xFFFF) & (ci <= 0xFFFF))
    if not pc.all(valid).as_py():
        bad = pc.filter(text, pc.invert(valid))[0].as_py()
        raise ValueError(f"cell id is not MCC-MNC-LAC-CI with LAC and CI up to 65535: {bad!r}")
    table = np.zeros((len(text), 7), dtype=np.uint8)
    if not len(text):
        return table
    mcc_digits = _three_digits(pc.list_element(parts, 0))
    mnc_text = pc.list_element(parts, 1)
    mnc_length = pc.utf8_length(mnc_text).to_numpy(zero_copy_only=False)
    mnc_digits = _three_digits(pc.utf8_rpad(mnc_text, 3, "0"))  # a two-digit MNC's third: F
    mnc3 = np.where(mnc_length == 3, mnc_digits[:, 2], 0xF)
    table[:, 0], table[:, 1] = lac >> 8, lac & 0xFF
    table[:, 2], table[:, 3] = ci >> 8, ci & 0xFF
    table[:, 4] = mcc_digits[:, 1] << 4 | mcc_digits[:, 0]
    table[:, 5] = mnc3 << 4 | mcc_digits[:, 2]
    table[:, 6] = mnc_digits[:, 1] << 4 | mnc_digits[:, 0]
    return table


@dataclass(frozen=True)
class MobileCdrColumns:
    """The records of one file, one row each (n rows; shapes (n,) unless stated).

    record_type: int8 RecordKind; served_imsi (5-16 digits), served_imei (15-16),
    served_msisdn (1-16), other_party (1-18; calling number of an MT record, called or
    destination number of an MO one; not read for PGW records): Digits; started_at,
    answered_at (-1: unanswered; calls only), ended_at: int64 epoch seconds; cause: int64
    CallCause (calls) or RecordClosingCause (PGW); cell: int32 row of the cell table;
    call_reference: int64 >= 0 (calls and SMS: callReference, smsReferenceNumber and, mod
    256, an MO SMS's messageReference); sequence: int64 partial record number, -1 for a
    whole record; uplink_bytes, downlink_bytes: int64 >= 0, charging_id: int64 0..2**32-1,
    apn: int32 text row (PGW); incoming_trunk, outgoing_trunk: int32 text row or -1 (calls).
    """

    record_type: np.ndarray
    served_imsi: Digits
    served_imei: Digits
    served_msisdn: Digits
    other_party: Digits
    started_at: np.ndarray
    answered_at: np.ndarray
    ended_at: np.ndarray
    cause: np.ndarray
    cell: np.ndarray
    call_reference: np.ndarray
    sequence: np.ndarray
    uplink_bytes: np.ndarray
    downlink_bytes: np.ndarray
    charging_id: np.ndarray
    apn: np.ndarray
    incoming_trunk: np.ndarray
    outgoing_trunk: np.ndarray

    def __len__(self) -> int:
        return int(self.record_type.size)


_INT8_COLUMNS = ("record_type",)
_INT32_COLUMNS = ("cell", "apn", "incoming_trunk", "outgoing_trunk")


def _check_digits(name: str, digits: Digits, n: int, low: int, high: int, rows: np.ndarray) -> None:
    _check(f"{name}.value", digits.value, np.int64, n)
    _check(f"{name}.count", digits.count, np.int8, n)
    count = digits.count[rows]
    value = digits.value[rows]
    if count.size and (count.min() < low or count.max() > high):
        raise ValueError(f"{name} must have {low} to {high} digits")
    limit = np.power(np.int64(10), count.astype(np.int64))
    if np.any((value < 0) | ((count < MAX_DIGITS) & (value >= limit))):
        raise ValueError(f"{name} has a value with more digits than its count")


def _nonnegative(name: str, values: np.ndarray, rows: np.ndarray, high: int | None = None) -> None:
    picked = values[rows]
    if picked.size and (picked.min() < 0 or (high is not None and picked.max() > high)):
        raise ValueError(f"{name} must be in 0..{high if high is not None else 'int64'}")


def _validate(columns: MobileCdrColumns, cells: np.ndarray, texts: TextTable) -> None:
    n = len(columns)
    for column in fields(columns):
        value = getattr(columns, column.name)
        if isinstance(value, Digits):
            continue
        dtype = (
            np.int8
            if column.name in _INT8_COLUMNS
            else np.int32
            if column.name in _INT32_COLUMNS
            else np.int64
        )
        _check(column.name, value, dtype, n)
    if cells.dtype != np.uint8 or cells.ndim != 2 or cells.shape[1] != 7:
        raise ValueError("cells must be a uint8 (m, 7) table from cell_table")
    kind = columns.record_type
    if n and (kind.min() < RecordKind.MO_CALL or kind.max() > RecordKind.PGW):
        raise ValueError("record_type must be a RecordKind code")
    everything = np.arange(n)
    calls = np.flatnonzero(kind <= RecordKind.MT_CALL)
    switched = np.flatnonzero(kind <= RecordKind.MT_SMS)
    packet = np.flatnonzero(kind == RecordKind.PGW)
    _check_digits("served_imsi", columns.served_imsi, n, 5, 16, everything)
    _check_digits("served_imei", columns.served_imei, n, 15, 16, everything)
    _check_digits("served_msisdn", columns.served_msisdn, n, 1, 16, everything)
    _check_digits("other_party", columns.other_party, n, 1, MAX_DIGITS, switched)
    _nonnegative("started_at", columns.started_at, everything)
    _nonnegative("ended_at", columns.ended_at, everything)
    if np.any(columns.answered_at[calls] < -1):
        raise ValueError("answered_at must be an epoch second or -1")
    _nonnegative("cause", columns.cause, np.concatenate([calls, packet]), 2**31 - 1)
    _nonnegative("cell", columns.cell, everything, len(cells) - 1)
    _nonnegative("call_reference", columns.call_reference, switched)
    if n and columns.sequence.min() < -1:
        raise ValueError("sequence must be a partial record number or -1")
    _nonnegative("uplink_bytes", columns.uplink_bytes, packet)
    _nonnegative("downlink_bytes", columns.downlink_bytes, packet)
    _nonnegative("charging_id", columns.charging_id, packet, MAX_CHARGING_ID)
    _nonnegative("apn", columns.apn, packet, len(texts) - 1)
    apn_lengths = np.diff(texts.offsets)[columns.apn[packet]]
    if apn_lengths.size and (apn_lengths.min() < 1 or apn_lengths.max() > MAX_APN_OCTETS):
        raise ValueError(f"an APN (accessPointNameNI) has 1 to {MAX_APN_OCTETS} characters")
    for name in ("incoming_trunk", "outgoing_trunk"):
        trunk = getattr(columns, name)[calls]
        if trunk.size and (trunk.min() < -1 or trunk.max() >= len(texts)):
            raise ValueError(f"{name} must be a text row or -1")


def _text_lengths(rows: np.ndarray, texts: TextTable) -> np.ndarray:
    lengths = np.diff(texts.offsets)
    return np.where(rows >= 0, lengths[np.clip(rows, 0, None)] if lengths.size else 0, 0)


def _single_number(name: str, digits: str) -> tuple[int, int]:
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS):
        raise ValueError(f"{name} must be 1 to {MAX_DIGITS} digits, got {digits!r}")
    return int(digits), len(digits)


def _node_octets(node_address: str) -> np.ndarray:
    return np.frombuffer(ipaddress.ip_address(node_address).packed, dtype=np.uint8).copy()


def encode_cdrs(
    columns: MobileCdrColumns,
    cells: np.ndarray,
    texts: TextTable,
    *,
    recording_entity: str,
    service_centre: str,
    node_address: str,
    utc_offset_minutes: int,
    reserve: int = 0,
) -> np.ndarray:
    """uint8 array: ``reserve`` zero octets, then every record behind its TS 32.297 CDR
    header, in order (the body of a CDR file).

    recording_entity: the MSC's E.164 number (recordingEntity, mSCAddress); service_centre:
    the SMSC's (SMS records); node_address: the P-GW's IPv4 or IPv6 address (p-GWAddress,
    servingNodeAddress); utc_offset_minutes: the switch clock's offset, in which every
    TimeStamp is written. The result may be a view of a larger buffer.
    """
    _validate(columns, cells, texts)
    entity, entity_digits = _single_number("recording_entity", recording_entity)
    centre, centre_digits = _single_number("service_centre", service_centre)
    if abs(utc_offset_minutes) >= 24 * 60:
        raise ValueError(f"UTC offset {utc_offset_minutes} min is not a clock offset")
    kind = columns.record_type
    is_call = kind <= RecordKind.MT_CALL
    text_room = np.where(
        kind == RecordKind.PGW,
        _text_lengths(np.where(kind == RecordKind.PGW, columns.apn, -1), texts),
        _text_lengths(np.where(is_call, columns.incoming_trunk, -1), texts)
        + _text_lengths(np.where(is_call, columns.outgoing_trunk, -1), texts),
    )
    # Not zeroed: the kernel writes every octet of what it returns, and a buffer sized for
    # the largest records is about twice what they take.
    out = np.empty(reserve + RECORD_ROOM * len(columns) + int(text_room.sum()), dtype=np.uint8)
    out[:reserve] = 0
    end = encode_cdrs_nb(
        out,
        reserve,
        kind,
        columns.served_imsi.value,
        columns.served_imsi.count,
        columns.served_imei.value,
        columns.served_imei.count,
        columns.served_msisdn.value,
        columns.served_msisdn.count,
        columns.other_party.value,
        columns.other_party.count,
        columns.started_at,
        columns.answered_at,
        columns.ended_at,
        columns.cause,
        columns.cell,
        cells,
        columns.call_reference,
        columns.sequence,
        columns.uplink_bytes,
        columns.downlink_bytes,
        columns.charging_id,
        columns.apn,
        columns.incoming_trunk,
        columns.outgoing_trunk,
        texts.data,
        texts.offsets,
        entity,
        entity_digits,
        centre,
        centre_digits,
        _node_octets(node_address),
        utc_offset_minutes,
    )
    if end < 0:
        raise ValueError("a record does not fit the 65,535 octets of a TS 32.297 CDR header")
    return out[:end]


def encode_cdr_file(
    columns: MobileCdrColumns,
    cells: np.ndarray,
    texts: TextTable,
    *,
    node_address: str,
    file_sequence_number: int,
    opened_at: datetime,
    closed_at: datetime,
    utc_offset_minutes: int,
    recording_entity: str,
    service_centre: str,
    closure_reason: int = FileClosureReason.FILE_OPEN_TIME_LIMIT,
) -> np.ndarray:
    """uint8 array: a whole TS 32.297 CDR file of the records, as
    ``pipelines.formats.ts32298.encode_cdr_file`` writes it (its header opened at
    ``opened_at``, last appended at ``closed_at``, both aware datetimes shown on the switch
    clock; the CDR count; the file closure reason, by default the open-time limit)."""
    header = FileHeader(
        high_release=RELEASE,
        high_version=VERSION,
        low_release=RELEASE,
        low_version=VERSION,
        opened=HeaderTimestamp.from_datetime(opened_at, utc_offset_minutes),
        last_appended=HeaderTimestamp.from_datetime(closed_at, utc_offset_minutes),
        cdr_count=len(columns),
        file_sequence_number=file_sequence_number,
        closure_reason=closure_reason,
        node_address=node_address,
    )
    # The header alone, as the TS 32.297 writer encodes it; its file length is then set to
    # the whole file's, which is only known once the records are written behind it.
    head = encode_file(header, [])
    data = encode_cdrs(
        columns,
        cells,
        texts,
        recording_entity=recording_entity,
        service_centre=service_centre,
        node_address=node_address,
        utc_offset_minutes=utc_offset_minutes,
        reserve=len(head),
    )
    data[: len(head)] = np.frombuffer(head, dtype=np.uint8)
    data[:4] = np.frombuffer(struct.pack(">I", data.size), dtype=np.uint8)
    return data
