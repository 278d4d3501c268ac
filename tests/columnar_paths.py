"""Checking a columnar fast path against its row parser, for the format tests.

Imported by name from the test folders (tests/ is on sys.path through conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipelines.mediation.records import (
    FileContext,
    ParsedBatch,
    ParsedRecord,
    RejectedRecord,
    parsed_batch,
)

RowParser = Callable[[bytes, FileContext], Iterable[ParsedRecord | RejectedRecord]]
ColumnarParser = Callable[[bytes, FileContext], ParsedBatch | None]


def checked_answer(
    columnar: ColumnarParser, row: RowParser, data: bytes, context: FileContext
) -> ParsedBatch | None:
    """The fast path's answer, asserted equal to the row parser's when it gives one."""
    batch = columnar(data, context)
    if batch is not None:
        expected = parsed_batch(row(data, context))
        assert batch.records.schema == expected.records.schema
        assert batch.records.equals(expected.records), difference(batch, expected)
        assert batch.rejects == expected.rejects
    return batch


def difference(batch: ParsedBatch, expected: ParsedBatch) -> str:
    """The first record and column where two batches differ, for an assertion message."""
    got, want = batch.records, expected.records
    if got.num_rows != want.num_rows:
        return f"{got.num_rows} records, expected {want.num_rows}"
    for name in want.column_names:
        for number, (left, right) in enumerate(zip(got[name], want[name], strict=True)):
            if left != right:
                return f"record {number + 1} {name}: {left} != {right}"
    return "tables differ"


#: One mutation: (kind, where, column, value, byte), as the format tests draw them.
Mutation = tuple[str, int, int, str, bytes]


def mutate(data: bytes, mutations: list[Mutation], separator: bytes) -> bytes:
    """``data`` with each mutation applied: a field of a line (fields split at
    ``separator``) set to ``value``, or one byte replaced, inserted or deleted."""
    for kind, where, column, value, byte in mutations:
        if kind == "field":
            lines = data.split(b"\n")
            line = where % len(lines)
            fields = lines[line].split(separator)
            fields[column % len(fields)] = value.encode()
            lines[line] = separator.join(fields)
            data = b"\n".join(lines)
        elif data:
            at = where % len(data)
            if kind == "replace":
                data = data[:at] + byte + data[at + 1 :]
            elif kind == "insert":
                data = data[:at] + byte + data[at:]
            else:
                data = data[:at] + data[at + 1 :]
    return data
