"""Legal holds: records the retention purge must keep (reference ``legal_holds.csv``).

A hold preserves the toll records of a subscriber, of an account's lines, or of everyone
(``all``) whose event date falls in ``[from_date, to_date]`` (an empty ``to_date`` has no
end) until it is released: from ``released_on`` the purge deletes what it kept, if the
records are past retention by then. docs/privacy.md gives the columns and an example.

The file is optional (no file: no holds). When it exists it must be right: the purge
refuses to run on a file with a problem, and names every problem, because a hold it could
not read would let it delete records a court asked to keep.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pipelines.config import Layout
from pipelines.reference import LEGAL_HOLDS_FILE

COLUMNS = (
    "hold_id",
    "scope",
    "subject_id",
    "from_date",
    "to_date",
    "case_reference",
    "placed_by",
    "placed_on",
    "released_on",
)


class HoldScope(StrEnum):
    SUBSCRIBER = "subscriber"  # subject_id: a subscriber_id of subscribers.csv
    ACCOUNT = "account"  # subject_id: an account_id of accounts.csv (all its lines)
    ALL = "all"  # every record of the dates; subject_id empty


class LegalHoldsError(ValueError):
    """legal_holds.csv has problems; ``problems`` lists each with its line number."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LegalHold:
    hold_id: str
    scope: HoldScope
    subject_id: str | None
    from_date: date
    to_date: date | None
    case_reference: str
    placed_by: str
    placed_on: date
    released_on: date | None

    def active_on(self, day: date) -> bool:
        """Whether the hold still binds on ``day`` (placed, and not released by then)."""
        return self.placed_on <= day and (self.released_on is None or day < self.released_on)

    def covers_day(self, event_date: date) -> bool:
        """Whether the hold's dates include ``event_date``."""
        return self.from_date <= event_date and (self.to_date is None or event_date <= self.to_date)


def read_legal_holds(
    layout: Layout,
    subscriber_ids: Collection[str] | None = None,
    account_ids: Collection[str] | None = None,
) -> list[LegalHold]:
    """The holds of ``reference/legal_holds.csv`` (none without the file), validated.

    With ``subscriber_ids`` and ``account_ids`` (the CRM's), a hold naming a subject the
    CRM does not know is a problem too. Raises LegalHoldsError naming every problem.
    """
    path = layout.reference / LEGAL_HOLDS_FILE
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise LegalHoldsError(
                str(path), [f"the header must be {','.join(COLUMNS)}, got {','.join(header)}"]
            )
        rows = list(reader)
    holds: list[LegalHold] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        row_problems: list[str] = []
        hold = _parse(row, row_problems)
        if hold is not None:
            if hold.hold_id in seen:
                row_problems.append(f"hold_id {hold.hold_id} is repeated")
            seen.add(hold.hold_id)
            known = {HoldScope.SUBSCRIBER: subscriber_ids, HoldScope.ACCOUNT: account_ids}
            subjects = known.get(hold.scope)
            if subjects is not None and hold.subject_id not in subjects:
                row_problems.append(f"{hold.scope} {hold.subject_id} is not in the CRM")
        problems.extend(f"line {line}: {problem}" for problem in row_problems)
        if hold is not None and not row_problems:
            holds.append(hold)
    if problems:
        raise LegalHoldsError(str(path), problems)
    return holds


def _parse(row: dict[str, str | None], problems: list[str]) -> LegalHold | None:
    text = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in ("hold_id", "scope", "from_date", "case_reference", "placed_by", "placed_on"):
        if not text[column]:
            problems.append(f"{column} is empty")
    try:
        scope = HoldScope(text["scope"])
    except ValueError:
        if text["scope"]:
            problems.append(
                f"scope {text['scope']!r} is not one of {', '.join(s.value for s in HoldScope)}"
            )
        scope = None
    if scope is HoldScope.ALL and text["subject_id"]:
        problems.append("a hold of scope all names no subject_id")
    if scope in (HoldScope.SUBSCRIBER, HoldScope.ACCOUNT) and not text["subject_id"]:
        problems.append(f"a hold of scope {scope} needs a subject_id")
    dates = {
        column: _date(text[column], column, problems)
        for column in ("from_date", "to_date", "placed_on", "released_on")
    }
    from_date, to_date = dates["from_date"], dates["to_date"]
    if from_date and to_date and to_date < from_date:
        problems.append(f"to_date {to_date} is before from_date {from_date}")
    placed_on, released_on = dates["placed_on"], dates["released_on"]
    if placed_on and released_on and released_on < placed_on:
        problems.append(f"released_on {released_on} is before placed_on {placed_on}")
    if problems or scope is None or from_date is None or placed_on is None:
        return None
    return LegalHold(
        hold_id=text["hold_id"],
        scope=scope,
        subject_id=text["subject_id"] or None,
        from_date=from_date,
        to_date=to_date,
        case_reference=text["case_reference"],
        placed_by=text["placed_by"],
        placed_on=placed_on,
        released_on=released_on,
    )


def _date(text: str, column: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{column} {text!r} is not a date (YYYY-MM-DD)")
        return None
