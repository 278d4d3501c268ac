"""Parser for OpenSIPS acc records in db_flatstore files (docs/formats/opensips_flatstore.md).

In transaction mode the acc module writes one line per accounted SIP transaction, not per
call: the INVITE's final reply and, for an answered call, the BYE each give a line
``method|from_tag|to_tag|callid|sip_code|sip_reason|time|<extras>``. A call is therefore
rebuilt by pairing lines of one dialog (Call-ID plus the two tags, in either order, since
the callee's BYE carries them swapped). ``parse_file`` reads the layout of CGRateS'
flatstore tests (``CGRATES_LAYOUT``); ``make_parser`` builds a parser for any other set of
``db_extra`` columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.mediation.numbering import InvalidNumberError, normalise_number
from pipelines.mediation.records import FileContext, ParsedRecord, RejectedRecord
from pipelines.mediation.text_records import RowError, split_lines, whole_seconds
from pipelines.schema import RejectReason

#: The columns the acc module always writes first, in this order (OpenSIPS ``acc`` table).
CORE_FIELDS = ("method", "from_tag", "to_tag", "callid", "sip_code", "sip_reason", "time")
#: The ``db_extra`` columns of CGRateS' flatstore tests (the real samples): the CGRateS reader
#: maps them as RequestType, Account (and Subject), Destination, nothing, DialogId.
CGRATES_EXTRAS = ("cgr_reqtype", "cgr_account", "cgr_destination", "unnamed_extra", "dialog_id")
#: Caller values that name no one on an inbound call (SIP privacy), compared lowercased.
WITHHELD_CALLERS = frozenset({"", "anonymous", "restricted", "unavailable", "unknown"})

_DIGITS = re.compile(r"[0-9]+")
# A SIP status code (RFC 3261 section 7.2: three digits, classes 1xx to 6xx).
_SIP_CODE = re.compile(r"[1-6][0-9]{2}")
_METHODS = frozenset({"INVITE", "BYE"})

Parser = Callable[[bytes, FileContext], Iterator[ParsedRecord | RejectedRecord]]
Item = ParsedRecord | RejectedRecord


class LayoutError(ValueError):
    """A flatstore layout that names a column it does not have, or is otherwise unusable."""


@dataclass(frozen=True)
class FlatstoreLayout:
    """How a switch's acc and db_flatstore modules are configured.

    ``extras`` are the ``db_extra`` column names in their configured order, written after
    ``CORE_FIELDS``. ``caller`` and ``destination`` name the extras holding the calling
    account or number and the called number. ``setup_seconds`` optionally names an extra
    holding the whole seconds from the INVITE's arrival to its final reply (without it the
    call starts when it is answered). ``peer`` optionally names an extra identifying where
    the call came from (a trunk or peer id such as ``$si``); a call whose peer is in
    ``inbound_peers`` is inbound. ``delimiter`` is db_flatstore's ``delimiter`` parameter.
    """

    extras: tuple[str, ...] = CGRATES_EXTRAS
    caller: str = "cgr_account"
    destination: str = "cgr_destination"
    setup_seconds: str | None = None
    peer: str | None = None
    inbound_peers: frozenset[str] = field(default_factory=frozenset)
    delimiter: str = "|"

    def validate(self) -> None:
        """Raise LayoutError when the layout cannot describe a usable flatstore file."""
        if len(self.delimiter) != 1:
            raise LayoutError(f"delimiter {self.delimiter!r} must be one character")
        names = [*CORE_FIELDS, *self.extras]
        if len(set(names)) != len(names):
            raise LayoutError(f"column names repeat: {', '.join(names)}")
        for role in ("caller", "destination", "setup_seconds", "peer"):
            name = getattr(self, role)
            if name is not None and name not in self.extras:
                raise LayoutError(f"{role} {name!r} is not one of the extras {self.extras}")
        if self.inbound_peers and self.peer is None:
            raise LayoutError("inbound_peers need a peer extra to compare them with")


CGRATES_LAYOUT = FlatstoreLayout()


def make_parser(layout: FlatstoreLayout) -> Parser:
    """Return a ``parse_file(data, context)`` for files written with ``layout``.

    Raises LayoutError at construction for an unusable layout: a switch configured that way
    cannot be mediated, a configuration fault rather than bad records.
    """
    layout.validate()
    return _OpensipsFlatstore(layout).parse_file


def parse_file(data: bytes, context: FileContext) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield one item per call, and per line that cannot join a call, of a CGRATES_LAYOUT file.

    A call is numbered by the line of its opening INVITE (1-based, blank lines counted but
    not records); its BYE and later INVITE lines are part of that record. A BYE without its
    answered INVITE is an ``unpaired_bye`` reject numbered by its own line; a file without
    any line yields one EMPTY_FILE reject with record_number 0.
    """
    return _CGRATES_PARSER(data, context)


@dataclass(frozen=True)
class _Line:
    """One well-formed accounting line."""

    number: int
    text: str
    method: str
    from_tag: str
    to_tag: str
    callid: str
    code: int
    reason: str
    epoch: int
    extras: dict[str, str]

    @property
    def dialog(self) -> tuple[str, str, str]:
        # The callee's in-dialog requests carry the tags swapped: order them.
        low, high = sorted((self.from_tag, self.to_tag))
        return self.callid, low, high

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, UTC)


@dataclass
class _Call:
    """The lines of one dialog: the opening INVITE, later INVITEs and BYEs."""

    opening: _Line
    followers: list[_Line] = field(default_factory=list)
    byes: list[_Line] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return 200 <= self.opening.code < 300

    def raw_text(self) -> str:
        lines = sorted([self.opening, *self.followers, *self.byes], key=lambda line: line.number)
        return "\n".join(line.text for line in lines)


class _OpensipsFlatstore:
    """A parser bound to one layout."""

    def __init__(self, layout: FlatstoreLayout) -> None:
        self.layout = layout
        self.width = len(CORE_FIELDS) + len(layout.extras)

    def parse_file(
        self, data: bytes, context: FileContext
    ) -> Iterator[ParsedRecord | RejectedRecord]:
        """Yield the file's items in record-number order; see the module's ``parse_file``.

        Times are epoch seconds (UTC), so ``context`` is not needed beyond the interface.
        """
        items: list[Item] = []
        lines: list[_Line] = []
        found = False
        for number, raw in enumerate(split_lines(data), start=1):
            if not raw.strip():
                continue
            found = True
            try:
                lines.append(self._read_line(number, raw))
            except RowError as error:
                text = raw.decode("utf-8", errors="backslashreplace")
                items.append(RejectedRecord(number, error.reason, error.detail, text))
        if not found:
            yield RejectedRecord(0, RejectReason.EMPTY_FILE, f"{len(data)} bytes, no line", "")
            return
        calls, unjoined = _pair(lines)
        items.extend(unjoined)
        items.extend(self._call_item(call) for call in calls)
        yield from sorted(items, key=lambda item: item.record_number)

    def _read_line(self, number: int, raw: bytes) -> _Line:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RowError(
                RejectReason.INVALID_ENCODING,
                f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8",
            ) from exc
        values = text.split(self.layout.delimiter)
        if len(values) != self.width:
            # db_flatstore does not escape values: a delimiter inside one shifts the rest.
            raise RowError(
                RejectReason.MALFORMED_ROW, f"{len(values)} fields; the layout has {self.width}"
            )
        row = dict(zip((*CORE_FIELDS, *self.layout.extras), values, strict=True))
        if row["method"] not in _METHODS:
            raise RowError(
                RejectReason.UNSUPPORTED_RECORD_TYPE,
                f"method {row['method']!r}: only INVITE and BYE make calls",
            )
        for name in ("callid", "from_tag"):
            if not row[name]:
                raise RowError(RejectReason.MISSING_FIELD, f"{name} is empty")
        if not _SIP_CODE.fullmatch(row["sip_code"]):
            raise RowError(
                RejectReason.MALFORMED_ROW, f"sip_code {row['sip_code']!r} is not a SIP status"
            )
        return _Line(
            number=number,
            text=text,
            method=row["method"],
            from_tag=row["from_tag"],
            to_tag=row["to_tag"],
            callid=row["callid"],
            code=int(row["sip_code"]),
            reason=row["sip_reason"],
            epoch=_epoch(row["time"]),
            extras={name: row[name] for name in self.layout.extras},
        )

    def _call_item(self, call: _Call) -> Item:
        try:
            return ParsedRecord(call.opening.number, self._call_values(call))
        except RowError as error:
            return RejectedRecord(call.opening.number, error.reason, error.detail, call.raw_text())

    def _call_values(self, call: _Call) -> dict[str, Any]:
        invite = call.opening
        if call.answered and not call.byes:
            raise RowError(
                RejectReason.UNPAIRED_INVITE,
                "answered call without BYE in this file; pairing across files comes with "
                "partial-record correlation",
            )
        started = invite.epoch - self._setup_seconds(invite)
        if call.answered:
            # Of several BYEs (both parties hanging up at once), the first one ended the call.
            bye = min(call.byes, key=lambda line: (line.epoch, line.number))
            if bye.epoch < invite.epoch:
                raise RowError(
                    RejectReason.INVALID_TIMESTAMP,
                    f"BYE at {bye.epoch} (line {bye.number}) before the answer at {invite.epoch}",
                )
            answered_at: datetime | None = invite.at
            ended_at = bye.at
            duration = bye.epoch - invite.epoch
            cause = "normal" if 200 <= bye.code < 300 else f"bye:{bye.code} {bye.reason}"
        else:
            answered_at = None
            ended_at = invite.at
            duration = 0
            cause = f"sip:{invite.code} {invite.reason}"
        inbound, served, other, peer = self._parties(invite)
        return {
            "record_key": f"{invite.callid}:{invite.from_tag}",
            "record_type": "voice_mt" if inbound else "voice_mo",
            "service": "voice",
            "direction": "inbound" if inbound else "outbound",
            "served_msisdn": served,
            "served_imsi": None,
            "served_imei": None,
            "other_party_number": other,
            "started_at": datetime.fromtimestamp(started, UTC),
            "answered_at": answered_at,
            "ended_at": ended_at,
            "duration_seconds": duration,
            "uplink_bytes": 0,
            "downlink_bytes": 0,
            "data_volume_bytes": 0,
            "is_answered": call.answered,
            "release_cause": cause,
            "outgoing_trunk_group": None,
            "incoming_trunk_group": peer if inbound else None,
            "cell_id": None,
        }

    def _setup_seconds(self, invite: _Line) -> int:
        name = self.layout.setup_seconds
        if name is None:
            return 0
        seconds = whole_seconds(name, invite.extras[name])
        if seconds > invite.epoch:
            raise RowError(RejectReason.INVALID_DURATION, f"{name} {seconds} reaches before 1970")
        return seconds

    def _parties(self, invite: _Line) -> tuple[bool, str, str | None, str | None]:
        """(inbound, served number, other party's number, peer) of a call's INVITE."""
        layout = self.layout
        peer = invite.extras[layout.peer] if layout.peer is not None else None
        inbound = peer in layout.inbound_peers
        caller = invite.extras[layout.caller]
        destination = invite.extras[layout.destination]
        if not destination:
            raise RowError(RejectReason.MISSING_FIELD, f"{layout.destination} is empty")
        if not caller and not inbound:
            raise RowError(RejectReason.MISSING_FIELD, f"{layout.caller} is empty")
        try:
            if inbound:
                served = normalise_number(destination)
                withheld = caller.lower() in WITHHELD_CALLERS
                other = None if withheld else normalise_number(caller)
            else:
                served = normalise_number(caller)
                other = normalise_number(destination)
        except InvalidNumberError as exc:
            raise RowError(RejectReason.INVALID_NUMBER, str(exc)) from exc
        return inbound, served, other, peer


def _pair(lines: list[_Line]) -> tuple[list[_Call], list[Item]]:
    """Group well-formed lines into calls; return the calls and the lines left alone.

    Per dialog, the earliest INVITE with a final reply (by time, then line) opens the call;
    later INVITEs of the dialog (re-INVITEs, copies) and early-media (1xx) INVITE lines
    join it. BYEs join an answered call of their dialog. What joins nothing is rejected on
    its own line: a BYE as ``unpaired_bye``, a 1xx INVITE as ``unpaired_invite``.
    """
    finals = sorted(
        (line for line in lines if line.method == "INVITE" and line.code >= 200),
        key=lambda line: (line.epoch, line.number),
    )
    calls: dict[tuple[str, str, str], _Call] = {}
    for line in finals:
        if line.dialog in calls:
            calls[line.dialog].followers.append(line)
        else:
            calls[line.dialog] = _Call(line)
    alone: list[Item] = []
    for line in lines:
        call = calls.get(line.dialog)
        if line.method == "BYE":
            if call is not None and call.answered:
                call.byes.append(line)
            else:
                alone.append(
                    RejectedRecord(
                        line.number,
                        RejectReason.UNPAIRED_BYE,
                        "BYE without an answered INVITE of its dialog in this file",
                        line.text,
                    )
                )
        elif line.code < 200:
            if call is not None:
                call.followers.append(line)
            else:
                alone.append(
                    RejectedRecord(
                        line.number,
                        RejectReason.UNPAIRED_INVITE,
                        f"early-media report {line.code} without the INVITE's final reply in "
                        "this file",
                        line.text,
                    )
                )
    return list(calls.values()), alone


def _epoch(value: str) -> int:
    """Whole seconds since 1970 (db_flatstore writes acc's time as ``%u``)."""
    if not _DIGITS.fullmatch(value):
        raise RowError(RejectReason.INVALID_TIMESTAMP, f"time {value!r} is not epoch seconds")
    epoch = int(value)
    if epoch == 0:
        raise RowError(RejectReason.INVALID_TIMESTAMP, "time 0: the switch recorded no time")
    try:
        datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise RowError(RejectReason.INVALID_TIMESTAMP, f"time {value}: {exc}") from exc
    return epoch


_CGRATES_PARSER = make_parser(CGRATES_LAYOUT)
