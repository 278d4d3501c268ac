"""Parser for Asterisk ``cdr_custom`` files (docs/formats/asterisk_cdr_csv.md, cdr_custom).

cdr_custom writes one CDR per line in the column order the operator's cdr_custom.conf
names, without a header, so the parser must be told the order: ``parse_mappings`` reads
it from the switch's cdr_custom.conf and ``make_parser`` builds a parser for it. A row is
then checked and mapped exactly as a cdr_csv row (``asterisk_cdr_csv.map_cdr``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.mediation.asterisk_cdr_csv import REQUIRED_COLUMNS, map_cdr
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import RowError, read_line_records
from pipelines.schema import RejectReason

#: The Master.csv mapping of Asterisk's cdr_custom.conf.sample (commented out there, so a
#: switch writes it only when the operator enables it; most do as it is).
SAMPLE_MASTER_COLUMNS = (
    "clid",
    "src",
    "dst",
    "dcontext",
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
    "accountcode",
    "uniqueid",
    "userfield",
    "sequence",
)

#: The section of legacy mappings (``file => template``); every other section is an
#: advanced mapping named after its output file.
LEGACY_SECTION = "mappings"
#: Advanced-mapping settings a CSV reader depends on, with the only values it can read.
CSV_SETTINGS = {
    "format": "dsv",
    "separator_character": ",",
    "quote_character": '"',
    "quote_escape_character": '"',
}

# A legacy field: one CDR variable, bare, through CSV_QUOTE, or in literal double quotes
# (older samples wrote "${CDR(clid)}").
_LEGACY_FIELD = re.compile(
    r"\$\{CDR\((?P<bare>\w+)\)\}"
    r"|\$\{CSV_QUOTE\(\$\{CDR\((?P<csv_quoted>\w+)\)\}\)\}"
    r'|"\$\{CDR\((?P<quoted>\w+)\)\}"',
    re.IGNORECASE,  # Asterisk looks dialplan functions up by name regardless of case
)
# An advanced field: a CDR field name with optional qualifiers, e.g. uniqueid(noquote).
_ADVANCED_FIELD = re.compile(r"(?P<name>\w+)(?:\((?P<qualifiers>[^()]*)\))?")
# Qualifiers that change only the quoting or say where the value comes from, not its text.
_TEXT_QUALIFIERS = frozenset({"quote", "noquote", "uservar"})

Parser = Callable[[bytes, FileContext], Iterator[ParsedRecord | RejectedRecord]]


class MappingError(ValueError):
    """A cdr_custom mapping that cannot be read, or lacks a column the usage record needs."""


def parse_mappings(conf_text: str) -> dict[str, list[str]]:
    """Return the CDR columns, in order, of every file a cdr_custom.conf text writes.

    Legacy mappings (``[mappings]``, ``Master.csv => ${CSV_QUOTE(${CDR(clid)})},...``) must
    list single CDR variables, each bare, through CSV_QUOTE or in double quotes. Advanced
    mappings (a ``[Master.csv]`` section with ``fields = clid, src, ...``) must list field
    names, qualified at most with quote, noquote or uservar, and write CSV (format dsv,
    separator ``,``, quote and quote escape ``"``). Anything else (literal text, other
    functions such as ``${EPOCH}``, options such as ``CDR(duration,f)``, ``start(int64)``)
    cannot be read back as a cdr_csv column: MappingError naming the file and the field.
    Field names are lowercased: Asterisk matches CDR names without regard to case.
    """
    sections = _sections(conf_text)
    mappings = {
        file: _legacy_columns(file, template)
        for file, template in sections.pop(LEGACY_SECTION, {}).items()
    }
    for file, settings in sections.items():
        mappings[file] = _advanced_columns(file, settings)
    return mappings


def make_parser(columns: Sequence[str]) -> Parser:
    """Return a ``parse_file(data, context)`` for a file written in the order ``columns``.

    Each non-blank line yields one ParsedRecord or RejectedRecord, as in
    ``asterisk_cdr_csv.parse_file``; a line with another number of fields is an
    UNKNOWN_COLUMN_LAYOUT reject. Raises MappingError when ``columns`` lacks one of
    ``REQUIRED_COLUMNS``: a switch configured that way cannot be mediated, which is a
    configuration fault, not a bad record.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise MappingError(f"mapping lacks {', '.join(missing)}: {', '.join(columns)}")
    return _AsteriskCdrCustom(tuple(columns)).parse_file


class _AsteriskCdrCustom:
    """A parser bound to one mapping: column positions are resolved once, at construction."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.width = len(columns)
        # A column written twice has the same value twice; read its first position.
        self.position = {name: columns.index(name) for name in set(columns)}

    def parse_file(
        self, data: bytes, context: FileContext
    ) -> Iterator[ParsedRecord | RejectedRecord]:
        tz = ZoneInfo(context.timezone)
        yield from read_line_records(data, lambda fields: self._parse_row(fields, tz))

    def _parse_row(self, fields: list[str], tz: ZoneInfo) -> dict[str, Any]:
        if len(fields) != self.width:
            raise RowError(
                RejectReason.UNKNOWN_COLUMN_LAYOUT,
                f"{len(fields)} columns; the cdr_custom mapping has {self.width}",
            )
        row = {name: fields[index] for name, index in self.position.items()}
        return map_cdr(row, fields, tz)


def _sections(conf_text: str) -> dict[str, dict[str, str]]:
    """The settings of each section of an Asterisk config text (``;`` starts a comment)."""
    sections: dict[str, dict[str, str]] = {}
    settings: dict[str, str] | None = None
    for number, line in enumerate(conf_text.splitlines(), start=1):
        text = re.split(r"(?<!\\);", line, maxsplit=1)[0].strip()
        if not text:
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", text)
        if header:
            settings = sections.setdefault(header[1].strip(), {})
            continue
        # `#include`, template sections `[name](!)` and the like could hide mappings.
        name, equals, value = text.partition("=")
        if settings is None or not equals or text.startswith(("#", "[")):
            raise MappingError(f"cdr_custom.conf line {number} is not read: {text!r}")
        settings[name.strip()] = value.removeprefix(">").strip()
    return sections


def _legacy_columns(file: str, template: str) -> list[str]:
    columns = []
    for field in _top_level_fields(template):
        match = _LEGACY_FIELD.fullmatch(field)
        if match is None:
            raise MappingError(f"{file}: field {field!r} is not a single CDR variable")
        columns.append(next(name for name in match.groups() if name).lower())
    return columns


def _advanced_columns(file: str, settings: dict[str, str]) -> list[str]:
    for setting, readable in CSV_SETTINGS.items():
        value = settings.get(setting, readable)
        if value.lower() != readable:
            raise MappingError(f"{file}: {setting} = {value} is not CSV ({readable})")
    if "fields" not in settings:
        raise MappingError(f"{file}: section has no fields")
    return [_advanced_field(file, field) for field in settings["fields"].split(",")]


def _advanced_field(file: str, field: str) -> str:
    # Whitespace counts only inside literals, and literals are refused anyway.
    match = _ADVANCED_FIELD.fullmatch("".join(field.split()))
    if match is not None:
        qualifiers = (match["qualifiers"] or "").lower().split("^")
        if set(qualifiers) <= _TEXT_QUALIFIERS | {""}:
            return match["name"].lower()
    raise MappingError(f"{file}: field {field.strip()!r} is not a plain CDR field")


def _top_level_fields(template: str) -> list[str]:
    """Split a legacy template at the commas outside ``${...}`` and ``(...)``."""
    fields, depth, start = [], 0, 0
    for index, char in enumerate(template):
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(template[start:index])
            start = index + 1
    fields.append(template[start:])
    return fields


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one item per non-blank line of a file in ``SAMPLE_MASTER_COLUMNS`` order.

    record_number is the 1-based line number; blank lines are skipped (their numbers are
    not reused); a file without any record yields one EMPTY_FILE reject, record_number 0.
    """
    return _SAMPLE_PARSER(data, context)


_SAMPLE_PARSER = make_parser(SAMPLE_MASTER_COLUMNS)
