"""Columnar fast path of the OpenSIPS flatstore parser, for ``CGRATES_LAYOUT`` files.

``parse_file_columnar`` returns exactly ``parsed_batch(opensips_flatstore.parse_file(...))``
or None (decline: mediation then runs the row parser). polars reads the fields; vectorised
checks prove every line passes the row parser's line checks; window aggregates over the
dialog (Call-ID and the two tags, in either order) pair the lines into calls by the row
parser's rules; numbers are normalised by pattern where the NANP rule is certain, and by
``normalise_number`` once per distinct other value. A file with any line the row parser
rejects on its own (not UTF-8, wrong field count, another method, empty Call-ID or
from_tag, a bad SIP code or time) is declined; the rejects of pairing and of calls
(unpaired INVITE or BYE, BYE before the answer, missing or invalid numbers) are reproduced,
details and raw text included. See docs/formats/opensips_flatstore.md ("Columnar fast
path"); tests/mediation/test_opensips_flatstore_columnar.py proves the equality.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pyarrow as pa

from pipelines.mediation.numbering import DEFAULT_REGION, InvalidNumberError, normalise_number
from pipelines.mediation.opensips_flatstore import CGRATES_LAYOUT, CORE_FIELDS
from pipelines.mediation.records import PARSED_SCHEMA, FileContext, ParsedBatch, RejectedRecord
from pipelines.schema import RejectReason

_FIELDS = (*CORE_FIELDS, *CGRATES_LAYOUT.extras)
_CALLER = CGRATES_LAYOUT.caller
_DESTINATION = CGRATES_LAYOUT.destination
# A SIP status code and epoch seconds as the row parser reads them; at most 18 digits so
# that they fit int64 (0 and years past 9999 are checked after the cast).
_SIP_CODE = r"^[1-6][0-9]{2}$"
_EPOCH = r"^[0-9]{1,18}$"
# The last second datetime.fromtimestamp(..., UTC) can represent (9999-12-31 23:59:59).
_MAX_EPOCH = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())
# Lines are ordered by (time, line) through one int64: seconds since the file's first time
# times _ROWS, plus the row.
_ROWS = 1 << 31
_BOM = b"\xef\xbb\xbf"
# A byte bytes.strip() keeps: the first one ends the blank lines that start a file.
_TEXT = re.compile(rb"[^ \t\n\r\x0b\x0c]")
_DIALOG = ("callid", "low_tag", "high_tag")
# In the NANP (region US), ten digits NXX-NXX-XXXX and eleven digits 1NXX-NXX-XXXX are
# possible national numbers that normalise to 1 + the ten digits, and no short code has
# that many digits; the tests check every area code against normalise_number.
_NANP_PATTERNS_HOLD = DEFAULT_REGION == "US"
_NANP_WITH_ONE = r"^1[2-9][0-9]{2}[2-9][0-9]{6}$"
_NANP_NATIONAL = r"^[2-9][0-9]{2}[2-9][0-9]{6}$"
# Usage values every call of this layout has (no peer column: every call is outbound).
_CONSTANTS: dict[str, Any] = {
    "record_type": "voice_mo",
    "service": "voice",
    "direction": "outbound",
    "uplink_bytes": 0,
    "downlink_bytes": 0,
    "data_volume_bytes": 0,
}
_UNPAIRED_INVITE = (
    "answered call without BYE in this file; pairing across files comes with "
    "partial-record correlation"
)


def parse_file_columnar(data: bytes, context: FileContext) -> ParsedBatch | None:
    """The file's calls and rejects as ``parse_file`` gives them, or None to decline.

    Declines a file with any non-blank line that fails a line check of the row parser, a
    UTF-8 byte order mark or a CR outside a CRLF, and (in practice never) one of 2**31
    lines or more or with times more than 136 years apart. Times are epoch seconds (UTC),
    so ``context`` is not needed beyond the interface.
    """
    if not data or data.isspace():
        reject = RejectedRecord(0, RejectReason.EMPTY_FILE, f"{len(data)} bytes, no line", "")
        return ParsedBatch(PARSED_SCHEMA.empty_table(), [reject])
    lines = _read_lines(data)
    if lines is None:
        return None
    return _calls(lines, data)


def _read_lines(data: bytes) -> pl.DataFrame | None:
    """The well-formed lines' number and fields, with code and epoch as integers; None to
    decline."""
    # polars' CSV reader drops a byte order mark and ends a line at a lone CR; it ends them
    # at CRLF as split_lines does.
    if data.startswith(_BOM) or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")  # a line that is not is the row parser's reject
        except UnicodeDecodeError:
            return None
    # The reader takes the field count from the first line it reads: skip blank ones.
    first_text = _TEXT.search(data)
    skipped = data.count(b"\n", 0, first_text.start()) if first_text else 0
    try:
        frame = pl.read_csv(
            data,
            has_header=False,
            separator="|",
            quote_char=None,
            schema=dict.fromkeys(_FIELDS, pl.String),
            empty_string_is_null=False,
            skip_lines=skipped,
        )
    except pl.exceptions.PolarsError:  # a first line with fewer fields, a line with more
        return None  # (with a column projection the reader would drop extra fields instead)
    # One row per line, blank ones included (a final newline ends the last line).
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if frame.height != lines - skipped or lines >= _ROWS:
        return None
    well_formed = (
        ((pl.col("method") == "INVITE") | (pl.col("method") == "BYE"))
        & (pl.col("from_tag") != "")
        & (pl.col("callid") != "")
        & pl.col("sip_code").str.contains(_SIP_CODE)
        & pl.col("time").str.contains(_EPOCH)
    )
    frame = frame.with_row_index("number", offset=skipped + 1)
    frame = frame.with_columns(well_formed.alias("ok"))
    if not frame["ok"].all():
        rows = data.split(b"\n")
        if any(rows[number - 1].strip() for number in frame.filter(~pl.col("ok"))["number"]):
            return None  # a non-blank line the row parser rejects
        frame = frame.filter(pl.col("ok"))
    # The reader fills missing fields with "". Blank lines hold no '|', so every well-formed
    # line has exactly the layout's fields when the file's '|' count says so.
    if data.count(b"|") != frame.height * (len(_FIELDS) - 1):
        return None
    frame = frame.with_columns(
        pl.col("number").cast(pl.Int32),
        pl.col("sip_code").cast(pl.Int16).alias("code"),
        pl.col("time").cast(pl.Int64).alias("epoch"),
        (pl.col("method") == "BYE").alias("is_bye"),
    )
    first, last = frame.select(pl.min("epoch"), pl.max("epoch").alias("last")).row(0)
    if first < 1 or last > _MAX_EPOCH or last - first >= 1 << 32:
        return None
    return frame


def _calls(lines: pl.DataFrame, data: bytes) -> ParsedBatch:
    """Pair the lines into calls (opensips_flatstore._pair) and map each call."""
    (first_epoch,) = lines.select(pl.min("epoch")).row(0)
    order = (pl.col("epoch") - first_epoch) * _ROWS + pl.int_range(pl.len(), dtype=pl.Int64)
    final = ~pl.col("is_bye") & (pl.col("code") >= 200)
    answered = final & (pl.col("code") < 300)
    lines = lines.with_columns(
        order.alias("order"),
        pl.min_horizontal("from_tag", "to_tag").alias("low_tag"),
        pl.max_horizontal("from_tag", "to_tag").alias("high_tag"),
    ).with_columns(
        # Per dialog: the earliest final INVITE opens the call, the earliest BYE ends it.
        pl.when(final).then("order").min().over(_DIALOG).alias("opening"),
        pl.when(answered).then("order").min().over(_DIALOG).alias("first_answer"),
        pl.when(pl.col("is_bye")).then("order").min().over(_DIALOG).alias("first_bye"),
    )
    openings = lines.select(
        "number", "callid", "from_tag", "code", "sip_reason", "epoch", _CALLER, _DESTINATION,
        "order", "opening", "first_bye",
    ).filter(pl.col("order") == pl.col("opening"))  # fmt: skip
    calls = _call_values(openings, lines, first_epoch)
    # What joins no call: a BYE without an answered call, a 1xx INVITE without a call.
    alone = lines.filter(
        pl.when(pl.col("is_bye"))
        .then((pl.col("first_answer") != pl.col("opening")).fill_null(True))
        .otherwise((pl.col("code") < 200) & pl.col("opening").is_null())
    )
    failed = calls.filter(pl.col("failure").is_not_null())
    rejects: list[RejectedRecord] = []
    if alone.height or failed.height:
        texts = _LineTexts(data)
        rejects = _line_rejects(alone, texts) + _call_rejects(failed, lines, texts)
        rejects.sort(key=lambda reject: reject.record_number)
        calls = calls.filter(pl.col("failure").is_null())
    return ParsedBatch(_records(calls), rejects)


def _call_values(openings: pl.DataFrame, lines: pl.DataFrame, first_epoch: int) -> pl.DataFrame:
    """Each call's usage values that vary, plus ``failure`` (the reject reason of the first
    call check it fails, else null) and what its reject detail needs."""
    bye_row = openings.select((pl.col("first_bye") % _ROWS).cast(pl.UInt32)).to_series()
    served, served_error = _normalised(openings[_CALLER])
    other, other_error = _normalised(openings[_DESTINATION])
    openings = openings.with_columns(
        (pl.col("first_bye") // _ROWS + first_epoch).alias("bye_epoch"),
        lines["number"].gather(bye_row).alias("bye_number"),
        lines["code"].gather(bye_row).alias("bye_code"),
        lines["sip_reason"].gather(bye_row).alias("bye_reason"),
        (pl.col("code") < 300).alias("is_answered"),
        served.alias("served_msisdn"),
        other.alias("other_party_number"),
        served_error.alias("served_error"),
        other_error.alias("other_error"),
    )
    answered = pl.col("is_answered")
    failure = (
        pl.when(answered & pl.col("first_bye").is_null())
        .then(pl.lit(RejectReason.UNPAIRED_INVITE.value))
        .when(answered & (pl.col("bye_epoch") < pl.col("epoch")))
        .then(pl.lit(RejectReason.INVALID_TIMESTAMP.value))
        .when((pl.col(_DESTINATION) == "") | (pl.col(_CALLER) == ""))
        .then(pl.lit(RejectReason.MISSING_FIELD.value))
        .when(pl.col("served_error").is_not_null() | pl.col("other_error").is_not_null())
        .then(pl.lit(RejectReason.INVALID_NUMBER.value))
    )
    # sip:<code> <reason> of the INVITE's final reply, or bye:<code> <reason> of the BYE's.
    cause = (
        pl.when(answered & pl.col("bye_code").is_between(200, 299))
        .then(pl.lit("normal"))
        .otherwise(
            pl.concat_str(
                pl.when(answered).then(pl.lit("bye:")).otherwise(pl.lit("sip:")),
                pl.when(answered).then("bye_code").otherwise("code").cast(pl.String),
                pl.lit(" "),
                pl.when(answered).then("bye_reason").otherwise("sip_reason"),
            )
        )
    )
    at = pl.from_epoch("epoch", time_unit="s").dt.replace_time_zone("UTC")
    ended = pl.from_epoch("bye_epoch", time_unit="s").dt.replace_time_zone("UTC")
    return openings.select(
        pl.col("number").alias("record_number"),
        pl.concat_str("callid", pl.lit(":"), "from_tag").alias("record_key"),
        "served_msisdn",
        "other_party_number",
        at.alias("started_at"),
        pl.when(answered).then(at).alias("answered_at"),
        pl.when(answered).then(ended).otherwise(at).alias("ended_at"),
        pl.when(answered)
        .then(pl.col("bye_epoch") - pl.col("epoch"))
        .otherwise(0)
        .alias("duration_seconds"),
        "is_answered",
        cause.alias("release_cause"),
        failure.alias("failure"),
        "opening",
        "epoch",
        "bye_epoch",
        "bye_number",
        _CALLER,
        _DESTINATION,
        "served_error",
        "other_error",
    )


def _normalised(numbers: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(normalised number, InvalidNumberError text) of each value, one of them null.

    NANP numbers by pattern; every other distinct value through normalise_number."""
    nothing = pl.repeat(None, len(numbers), dtype=pl.String, eager=True)
    by_pattern = nothing
    if _NANP_PATTERNS_HOLD:
        by_pattern = pl.select(
            pl.when(numbers.str.contains(_NANP_WITH_ONE))
            .then(numbers)
            .when(numbers.str.contains(_NANP_NATIONAL))
            .then("1" + numbers)
        ).to_series()
    normal: dict[str, str | None] = {}
    errors: dict[str, str | None] = {}
    for raw in numbers.filter(by_pattern.is_null()).unique():
        try:
            normal[raw], errors[raw] = normalise_number(raw), None
        except InvalidNumberError as exc:
            normal[raw], errors[raw] = None, str(exc)
    if not normal:
        return by_pattern, nothing
    looked_up = numbers.replace_strict(normal, default=None, return_dtype=pl.String)
    error = numbers.replace_strict(errors, default=None, return_dtype=pl.String)
    return (
        pl.select(pl.coalesce(by_pattern, looked_up)).to_series(),
        pl.select(pl.when(by_pattern.is_null()).then(error)).to_series(),
    )


def _records(calls: pl.DataFrame) -> pa.Table:
    """The accepted calls as PARSED_SCHEMA: varying values from ``calls``, the rest filled."""
    varying = calls.select(name for name in PARSED_SCHEMA.names if name in calls.columns).to_arrow()
    size = varying.num_rows
    columns = []
    for field in PARSED_SCHEMA:
        if field.name in _CONSTANTS:
            columns.append(pa.repeat(pa.scalar(_CONSTANTS[field.name], field.type), size))
        elif field.name in varying.column_names:
            columns.append(varying[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(size, field.type))
    return pa.Table.from_arrays(columns, schema=PARSED_SCHEMA)


class _LineTexts:
    """A file's lines as rejects quote them: decoded, without the CR of a CRLF."""

    def __init__(self, data: bytes) -> None:
        self.rows = data.split(b"\n")

    def __getitem__(self, number: int) -> str:
        return self.rows[number - 1].removesuffix(b"\r").decode("utf-8")


def _line_rejects(alone: pl.DataFrame, texts: _LineTexts) -> list[RejectedRecord]:
    """The rejects of lines that join no call, each numbered by its line."""
    rejects = []
    for number, is_bye, code in alone.select("number", "is_bye", "code").iter_rows():
        if is_bye:
            reason = RejectReason.UNPAIRED_BYE
            detail = "BYE without an answered INVITE of its dialog in this file"
        else:
            reason = RejectReason.UNPAIRED_INVITE
            detail = f"early-media report {code} without the INVITE's final reply in this file"
        rejects.append(RejectedRecord(number, reason, detail, texts[number]))
    return rejects


def _call_rejects(
    failed: pl.DataFrame, lines: pl.DataFrame, texts: _LineTexts
) -> list[RejectedRecord]:
    """The rejects of calls that fail a call check, each with all its lines as raw text:
    its INVITE lines, and its BYE lines when it was answered."""
    members = lines.filter(
        pl.col("opening").is_in(failed["opening"].implode())
        & (~pl.col("is_bye") | (pl.col("first_answer") == pl.col("opening")))
    )
    call_lines: dict[int, list[str]] = {}
    for opening, number in members.select("opening", "number").iter_rows():
        call_lines.setdefault(opening, []).append(texts[number])
    rejects = []
    for call in failed.iter_rows(named=True):
        reason = RejectReason(call["failure"])
        text = "\n".join(call_lines[call["opening"]])
        rejects.append(RejectedRecord(call["record_number"], reason, _detail(reason, call), text))
    return rejects


def _detail(reason: RejectReason, call: dict[str, Any]) -> str:
    """The detail the row parser gives a call failing with ``reason``."""
    if reason is RejectReason.UNPAIRED_INVITE:
        return _UNPAIRED_INVITE
    if reason is RejectReason.INVALID_TIMESTAMP:
        return (
            f"BYE at {call['bye_epoch']} (line {call['bye_number']}) before the answer at "
            f"{call['epoch']}"
        )
    if reason is RejectReason.MISSING_FIELD:
        empty = _DESTINATION if call[_DESTINATION] == "" else _CALLER
        return f"{empty} is empty"
    return str(call["served_error"] or call["other_error"])
