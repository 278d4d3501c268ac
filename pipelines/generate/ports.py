"""Number porting requests of the lines (port_requests.csv), as of a month's last day.

Only lines with a number (mobile and fixed VoIP) port. About one in twenty of them brought
its number from another carrier: a port-in requested a few days before the line's
activation and completed on it. In the month, a line cancelled in it left by porting out
(completed on its cancellation date), two lines in service have a port-out pending,
requested in the month's last days, and one port-out was rejected by the donor check
(wrong account number or PIN), so its line stays.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from pipelines.periods import parse_period

#: port_requests.csv's columns, in order.
PORT_REQUEST_COLUMNS = (
    "request_id",
    "subscriber_id",
    "msisdn",
    "direction",
    "other_carrier",
    "requested_date",
    "completed_date",
    "request_status",
)
PORT_IN_SHARE = 0.05
PENDING_PORT_OUTS = 2
#: Pending port-outs are requested in this many last days of the month.
PENDING_WINDOW_DAYS = 3
#: A port-in is requested this many days (1 to this) before the activation it completes on.
MAX_PORT_IN_LEAD_DAYS = 5
#: The other carriers of the market: donors of port-ins, recipients of port-outs.
OTHER_CARRIERS = (
    "Prairie Wireless",
    "Lakeshore Bell",
    "Northwoods Cellular",
    "Heartland Mobile",
    "Great Lakes Cable Voice",
)

#: A line: subscriber_id, msisdn (empty or None without a number), activated_date,
#: cancelled_date (None while in service), status (active, suspended or cancelled).
Line = tuple[str, str | None, date, date | None, str]


def port_request_rows(
    rng: np.random.Generator, lines: list[Line], month: str
) -> list[dict[str, object]]:
    """port_requests.csv rows for ``lines`` as of the last day of ``month`` (``YYYY-MM``),
    sorted by requested date then subscriber. The same ``rng`` state and lines (in any
    order) give the same rows."""
    first, last = parse_period(month)
    numbered = sorted(line for line in lines if line[1] and line[2] <= last)
    rows: list[dict[str, object]] = []

    ported_in = rng.random(len(numbered)) < PORT_IN_SHARE
    leads = rng.integers(1, MAX_PORT_IN_LEAD_DAYS + 1, size=len(numbered))
    for line, is_ported, lead in zip(numbered, ported_in.tolist(), leads.tolist(), strict=True):
        if is_ported:
            activated = line[2]
            rows.append(
                _row(rng, line, "port_in", activated - timedelta(days=lead), activated, "completed")
            )

    cancelled_now = [
        (line, line[3]) for line in numbered if line[3] is not None and first <= line[3] <= last
    ]
    if cancelled_now:
        leaving, cancelled = cancelled_now[int(rng.integers(len(cancelled_now)))]
        requested = max(cancelled - timedelta(days=int(rng.integers(1, 4))), leaving[2])
        rows.append(_row(rng, leaving, "port_out", requested, cancelled, "completed"))

    in_service = [line for line in numbered if line[3] is None and line[4] != "cancelled"]
    picked = rng.permutation(len(in_service))[: PENDING_PORT_OUTS + 1].tolist()
    window_start = max(last - timedelta(days=PENDING_WINDOW_DAYS - 1), first)
    for rank, index in enumerate(picked):
        line = in_service[index]
        if rank < PENDING_PORT_OUTS:
            requested = _day_between(rng, max(window_start, line[2]), last)
            rows.append(_row(rng, line, "port_out", requested, None, "pending"))
        else:
            requested = _day_between(rng, max(first, line[2]), last)
            rows.append(_row(rng, line, "port_out", requested, None, "rejected"))

    return sorted(rows, key=lambda row: (str(row["requested_date"]), str(row["request_id"])))


def _row(
    rng: np.random.Generator,
    line: Line,
    direction: str,
    requested: date,
    completed: date | None,
    status: str,
) -> dict[str, object]:
    subscriber_id, msisdn = line[0], line[1]
    code = "PIN" if direction == "port_in" else "POUT"
    return {
        "request_id": f"{code}-{subscriber_id}-{requested:%Y%m%d}",
        "subscriber_id": subscriber_id,
        "msisdn": msisdn,
        "direction": direction,
        "other_carrier": OTHER_CARRIERS[int(rng.integers(len(OTHER_CARRIERS)))],
        "requested_date": requested.isoformat(),
        "completed_date": completed.isoformat() if completed else None,
        "request_status": status,
    }


def _day_between(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))
