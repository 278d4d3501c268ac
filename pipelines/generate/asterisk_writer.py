"""Asterisk ``cdr_csv`` rows in the ``newcdrcolumns`` layout, byte for byte as Asterisk writes.

Asterisk's cdr_csv.c quotes every string field (doubling embedded quotes), writes the
integers duration, billsec and sequence bare, and writes an unset time (the answer of an
unanswered call) as nothing at all, not even quotes. Times are the switch's local time
(``usegmtime=no``). Each row ends with a newline; there is no header.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pipelines.generate.traffic import AsteriskCall

#: The Master.csv columns with ``loguniqueid``, ``loguserfield`` and ``newcdrcolumns`` on.
CDR_CSV_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid", "userfield", "peeraccount", "linkedid", "sequence",
)  # fmt: skip
#: Asterisk's default AMA flag for every CDR.
AMA_FLAGS = "DOCUMENTATION"


def quote(text: str) -> str:
    """A string field as Asterisk's append_string writes it."""
    return '"' + text.replace('"', '""') + '"'


def local_time(epoch: int, tz: ZoneInfo) -> str:
    """Asterisk's DATE_FORMAT (``%Y-%m-%d %T``) in the switch's time zone."""
    return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M:%S")


def cdr_fields(call: AsteriskCall, tz: ZoneInfo) -> list[str]:
    """The encoded fields of one row, in CDR_CSV_COLUMNS order."""
    billsec = call.end - call.answer if call.answer is not None else 0
    return [
        quote(call.accountcode),
        quote(call.src),
        quote(call.dst),
        quote(call.dcontext),
        quote(call.clid),
        quote(f"PJSIP/{call.channel_endpoint}-{call.channel_number:08x}"),
        quote(f"PJSIP/{call.dstchannel_endpoint}-{call.dstchannel_number:08x}"),
        quote("Dial"),
        quote(call.lastdata),
        quote(local_time(call.start, tz)),
        quote(local_time(call.answer, tz)) if call.answer is not None else "",
        quote(local_time(call.end, tz)),
        str(call.end - call.start),
        str(billsec),
        quote(call.disposition),
        quote(AMA_FLAGS),
        quote(call.uniqueid),
        quote(""),
        quote(call.peeraccount),
        quote(call.uniqueid),  # linkedid: the caller channel's, on every leg of the call
        str(call.sequence),
    ]


def join_row(fields: list[str]) -> str:
    """A Master.csv line from encoded fields."""
    return ",".join(fields) + "\n"


def format_cdr_row(call: AsteriskCall, tz: ZoneInfo) -> str:
    """One Master.csv line for ``call``."""
    return join_row(cdr_fields(call, tz))


#: The ways the generator breaks a row (bad input anomalies) and what each does.
MALFORMED_KINDS = {
    "unclosed_quote": "the userfield opens a quote that never closes (the row is cut there)",
    "invalid_start": "the start time is not a valid timestamp",
    "invalid_billsec": "billsec is not an integer",
    "extra_columns": "two columns more than the newcdrcolumns layout",
}


def malformed_row(call: AsteriskCall, tz: ZoneInfo, kind: str) -> str:
    """A deliberately broken line for ``call``, as a faulty switch or transfer would leave."""
    fields = cdr_fields(call, tz)
    if kind == "unclosed_quote":
        # Like Asterisk's own buggy.csv fixture: the row stops inside a quoted field.
        return ",".join(fields[:17]) + ',"' + "\n"
    if kind == "invalid_start":
        # Hour 25, minute 61: the shape of a timestamp, not a time.
        fields[CDR_CSV_COLUMNS.index("start")] = quote(local_time(call.start, tz)[:11] + "25:61:07")
    elif kind == "invalid_billsec":
        fields[CDR_CSV_COLUMNS.index("billsec")] += "s"
    elif kind == "extra_columns":
        fields += [quote("X-Carrier-Ref"), quote(f"{call.sequence}")]
    else:
        raise ValueError(f"unknown malformed row kind {kind!r}; known: {list(MALFORMED_KINDS)}")
    return join_row(fields)
