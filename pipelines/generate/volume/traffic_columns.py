"""The column tables volume traffic is drawn and written in: records, calls, sessions."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

import numpy as np


class Columns:
    """A dataclass of equally long NumPy columns."""

    def __len__(self) -> int:
        return int(getattr(self, fields(self)[0].name).size)  # type: ignore[arg-type]

    def take(self, rows: np.ndarray) -> Self:
        """The rows ``rows`` (indexes or a mask), in that order."""
        return type(self)(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})  # type: ignore[arg-type]

    @classmethod
    def concat(cls, parts: list[Self]) -> Self:
        """The rows of ``parts`` one after the other."""
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


@dataclass(frozen=True)
class MobileRecords(Columns):
    """MSC and PGW records: the kernel's columns, the served line as a row of the mobile
    lines, ``reference`` the call reference (MSC) or charging id (PGW)."""

    kind: np.ndarray  # int8 RecordKind
    line: np.ndarray  # int32
    other: np.ndarray  # int64 E.164 digits
    other_digits: np.ndarray  # int8
    started: np.ndarray  # int64 epoch seconds
    answered: np.ndarray  # int64, -1 unanswered
    ended: np.ndarray  # int64
    cause: np.ndarray  # int64
    cell: np.ndarray  # int32 row of the cell table
    reference: np.ndarray  # int64
    sequence: np.ndarray  # int64, -1 whole record
    uplink: np.ndarray  # int64 bytes
    downlink: np.ndarray  # int64 bytes
    incoming_trunk: np.ndarray  # int32 TEXTS row or -1
    outgoing_trunk: np.ndarray  # int32


@dataclass(frozen=True)
class FixedCalls(Columns):
    """Asterisk calls of fixed lines (rows of the fixed lines), one CDR each."""

    line: np.ndarray  # int32
    outbound: np.ndarray  # bool
    kind: np.ndarray  # int8 party kind
    other: np.ndarray  # int64 E.164 digits of the far end
    other_digits: np.ndarray  # int8
    callee: np.ndarray  # int32 fixed line row of an on-net callee, else -1
    trunk: np.ndarray  # int32 TEXTS row: towards the party (outbound), or it came in on
    started: np.ndarray  # int64
    answered: np.ndarray  # int64, -1 unanswered
    ended: np.ndarray  # int64
    disposition: np.ndarray  # int8 DISPOSITIONS row
    sequence: np.ndarray  # int64 Asterisk CDR sequence (channels 2s and 2s + 1)


@dataclass(frozen=True)
class DataSessions(Columns):
    """PGW sessions (IP-CAN bearers) cut into ``records`` partial records."""

    line: np.ndarray  # int32
    start: np.ndarray  # int64
    length: np.ndarray  # int64 seconds
    records: np.ndarray  # int64
    downlink: np.ndarray  # int64 bytes over the session
    uplink: np.ndarray  # int64
    charging_id: np.ndarray  # int64


def no_sessions() -> DataSessions:
    """An empty session table."""
    empty = np.zeros(0, dtype=np.int64)
    return DataSessions(empty.astype(np.int32), empty, empty, empty, empty, empty, empty)
