"""Validated entry points to the bill run's kernels (``kernels.billing_nb``): the replay of
each line's orders into its plan spans, and of each account's invoices, credit notes and
payments into allocations.

Arrays must have the exact dtypes documented (C-contiguous, one dimension): a silent cast
on a money path hides the bug that produced it. Money is int64 micro-units; dates are day
numbers since 1970-01-01 (int64), with ``OPEN_DAY`` for no date; plans are integer codes
the caller assigns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kernels.api import _check
from kernels.billing_nb import allocate_nb, plan_spans_nb


def _writable(array: np.ndarray) -> np.ndarray:
    """``array``, copied if read-only (a zero-copy view of a frame's column): the kernel is
    compiled once, for writable arrays, rather than once per mix of the two."""
    return array if array.flags.writeable else array.copy()


def _rising(name: str, offsets: np.ndarray, rows: int) -> None:
    if offsets[0] != 0 or offsets[-1] != rows or (np.diff(offsets) < 0).any():
        raise ValueError(f"{name} must rise from 0 to {rows}")


#: The day number that stands for no date: an unknown activation or cancellation, a span
#: still held. Later than any date, so "no stop" compares as "never stops".
OPEN_DAY = int(np.iinfo(np.int64).max)
#: Order kinds by kernel code (``order_kind``): ``pipelines.billing.lifecycle.ORDER_TYPES``.
ORDER_KINDS = ("activation", "plan_change", "suspension", "resumption", "cancellation")


@dataclass(frozen=True)
class PlanSpans:
    """Each line's plan in service, by line and in time order, int64 (s,): line (its
    index), plan (its code), start and stop (exclusive; ``OPEN_DAY``: still held)."""

    line: np.ndarray
    plan: np.ndarray
    start: np.ndarray
    stop: np.ndarray


def plan_spans(
    order_offsets: np.ndarray,
    activated: np.ndarray,
    cancelled: np.ndarray,
    line_plan: np.ndarray,
    order_day: np.ndarray,
    order_kind: np.ndarray,
    order_plan: np.ndarray,
    known_through: int,
) -> PlanSpans:
    """The plan spans of every line as its completed orders known through the end of day
    ``known_through`` make them (``pipelines.billing.lifecycle`` states the rules).

    Lines, int64 (n,): activated and cancelled day (``OPEN_DAY``: none), line_plan (the
    plan subscribers.csv names). Orders, int64 (m,), line i's being
    ``order_offsets[i]:order_offsets[i + 1]`` (int64 (n + 1,)) in (completed, order_id)
    order: order_day (completed), order_kind (index in ``ORDER_KINDS``), order_plan.
    """
    n = _check("activated", activated, np.int64).size
    _check("cancelled", cancelled, np.int64, n)
    _check("line_plan", line_plan, np.int64, n)
    offsets = _check("order_offsets", order_offsets, np.int64, n + 1)
    m = _check("order_day", order_day, np.int64).size
    _check("order_kind", order_kind, np.int64, m)
    _check("order_plan", order_plan, np.int64, m)
    _rising("order_offsets", offsets, m)
    if m and (order_kind.min() < 0 or order_kind.max() >= len(ORDER_KINDS)):
        raise ValueError(f"order_kind must be 0-{len(ORDER_KINDS) - 1}")
    if m and order_day.max() == OPEN_DAY:
        raise ValueError("every order needs its completed day")
    if not -OPEN_DAY < known_through < OPEN_DAY:
        raise ValueError("known_through must be a day")
    return PlanSpans(
        *plan_spans_nb(
            _writable(offsets),
            _writable(activated),
            _writable(cancelled),
            _writable(line_plan),
            _writable(order_day),
            _writable(order_kind),
            _writable(order_plan),
            np.int64(known_through),
            np.int64(OPEN_DAY),
        )
    )


#: Event kinds by kernel code (``event_kind``), in the order one day replays them.
ISSUE_EVENT, CREDIT_NOTE_EVENT, PAYMENT_EVENT = 0, 1, 2


@dataclass(frozen=True)
class Allocations:
    """Kernel results. Per allocation, int64 (r,), in replay order: source (the paying
    event), invoice (the invoice's issue event), at (the event during which it was
    applied: its date is the allocation's) and micros. Per account, int64 (a,):
    unapplied (the credit left once every open invoice was paid)."""

    source: np.ndarray
    invoice: np.ndarray
    at: np.ndarray
    micros: np.ndarray
    unapplied: np.ndarray


def allocate(
    account_offsets: np.ndarray,
    event_kind: np.ndarray,
    event_amount: np.ndarray,
    event_named: np.ndarray,
    order_offsets: np.ndarray,
    settle_order: np.ndarray,
) -> Allocations:
    """Replay each account's events against its open invoices and unapplied credit
    (``pipelines.billing.receivables`` states the rules).

    Events, (n,), account a's being ``account_offsets[a]:account_offsets[a + 1]`` (int64
    (a + 1,)) in replay order: event_kind int64 (``ISSUE_EVENT``, ``CREDIT_NOTE_EVENT`` or
    ``PAYMENT_EVENT``); event_amount int64 (an invoice's or credit note's magnitude, a
    payment's amount); event_named int64 (the issue event of the invoice a payment names,
    in its own account, else -1). Per account, its issue events in settling order (due
    date, then invoice id): ``settle_order[order_offsets[a]:order_offsets[a + 1]]`` (int64
    (a + 1,) and (k,)).
    """
    n = _check("event_kind", event_kind, np.int64).size
    _check("event_amount", event_amount, np.int64, n)
    _check("event_named", event_named, np.int64, n)
    _check("account_offsets", account_offsets, np.int64)
    _check("order_offsets", order_offsets, np.int64, account_offsets.size)
    _check("settle_order", settle_order, np.int64)
    _rising("account_offsets", account_offsets, n)
    _rising("order_offsets", order_offsets, settle_order.size)
    if n and (event_kind.min() < ISSUE_EVENT or event_kind.max() > PAYMENT_EVENT):
        raise ValueError("event_kind must be ISSUE_EVENT, CREDIT_NOTE_EVENT or PAYMENT_EVENT")
    account = np.repeat(np.arange(account_offsets.size - 1), np.diff(account_offsets))
    owner = np.repeat(np.arange(order_offsets.size - 1), np.diff(order_offsets))
    if (settle_order.size and (settle_order.min() < 0 or settle_order.max() >= n)) or (
        not np.array_equal(np.bincount(settle_order, minlength=n), event_kind == ISSUE_EVENT)
        or (account[settle_order] != owner).any()
    ):
        raise ValueError("settle_order must list each account's issue events once")
    named = event_named >= 0
    if (event_named[named] >= n).any() or (account[event_named[named]] != account[named]).any():
        raise ValueError("event_named must name an event of the same account, or be -1")
    return Allocations(
        *allocate_nb(
            _writable(account_offsets),
            _writable(event_kind),
            _writable(event_amount),
            _writable(event_named),
            _writable(order_offsets),
            _writable(settle_order),
        )
    )
