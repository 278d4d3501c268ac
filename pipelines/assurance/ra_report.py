"""The auditors' revenue-assurance report: one static HTML page per billing period.

Read from the marts (DuckDB, read-only) and the lake table ``validation_results``; written to
``<reports>/ra_report_<YYYY-MM>.html`` by the DAG's report task and ``telcolake report``.
Charts are drawn by plotly.js, inlined once in the page, so the file opens offline and can be
mailed or archived as it is. A mart a section reads that is missing from the warehouse, or
lacks a column the section needs, makes that section say "not available" and why; the rest of
the report is still written. docs/reports.md describes every section and its source.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import MICROS_PER_UNIT, Layout
from pipelines.locks import locked_partition
from pipelines.report import money, summary_path

TEMPLATES = Path(__file__).parent / "templates"
#: How many fraud alerts the table and chart show, highest score first.
TOP_ALERTS = 20

LEAKAGE_COLUMNS = ("billing_period", "category", "amount_at_risk_micros", "finding_status")
RECOVERED_COLUMNS = ("month", "recovered_micros")
WATERFALL_COLUMNS = (
    "billing_period",
    "step_order",
    "step",
    "kind",
    "reason",
    "records",
    "seconds",
    "bytes",
)
ALERT_COLUMNS = (
    "alert_id",
    "billing_period",
    "detector",
    "score",
    "subject_type",
    "subject_id",
    "lines_affected",
    "affected_lines",
    "first_event_at",
    "last_event_at",
    "record_count",
    "amount_at_risk_micros",
    "evidence",
    "alert_status",
)


@dataclass(frozen=True)
class Section:
    """The rows one part of the report shows, or why it cannot show them."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    unavailable: str | None = None


@dataclass(frozen=True)
class RaReport:
    """Everything the page shows for one billing period."""

    billing_period: str
    warehouse: Path
    leakage: Section  # amount at risk per billing period x category (every period)
    leakage_status: Section  # the period's findings per category x status
    recovered: Section  # recovered amount per month
    waterfall: Section  # the period's steps and gaps, switch -> billed
    alerts: Section  # the period's top fraud alerts
    alert_totals: Section  # the period's alert count and amount at risk
    validation: Section  # the latest validation run of the period, per audit domain


def ra_report_path(layout: Layout, billing_period: str) -> Path:
    return layout.reports / f"ra_report_{billing_period}.html"


def _missing(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> str | None:
    """Why ``table`` cannot feed a section (absent, or lacking columns); None when it can."""
    present = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]
        ).fetchall()
    }
    if not present:
        return f"the mart {table} is not in the warehouse"
    lacking = [column for column in columns if column not in present]
    if lacking:
        return f"the mart {table} has no column {', '.join(lacking)}"
    return None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _section(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: tuple[str, ...],
    sql: str,
    params: list[Any],
) -> Section:
    reason = _missing(con, table, columns)
    if reason:
        return Section(unavailable=reason)
    return Section(rows=_rows(con, sql, params))


def _validation(layout: Layout, billing_period: str) -> Section:
    from pipelines.lake import read_table

    results = read_table(layout, "validation_results", None)
    if results.num_rows == 0:
        return Section(unavailable="no validation run is recorded in validation_results")
    with duckdb.connect() as con:
        con.register("validation_results", results)
        rows = _rows(
            con,
            "with latest as ("
            "  select run_id, validated_at from validation_results where billing_period = ? "
            "  order by validated_at desc, run_id desc limit 1"
            ") "
            "select results.domain, results.run_id, results.validated_at, "
            "count(distinct results.suite) as suites, count(*) as expectations, "
            "count(*) filter (where results.success) as passed, "
            "count(*) filter (where not results.success and results.severity = 'critical') "
            "as failed_critical, "
            "count(*) filter (where not results.success and results.severity <> 'critical') "
            "as warnings, "
            "string_agg(results.suite || ': ' || results.check_name, '; ' "
            "order by results.suite, results.check_name) filter (where not results.success) "
            "as failed_checks "
            "from validation_results as results "
            "inner join latest on results.run_id = latest.run_id "
            "group by all order by results.domain",
            [billing_period],
        )
    if not rows:
        return Section(unavailable=f"no validation run of {billing_period} is recorded")
    return Section(rows=rows)


def collect_ra_report(layout: Layout, billing_period: str) -> RaReport:
    """Read the report's figures for one billing period from the marts and the lake."""
    period = [billing_period]
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        leakage = _section(
            con,
            "fct_leakage_findings",
            LEAKAGE_COLUMNS,
            "select billing_period, category, count(*) as findings, "
            "sum(amount_at_risk_micros) as amount_at_risk_micros "
            "from fct_leakage_findings group by all order by all",
            [],
        )
        leakage_status = _section(
            con,
            "fct_leakage_findings",
            LEAKAGE_COLUMNS,
            "select category, finding_status, count(*) as findings, "
            "sum(amount_at_risk_micros) as amount_at_risk_micros "
            "from fct_leakage_findings where billing_period = ? group by all order by all",
            period,
        )
        recovered = _section(
            con,
            "rpt_ra_recovered_by_month",
            RECOVERED_COLUMNS,
            # month may be a date or YYYY-MM text: both print as YYYY-MM first.
            "select left(cast(month as varchar), 7) as month, "
            "sum(recovered_micros) as recovered_micros "
            "from rpt_ra_recovered_by_month group by all order by all",
            [],
        )
        waterfall = _section(
            con,
            "rpt_usage_e2e_waterfall",
            WATERFALL_COLUMNS,
            "select step_order, step, kind, reason, records, seconds, bytes "
            "from rpt_usage_e2e_waterfall where billing_period = ? "
            "order by step_order, kind desc, reason",
            period,
        )
        alerts = _section(
            con,
            "fct_fraud_alerts",
            ALERT_COLUMNS,
            f"select {', '.join(ALERT_COLUMNS)} from fct_fraud_alerts "
            "where billing_period = ? "
            f"order by score desc, amount_at_risk_micros desc, alert_id limit {TOP_ALERTS}",
            period,
        )
        alert_totals = _section(
            con,
            "fct_fraud_alerts",
            ALERT_COLUMNS,
            "select count(*) as alerts, "
            "coalesce(sum(amount_at_risk_micros), 0) as amount_at_risk_micros "
            "from fct_fraud_alerts where billing_period = ?",
            period,
        )
    return RaReport(
        billing_period=billing_period,
        warehouse=layout.duckdb_path,
        leakage=leakage,
        leakage_status=leakage_status,
        recovered=recovered,
        waterfall=waterfall,
        alerts=alerts,
        alert_totals=alert_totals,
        validation=_validation(layout, billing_period),
    )


def _units(micros: int | None) -> Decimal:
    """Micro-units as currency units for a chart axis; labels use money()."""
    return Decimal(int(micros or 0)) / MICROS_PER_UNIT


def _chart_html(figure: Any, div_id: str) -> str:
    # plotly.js is inlined once in the page head, not once per chart.
    html: str = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return html


def leakage_chart(report: RaReport) -> str | None:
    """Stacked bars of amount at risk per billing period and category, with the recovered
    amount per month as a line."""
    import plotly.graph_objects as go

    if report.leakage.unavailable or not report.leakage.rows:
        return None
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.leakage.rows:
        by_category[row["category"]].append(row)
    figure = go.Figure()
    for category, rows in sorted(by_category.items()):
        figure.add_trace(
            go.Bar(
                name=category,
                x=[row["billing_period"] for row in rows],
                y=[_units(row["amount_at_risk_micros"]) for row in rows],
                hovertext=[
                    f"{category}: {money(row['amount_at_risk_micros'])} at risk, "
                    f"{row['findings']} finding(s)"
                    for row in rows
                ],
                hoverinfo="text",
            )
        )
    if report.recovered.rows:
        figure.add_trace(
            go.Scatter(
                name="recovered",
                mode="lines+markers",
                x=[row["month"] for row in report.recovered.rows],
                y=[_units(row["recovered_micros"]) for row in report.recovered.rows],
                hovertext=[
                    f"recovered in {row['month']}: {money(row['recovered_micros'])}"
                    for row in report.recovered.rows
                ],
                hoverinfo="text",
                line={"color": "black"},
            )
        )
    figure.update_layout(
        barmode="stack",
        xaxis={
            "title": "billing period",
            "type": "category",
            "categoryorder": "category ascending",
        },
        yaxis={"title": "amount at risk (USD)"},
        legend={"title": "leakage category"},
        margin={"t": 30},
    )
    return _chart_html(figure, "leakage-chart")


def _waterfall_label(row: dict[str, Any]) -> str:
    # Labels are the chart's categories: numbered so a reason seen at two steps stays two bars.
    name = row["step"] if row["kind"] == "level" else f"− {row['reason']}"
    return f"{row['step_order']}. {name}"


def waterfall_chart(report: RaReport) -> str | None:
    """Records at each step switch -> billed, and the explained gap between steps."""
    import plotly.graph_objects as go

    if report.waterfall.unavailable or not report.waterfall.rows:
        return None
    rows = report.waterfall.rows
    figure = go.Figure(
        go.Waterfall(
            x=[_waterfall_label(row) for row in rows],
            measure=["absolute" if row["kind"] == "level" else "relative" for row in rows],
            # A gap's records are those that left the flow at that step.
            y=[row["records"] if row["kind"] == "level" else -row["records"] for row in rows],
            text=[f"{row['records']:,}" for row in rows],
            textposition="outside",
            connector={"line": {"color": "#888"}},
        )
    )
    figure.update_layout(
        xaxis={"title": "step (levels) and what left the flow between them (gaps)"},
        yaxis={"title": "usage records"},
        showlegend=False,
        margin={"t": 30},
    )
    return _chart_html(figure, "waterfall-chart")


def fraud_chart(report: RaReport) -> str | None:
    """The top alerts' amount at risk, one bar each, coloured by detector."""
    import plotly.graph_objects as go

    if report.alerts.unavailable or not report.alerts.rows:
        return None
    by_detector: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.alerts.rows:
        by_detector[row["detector"]].append(row)
    figure = go.Figure()
    for detector, rows in sorted(by_detector.items()):
        figure.add_trace(
            go.Bar(
                name=detector,
                orientation="h",
                y=[f"{row['subject_id']} ({row['alert_id'][:8]})" for row in rows],
                x=[_units(row["amount_at_risk_micros"]) for row in rows],
                hovertext=[
                    f"{detector} score {row['score']}: {money(row['amount_at_risk_micros'])} "
                    f"at risk on {row['lines_affected']} line(s)"
                    for row in rows
                ],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        xaxis={"title": "amount at risk (USD)"},
        yaxis={"title": "alert subject (alert id)", "type": "category", "autorange": "reversed"},
        legend={"title": "detector"},
        height=max(300, 40 + 28 * len(report.alerts.rows)),
        margin={"t": 30},
    )
    return _chart_html(figure, "fraud-chart")


def _headline(report: RaReport) -> list[dict[str, str]]:
    """The period's figures at the top of the page, each with where it comes from."""
    period = report.billing_period
    findings = [row for row in report.leakage.rows if row["billing_period"] == period]
    recovered = [row for row in report.recovered.rows if row["month"] == period]
    totals = report.alert_totals.rows[0] if report.alert_totals.rows else {}

    def unless(section: Section, value: str) -> str:
        return "not available" if section.unavailable else value

    return [
        {
            "figure": "leakage findings",
            "value": unless(report.leakage, str(sum(row["findings"] for row in findings))),
            "source": "fct_leakage_findings, rows of the period",
        },
        {
            "figure": "amount at risk (leakage)",
            "value": unless(
                report.leakage, money(sum(row["amount_at_risk_micros"] for row in findings))
            ),
            "source": "fct_leakage_findings.amount_at_risk_micros, summed",
        },
        {
            "figure": "recovered in the month",
            "value": unless(
                report.recovered, money(sum(row["recovered_micros"] for row in recovered))
            ),
            "source": "rpt_ra_recovered_by_month.recovered_micros, month of the period",
        },
        {
            "figure": "fraud alerts",
            "value": unless(report.alert_totals, str(totals.get("alerts", 0))),
            "source": "fct_fraud_alerts, rows of the period",
        },
        {
            "figure": "amount at risk (fraud)",
            "value": unless(report.alert_totals, money(totals.get("amount_at_risk_micros"))),
            "source": "fct_fraud_alerts.amount_at_risk_micros, summed",
        },
    ]


def _links(layout: Layout, billing_period: str) -> list[dict[str, Any]]:
    """Companion reports, linked relative to the report so the folder can move whole."""
    targets = [
        ("Great Expectations Data Docs", layout.reports / "data_docs" / "audit_index.html"),
        ("run summary (Markdown)", summary_path(layout, billing_period, "md")),
        ("run summary (JSON)", summary_path(layout, billing_period)),
        ("latest validation results (JSON)", layout.reports / "validation" / "results.json"),
    ]
    return [
        {
            "label": label,
            "href": path.relative_to(layout.reports).as_posix(),
            "exists": path.exists(),
        }
        for label, path in targets
    ]


def render_ra_report(layout: Layout, report: RaReport) -> str:
    """The report as one self-contained HTML page."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = money

    def chart(html: str | None) -> Markup | None:
        return None if html is None else Markup(html)

    return environment.get_template("ra_report.html.j2").render(
        report=report,
        headline=_headline(report),
        links=_links(layout, report.billing_period),
        plotly_js=Markup(get_plotlyjs()),
        leakage_chart=chart(leakage_chart(report)),
        waterfall_chart=chart(waterfall_chart(report)),
        fraud_chart=chart(fraud_chart(report)),
    )


@locked_partition("ra_report", "billing_period")
def write_ra_report(layout: Layout, billing_period: str) -> Path:
    """Write the period's RA report; return its path."""
    report = collect_ra_report(layout, billing_period)
    path = ra_report_path(layout, billing_period)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_ra_report(layout, report), encoding="utf-8")
    return path
