"""Rate a CSV of usage events against a catalog or a CGRateS plan: ``telcolake rate-events``.

Each event is rated by the reference engine (``reference.rate_event``), independently of
the pipeline's rating, so a revenue-assurance analyst can re-rate a sample of billed usage
and compare. The money is exact (``exact``, the default) or as a CGRateS rater computes it
(``cgrates``, see ``cgrates_money``). docs/cgrates.md describes both files' columns.

Input columns: tenant, category, subject, destination, tor, answer_time, usage, and
optionally event_id (default: the line number), on_net (true/false: the other party is one
of the operator's lines) and covered (billed units an allowance paid, as the pipeline
drew them; ``pipelines.rating.sample`` writes a sample of billed usage in this form). A
row that cannot be read is written to the output with an error code and its reason; it
never stops the run.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pipelines.tariffs.cgrates import import_plan, parse_duration
from pipelines.tariffs.cgrates_money import DEFAULT_DECIMALS, cgrates_cost_micros
from pipelines.tariffs.model import Catalog, Event, Rating
from pipelines.tariffs.reference import rate_event

EVENT_COLUMNS = ("tenant", "category", "subject", "destination", "tor", "answer_time", "usage")
COST_COLUMNS = (
    "event_id",
    "cost",
    "cost_micros",
    "error",
    "error_detail",
    "subject",
    "rating_plan",
    "destination_id",
    "prefix",
    "rate",
    "timing",
    "billed_usage",
    "allowance_units",
    "money_mode",
)
#: Kinds of record CGRateS names; only voice is split at band changes and midnight.
TIME_BASED_TORS = frozenset({"*voice"})
UNIT_TORS = frozenset({"*data", "*sms", "*mms", "*generic"})
DEFAULT_TOR = "*voice"  # CGRateS's default ToR


class MoneyMode(StrEnum):
    EXACT = "exact"  # exact fractions, rounded once per event (reference)
    CGRATES = "cgrates"  # CGRateS's per-increment float rounding (cgrates_money)


class InputError(StrEnum):
    """Why a row of the events file was not rated (rating errors are model.RatingError)."""

    MISSING_FIELD = "MISSING_FIELD"
    BAD_TOR = "BAD_TOR"
    BAD_ANSWER_TIME = "BAD_ANSWER_TIME"
    BAD_USAGE = "BAD_USAGE"
    BAD_FLAG = "BAD_FLAG"


class EventsFileError(ValueError):
    """The events file as a whole cannot be read (not a CSV with the required columns)."""


@dataclass(frozen=True)
class EventRow:
    """One line of the events file: an event to rate, or why there is none."""

    event_id: str
    event: Event | None
    error: InputError | None = None
    detail: str = ""
    covered: int = 0


@dataclass(frozen=True)
class RunSummary:
    events: int
    rated: int
    errors: int


def parse_usage(text: str) -> int:
    """Usage in units: ``90s``, ``1m30s`` are seconds; a bare number is units (bytes, SMS).

    Raises ValueError with the reason when the text is neither.
    """
    value = parse_duration(text.strip())
    if text.strip() == "" or value is None:
        raise ValueError(f"usage {text!r} is not a whole number of seconds (90s, 1m30s) or units")
    return value


def parse_answer_time(text: str) -> tuple[datetime, datetime]:
    """(local wall clock as written, the same instant in UTC) of an RFC 3339 time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"answer_time {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"answer_time {text!r} has no UTC offset (e.g. +02:00 or Z)")
    return moment.replace(tzinfo=None), moment.astimezone(UTC)


def _event_row(line: int, record: dict[str, str]) -> EventRow:
    event_id = (record.get("event_id") or "").strip() or str(line)
    fields = {column: (record.get(column) or "").strip() for column in EVENT_COLUMNS}
    for column in ("tenant", "category", "subject", "answer_time", "usage"):
        if not fields[column]:
            return EventRow(event_id, None, InputError.MISSING_FIELD, f"{column} is empty")
    tor = fields["tor"] or DEFAULT_TOR
    if tor not in TIME_BASED_TORS | UNIT_TORS:
        known = ", ".join(sorted(TIME_BASED_TORS | UNIT_TORS))
        return EventRow(event_id, None, InputError.BAD_TOR, f"tor {tor!r} is not one of {known}")
    try:
        local, utc = parse_answer_time(fields["answer_time"])
    except ValueError as problem:
        return EventRow(event_id, None, InputError.BAD_ANSWER_TIME, str(problem))
    try:
        usage = parse_usage(fields["usage"])
    except ValueError as problem:
        return EventRow(event_id, None, InputError.BAD_USAGE, str(problem))
    on_net = (record.get("on_net") or "false").strip().lower()
    covered = (record.get("covered") or "0").strip()
    if on_net not in ("true", "false") or not covered.isdigit():
        detail = f"on_net {on_net!r} must be true/false, covered {covered!r} whole units"
        return EventRow(event_id, None, InputError.BAD_FLAG, detail)
    event = Event(
        tenant=fields["tenant"],
        category=fields["category"],
        subject=fields["subject"],
        destination=fields["destination"] or None,
        start=local,
        usage=usage,
        time_based=tor in TIME_BASED_TORS,
        on_net=on_net == "true",
        start_utc=utc,
    )
    return EventRow(event_id, event, covered=int(covered))


def read_events(path: Path) -> Iterator[EventRow]:
    """The events of a CSV file, in file order; EventsFileError if a column is missing."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in EVENT_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise EventsFileError(f"{path}: missing column(s) {', '.join(missing)}")
        for record in reader:
            yield _event_row(reader.line_num, record)


def _distinct(values: Iterable[str]) -> str:
    return ";".join(dict.fromkeys(values))


def _decimal_text(micros: int) -> str:
    return format(Decimal(micros).scaleb(-6).normalize(), "f")


def cost_record(
    row: EventRow, money: MoneyMode, decimals: int = DEFAULT_DECIMALS, rating: Rating | None = None
) -> dict[str, str]:
    """The output line of one event row (``rating``: its rating, None if it was not rated)."""
    record = dict.fromkeys(COST_COLUMNS, "")
    record["event_id"] = row.event_id
    record["money_mode"] = money.value
    if row.error is not None:
        record["error"], record["error_detail"] = row.error.value, row.detail
        return record
    assert row.event is not None and rating is not None  # a readable row is rated
    if rating.error is not None:
        record["error"] = rating.error.value
        record["subject"] = rating.subject or ""
        return record
    if money is MoneyMode.CGRATES:
        micros = cgrates_cost_micros(rating, row.event.time_based, decimals)
    else:
        micros = rating.cost_micros
    spans = rating.spans
    record.update(
        cost=_decimal_text(micros),
        cost_micros=str(micros),
        subject=rating.subject or "",
        rating_plan=_distinct(s.rating_plan_id for s in spans),
        destination_id=_distinct(s.destination_id for s in spans),
        prefix=_distinct(s.prefix for s in spans),
        rate=_distinct(s.rate_id for s in spans),
        timing=_distinct(s.timing_id for s in spans),
        billed_usage=str(rating.billed_usage),
        allowance_units=str(rating.allowance_units),
    )
    return record


def rate_rows(
    catalog: Catalog,
    rows: Iterable[EventRow],
    money: MoneyMode = MoneyMode.EXACT,
    decimals: int = DEFAULT_DECIMALS,
) -> Iterator[dict[str, str]]:
    """Rate each readable row with the reference engine; one output record per row."""
    for row in rows:
        rating = rate_event(catalog, row.event, row.covered) if row.event is not None else None
        yield cost_record(row, money, decimals, rating)


def is_native_catalog(path: Path) -> bool:
    """A folder of the project's own catalog format (catalog.yaml), not a CGRateS plan."""
    return (Path(path) / "catalog.yaml").is_file()


def load_plan(path: Path) -> tuple[Catalog, tuple[str, ...]]:
    """A catalog folder (catalog.yaml) or a CGRateS tariff plan folder, and import warnings."""
    if is_native_catalog(path):
        # Imported only here: the catalog loader is optional for CGRateS users.
        from pipelines.tariffs.catalog_files import load_catalog

        return load_catalog(Path(path)), ()
    imported = import_plan(Path(path))
    return imported.catalog, imported.warnings


def rate_events_file(
    catalog: Catalog,
    events: Path,
    out: Path,
    money: MoneyMode = MoneyMode.EXACT,
    decimals: int = DEFAULT_DECIMALS,
) -> RunSummary:
    """Rate the events file into the costs file; counts of events, rated and errors."""
    rated = errors = 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for record in rate_rows(catalog, read_events(events), money, decimals):
            writer.writerow(record)
            if record["error"]:
                errors += 1
            else:
                rated += 1
    return RunSummary(rated + errors, rated, errors)
