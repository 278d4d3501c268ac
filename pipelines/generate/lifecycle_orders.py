"""Suspension orders: when each suspended line was suspended.

subscribers.csv says a line is ``suspended`` as of the export; the bill run needs the day
(it stops the monthly fee), so each suspended line gets a completed ``suspension`` order
in the month, after its activation and any plan change. Numbered after the CRM's other
orders so they keep their ids.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from pipelines.generate.customers import CustomerBase


def suspension_order_rows(
    rng: np.random.Generator, base: CustomerBase, month_start: date, month_end: date
) -> list[dict[str, object]]:
    first_number = len(base.order_rows) + 1
    rows: list[dict[str, object]] = []
    for line in base.subscribers:
        if line.status != "suspended":
            continue
        earliest = max(month_start, line.activated_date, line.plan_changed_date or month_start)
        days = (month_end - earliest).days
        suspended = earliest + timedelta(days=int(rng.integers(1, days + 1)) if days else 0)
        rows.append(
            {
                "order_id": f"ORD{first_number + len(rows):07d}",
                "account_id": line.account.account_id,
                "subscriber_id": line.subscriber_id,
                "order_type": "suspension",
                "plan_id": line.plan_id,
                "ordered_date": suspended.isoformat(),
                "completed_date": suspended.isoformat(),
                "order_status": "completed",
            }
        )
    return rows
