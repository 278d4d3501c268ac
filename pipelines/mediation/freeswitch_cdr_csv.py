"""Parser for FreeSWITCH ``mod_cdr_csv`` files (docs/formats/freeswitch_cdr_csv.md).

mod_cdr_csv writes one line per call leg by expanding a template of channel variables
(``"${caller_id_number}","${destination_number}",...``) from cdr_csv.conf.xml. The file has
no header, so the parser must be told the template: ``parse_file`` reads the vanilla
``example`` template; ``make_parser`` builds a parser for any other template, typically one
read with ``parse_template`` from the switch's own cdr_csv.conf.xml.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.mediation.local_time import CallTimes, best_call_times, local_instants
from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import RowError, read_line_records, whole_seconds
from pipelines.schema import RejectReason

#: The ``example`` template of FreeSWITCH's vanilla cdr_csv.conf.xml, its default-template.
EXAMPLE_COLUMNS = (
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
    "read_codec",
    "write_codec",
)
#: The template mod_cdr_csv compiles in under the name ``default``: the ``example`` columns
#: without the codecs. A cdr_csv.conf.xml may override it with its own ``default``.
BUILTIN_DEFAULT_COLUMNS = EXAMPLE_COLUMNS[:13]

#: Dialplan contexts that receive calls from other networks. In FreeSWITCH's vanilla
#: configuration, calls from gateways and unauthenticated peers (the external SIP profile)
#: enter ``public``; registered users dial from their directory ``user_context``
#: (``default``). Every context not listed is a subscriber's own dialling.
INBOUND_CONTEXTS = frozenset({"public"})
#: Caller ids that name no one: withheld (SIP privacy gives ``anonymous``) or FreeSWITCH's
#: own SWITCH_DEFAULT_CLID_NUMBER for a call that presented none. Compared lowercased.
WITHHELD_CALLERS = frozenset(
    {"", "anonymous", "restricted", "unavailable", "unknown", "private", "0000000000"}
)
#: FreeSWITCH computes duration and billsec from the same truncated-second clock
#: (hangup - created, hangup - answered; answered >= created), so unlike Asterisk, billsec
#: can never exceed duration, not even by a second.
BILLSEC_OVER_DURATION_TOLERANCE = 0

#: The call's instants and the template variables that give them, best first: ``*_epoch``
#: is UTC and unambiguous, ``*_stamp`` is switch-local wall time.
TIME_VARIABLES = {
    "start": ("start_epoch", "start_stamp"),
    "answer": ("answer_epoch", "answer_stamp"),
    "end": ("end_epoch", "end_stamp"),
}
#: Variables every template must carry for the canonical record (besides the times).
REQUIRED_VARIABLES = (
    "caller_id_number",
    "destination_number",
    "context",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
)

_DIGITS = re.compile(r"[0-9]+")
# One template field: a single channel variable, optionally in double quotes.
_TEMPLATE_FIELD = re.compile(r'(?P<quote>"?)\$\{(?P<name>[A-Za-z0-9_]+)\}(?P=quote)')
# FreeSWITCH records "never" (an unanswered call's answer time) as time 0.
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Parser = Callable[[bytes, FileContext], Iterator[ParsedRecord | RejectedRecord]]


class TemplateError(ValueError):
    """A cdr_csv template that cannot be read, or lacks a variable the usage record needs."""


def parse_template(xml_text: str, name: str) -> list[str]:
    """Return the column variables of template ``name`` in a cdr_csv.conf.xml text.

    A template must be a comma-separated list of single variables, each optionally in double
    quotes (``"${uuid}",${billsec}``); spaces around fields are allowed (the vanilla ``snom``
    template has one). Anything else (literal text, API expressions such as
    ``${regex(...)}``, the ``sql`` INSERT template, several lines) cannot be mapped back to
    columns: TemplateError. ``default`` falls back to mod_cdr_csv's compiled-in template when
    the file does not define it. Raises TemplateError for unreadable XML or an unknown name.
    """
    try:
        root = ElementTree.fromstring(xml_text)
    except ElementTree.ParseError as exc:
        raise TemplateError(f"cdr_csv.conf is not well-formed XML: {exc}") from exc
    templates = {element.get("name"): element.text or "" for element in root.iter("template")}
    if name not in templates:
        if name == "default":
            return list(BUILTIN_DEFAULT_COLUMNS)
        raise TemplateError(
            f"no template {name!r} in cdr_csv.conf; it has {', '.join(map(str, templates))}"
        )
    return _template_columns(name, templates[name])


def _template_columns(name: str, text: str) -> list[str]:
    # mod_cdr_csv appends the line end itself when the template has none.
    body = text.strip()
    if "\n" in body or "\r" in body:
        raise TemplateError(f"template {name!r} spans several lines; one CDR must be one line")
    columns = []
    for field in body.split(","):
        match = _TEMPLATE_FIELD.fullmatch(field.strip())
        if match is None:
            raise TemplateError(
                f"template {name!r} field {field.strip()!r} is not a single ${{variable}}"
            )
        columns.append(match["name"])
    return columns


def make_parser(
    columns: Sequence[str], inbound_contexts: Iterable[str] = INBOUND_CONTEXTS
) -> Parser:
    """Return a ``parse_file(data, context)`` for files written with the template ``columns``.

    ``inbound_contexts`` are the dialplan contexts whose calls come from other networks
    (default: ``public``). Variables the usage record does not use (caller_id_name,
    bleg_uuid, accountcode, codecs, sip_hangup_disposition, ...) may be in the template and
    are ignored. Raises TemplateError when a needed variable is missing: a switch configured
    that way cannot be mediated, which is a configuration fault, not a bad record.
    """
    return _FreeswitchCdrCsv(tuple(columns), frozenset(inbound_contexts)).parse_file


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one ParsedRecord or RejectedRecord per non-blank line of an ``example`` file.

    record_number is the 1-based line number; blank lines are skipped (their numbers are
    not reused); a file without any record yields one EMPTY_FILE reject, record_number 0.
    """
    return _EXAMPLE_PARSER(data, context)


class _FreeswitchCdrCsv:
    """A parser bound to one template: column positions are resolved once, at construction."""

    def __init__(self, columns: tuple[str, ...], inbound_contexts: frozenset[str]) -> None:
        missing = [variable for variable in REQUIRED_VARIABLES if variable not in columns]
        self.time_columns: dict[str, str] = {}
        for instant, variables in TIME_VARIABLES.items():
            present = [variable for variable in variables if variable in columns]
            if present:
                self.time_columns[instant] = present[0]
            else:
                missing.append(" or ".join(variables))
        if missing:
            raise TemplateError(f"template lacks {', '.join(missing)}: {', '.join(columns)}")
        self.columns = columns
        # A variable written twice has the same value twice; read its first column.
        self.position = {name: columns.index(name) for name in set(columns)}
        self.inbound_contexts = inbound_contexts

    def parse_file(
        self, data: bytes, context: FileContext
    ) -> Iterator[ParsedRecord | RejectedRecord]:
        """Yield one item per non-blank line; see the module's ``parse_file``.

        Lines are parsed one at a time so that a stray quote spoils only its own line:
        mod_cdr_csv does not escape values, so a caller name holding ``"`` breaks the
        quoting, and a csv reader over the whole file would carry the open field across
        every following line.
        """
        tz = ZoneInfo(context.timezone)
        # skipinitialspace: the built-in default and snom templates write `", "`.
        yield from read_line_records(
            data, lambda fields: self._parse_row(fields, tz), skipinitialspace=True
        )

    def _parse_row(self, fields: list[str], tz: ZoneInfo) -> dict[str, Any]:
        if len(fields) != len(self.columns):
            raise RowError(
                RejectReason.UNKNOWN_COLUMN_LAYOUT,
                f"{len(fields)} columns; the template has {len(self.columns)}",
            )
        row = {name: fields[index].strip() for name, index in self.position.items()}
        inbound = row["context"] in self.inbound_contexts
        required = [*REQUIRED_VARIABLES, self.time_columns["start"], self.time_columns["end"]]
        for variable in required:
            # An inbound caller may be withheld; the answer time is empty when unanswered.
            if not row[variable] and not (variable == "caller_id_number" and inbound):
                raise RowError(RejectReason.MISSING_FIELD, f"{variable} is empty")

        duration = whole_seconds("duration", row["duration"])
        billsec = whole_seconds("billsec", row["billsec"])
        if billsec > duration + BILLSEC_OVER_DURATION_TOLERANCE:
            raise RowError(
                RejectReason.INVALID_DURATION,
                f"billsec {billsec} exceeds duration {duration}: billed time cannot exceed "
                "the call",
            )
        started_at, answered_at, ended_at = self._call_times(row, duration, billsec, tz)
        if billsec > 0 and answered_at is None:
            raise RowError(RejectReason.INVALID_DURATION, f"billsec {billsec} without an answer")

        try:
            if inbound:
                served = normalise_number(row["destination_number"])
                caller = row["caller_id_number"]
                other = None if caller.lower() in WITHHELD_CALLERS else normalise_number(caller)
            else:
                served = normalise_number(row["caller_id_number"])
                other = normalise_number(row["destination_number"])
        except InvalidNumberError as exc:
            raise RowError(RejectReason.INVALID_NUMBER, str(exc)) from exc

        return {
            "record_key": row["uuid"],
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
            "is_answered": billsec > 0 and answered_at is not None,
            "release_cause": row["hangup_cause"],
            # The CDR names no channel or gateway: see the format doc, trunk groups.
            "outgoing_trunk_group": None,
            "incoming_trunk_group": None,
            "cell_id": None,
        }

    def _call_times(
        self, row: dict[str, str], duration: int, billsec: int, tz: ZoneInfo
    ) -> CallTimes:
        """Read start, answer and end as UTC instants (see local_time for local stamps).

        FreeSWITCH derives duration, billsec and the times from the same clock, so in the
        hour a DST change repeats the right reading of local stamps matches exactly.
        """
        starts = self._instants(row, "start", tz)
        answers = self._instants(row, "answer", tz)
        ends = self._instants(row, "end", tz)
        for variable, instants in (("start", starts), ("end", ends)):
            if _UNIX_EPOCH in instants:
                raise RowError(
                    RejectReason.INVALID_TIMESTAMP,
                    f"{self.time_columns[variable]} is time 0: the switch recorded no {variable}",
                )
        columns = self.time_columns
        written = (row[columns["start"]], row[columns["answer"]], row[columns["end"]])
        return best_call_times(starts, answers, ends, duration, billsec, written)

    def _instants(self, row: dict[str, str], instant: str, tz: ZoneInfo) -> list[datetime]:
        """The UTC instants a time field can mean; none for an empty or time-0 answer."""
        column = self.time_columns[instant]
        value = row[column]
        if not value:
            return []
        instants = (
            _epoch(column, value)
            if column.endswith("_epoch")
            else local_instants(column, value, tz)
        )
        # answer time 0 (answer_epoch "0"; as a local stamp in old releases) is "never".
        if instant == "answer" and instants == [_UNIX_EPOCH]:
            return []
        return instants


def _epoch(column: str, value: str) -> list[datetime]:
    try:
        if not _DIGITS.fullmatch(value):
            raise ValueError("not whole epoch seconds")
        return [datetime.fromtimestamp(int(value), UTC)]
    except (ValueError, OverflowError, OSError) as exc:
        raise RowError(RejectReason.INVALID_TIMESTAMP, f"{column} {value!r}: {exc}") from exc


_EXAMPLE_PARSER = make_parser(EXAMPLE_COLUMNS)
