"""The run summary: what each stage did to the period's records, and what it found.

Read from the marts (DuckDB, read-only), the lake's reject table, the validation results
and the generator's ground-truth manifest; written as JSON (for machines) and Markdown
(for people) under ``data/reports/``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from pipelines import lake
from pipelines.checksums import mart_checksums
from pipelines.config import MICROS_PER_UNIT, Layout
from pipelines.ground_truth import compare_with_manifest
from pipelines.locks import locked_partition
from pipelines.periods import mediation_dates
from pipelines.statements.data import statements_dir


def summary_path(layout: Layout, billing_period: str, suffix: str = "json") -> Path:
    return layout.reports / f"run_summary_{billing_period}.{suffix}"


def money(micros: int | None) -> str:
    """Micro-units as dollars for display; the stored values stay integers."""
    amount = Decimal(int(micros or 0)) / MICROS_PER_UNIT
    return f"${amount.quantize(Decimal('0.01')):,}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any]:
    rows = _rows(con, sql, params)
    return rows[0] if rows else {}


def _rejects_by_reason(layout: Layout, dates: list[str]) -> list[dict[str, Any]]:
    parts = [
        lake.read_partition(layout, "rejects", values, ["feed", "reason_code"])
        for values in lake.partitions(layout, "rejects")
        if values["file_date"] in dates
    ]
    if not parts:
        return []
    with duckdb.connect() as con:
        con.register("rejects", pa.concat_tables(parts))
        return _rows(
            con,
            "select feed, reason_code, count(*) as records from rejects "
            "group by all order by feed, reason_code",
            [],
        )


def collect_run_summary(layout: Layout, billing_period: str) -> dict[str, Any]:
    """Gather the summary of one billing period from the marts and reports."""
    # The RA report formats its money with this module's ``money``: imported here, not at
    # the top, so the two modules can import each other.
    from pipelines.assurance.ra_report import ra_report_path

    dates = sorted(d.isoformat() for d in mediation_dates(billing_period))
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        mediation = _one(
            con,
            "select count(*) as partitions, sum(files) as files, "
            "sum(duplicate_files) as duplicate_files, sum(records_in) as records_in, "
            "sum(records_accepted) as accepted, sum(records_rejected) as rejected, "
            "sum(records_duplicate) as duplicates, sum(records_repeated) as repeated, "
            "sum(records_in_sessions) as in_sessions, sum(records_held) as held, "
            "sum(records_awaiting_correlation) as awaiting_correlation, "
            "sum(records_unexplained) as unexplained "
            "from rpt_usage_reconciliation where cast(file_date as varchar) in "
            "(select unnest(?))",
            [dates],
        )
        rating = _rows(
            con,
            "select rating_status, coalesce(suspense_reason, '') as suspense_reason, "
            "count(*) as records, sum(charge_micros) as charge_micros "
            "from fct_rated_usage where billing_period = ? group by all order by all",
            [billing_period],
        )
        billing = _one(
            con,
            "select count(*) as invoices, sum(recurring_micros) as recurring_micros, "
            "sum(usage_micros) as usage_micros, "
            "sum(subtotal_micros - recurring_micros - usage_micros) as other_micros, "
            "sum(tax_micros) as tax_micros, sum(total_micros) as total_micros, "
            "sum(amount_due_micros) as amount_due_micros "
            "from fct_invoices where billing_period = ?",
            [billing_period],
        )
        interconnect = _one(
            con,
            "select count(distinct carrier_id) as carriers, sum(calls) as calls, "
            "sum(billable_seconds) as billable_seconds, "
            "sum(amount_micros) filter (where settlement_side = 'payable') as payable_micros, "
            "sum(amount_micros) filter (where settlement_side = 'receivable') "
            "as receivable_micros, "
            "(select count(*) from fct_interconnect_disputes d where d.billing_period = ?) "
            "as disputes, "
            "(select sum(disputed_amount_micros) from fct_interconnect_disputes d "
            "where d.billing_period = ?) as disputed_micros "
            "from fct_interconnect_settlement where billing_period = ?",
            [billing_period] * 3,
        )
        roaming = _one(
            con,
            "select count(distinct tadig) as partners, "
            "sum(usd_equivalent_micros) filter (where direction = 'payable') as payable_micros, "
            "sum(usd_equivalent_micros) filter (where direction = 'receivable') "
            "as receivable_micros, "
            "(select count(*) from fct_roaming_files f where f.billing_period = ? "
            "and f.rap_file_name is not null) as rap_returns "
            "from fct_roaming_settlement where billing_period = ?",
            [billing_period] * 2,
        )
        leakage = _rows(
            con,
            "select category, count(*) as findings, sum(record_count) as records, "
            "sum(amount_at_risk_micros) as amount_at_risk_micros "
            "from fct_leakage_findings where billing_period = ? group by all order by all",
            [billing_period],
        )
        sequence = _one(
            con,
            "select count(*) filter (where sequence_anomaly = 'gap') as gaps, "
            "coalesce(sum(file_count) filter (where sequence_anomaly = 'gap'), 0) "
            "as files_missing, count(*) filter (where sequence_anomaly = 'repeat') as repeats "
            "from rpt_file_sequence_gaps",
            [],
        )
        fraud = _rows(
            con,
            "select detector, subject_type, subject_id, lines_affected, record_count, "
            "amount_at_risk_micros, score "
            "from fct_fraud_alerts where billing_period = ? order by score desc, alert_id",
            [billing_period],
        )
    validation_file = layout.reports / "validation" / "results.json"
    validation = json.loads(validation_file.read_text()) if validation_file.exists() else {}
    return {
        "billing_period": billing_period,
        "mediation": mediation,
        "rejects_by_reason": _rejects_by_reason(layout, dates),
        "file_sequence": sequence,
        "rating": rating,
        "billing": billing,
        "interconnect": interconnect,
        "roaming": roaming,
        "leakage": leakage,
        "fraud_alerts": fraud,
        "validation": validation,
        "detection": [
            {**asdict(check), "exact": check.exact}
            for check in compare_with_manifest(layout, billing_period)
        ],
        "mart_checksums": mart_checksums(layout),
        "paths": {
            "duckdb": str(layout.duckdb_path),
            "data_docs": str(layout.reports / "data_docs" / "audit_index.html"),
            "ra_report": str(ra_report_path(layout, billing_period)),
            "validation_results": str(validation_file),
            "summary_json": str(summary_path(layout, billing_period)),
            "summary_markdown": str(summary_path(layout, billing_period, "md")),
            "statements": str(statements_dir(layout, billing_period)),
        },
    }


def _markdown(summary: dict[str, Any]) -> str:
    med, bill, ic = summary["mediation"], summary["billing"], summary["interconnect"]
    roam = summary["roaming"]
    lines = [
        f"# telcolake run summary: {summary['billing_period']}",
        "",
        "## Mediation",
        f"- files: {med.get('files')} ({med.get('duplicate_files')} duplicate files)",
        f"- records in {med.get('records_in')} = accepted {med.get('accepted')} + rejected "
        f"{med.get('rejected')} + duplicates {med.get('duplicates')}; "
        f"unexplained after rating: {med.get('unexplained')}",
        f"- consolidation: {med.get('repeated')} records repeated on a later day; "
        f"{med.get('in_sessions')} partial records joined into sessions, "
        f"{med.get('held')} held for a missing partial, "
        f"{med.get('awaiting_correlation')} awaiting correlation",
        f"- file sequence: {summary['file_sequence'].get('gaps')} gaps "
        f"({summary['file_sequence'].get('files_missing')} files missing), "
        f"{summary['file_sequence'].get('repeats')} repeated numbers",
        "",
        "| feed | reject reason | records |",
        "|---|---|---|",
        *(
            f"| {r['feed']} | {r['reason_code']} | {r['records']} |"
            for r in summary["rejects_by_reason"]
        ),
        "",
        "## Rating",
        "| status | suspense reason | records | charge |",
        "|---|---|---|---|",
        *(
            f"| {r['rating_status']} | {r['suspense_reason']} | {r['records']} | "
            f"{money(r['charge_micros'])} |"
            for r in summary["rating"]
        ),
        "",
        "## Billing",
        f"- invoices: {bill.get('invoices')}; recurring {money(bill.get('recurring_micros'))}, "
        f"usage {money(bill.get('usage_micros'))}, one-time fees, devices, late fees and "
        f"credits {money(bill.get('other_micros'))}, taxes {money(bill.get('tax_micros'))}, "
        f"total {money(bill.get('total_micros'))}; amount due with balances brought forward "
        f"{money(bill.get('amount_due_micros'))}",
        f"- interconnect: {ic.get('carriers')} carriers, {ic.get('calls')} calls; payable "
        f"{money(ic.get('payable_micros'))}, receivable {money(ic.get('receivable_micros'))}; "
        f"{ic.get('disputes')} disputes of carrier invoices, {money(ic.get('disputed_micros'))}",
        f"- roaming: {roam.get('partners')} partners; payable "
        f"{money(roam.get('payable_micros'))}, receivable {money(roam.get('receivable_micros'))}; "
        f"{roam.get('rap_returns')} TAP files returned with a RAP",
        "",
        "## Revenue assurance",
        "| category | findings | records | amount at risk |",
        "|---|---|---|---|",
        *(
            f"| {r['category']} | {r['findings']} | {r['records']} | "
            f"{money(r['amount_at_risk_micros'])} |"
            for r in summary["leakage"]
        ),
        "",
        f"Fraud alerts: {len(summary['fraud_alerts'])}",
        "",
        "## Injected anomalies caught (synthetic operator's ground truth)",
        "| anomaly | caught by | injected | caught | missed | flagged, not injected |",
        "|---|---|---|---|---|---|",
        *(
            f"| {d['anomaly']} | {d['caught_by']} | {d['injected']} | {d['caught']} | "
            f"{len(d['missed'])} | {len(d['unexpected'])} |"
            for d in summary["detection"]
        ),
        "",
        "## Mart checksums (MD5 of sorted rows; equal across reruns)",
        *(f"- {table}: `{digest}`" for table, digest in summary["mart_checksums"].items()),
        "",
        "## Paths",
        *(f"- {name}: `{path}`" for name, path in summary["paths"].items()),
        "",
    ]
    return "\n".join(lines)


@locked_partition("run_summary", "billing_period")
def write_run_summary(layout: Layout, billing_period: str) -> Path:
    """Write the period's summary as JSON and Markdown; return the JSON path."""
    summary = collect_run_summary(layout, billing_period)
    layout.reports.mkdir(parents=True, exist_ok=True)
    path = summary_path(layout, billing_period)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    summary_path(layout, billing_period, "md").write_text(_markdown(summary))
    return path


def print_run_summary(layout: Layout, billing_period: str, console: Console) -> None:
    """Print the summary written by write_run_summary."""
    summary = json.loads(summary_path(layout, billing_period).read_text())
    med, bill, ic = summary["mediation"], summary["billing"], summary["interconnect"]

    stages = Table(title=f"telcolake {billing_period}: records per stage")
    for column in ("stage", "records", "detail"):
        stages.add_column(column)
    stages.add_row(
        "mediation",
        str(med.get("records_in")),
        f"{med.get('files')} files ({med.get('duplicate_files')} duplicate); accepted "
        f"{med.get('accepted')}, rejected {med.get('rejected')}, "
        f"duplicates {med.get('duplicates')}",
    )
    stages.add_row(
        "consolidation",
        str(med.get("in_sessions")),
        f"partials joined into sessions; {med.get('held')} held, "
        f"{med.get('repeated')} repeated on a later day",
    )
    sequence = summary["file_sequence"]
    stages.add_row(
        "file sequence",
        f"{sequence.get('gaps')} gaps",
        f"{sequence.get('files_missing')} files missing, "
        f"{sequence.get('repeats')} repeated numbers",
    )
    for row in summary["rating"]:
        reason = f" ({row['suspense_reason']})" if row["suspense_reason"] else ""
        stages.add_row(
            f"rating: {row['rating_status']}{reason}",
            str(row["records"]),
            money(row["charge_micros"]),
        )
    stages.add_row(
        "billing",
        f"{bill.get('invoices')} invoices",
        f"recurring {money(bill.get('recurring_micros'))} + usage "
        f"{money(bill.get('usage_micros'))} + other {money(bill.get('other_micros'))} + "
        f"taxes {money(bill.get('tax_micros'))} = billed {money(bill.get('total_micros'))}; "
        f"amount due {money(bill.get('amount_due_micros'))}",
    )
    stages.add_row(
        "interconnect",
        f"{ic.get('calls')} calls",
        f"{ic.get('carriers')} carriers, payable {money(ic.get('payable_micros'))}, "
        f"receivable {money(ic.get('receivable_micros'))}, {ic.get('disputes')} disputes",
    )
    console.print(stages)

    rejects = Table(title="rejects by reason")
    for column in ("feed", "reason", "records"):
        rejects.add_column(column)
    for row in summary["rejects_by_reason"]:
        rejects.add_row(row["feed"], row["reason_code"], str(row["records"]))
    console.print(rejects)

    findings = Table(title="revenue assurance and fraud")
    for column in ("category", "findings", "records", "amount at risk"):
        findings.add_column(column)
    for row in summary["leakage"]:
        findings.add_row(
            row["category"],
            str(row["findings"]),
            str(row["records"]),
            money(row["amount_at_risk_micros"]),
        )
    for alert in summary["fraud_alerts"]:
        findings.add_row(
            f"fraud: {alert['detector']}",
            "1",
            str(alert["record_count"]),
            money(alert["amount_at_risk_micros"]),
        )
    console.print(findings)

    if summary["detection"]:
        detection = Table(title="injected anomalies caught (generator's ground truth)")
        for column in ("anomaly", "caught by", "injected", "caught", "missed", "not injected"):
            detection.add_column(column)
        for row in summary["detection"]:
            style = "" if row["exact"] else "[red]"
            detection.add_row(
                row["anomaly"],
                row["caught_by"],
                str(row["injected"]),
                f"{style}{row['caught']}",
                f"{style}{len(row['missed'])}",
                f"{style}{len(row['unexpected'])}",
            )
        console.print(detection)

    checks = Table(title="expectation suites")
    for column in ("suite", "result", "expectations passed", "warnings"):
        checks.add_column(column)
    for suite in summary["validation"].get("suites", []):
        checks.add_row(
            suite.get("suite", "?"),
            "[green]passed[/]" if suite.get("success") else "[red]FAILED[/]",
            f"{suite.get('successful_expectations')}/{suite.get('evaluated_expectations')}",
            ", ".join(f["check"] for f in suite.get("failures", []) if f["severity"] != "critical"),
        )
    console.print(checks)
    for name, path in summary["paths"].items():
        console.print(f"{name}: {path}")
