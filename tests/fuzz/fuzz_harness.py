"""What every fuzz target checks, and what it counts (docs/fuzzing.md).

A target feeds one input to a parser and returns an ``Outcome``: how many records the input
held, how many were accepted and why the others were rejected. Anything the parser is not
documented to do is a failure:

- an exception other than the parser's documented error types (a crash);
- a ``ContractViolation``: output that breaks the parser contract of
  ``pipelines/mediation/records.py`` (one item per record numbered from 1, file-level rejects
  numbered 0, every reject with a known reason and a detail, every accepted record with all
  the usage columns, a key, UTC times, non-negative durations and volumes that fit the lake's
  columns), counts that do not add up to an independent count of the records in the input,
  a second run that answers differently, or two implementations of one parser that disagree.

Imported by name from the fuzz tests and from scripts/fuzz_parsers.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from pipelines.mediation.records import (
    PARSER_COLUMNS,
    PARTIAL_COLUMNS,
    ParsedBatch,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)
from pipelines.schema import RejectReason

Item = ParsedRecord | RejectedRecord

#: Record columns that hold counts (seconds, octets): never negative, and within the lake's
#: int64 columns (a value beyond that the stage turns into a reject, docs/mediation.md).
COUNT_COLUMNS = ("duration_seconds", "uplink_bytes", "downlink_bytes", "data_volume_bytes")
TIME_COLUMNS = ("started_at", "answered_at", "ended_at")
_INT64 = range(-(2**63), 2**63)


class ContractViolation(AssertionError):
    """A parser answered, but not as its contract says: a bug even though nothing raised."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


@dataclass
class Outcome:
    """What a parser made of one input.

    records: records the input held (record_number > 0); accepted: those that became usage
    rows (or, for a target that decodes a single item, 1 when it decoded); rejects: the rest
    by reason code; file_rejects: whole-file rejects (record_number 0) by reason code;
    fast_path: for a target with two implementations, whether the second one read the input
    ("read") or declined it ("declined"), so a campaign shows the comparison really ran.
    """

    records: int = 0
    accepted: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    file_rejects: Counter[str] = field(default_factory=Counter)
    fast_path: str | None = None

    @property
    def parsed(self) -> bool:
        """Whether the input gave at least one accepted record."""
        return self.accepted > 0


def decoded() -> Outcome:
    """The outcome of a single-item decoder that decoded its input."""
    return Outcome(records=1, accepted=1)


def refused(error: Exception) -> Outcome:
    """The outcome of a single-item decoder that refused its input with a documented error,
    whose type is the reason; the error must say why."""
    check(str(error).strip(), f"{type(error).__name__} without a message")
    return Outcome(records=1, rejects=Counter({type(error).__name__: 1}))


def parser_outcome(items: Sequence[Item]) -> Outcome:
    """Check a ``parse_file`` answer against the parser contract and count it."""
    outcome = Outcome()
    numbers: list[int] = []
    for item in items:
        if isinstance(item, RejectedRecord):
            _check_reject(item)
            if item.record_number == 0:
                outcome.file_rejects[item.reason.value] += 1
                continue
            outcome.rejects[item.reason.value] += 1
        elif isinstance(item, ParsedRecord):
            check(item.record_number > 0, f"record number {item.record_number} on a record")
            overflow = _check_values(item)
            if overflow:
                outcome.rejects[overflow] += 1
            else:
                outcome.accepted += 1
        else:
            raise ContractViolation(f"{type(item).__name__} is not a parser record")
        numbers.append(item.record_number)
    check(len(set(numbers)) == len(numbers), f"a record number repeats: {sorted(numbers)}")
    outcome.records = len(numbers)
    return outcome


def _check_reject(item: RejectedRecord) -> None:
    check(isinstance(item.reason, RejectReason), f"reason {item.reason!r} is not a RejectReason")
    check(item.record_number >= 0, f"reject numbered {item.record_number}")
    check(
        isinstance(item.detail, str) and item.detail.strip(),
        f"record {item.record_number}: {item.reason} reject without a detail",
    )
    check(isinstance(item.raw_text, str), f"record {item.record_number}: raw_text not text")


def _check_values(item: ParsedRecord) -> str | None:
    """Check an accepted record's values; the stage's reject reason when a count does not
    fit the lake's 64-bit column (the stage rejects it rather than writing it)."""
    where = f"record {item.record_number}"
    values = item.values
    columns = set(values)
    check(
        set(PARSER_COLUMNS) <= columns <= {*PARSER_COLUMNS, *PARTIAL_COLUMNS},
        f"{where}: columns {sorted(columns ^ set(PARSER_COLUMNS))} differ from the contract",
    )
    key = values["record_key"]
    check(isinstance(key, str) and key, f"{where}: record_key {key!r}")
    for column in TIME_COLUMNS:
        value = values[column]
        if value is None:
            check(column == "answered_at", f"{where}: {column} is missing")
            continue
        check(isinstance(value, datetime), f"{where}: {column} {value!r} is not a time")
        check(value.utcoffset() == timedelta(0), f"{where}: {column} {value} is not UTC")
    for column in COUNT_COLUMNS:
        value = values[column]
        check(isinstance(value, int), f"{where}: {column} {value!r} is not an integer")
        check(value >= 0, f"{where}: {column} is negative ({value})")
        if value not in _INT64:
            overflow = (
                RejectReason.INVALID_VOLUME if "bytes" in column else RejectReason.INVALID_DURATION
            )
            return overflow.value
    return None


def batch_of(items: Iterable[Item]) -> ParsedBatch:
    """``parsed_batch`` of a parser's items less the records the stage would reject for a
    count beyond 64 bits; values of the wrong type for their column are a violation."""
    kept = [
        item
        for item in items
        if isinstance(item, RejectedRecord)
        or all(item.values[column] in _INT64 for column in COUNT_COLUMNS)
    ]
    try:
        return parsed_batch(kept)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as error:
        raise ContractViolation(f"records do not fit the usage columns: {error}") from error


def check_same_batch(got: ParsedBatch, want: ParsedBatch, what: str) -> None:
    """Two implementations' batches must be equal, records and rejects."""
    check(got.records.schema == want.records.schema, f"{what}: record schemas differ")
    check(got.rejects == want.rejects, f"{what}: rejects differ: {_first_difference(got, want)}")
    check(got.records.equals(want.records), f"{what}: {_first_difference(got, want)}")


def _first_difference(got: ParsedBatch, want: ParsedBatch) -> str:
    if got.rejects != want.rejects:
        pairs = zip(got.rejects, want.rejects, strict=False)
        first = next(((a, b) for a, b in pairs if a != b), None)
        return f"{len(got.rejects)} vs {len(want.rejects)} rejects, first differing {first}"
    if got.records.num_rows != want.records.num_rows:
        return f"{got.records.num_rows} records, expected {want.records.num_rows}"
    for name in want.records.column_names:
        left, right = got.records[name].to_pylist(), want.records[name].to_pylist()
        for row, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return f"row {row} {name}: {a!r} != {b!r}"
    return "tables differ"


def check_numbers(items: Sequence[Item], expected: Sequence[int], what: str) -> None:
    """The record numbers a parser yielded (> 0, in file order) must be ``expected``: an
    independent count of the records in the input."""
    got = [item.record_number for item in items if item.record_number > 0]
    check(
        sorted(got) == list(expected),
        f"{what}: record numbers {_short(sorted(got))}, the input holds {_short(expected)}",
    )


def check_empty_file(items: Sequence[Item], what: str) -> None:
    """An input without records gives exactly one EMPTY_FILE reject, numbered 0."""
    reasons = [(item.record_number, getattr(item, "reason", None)) for item in items]
    check(reasons == [(0, RejectReason.EMPTY_FILE)], f"{what}: no record, but {_short(reasons)}")


def _short(values: Sequence[Any]) -> str:
    values = list(values)
    return str(values) if len(values) <= 12 else f"{values[:12]}... ({len(values)})"
