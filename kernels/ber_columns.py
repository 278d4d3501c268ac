"""Arrow columns of the canonical usage rows the TS 32.298 BER kernel decodes: the columnar
twin of ``kernels.ber_api.decode_cdrs``.

``decode_cdr_columns`` runs the kernel over n CDR payloads and builds, for the records it
decoded, one Arrow array per canonical column straight from the kernel's NumPy arrays:
texts gathered into string buffers by a kernel, record keys joined by Arrow compute, times
as int64 microseconds, cause names looked up once per distinct code. No Python object is
made per record. The values are those ``ts32298_ber`` gives the same records (see
docs/formats/ts32298.md); the records the kernel leaves are the caller's, as on the row path.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.ber_api import (
    ALTERNATIVES,
    DecodedCdrs,
    IntSlot,
    TextSlot,
    TimeSlot,
    decode_cdr_arrays,
    gather_texts,
)
from pipelines.mediation.ts32298_codes import (
    CALL_PARTIAL_CAUSES,
    CAUSE_FOR_REC_CLOSING_NAMES,
    CAUSE_FOR_TERM_NAMES,
    PARTIAL_CLOSING_CAUSES,
    RECORD_TYPES,
)
from pipelines.schema import UTC_TS

# record_type, service and direction by kernel alternative index.
_RECORD_TYPE, _SERVICE, _DIRECTION = (
    pa.array([RECORD_TYPES[name][k] for name in ALTERNATIVES], pa.string()) for k in range(3)
)
_PGW = ALTERNATIVES.index("pGWRecord")
_NULL_TEXT = pa.scalar(None, pa.string())
_PARTIAL_CLOSING = np.array(sorted(PARTIAL_CLOSING_CAUSES), np.int64)
_CALL_PARTIAL = np.array(sorted(CALL_PARTIAL_CAUSES), np.int64)


@dataclass(frozen=True)
class CdrColumns:
    """decoded: bool (n,), whether the kernel decoded each payload; columns: canonical
    column name (PARSER_COLUMNS, then PARTIAL_COLUMNS) -> Arrow array of the decoded
    records' values, in payload order, typed as in USAGE_SCHEMA."""

    decoded: np.ndarray
    columns: dict[str, pa.Array]


def decode_cdr_columns(
    data: bytes | np.ndarray,
    payload_start: np.ndarray,
    payload_length: np.ndarray,
    data_format: np.ndarray,
) -> CdrColumns:
    """The canonical columns of the CDR payloads data[start:start + length] the kernel
    decodes (see CdrColumns).

    payload_start, payload_length: int64 (n,) within the data; data_format: int8 (n,).
    """
    decoded = decode_cdr_arrays(data, payload_start, payload_length, data_format)
    ok = decoded.status == 0
    rows = np.flatnonzero(ok).astype(np.int64)
    alternative = decoded.alternative[rows]
    voice, pgw = alternative <= 1, alternative == _PGW
    sms = ~(voice | pgw)
    ints, times = decoded.ints[rows], decoded.times[rows]
    has_seizure, has_answer, has_release = (flags[rows] for flags in decoded.call_times())
    partial = decoded.is_partial()[rows]
    sequence = ints[:, IntSlot.SEQUENCE]
    # A call partial after the first is answered without answerTime (library rule).
    answered = voice & (has_answer | (partial & (sequence > 1)))

    start, answer, release = (times[:, slot] for slot in TimeSlot)
    duration = ints[:, IntSlot.DURATION]
    # Calls: no seizureTime starts at the answer; no releaseTime ends callDuration after it.
    started = np.where(voice & ~has_seizure, answer, start)
    call_end = np.where(has_release, release, answer + duration)
    ended = np.where(voice, call_end, np.where(pgw, start + duration, start))
    uplink, downlink = ints[:, IntSlot.UPLINK], ints[:, IntSlot.DOWNLINK]
    cause = ints[:, IntSlot.CAUSE]
    closing = np.where(voice, np.isin(cause, _CALL_PARTIAL), np.isin(cause, _PARTIAL_CLOSING))

    text = _texts(decoded, rows)

    # record_key: <recording entity or P-GW>-<reference or chargingID>-<sequence or 0>; the
    # first two parts are a partial's session_key.
    key_prefix = pc.if_else(pgw, _gateways(decoded, rows, pgw), text[TextSlot.ENTITY])
    reference = np.where(pgw, ints[:, IntSlot.CHARGING_ID].astype(np.uint64), decoded.refs[rows])
    reference_text = pc.cast(pa.array(reference), pa.string())
    session_key = pc.binary_join_element_wise(key_prefix, reference_text, "-")
    columns = {
        "record_key": pc.binary_join_element_wise(
            session_key, pc.cast(pa.array(sequence), pa.string()), "-"
        ),
        "record_type": _RECORD_TYPE.take(alternative),
        "service": _SERVICE.take(alternative),
        "direction": _DIRECTION.take(alternative),
        "served_msisdn": text[TextSlot.MSISDN],
        "served_imsi": text[TextSlot.IMSI],
        "served_imei": text[TextSlot.IMEI],
        "other_party_number": text[TextSlot.OTHER],
        "started_at": _timestamps(started),
        "answered_at": _timestamps(answer, voice & has_answer),
        "ended_at": _timestamps(ended),
        "duration_seconds": pa.array(np.where(pgw | answered, duration, 0)),
        "uplink_bytes": pa.array(uplink),
        "downlink_bytes": pa.array(downlink),
        "data_volume_bytes": pa.array(uplink + downlink),
        "is_answered": pa.array(~voice | answered),
        "release_cause": _release_causes(cause, voice, pgw, sms),
        "outgoing_trunk_group": text[TextSlot.TRUNK_OUT],
        "incoming_trunk_group": text[TextSlot.TRUNK_IN],
        "cell_id": text[TextSlot.CELL],
        "session_key": pc.if_else(partial, session_key, _NULL_TEXT),
        "partial_sequence": pa.array(sequence.astype(np.int32), mask=~partial),
        "is_last_partial": pa.array(~closing, mask=~partial),
    }
    return CdrColumns(ok, columns)


def _texts(decoded: DecodedCdrs, rows: np.ndarray) -> list[pa.Array]:
    """Each text slot of the records ``rows`` as an Arrow string array (null: absent)."""
    arrays = []
    for slot, (offsets, data) in zip(TextSlot, gather_texts(decoded, rows), strict=True):
        valid = decoded.text_length[rows, slot] >= 0
        nulls = rows.size - int(np.count_nonzero(valid))
        validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
        arrays.append(
            pa.Array.from_buffers(
                pa.string(),
                rows.size,
                [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                null_count=nulls,
            )
        )
    return arrays


def _timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """UTC timestamps of epoch seconds (null where ``valid`` is False)."""
    mask = None if valid is None else ~valid
    return pa.array(seconds * 1_000_000, type=UTC_TS, mask=mask)


def _gateways(decoded: DecodedCdrs, rows: np.ndarray, pgw: np.ndarray) -> pa.Array:
    """The p-GWAddress text of each PGW record among ``rows`` (null elsewhere), formatted
    once per distinct address as the library formats it (``ipaddress``)."""
    at, length = decoded.ip_start[rows[pgw]], decoded.ip_length[rows[pgw]]
    # Key each address by its 4 or 16 octets, zero-padded to 16, and its length.
    keys = np.zeros((at.size, 17), np.uint8)
    keys[:, 16] = length
    for k in range(16):
        has = length > k
        keys[has, k] = decoded.data[at[has] + k]
    buffers = [None, pa.py_buffer(keys)]
    distinct = pa.Array.from_buffers(pa.binary(17), at.size, buffers).dictionary_encode()
    names = [str(ipaddress.ip_address(key[: key[16]])) for key in distinct.dictionary.to_pylist()]
    index = np.zeros(rows.size, np.int64)
    index[pgw] = distinct.indices.to_numpy()
    return pa.array(names, pa.string()).take(pa.array(index, mask=~pgw))


def _release_causes(
    cause: np.ndarray, voice: np.ndarray, pgw: np.ndarray, sms: np.ndarray
) -> pa.Array:
    """CauseForTerm names of calls, CauseForRecClosing names of PGW records (the number
    where the code is unnamed), normalRelease for SMS (the kernel reads no smsResult)."""
    names: list[str] = []
    index = np.zeros(cause.size, np.int64)
    for rows, table in ((voice, CAUSE_FOR_TERM_NAMES), (pgw, CAUSE_FOR_REC_CLOSING_NAMES)):
        distinct = pa.array(cause[rows]).dictionary_encode()
        index[rows] = distinct.indices.to_numpy() + len(names)
        names.extend(table.get(code, str(code)) for code in distinct.dictionary.to_pylist())
    index[sms] = len(names)
    names.append("normalRelease")
    return pa.array(names, pa.string()).take(index)
