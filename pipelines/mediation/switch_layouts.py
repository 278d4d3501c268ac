"""Per-switch CDR layouts: the parser of a switch whose CDR columns its own configuration names.

Asterisk ``cdr_custom`` and FreeSWITCH ``mod_cdr_csv`` write the columns the switch's
configuration lists, in its order, without a header, so mediation must read that
configuration. The optional ``cdr_layout`` column of ``reference/switches.csv`` names it:
``<file under the reference folder>#<name>``:

- asterisk_cdr_csv: a ``cdr_custom.conf`` and the mapping's output file (``Master.csv`` when
  no name is given), read with ``asterisk_cdr_custom``;
- freeswitch_cdr_csv: a ``cdr_csv.conf.xml`` and the template (``example`` when no name is
  given), read with ``freeswitch_cdr_csv``.

An empty ``cdr_layout`` is the feed's standard layout (cdr_csv by column count, FreeSWITCH's
``example`` template), which the feed's columnar fast path may read; a configured layout is
read by the row parser only (the fast paths know only the standard layouts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from pipelines.mediation import asterisk_cdr_custom, freeswitch_cdr_csv
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.schema import Feed

Parser = Callable[[bytes, FileContext], Iterable[ParsedRecord | RejectedRecord]]


class SwitchLayoutError(ValueError):
    """A configured layout that cannot be used: unknown feed, missing file, unreadable or
    incomplete configuration."""


def _asterisk(conf_text: str, name: str) -> Parser:
    mappings = asterisk_cdr_custom.parse_mappings(conf_text)
    file_name = name or "Master.csv"
    if file_name not in mappings:
        raise SwitchLayoutError(
            f"no mapping for {file_name!r} in cdr_custom.conf; it maps {', '.join(mappings)}"
        )
    return asterisk_cdr_custom.make_parser(mappings[file_name])


def _freeswitch(conf_text: str, name: str) -> Parser:
    return freeswitch_cdr_csv.make_parser(
        freeswitch_cdr_csv.parse_template(conf_text, name or "example")
    )


#: Feeds whose switches may configure their layout -> reader of (configuration text, name).
CONFIGURABLE_FEEDS: dict[str, Callable[[str, str], Parser]] = {
    Feed.ASTERISK_CDR_CSV: _asterisk,
    Feed.FREESWITCH_CDR_CSV: _freeswitch,
}


def layout_parser(reference: Path, feed: str, cdr_layout: str) -> Parser:
    """The row parser of a switch of ``feed`` whose ``cdr_layout`` is
    ``<file under reference>#<name>``. Raises SwitchLayoutError saying what is wrong."""
    reader = CONFIGURABLE_FEEDS.get(feed)
    if reader is None:
        raise SwitchLayoutError(
            f"feed {feed} has a fixed layout; only {', '.join(CONFIGURABLE_FEEDS)} switches "
            "take a cdr_layout"
        )
    file_name, _, name = cdr_layout.partition("#")
    path = (reference / file_name).resolve()
    if not path.is_relative_to(reference.resolve()) or not path.is_file():
        raise SwitchLayoutError(f"cdr_layout {cdr_layout!r}: no file {file_name!r} in {reference}")
    try:
        return reader(path.read_text(encoding="utf-8"), name)
    except ValueError as exc:  # the parsers' MappingError and TemplateError
        raise SwitchLayoutError(f"cdr_layout {cdr_layout!r}: {exc}") from exc
