"""Numba kernels of the bill run's sequential rules: each line's history replayed into the
plans it held, and each account's receivables replayed into payment allocations.

Arrays only; call them through ``kernels.billing_api``, which checks dtypes, shapes and
offsets. ``pipelines.billing.lifecycle`` and ``pipelines.billing.receivables`` state the
rules; tests/billing/reference_recurring.py and tests/billing/reference_receivables.py are
the per-line and per-event specifications the kernels are compared with.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def plan_spans_nb(
    order_offsets,
    activated,
    cancelled,
    line_plan,
    order_day,
    order_kind,
    order_plan,
    known_through,
    open_day,
):
    """Replay each line's orders known through ``known_through`` into its plan spans.

    Line i's orders are ``order_offsets[i]:order_offsets[i + 1]`` in (completed, order_id)
    order; order kinds are the indexes of ``lifecycle.ORDER_TYPES``: 0 activation,
    1 plan_change, 2 suspension, 3 resumption, 4 cancellation. ``open_day`` stands for no
    date (an activated or cancelled date not known, a span still held). Returns the spans,
    by line and in time order: line, plan, start, stop (exclusive).
    """
    n_lines = activated.size
    # Every order starts at most one span and the line's last one closes: the bound.
    capacity = n_lines + order_day.size
    span_line = np.empty(capacity, np.int64)
    span_plan = np.empty(capacity, np.int64)
    span_start = np.empty(capacity, np.int64)
    span_stop = np.empty(capacity, np.int64)
    count = 0
    for line in range(n_lines):
        since = activated[line]
        if since > known_through:
            continue
        first = order_offsets[line]
        last = order_offsets[line + 1]
        plan = line_plan[line]
        for i in range(first, last):
            if order_day[i] <= known_through and order_kind[i] == 0:
                plan = order_plan[i]
                break
        stop = cancelled[line] if cancelled[line] <= known_through else open_day
        for i in range(first, last):
            if order_day[i] <= known_through and order_kind[i] == 4 and order_day[i] < stop:
                stop = order_day[i]
        in_service = True
        for i in range(first, last):
            day = order_day[i]
            if day > known_through or day < activated[line] or day >= stop:
                continue
            kind = order_kind[i]
            if kind == 1 and order_plan[i] != plan:
                if in_service and day > since:
                    span_line[count] = line
                    span_plan[count] = plan
                    span_start[count] = since
                    span_stop[count] = day
                    count += 1
                plan = order_plan[i]
                since = day
            elif kind == 2 and in_service:
                if day > since:
                    span_line[count] = line
                    span_plan[count] = plan
                    span_start[count] = since
                    span_stop[count] = day
                    count += 1
                in_service = False
            elif kind == 3 and not in_service:
                since = day
                in_service = True
        if in_service and stop > since:
            span_line[count] = line
            span_plan[count] = plan
            span_start[count] = since
            span_stop[count] = stop
            count += 1
    return span_line[:count], span_plan[:count], span_start[:count], span_stop[:count]


@njit(cache=True)
def _settle_nb(
    source,
    amount,
    at,
    named,
    settle_order,
    lo,
    hi,
    open_micros,
    out_source,
    out_invoice,
    out_at,
    out_micros,
    count,
):
    """Pay the account's open invoices from ``amount`` of event ``source`` during event
    ``at``: ``named`` first (an event index, or -1), then those of
    ``settle_order[lo:hi]`` in that order. Returns what is left, the rows written so far
    and how many invoices it paid off."""
    paid_off = 0
    if named >= 0 and open_micros[named] > 0 and amount != 0:
        applied = min(amount, open_micros[named])
        amount -= applied
        open_micros[named] -= applied
        if open_micros[named] == 0:
            paid_off += 1
        out_source[count] = source
        out_invoice[count] = named
        out_at[count] = at
        out_micros[count] = applied
        count += 1
    for j in range(lo, hi):
        invoice = settle_order[j]
        if invoice == named or open_micros[invoice] == 0:
            continue
        if amount == 0:
            break
        applied = min(amount, open_micros[invoice])
        amount -= applied
        open_micros[invoice] -= applied
        if open_micros[invoice] == 0:
            paid_off += 1
        out_source[count] = source
        out_invoice[count] = invoice
        out_at[count] = at
        out_micros[count] = applied
        count += 1
    return amount, count, paid_off


@njit(cache=True)
def allocate_nb(
    account_offsets, event_kind, event_amount, event_named, order_offsets, settle_order
):
    """Replay every account's events, in order, against its open invoices and credit.

    Account a's events are ``account_offsets[a]:account_offsets[a + 1]``; kinds 0 an
    invoice issued, 1 a credit note, 2 a payment; its invoices in settling order (due
    date, then id) are the event indexes ``settle_order[order_offsets[a]:...[a + 1]]``.
    Returns the allocation rows (paying event, invoice event, event during which it
    was applied, micros) and each account's unapplied credit.
    """
    n_events = event_kind.size
    n_accounts = account_offsets.size - 1
    open_micros = np.zeros(n_events, np.int64)
    credit_source = np.empty(n_events, np.int64)
    credit_micros = np.empty(n_events, np.int64)
    # A settle writes a row per invoice it pays off and at most one more; an invoice is paid
    # off once, and the settles are one per payment or credit note plus, per invoice
    # issued, one per credit it uses up and one more: 2 rows per event bound them.
    capacity = 2 * n_events + 1
    out_source = np.empty(capacity, np.int64)
    out_invoice = np.empty(capacity, np.int64)
    out_at = np.empty(capacity, np.int64)
    out_micros = np.empty(capacity, np.int64)
    unapplied = np.zeros(n_accounts, np.int64)
    count = 0
    for a in range(n_accounts):
        lo = order_offsets[a]
        hi = order_offsets[a + 1]
        # The account's credit, oldest first: credit_*[head:tail].
        head = account_offsets[a]
        tail = head
        open_count = 0
        for e in range(account_offsets[a], account_offsets[a + 1]):
            if event_kind[e] == 0:
                if event_amount[e] > 0:
                    open_micros[e] = event_amount[e]
                    open_count += 1
                while head < tail and open_count > 0:
                    left, count, paid_off = _settle_nb(
                        credit_source[head],
                        credit_micros[head],
                        e,
                        -1,
                        settle_order,
                        lo,
                        hi,
                        open_micros,
                        out_source,
                        out_invoice,
                        out_at,
                        out_micros,
                        count,
                    )
                    open_count -= paid_off
                    credit_micros[head] = left
                    if left == 0:
                        head += 1
            else:
                left, count, paid_off = _settle_nb(
                    e,
                    event_amount[e],
                    e,
                    event_named[e],
                    settle_order,
                    lo,
                    hi,
                    open_micros,
                    out_source,
                    out_invoice,
                    out_at,
                    out_micros,
                    count,
                )
                open_count -= paid_off
                if left != 0:
                    credit_source[tail] = e
                    credit_micros[tail] = left
                    tail += 1
        for k in range(head, tail):
            unapplied[a] += credit_micros[k]
    return out_source[:count], out_invoice[:count], out_at[:count], out_micros[:count], unapplied
