"""Columnar fast path of the OpenSIPS flatstore parser, for ``CGRATES_LAYOUT`` files.

``parse_file_columnar`` returns exactly ``parsed_batch(opensips_flatstore.parse_file(...))``
or None (decline: mediation then runs the row parser). Numba kernels
(kernels.opensips_flatstore_api) prove every line passes the row parser's line checks and
split it, pair the lines into calls by dialog (Call-ID and the two tags, in either order)
by the row parser's rules through a hash table, and write the calls' text columns; numbers
are normalised by pattern where the NANP rule is certain, and by ``normalise_number`` once
per distinct other value. A file with any line the row parser rejects on its own (not
UTF-8, wrong field count, another method, empty Call-ID or from_tag, a bad SIP code or
time) is declined; the rejects of pairing and of calls (unpaired INVITE or BYE, BYE before
the answer, missing or invalid numbers) are reproduced, details and raw text included. See
docs/formats/opensips_flatstore.md ("Columnar fast path");
tests/mediation/test_opensips_flatstore_columnar.py proves the equality.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernels.opensips_flatstore_api import (
    FIELDS,
    CallFailure,
    Calls,
    CallTexts,
    FlatstoreLines,
    LineKind,
    NumberClass,
    call_texts,
    pair_dialogs,
    read_lines,
)
from pipelines.mediation.numbering import DEFAULT_REGION, InvalidNumberError, normalise_number
from pipelines.mediation.opensips_flatstore import CGRATES_LAYOUT, CORE_FIELDS
from pipelines.mediation.records import PARSED_SCHEMA, FileContext, ParsedBatch, RejectedRecord
from pipelines.schema import RejectReason

_FIELDS = (*CORE_FIELDS, *CGRATES_LAYOUT.extras)
assert len(_FIELDS) == FIELDS  # the kernels read this layout's field count
_CALLER = CGRATES_LAYOUT.caller
_DESTINATION = CGRATES_LAYOUT.destination
# The last second datetime.fromtimestamp(..., UTC) can represent (9999-12-31 23:59:59).
_MAX_EPOCH = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
# In the NANP (region US), ten digits NXX-NXX-XXXX and eleven digits 1NXX-NXX-XXXX are
# possible national numbers that normalise to 1 + the ten digits, and no short code has
# that many digits; the tests check every area code against normalise_number.
_NANP_PATTERNS_HOLD = DEFAULT_REGION == "US"
# A call whose served or other number does not normalise (after the kernel's failures).
_INVALID_NUMBER = max(CallFailure) + 1
_REASONS = {
    CallFailure.NO_BYE: RejectReason.UNPAIRED_INVITE,
    CallFailure.BYE_BEFORE_ANSWER: RejectReason.INVALID_TIMESTAMP,
    CallFailure.NO_DESTINATION: RejectReason.MISSING_FIELD,
    CallFailure.NO_CALLER: RejectReason.MISSING_FIELD,
    _INVALID_NUMBER: RejectReason.INVALID_NUMBER,
}
# Usage values every call of this layout has (no peer column: every call is outbound).
_CONSTANTS: dict[str, Any] = {
    "record_type": "voice_mo",
    "service": "voice",
    "direction": "outbound",
    "uplink_bytes": 0,
    "downlink_bytes": 0,
    "data_volume_bytes": 0,
}
_TIMESTAMP = pa.timestamp("us", "UTC")
_UNPAIRED_INVITE = (
    "answered call without BYE in this file; pairing across files comes with "
    "partial-record correlation"
)


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The file's calls and rejects as ``parse_file`` gives them, or None to decline.

    Declines a file with any non-blank line that fails a line check of the row parser
    (times of more than 18 digits included), a CR that does not end a line, or more than
    2 GiB. Times are epoch seconds (UTC), so ``context`` is not needed beyond the interface.
    """
    if not data or data.isspace():
        reject = RejectedRecord(0, RejectReason.EMPTY_FILE, f"{len(data)} bytes, no line", "")
        return ParsedBatch(PARSED_SCHEMA.empty_table(), [reject])
    lines = read_lines(data, _MAX_EPOCH)
    if lines is None:
        return None
    calls = pair_dialogs(data, lines)
    texts = call_texts(
        data,
        lines,
        calls,
        _FIELDS.index(_CALLER),
        _FIELDS.index(_DESTINATION),
        _NANP_PATTERNS_HOLD,
    )
    served, served_error = _normalised(texts.served, texts.classes[0])
    other, other_error = _normalised(texts.other, texts.classes[1])
    failure = texts.failure.copy()
    for error in (served_error, other_error):
        if error is not None:
            failure[
                (failure == CallFailure.NONE) & error.is_valid().to_numpy(zero_copy_only=False)
            ] = _INVALID_NUMBER
    records = _records(lines, calls, texts, served, other, failure == CallFailure.NONE)
    alone = np.flatnonzero((calls.call_of < 0) & (lines.kind != LineKind.BLANK))
    failed = np.flatnonzero(failure != CallFailure.NONE)
    rejects: list[RejectedRecord] = []
    if alone.size or failed.size:
        errors = (served_error, other_error)
        rejects = _line_rejects(data, lines, alone)
        rejects += _call_rejects(data, lines, calls, failed, failure, errors)
        rejects.sort(key=lambda reject: reject.record_number)
    return ParsedBatch(records, rejects)


def _normalised(
    numbers: pa.StringArray, classes: np.ndarray
) -> tuple[pa.StringArray, pa.StringArray | None]:
    """(normalised number, InvalidNumberError text or null) of each value; the kernel wrote
    the NANP ones normalised, the others go through normalise_number once per distinct
    value. The errors are None when every value is a NANP one."""
    as_written = classes == NumberClass.AS_WRITTEN
    if not as_written.any():
        return numbers, None
    mask = pa.array(as_written)
    distinct = numbers.filter(mask).dictionary_encode()
    normal: list[str | None] = []
    errors: list[str | None] = []
    for raw in distinct.dictionary.to_pylist():
        try:
            normal.append(normalise_number(raw))
            errors.append(None)
        except InvalidNumberError as exc:
            normal.append(None)
            errors.append(str(exc))
    looked_up = pa.array(normal, pa.string()).take(distinct.indices)
    error = pa.array(errors, pa.string()).take(distinct.indices)
    return (
        pc.replace_with_mask(numbers, mask, looked_up),
        pc.replace_with_mask(pa.nulls(len(numbers), pa.string()), mask, error),
    )


def _records(
    lines: FlatstoreLines,
    calls: Calls,
    texts: CallTexts,
    served: pa.StringArray,
    other: pa.StringArray,
    accepted: np.ndarray,
) -> pa.Table:
    """The accepted calls as PARSED_SCHEMA."""
    openings = calls.openings
    code = lines.code[openings]
    answered = (code >= 200) & (code < 300)
    started = lines.epoch[openings]
    ended = started.copy()
    with_bye = calls.byes >= 0  # answered calls only
    ended[with_bye] = lines.epoch[calls.byes[with_bye]]
    varying: dict[str, pa.Array] = {
        "record_number": pa.array(openings + 1, pa.int32()),
        "record_key": texts.record_key,
        "served_msisdn": served,
        "other_party_number": other,
        "started_at": _times(started),
        "answered_at": _times(started, answered),
        "ended_at": _times(ended),
        "duration_seconds": pa.array(ended - started),
        "is_answered": pa.array(answered),
        "release_cause": texts.release_cause,
    }
    if not accepted.all():
        keep = pa.array(accepted)
        varying = {name: column.filter(keep) for name, column in varying.items()}
    size = int(np.count_nonzero(accepted))
    columns = []
    for field in PARSED_SCHEMA:
        if field.name in _CONSTANTS:
            columns.append(pa.repeat(pa.scalar(_CONSTANTS[field.name], field.type), size))
        elif field.name in varying:
            columns.append(varying[field.name])
        else:
            columns.append(pa.nulls(size, field.type))
    return pa.Table.from_arrays(columns, schema=PARSED_SCHEMA)


def _times(epoch: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as UTC timestamps, null where ``valid`` is False."""
    micros = pa.py_buffer(epoch * 1_000_000)
    if valid is None or valid.all():
        return pa.Array.from_buffers(_TIMESTAMP, epoch.size, [None, micros])
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = int(epoch.size - np.count_nonzero(valid))
    return pa.Array.from_buffers(_TIMESTAMP, epoch.size, [validity, micros], nulls)


def _line_rejects(data: bytes, lines: FlatstoreLines, alone: np.ndarray) -> list[RejectedRecord]:
    """The rejects of lines that join no call, each numbered by its line."""
    rejects = []
    for line in alone.tolist():
        if lines.kind[line] == LineKind.BYE:
            reason = RejectReason.UNPAIRED_BYE
            detail = "BYE without an answered INVITE of its dialog in this file"
        else:
            reason = RejectReason.UNPAIRED_INVITE
            detail = (
                f"early-media report {lines.code[line]} without the INVITE's final reply in "
                "this file"
            )
        rejects.append(RejectedRecord(line + 1, reason, detail, lines.text(data, line)))
    return rejects


def _call_rejects(
    data: bytes,
    lines: FlatstoreLines,
    calls: Calls,
    failed: np.ndarray,
    failure: np.ndarray,
    errors: tuple[pa.StringArray | None, pa.StringArray | None],
) -> list[RejectedRecord]:
    """The rejects of calls that fail a call check, each with all its lines as raw text:
    its INVITE lines, and its BYE lines when it was answered."""
    openings = calls.openings[failed]
    members = np.flatnonzero(np.isin(calls.call_of, openings))
    call_lines: dict[int, list[str]] = {}
    for line, opening in zip(members.tolist(), calls.call_of[members].tolist(), strict=True):
        call_lines.setdefault(opening, []).append(lines.text(data, line))
    rejects = []
    for call, opening in zip(failed.tolist(), openings.tolist(), strict=True):
        kind = int(failure[call])
        if kind == CallFailure.NO_BYE:
            detail = _UNPAIRED_INVITE
        elif kind == CallFailure.BYE_BEFORE_ANSWER:
            bye = int(calls.byes[call])
            detail = (
                f"BYE at {lines.epoch[bye]} (line {bye + 1}) before the answer at "
                f"{lines.epoch[opening]}"
            )
        elif kind == CallFailure.NO_DESTINATION:
            detail = f"{_DESTINATION} is empty"
        elif kind == CallFailure.NO_CALLER:
            detail = f"{_CALLER} is empty"
        else:  # the caller's number is normalised first
            texts = [error[call].as_py() for error in errors if error is not None]
            detail = next(text for text in texts if text is not None)
        text = "\n".join(call_lines[opening])
        rejects.append(RejectedRecord(opening + 1, _REASONS[kind], detail, text))
    return rejects
