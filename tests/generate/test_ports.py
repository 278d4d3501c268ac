"""Porting requests: deterministic, and realistic against the lines they port."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from pipelines.generate.ports import (
    MAX_PORT_IN_LEAD_DAYS,
    OTHER_CARRIERS,
    PENDING_PORT_OUTS,
    PENDING_WINDOW_DAYS,
    PORT_REQUEST_COLUMNS,
    Line,
    port_request_rows,
)

MONTH = "2026-10"
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)


def _lines(count: int) -> list[Line]:
    """``count`` numbered lines activated over four years, every third a broadband line
    (no number), two cancelled in the month, one suspended, one activated after it."""
    lines: list[Line] = []
    for index in range(count):
        subscriber_id = f"SUB{index:06d}"
        msisdn = None if index % 3 == 2 else f"1312555{index:04d}"
        activated = date(2022, 10, 1) + timedelta(days=index * 1461 // count)
        lines.append((subscriber_id, msisdn, activated, None, "active"))
    lines[0] = (lines[0][0], lines[0][1], lines[0][2], date(2026, 10, 12), "cancelled")
    lines[3] = (lines[3][0], lines[3][1], lines[3][2], date(2026, 10, 30), "cancelled")
    lines[4] = (lines[4][0], lines[4][1], lines[4][2], None, "suspended")
    lines.append(("SUB999999", "13125559999", date(2026, 11, 3), None, "active"))
    return lines


def _rows(seed: int, lines: list[Line]) -> list[dict[str, object]]:
    return port_request_rows(np.random.default_rng(seed), lines, MONTH)


def test_same_rng_and_lines_in_any_order_give_the_same_rows() -> None:
    lines = _lines(300)
    assert _rows(3, lines) == _rows(3, list(reversed(lines)))
    assert _rows(3, lines) != _rows(4, lines)


def test_rows_name_numbered_lines_with_their_numbers() -> None:
    lines = _lines(300)
    numbers = {line[0]: line[1] for line in lines}
    rows = _rows(5, lines)
    assert rows
    assert all(tuple(row) == PORT_REQUEST_COLUMNS for row in rows)
    assert len({row["request_id"] for row in rows}) == len(rows)
    for row in rows:
        assert numbers[str(row["subscriber_id"])], row
        assert row["msisdn"] == numbers[str(row["subscriber_id"])]
        assert row["other_carrier"] in OTHER_CARRIERS
        assert str(row["requested_date"]) <= LAST.isoformat()
    assert "SUB999999" not in {row["subscriber_id"] for row in rows}  # activated after the month


def test_port_ins_complete_on_activation_for_about_one_line_in_twenty() -> None:
    lines = _lines(3000)
    by_id = {line[0]: line for line in lines}
    port_ins = [row for row in _rows(11, lines) if row["direction"] == "port_in"]
    numbered = sum(1 for line in lines if line[1] and line[2] <= LAST)
    assert 0.03 * numbered < len(port_ins) < 0.07 * numbered
    for row in port_ins:
        activated = by_id[str(row["subscriber_id"])][2]
        requested = date.fromisoformat(str(row["requested_date"]))
        assert row["request_status"] == "completed"
        assert row["completed_date"] == activated.isoformat()
        assert 1 <= (activated - requested).days <= MAX_PORT_IN_LEAD_DAYS


def test_the_month_has_pending_rejected_and_completed_port_outs() -> None:
    lines = _lines(300)
    by_id = {line[0]: line for line in lines}
    port_outs = [row for row in _rows(7, lines) if row["direction"] == "port_out"]
    by_status: dict[object, list[dict[str, object]]] = {}
    for row in port_outs:
        by_status.setdefault(row["request_status"], []).append(row)

    pending = by_status["pending"]
    assert len(pending) == PENDING_PORT_OUTS
    for row in pending:
        line = by_id[str(row["subscriber_id"])]
        assert line[3] is None and line[4] != "cancelled"  # still in service
        requested = date.fromisoformat(str(row["requested_date"]))
        assert LAST - timedelta(days=PENDING_WINDOW_DAYS - 1) <= requested <= LAST
        assert row["completed_date"] is None

    (rejected,) = by_status["rejected"]
    assert by_id[str(rejected["subscriber_id"])][3] is None
    assert FIRST.isoformat() <= str(rejected["requested_date"]) <= LAST.isoformat()
    assert rejected["completed_date"] is None
    assert len({row["subscriber_id"] for row in [*pending, rejected]}) == PENDING_PORT_OUTS + 1

    (ported_out,) = by_status["completed"]
    cancelled = by_id[str(ported_out["subscriber_id"])][3]
    assert cancelled is not None and FIRST <= cancelled <= LAST
    assert ported_out["completed_date"] == cancelled.isoformat()
    assert str(ported_out["requested_date"]) <= cancelled.isoformat()


def test_no_numbered_line_gives_no_row() -> None:
    assert _rows(1, []) == []
    assert _rows(1, [("SUB000001", None, date(2024, 1, 5), None, "active")]) == []
