"""Analyst status of leakage findings and fraud alerts, kept as an append-only history.

A *case* is a finding of ``fct_leakage_findings`` or an alert of ``fct_fraud_alerts``; its
id is theirs (finding_id, alert_id: stable across rebuilds). Every change an analyst makes
is a row of the lake table ``case_status_changes``, written as a partition of its own, so
a change never rewrites another and the warehouse, rebuilt from the lake by
``telcolake build``, keeps every status. Case ids are checked against the warehouse opened
read-only: this module never writes DuckDB. docs/cases.md states the statuses and their
transitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from pipelines import lake
from pipelines.config import Layout
from pipelines.schema import CASE_STATUS_CHANGE_SCHEMA
from pipelines.tariffs.cgrates import parse_micros


class CaseStatus(StrEnum):
    OPEN = "open"  # raised by a control or detector, not yet looked at
    CONFIRMED = "confirmed"  # an analyst agrees: money is at risk
    RECOVERED = "recovered"  # the money came back (re-billed, credited by the carrier...)
    FALSE_POSITIVE = "false_positive"  # an analyst found nothing wrong


class CaseKind(StrEnum):
    FINDING = "finding"  # fct_leakage_findings
    ALERT = "alert"  # fct_fraud_alerts


#: Where each status may move. Recovered is final: the recovered amount is reported per
#: month, and moving it again would rewrite a month already reported. A case closed as a
#: false positive, or a confirmed one, may be reopened when new evidence turns up.
TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.CONFIRMED, CaseStatus.FALSE_POSITIVE}),
    CaseStatus.CONFIRMED: frozenset(
        {CaseStatus.RECOVERED, CaseStatus.FALSE_POSITIVE, CaseStatus.OPEN}
    ),
    CaseStatus.FALSE_POSITIVE: frozenset({CaseStatus.OPEN}),
    CaseStatus.RECOVERED: frozenset(),
}

#: The marts that hold cases: kind -> (table, id column, category column).
CASE_MARTS = {
    CaseKind.FINDING: ("fct_leakage_findings", "finding_id", "category"),
    CaseKind.ALERT: ("fct_fraud_alerts", "alert_id", "detector"),
}


class CaseError(ValueError):
    """A status change that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class Case:
    """A finding or alert as the warehouse holds it."""

    case_id: str
    case_kind: CaseKind
    billing_period: str
    case_type: str  # the finding's category or the alert's detector
    amount_at_risk_micros: int | None


@dataclass(frozen=True)
class StatusChange:
    """What ``set_status`` did: ``recorded`` is False when the case already had the status."""

    case_id: str
    from_status: CaseStatus
    to_status: CaseStatus
    recorded: bool
    change: dict[str, Any] | None  # the row written, when recorded


def parse_amount(text: str) -> int:
    """Micro-units of an amount in currency text (``12.34`` -> 12_340_000), exactly."""
    micros = parse_micros(text.strip()) if text.strip() else None
    if micros is None:
        raise CaseError(f"amount {text!r} is not a decimal number with at most 6 decimals")
    if micros < 0:
        raise CaseError(f"amount {text!r} is negative: a recovery is what came back, >= 0")
    return micros


def read_cases(layout: Layout) -> dict[str, Case]:
    """Every finding and alert of the warehouse, by case id (the warehouse opened read-only).

    Raises CaseError when the warehouse is missing or busy (``telcolake build`` writing it).
    """
    import duckdb

    if not layout.duckdb_path.exists():
        raise CaseError(f"no warehouse at {layout.duckdb_path}: run `telcolake build` first")
    try:
        con = duckdb.connect(str(layout.duckdb_path), read_only=True)
    except duckdb.IOException as busy:
        raise CaseError(f"the warehouse cannot be read now (a build running?): {busy}") from None
    cases: dict[str, Case] = {}
    with con:
        for kind, (table, id_column, type_column) in CASE_MARTS.items():
            try:
                rows = con.execute(
                    f"select {id_column}, billing_period, {type_column}, amount_at_risk_micros "
                    f"from {table}"
                ).fetchall()
            except duckdb.CatalogException:
                raise CaseError(f"the warehouse has no {table}: run `telcolake build`") from None
            for case_id, period, case_type, amount in rows:
                cases[case_id] = Case(case_id, kind, period, case_type, amount)
    return cases


def read_history(layout: Layout, case_id: str | None = None) -> list[dict[str, Any]]:
    """Status changes, of one case or all, in the order they were made."""
    rows = lake.read_table(layout, "case_status_changes").to_pylist()
    if case_id is not None:
        rows = [row for row in rows if row["case_id"] == case_id]
    return sorted(rows, key=lambda row: (row["case_id"], row["change_seq"]))


def current_statuses(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each changed case's latest change (a case never changed is open)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in history:
        if row["case_id"] not in latest or row["change_seq"] > latest[row["case_id"]]["change_seq"]:
            latest[row["case_id"]] = row
    return latest


def set_status(
    layout: Layout,
    case_id: str,
    to_status: str,
    by: str,
    note: str,
    recovered_micros: int | None = None,
    at: datetime | None = None,
    cases: Mapping[str, Case] | None = None,
) -> StatusChange:
    """Move a case to ``to_status``; append the change to ``case_status_changes``.

    Idempotent: asking for the status the case has already records nothing (a recovery
    asked again with another amount is refused: recovered is final). ``recovered_micros``
    is required for, and only for, ``recovered``. ``cases`` defaults to the warehouse's.
    """
    try:
        target = CaseStatus(to_status)
    except ValueError:
        known = ", ".join(status.value for status in CaseStatus)
        raise CaseError(f"unknown status {to_status!r}; one of {known}") from None
    if not by.strip() or not note.strip():
        raise CaseError("a status change needs who makes it (--by) and why (--note)")
    if target is CaseStatus.RECOVERED and recovered_micros is None:
        raise CaseError("a recovery needs the amount actually recovered (--recovered 12.34)")
    if target is not CaseStatus.RECOVERED and recovered_micros is not None:
        raise CaseError(f"only a recovery carries an amount, not {target.value}")
    if recovered_micros is not None and recovered_micros < 0:
        raise CaseError(f"recovered amount {recovered_micros} micros is negative")
    case = (read_cases(layout) if cases is None else cases).get(case_id)
    if case is None:
        raise CaseError(f"no finding or alert {case_id!r} in the warehouse")

    latest = current_statuses(read_history(layout, case_id)).get(case_id)
    current = CaseStatus(latest["to_status"]) if latest else CaseStatus.OPEN
    if target is current:
        if (
            target is CaseStatus.RECOVERED
            and latest
            and latest["recovered_micros"] != recovered_micros
        ):
            raise CaseError(
                f"case {case_id} was recovered already ({latest['recovered_micros']} micros "
                f"on {latest['changed_at']:%Y-%m-%d}); recovered is final"
            )
        return StatusChange(case_id, current, target, recorded=False, change=None)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(status.value for status in TRANSITIONS[current])) or "none"
        raise CaseError(
            f"case {case_id} is {current.value}: it cannot move to {target.value} "
            f"(allowed: {allowed})"
        )

    at = (at or datetime.now(UTC)).astimezone(UTC)
    seq = (latest["change_seq"] if latest else 0) + 1
    change = {
        "change_id": f"{case_id}-{seq}",
        "case_id": case_id,
        "case_kind": case.case_kind.value,
        "billing_period": case.billing_period,
        "change_seq": seq,
        "from_status": current.value,
        "to_status": target.value,
        "changed_at": at,
        "change_month": f"{at:%Y-%m}",
        "changed_by": by.strip(),
        "note": note.strip(),
        "recovered_micros": recovered_micros,
    }
    values = {"change_month": change["change_month"], "change_id": change["change_id"]}
    if lake.partition_exists(layout, "case_status_changes", values):
        # Another analyst recorded this case's next change since the history was read.
        raise CaseError(f"case {case_id} changed meanwhile; look at its history and try again")
    table = pa.Table.from_pylist([change], schema=CASE_STATUS_CHANGE_SCHEMA)
    lake.write_partition(layout, "case_status_changes", values, table)
    return StatusChange(case_id, current, target, recorded=True, change=change)


def list_cases(
    layout: Layout,
    billing_period: str | None = None,
    status: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The warehouse's cases with their current status from the lake (newer than the last
    build's), optionally of one period, status or kind, sorted by period, kind and id."""
    if status is not None and status not in {s.value for s in CaseStatus}:
        raise CaseError(f"unknown status {status!r}")
    if kind is not None and kind not in {k.value for k in CaseKind}:
        raise CaseError(f"unknown case kind {kind!r}; finding or alert")
    latest = current_statuses(read_history(layout))
    rows = []
    for case in read_cases(layout).values():
        change = latest.get(case.case_id)
        row = {
            "case_id": case.case_id,
            "case_kind": case.case_kind.value,
            "billing_period": case.billing_period,
            "case_type": case.case_type,
            "amount_at_risk_micros": case.amount_at_risk_micros,
            "case_status": change["to_status"] if change else CaseStatus.OPEN.value,
            "status_changed_at": change["changed_at"] if change else None,
            "recovered_micros": change["recovered_micros"] if change else None,
        }
        if (
            (billing_period is None or case.billing_period == billing_period)
            and (status is None or row["case_status"] == status)
            and (kind is None or case.case_kind == kind)
        ):
            rows.append(row)
    return sorted(rows, key=lambda row: (row["billing_period"], row["case_kind"], row["case_id"]))
