"""The RA report on hand-made marts: figures, the latest validation run, missing marts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.assurance.ra_report import collect_ra_report, ra_report_path, write_ra_report
from pipelines.config import Layout, layout
from pipelines.lake import write_partition
from pipelines.schema import VALIDATION_RESULT_SCHEMA

PERIOD = "2026-10"

CONTRACT_MARTS = """
create table fct_leakage_findings (
    finding_id varchar, billing_period varchar, category varchar,
    amount_at_risk_micros bigint, finding_status varchar
);
insert into fct_leakage_findings values
    ('F1', '2026-09', 'usage_in_suspense', 4000000, 'recovered'),
    ('F2', '2026-10', 'usage_in_suspense', 1234567, 'open'),
    ('F3', '2026-10', 'usage_in_suspense', 2000005, 'confirmed'),
    ('F4', '2026-10', 'provisioned_not_billed', 25000000, 'open');

create table rpt_ra_recovered_by_month (
    month date, category varchar, cases bigint, recovered_micros bigint
);
insert into rpt_ra_recovered_by_month values
    ('2026-10-01', 'usage_in_suspense', 1, 3000000),
    ('2026-10-01', 'provisioned_not_billed', 1, 500001);

create table rpt_usage_e2e_waterfall (
    billing_period varchar, step_order integer, step varchar, kind varchar, reason varchar,
    records bigint, seconds bigint, bytes bigint
);
-- a step's gaps are the records that leave it before the next step's level
insert into rpt_usage_e2e_waterfall values
    ('2026-10', 1, 'switch', 'level', null, 100, 6000, 0),
    ('2026-10', 1, 'switch', 'gap', 'rejected', 3, 0, 0),
    ('2026-10', 2, 'mediated', 'level', null, 97, 5900, 0),
    ('2026-10', 3, 'billed', 'level', null, 97, 5900, 0);

create table fct_fraud_alerts (
    alert_id varchar, billing_period varchar, detector varchar, score integer,
    subject_type varchar, subject_id varchar, lines_affected bigint, affected_lines varchar,
    first_event_at timestamptz, last_event_at timestamptz, record_count bigint,
    amount_at_risk_micros bigint, evidence varchar, alert_status varchar
);
insert into fct_fraud_alerts values
    ('A-low', '2026-10', 'wangiri', 60, 'range', '2327', 3, 'S1,S2,S3',
        '2026-10-02 01:00:00+00', '2026-10-02 02:00:00+00', 30, 10000000, '{}', 'open'),
    ('A-high', '2026-10', 'irsf', 95, 'line', '14149422153', 1, '14149422153',
        '2026-10-16 06:00:00+00', '2026-10-16 08:00:00+00', 40, 1440260000, '{}', 'open');
"""


def _validation_run(data: Layout, run_id: str, at: dt.datetime, failing: str | None) -> None:
    rows = [
        {
            "run_id": run_id,
            "billing_period": PERIOD,
            "validated_at": at,
            "domain": suite.split(".")[0],
            "suite": suite,
            "check_name": check,
            "severity": "critical",
            "success": check != failing,
            "observed_value": None,
            "unexpected_count": 0,
        }
        for suite, check in (
            ("billing.invoices", "tax_share_plausible"),
            ("billing.invoices", "invoice_not_empty"),
            ("fraud.alerts", "score_in_range"),
        )
    ]
    table = pa.Table.from_pylist(rows, schema=VALIDATION_RESULT_SCHEMA)
    write_partition(data, "validation_results", {"run_id": run_id}, table)


def _warehouse(root: Path, sql: str) -> Layout:
    data = layout(root)
    data.warehouse.mkdir(parents=True)
    with duckdb.connect(str(data.duckdb_path)) as con:
        con.execute(sql)
    return data


def test_headline_figures_from_integer_micros(tmp_path: Path) -> None:
    data = _warehouse(tmp_path, CONTRACT_MARTS)
    _validation_run(data, "run-1", dt.datetime(2026, 11, 1, tzinfo=dt.UTC), failing=None)
    page = write_ra_report(data, PERIOD).read_text()
    assert page.startswith("<!DOCTYPE html>")
    # 1 234 567 + 2 000 005 + 25 000 000 = 28 234 572 micros
    assert ">$28.23<" in page
    # recovered in October: 3 000 000 + 500 001 micros
    assert ">$3.50<" in page
    # fraud: 1 440 260 000 + 10 000 000 micros
    assert ">$1,450.26<" in page
    assert 'class="unavailable"' not in page
    for chart in ("leakage-chart", "waterfall-chart", "fraud-chart"):
        assert f'id="{chart}"' in page
    # plotly.js is inlined (the page works offline), once
    assert page.count('<script type="text/javascript">') == 1
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page


def test_sections_hold_the_marts_rows(tmp_path: Path) -> None:
    report = collect_ra_report(_warehouse(tmp_path, CONTRACT_MARTS), PERIOD)
    assert [
        (row["billing_period"], row["category"], row["amount_at_risk_micros"])
        for row in report.leakage.rows
    ] == [
        ("2026-09", "usage_in_suspense", 4000000),
        ("2026-10", "provisioned_not_billed", 25000000),
        ("2026-10", "usage_in_suspense", 3234572),
    ]
    assert report.recovered.rows == [{"month": "2026-10", "recovered_micros": 3500001}]
    assert [row["alert_id"] for row in report.alerts.rows] == ["A-high", "A-low"]
    assert [(row["step_order"], row["kind"]) for row in report.waterfall.rows] == [
        (1, "level"),
        (1, "gap"),
        (2, "level"),
        (3, "level"),
    ]


def test_validation_section_shows_the_latest_run_per_domain(tmp_path: Path) -> None:
    data = _warehouse(tmp_path, CONTRACT_MARTS)
    october = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    _validation_run(data, "scheduled__older", october, failing="tax_share_plausible")
    _validation_run(data, "manual__newer", october + dt.timedelta(hours=1), failing=None)
    rows = collect_ra_report(data, PERIOD).validation.rows
    assert [(row["run_id"], row["domain"]) for row in rows] == [
        ("manual__newer", "billing"),
        ("manual__newer", "fraud"),
    ]
    billing = rows[0]
    assert (billing["suites"], billing["expectations"], billing["passed"]) == (1, 2, 2)
    assert billing["failed_critical"] == 0

    _validation_run(data, "manual__latest", october + dt.timedelta(hours=2), "score_in_range")
    rows = {row["domain"]: row for row in collect_ra_report(data, PERIOD).validation.rows}
    assert rows["fraud"]["failed_critical"] == 1
    assert rows["fraud"]["failed_checks"] == "fraud.alerts: score_in_range"


def test_missing_marts_are_reported_not_available(tmp_path: Path) -> None:
    # A warehouse from before the RA marts: an older fraud mart, no waterfall, no recoveries.
    data = _warehouse(
        tmp_path,
        "create table fct_fraud_alerts (alert_id varchar, billing_period varchar, "
        "detector varchar, score integer);",
    )
    report = collect_ra_report(data, PERIOD)
    assert report.leakage.unavailable == "the mart fct_leakage_findings is not in the warehouse"
    assert report.waterfall.unavailable == (
        "the mart rpt_usage_e2e_waterfall is not in the warehouse"
    )
    assert report.alerts.unavailable is not None
    assert report.alerts.unavailable.startswith("the mart fct_fraud_alerts has no column")
    assert "amount_at_risk_micros" in report.alerts.unavailable
    assert report.validation.unavailable is not None

    page = write_ra_report(data, PERIOD).read_text()
    # leakage, recovered, waterfall, fraud and validation each say why they show nothing
    assert page.count('<p class="unavailable">') == 5
    assert ra_report_path(data, PERIOD).name == "ra_report_2026-10.html"
