"""How well reconciliation finds the discrepancies the generator injected into the carrier
invoices: the ground truth is ``manifest/carrier_invoices.json``
(``{"discrepancies": [{carrier_id, billing_period, type, destination_code, traffic_date,
batch_id, expected_class, expected_cause, expected_dispute, difference_micros}]}``).

An injected discrepancy is **found** when the reconciliation cell of its (carrier,
destination_code, traffic_date) has the expected class and cause, a dispute covers the
cell exactly when one is expected (a dispute of the cell's carrier, destination, class and
cause listing the date), and, for a duplicated batch, the cell names the batch. A
**false dispute** is a dispute none of whose cells carries an injected discrepancy that
expects one: money we would claim from a carrier that billed correctly.

The report is read from the lake (``interconnect_reconciliation``,
``interconnect_disputes``), so it measures what the pipeline wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipelines import lake
from pipelines.config import Layout
from pipelines.interconnect.reconcile import DISPUTES_TABLE, RECONCILIATION_TABLE

MANIFEST_FILE = "carrier_invoices.json"
#: The discrepancy types of the contract, in the order the report lists them.
DISCREPANCY_TYPES = (
    "rounding",
    "missing_day",
    "extra_day",
    "rate_mismatch",
    "duplicate_batch",
    "timing",
    "records_missing_at_operator",
    "trunk_group_missing_at_operator",
    "retry_started_next_day",
)

_Key = tuple[str, str, date]  # carrier_id, destination_code, traffic_date


@dataclass(frozen=True)
class Miss:
    """An injected discrepancy not found: what was expected and what the lake has."""

    carrier_id: str
    destination_code: str
    traffic_date: date
    expected: str  # class/cause, disputed or not
    found: str  # the cell's class/cause and dispute, or "no reconciliation row"


@dataclass(frozen=True)
class TypeAccuracy:
    discrepancy_type: str
    injected: int
    found: int
    missed: tuple[Miss, ...]


@dataclass(frozen=True)
class AccuracyReport:
    billing_periods: tuple[str, ...]
    types: tuple[TypeAccuracy, ...]
    disputes: int
    false_disputes: tuple[str, ...]  # dispute_ids


def read_manifest(layout: Layout) -> list[dict[str, Any]]:
    """The injected discrepancies; FileNotFoundError when the generator wrote none."""
    path = layout.manifest / MANIFEST_FILE
    return list(json.loads(path.read_text(encoding="utf-8"))["discrepancies"])


def _disputed(dispute: bool) -> str:
    return "disputed" if dispute else "not disputed"


def _rows(layout: Layout, table: str, periods: Iterable[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for period in periods:
        rows.extend(lake.read_partition(layout, table, {"billing_period": period}).to_pylist())
    return rows


def measure_accuracy(layout: Layout, billing_period: str | None = None) -> AccuracyReport:
    """Per discrepancy type: injected, found, and what was missed; and the false disputes.

    ``billing_period``: only that period's discrepancies (default: every period of the
    manifest).
    """
    injected = [
        entry
        for entry in read_manifest(layout)
        if billing_period is None or entry["billing_period"] == billing_period
    ]
    periods = sorted({entry["billing_period"] for entry in injected} | {billing_period or ""})
    periods = [period for period in periods if period]
    cells: dict[_Key, dict[str, Any]] = {
        (row["carrier_id"], row["destination_code"], row["traffic_date"]): row
        for row in _rows(layout, RECONCILIATION_TABLE, periods)
    }
    disputes = _rows(layout, DISPUTES_TABLE, periods)
    covered: dict[tuple[str, str, date, str, str], str] = {}
    for dispute in disputes:
        for day in dispute["traffic_dates"]:
            group = (dispute["difference_class"], dispute["cause"])
            covered[(dispute["carrier_id"], dispute["destination_code"], day, *group)] = dispute[
                "dispute_id"
            ]

    found: dict[str, int] = {}
    counted: dict[str, int] = {}
    missed: dict[str, list[Miss]] = {}
    for entry in injected:
        kind = entry["type"]
        key = (
            entry["carrier_id"],
            entry["destination_code"],
            date.fromisoformat(entry["traffic_date"]),
        )
        counted[kind] = counted.get(kind, 0) + 1
        cell = cells.get(key)
        expected = (
            f"{entry['expected_class']}/{entry['expected_cause']}, "
            f"{_disputed(entry['expected_dispute'])}"
        )
        if cell is None:
            missed.setdefault(kind, []).append(Miss(*key, expected, "no reconciliation row"))
            continue
        disputed = (*key, cell["difference_class"], cell["cause"]) in covered
        batch_named = kind != "duplicate_batch" or entry.get("batch_id") in (
            cell["duplicate_batches"] or []
        )
        if (
            cell["difference_class"] == entry["expected_class"]
            and cell["cause"] == entry["expected_cause"]
            and disputed == bool(entry["expected_dispute"])
            and batch_named
        ):
            found[kind] = found.get(kind, 0) + 1
        else:
            got = f"{cell['difference_class']}/{cell['cause']}, {_disputed(disputed)}"
            if not batch_named:
                got += f", batches {cell['duplicate_batches']}"
            missed.setdefault(kind, []).append(Miss(*key, expected, got))

    expecting = {
        (entry["carrier_id"], entry["destination_code"], date.fromisoformat(entry["traffic_date"]))
        for entry in injected
        if entry["expected_dispute"]
    }
    false_disputes = tuple(
        sorted(
            dispute["dispute_id"]
            for dispute in disputes
            if not any(
                (dispute["carrier_id"], dispute["destination_code"], day) in expecting
                for day in dispute["traffic_dates"]
            )
        )
    )
    kinds = [kind for kind in DISCREPANCY_TYPES if kind in counted]
    kinds += sorted(set(counted) - set(DISCREPANCY_TYPES))
    return AccuracyReport(
        billing_periods=tuple(periods),
        types=tuple(
            TypeAccuracy(kind, counted[kind], found.get(kind, 0), tuple(missed.get(kind, [])))
            for kind in kinds
        ),
        disputes=len(disputes),
        false_disputes=false_disputes,
    )


def to_markdown(report: AccuracyReport) -> str:
    """The per-type table, the false disputes and every miss, as Markdown."""
    lines = [
        f"Carrier invoice reconciliation accuracy, {', '.join(report.billing_periods)}",
        "",
        "| discrepancy type | injected | found | missed |",
        "|---|---:|---:|---:|",
    ]
    for row in report.types:
        lines.append(
            f"| {row.discrepancy_type} | {row.injected} | {row.found} | {len(row.missed)} |"
        )
    injected = sum(row.injected for row in report.types)
    found = sum(row.found for row in report.types)
    lines.append(f"| **total** | {injected} | {found} | {injected - found} |")
    lines += ["", f"Disputes raised: {report.disputes}; false disputes: "]
    lines[-1] += ", ".join(report.false_disputes) if report.false_disputes else "none"
    misses = [(row.discrepancy_type, miss) for row in report.types for miss in row.missed]
    if misses:
        lines += ["", "| type | carrier | destination | traffic date | expected | found |"]
        lines.append("|---|---|---|---|---|---|")
        for kind, miss in misses:
            lines.append(
                f"| {kind} | {miss.carrier_id} | {miss.destination_code} | "
                f"{miss.traffic_date.isoformat()} | {miss.expected} | {miss.found} |"
            )
    return "\n".join(lines) + "\n"
