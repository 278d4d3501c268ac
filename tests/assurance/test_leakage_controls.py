"""The credit controls of fct_leakage_findings on the tiny operator (dbt_tiny_operator.py).

Period 2025-03 closes on March 31; the retention window (90 days) starts 2024-12-31. Every
line of the tiny operator was activated in 2024 except S004 (2025-03-22).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dbt_tiny_operator import PERIOD, write_fixture

from pipelines.build import _invoke as dbt_invoke
from pipelines.build import build_warehouse
from pipelines.config import Layout
from pipelines.lake import read_table, write_partition
from pipelines.taxes.stage import tax_period

ADJUSTMENTS = """\
adjustment_id,account_id,subscriber_id,billing_period,adjustment_type,category,amount_micros,description,approved_by,approval_limit_micros,promotion_id
C1,A001,S001,2025-03,goodwill,wireless_access,4000000,first month half,agent-7,10000000,NEWLINE
C2,A002,S003,2025-03,goodwill,wireless_access,10000000,at the limit,agent-7,25000000,
C3,A002,S003,2025-03,goodwill,wireless_access,12500000,above the limit,agent-7,25000000,
C4,A002,S003,2025-03,retention,wireless_access,5000000,scored high,ret-desk,25000000,
C5,A003,S005,2025-03,retention,wireless_access,6000000,scored low,ret-desk,25000000,
C6,A001,S001,2025-03,retention,wireless_access,3000000,port-out asked,ret-desk,25000000,
C7,A002,S004,2025-03,goodwill,voip_access,1000000,new line promo,agent-7,10000000,NEWLINE
"""
# NEWLINE: lines activated since 2025-03-01, for their first bill run only.
PROMOTIONS = """\
promotion_id,promotion_name,credit_micros,category,plan_ids,service_type,account_classes,activated_from,activated_to,credit_months,first_period,last_period,approved_by,approval_limit_micros
NEWLINE,New line half off,,wireless_access,,,,2025-03-01,,1,2025-01,,,
"""
AUTHORITY = """\
approved_by,approver_role,max_credit_micros,adjustment_types
agent-7,care_agent,10000000,goodwill
ret-desk,retention,25000000,retention
"""
# A002 scored 0.71 inside the window: qualified. A003 scored 0.69 inside it and 0.90
# before it (2024-12-30 is 91 days before the close), but its line S006 was cancelled on
# 2025-02-15, inside the window: qualified.
CHURN_SCORES = """\
account_id,scored_on,churn_score
A002,2025-03-20,0.71
A003,2025-03-20,0.69
A003,2024-12-30,0.90
"""
PORT_REQUESTS = """\
request_id,subscriber_id,msisdn,direction,other_carrier,requested_date,completed_date,request_status
POUT-1,S001,13125550101,port_out,Rival,2024-12-30,,rejected
"""


@pytest.fixture(scope="module")
def credit_findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    layout = write_fixture(tmp_path_factory.mktemp("leakage") / "data")
    for name, text in {
        "adjustments.csv": ADJUSTMENTS,
        "promotions.csv": PROMOTIONS,
        "credit_authority.csv": AUTHORITY,
        "churn_scores.csv": CHURN_SCORES,
        "port_requests.csv": PORT_REQUESTS,
    }.items():
        (layout.reference / name).write_text(text, encoding="utf-8")
    tax_period(layout, PERIOD)  # the bill run's gate decides which credits apply
    assert build_warehouse(layout).success
    return _findings(layout)


def _findings(layout: Layout) -> dict[str, list[tuple]]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select category, subject_id, amount_at_risk_micros from fct_leakage_findings"
            " order by category, subject_id"
        ).fetchall()
    by_category: dict[str, list[tuple]] = {}
    for category, subject, amount in rows:
        by_category.setdefault(category, []).append((subject, amount))
    return by_category


@pytest.mark.slow
def test_goodwill_credit_naming_a_promotion_its_line_is_not_eligible_for(
    credit_findings: dict[str, list[tuple]],
) -> None:
    # C1: S001 was activated in 2024, before NEWLINE's window: the whole credit. C7: S004
    # was activated on 2025-03-22, in its first bill run: eligible, not a finding.
    assert credit_findings["promo_credit_not_eligible"] == [("C1", 4_000_000)]


@pytest.mark.slow
def test_credit_above_the_approvers_authority_counts_the_excess(
    credit_findings: dict[str, list[tuple]],
) -> None:
    # C3: 12 500 000 by agent-7 whose authority is 10 000 000 (the CRM row says 25 000 000):
    # 2 500 000 over. C2 is exactly at the authority: not a finding.
    assert credit_findings["credit_above_authority"] == [("C3", 2_500_000)]


@pytest.mark.slow
def test_retention_credit_without_churn_risk_in_the_window(
    credit_findings: dict[str, list[tuple]],
) -> None:
    # C4: A002 scored 0.71 >= 0.7. C5: A003's line S006 was cancelled in the window (its
    # scores alone would not qualify it). C6: A001's only signal, a port-out request, was
    # asked on 2024-12-30, one day before the window.
    assert credit_findings["retention_credit_unqualified"] == [("C6", 3_000_000)]


@pytest.mark.slow
def test_young_and_aged_suspense_are_not_counted_twice(
    credit_findings: dict[str, list[tuple]],
) -> None:
    # The fixture's suspense is of March 9-10: 21-22 days old at the close, all aged.
    assert "usage_in_suspense" not in credit_findings
    assert credit_findings["suspense_aged"] == [("13125550777", 6_200_000), ("S003", 300_000)]


@pytest.mark.slow
def test_without_an_authority_matrix_no_credit_is_above_authority(tmp_path: Path) -> None:
    layout = write_fixture(tmp_path / "data")
    (layout.reference / "adjustments.csv").write_text(ADJUSTMENTS, encoding="utf-8")
    tax_period(layout, PERIOD)
    assert build_warehouse(layout).success
    findings = _findings(layout)
    assert "credit_above_authority" not in findings
    # No churn scores, no port-out request: only A003's cancellation qualifies (C5).
    assert findings["retention_credit_unqualified"] == [("C4", 5_000_000), ("C6", 3_000_000)]


# Usage of S006 (mobile, cancelled 2025-02-15), appended to the fixture's rating of 2025-03.
# The rate deck's only international peak voice price is the UK's 600 000 per 60 s: the
# suspense estimate is 10 000 per second.
_S006 = {"subscriber_id": "S006", "account_id": "A003", "served_msisdn": "15125550106"}
_S006_IMSI = "310260000000006"
TERMINATED_USAGE = [
    # (usage_id, feed, event_date, subscriber_id, status, seconds, charge)
    # T1: rated to the closed line after its cancellation: its charge counts.
    ("T1", "ts32298_ber", date(2025, 3, 10), "S006", "rated", 60, 500_000),
    # T2: left in suspense, no line resolved: 120 s x 10 000 = 1 200 000.
    ("T2", "ts32298_ber", date(2025, 3, 10), None, "suspense", 120, 0),
    # T3: on the cancellation day itself: the rule is "on or after".
    ("T3", "ts32298_ber", date(2025, 2, 15), "S006", "rated", 30, 100_000),
    # Near misses: the day before the cancellation, and an inbound call (not billable).
    ("N1", "ts32298_ber", date(2025, 2, 14), "S006", "rated", 30, 70_000),
    ("N2", "ts32298_ber", date(2025, 3, 10), "S006", "not_billable", 45, 0),
    # Abroad (TAP): roaming_not_passed_on's, not terminated_line_usage's.
    ("R1", "tap3", date(2025, 3, 10), "S006", "suspense", 200, 0),
    ("R2", "tap3", date(2025, 3, 10), "S001", "rated", 60, 800_000),
    ("R3", "tap3", date(2025, 3, 10), "S006", "not_billable", 90, 0),
]
# Payable TAP events of GBRZ1 (EUR, 1.085 USD per EUR at settlement): (usage_id, IMSI,
# service, charge in EUR micros). R4 is an event mediation refused (no usage row).
ROAMING_EVENTS = [
    ("R1", _S006_IMSI, "voice_mo", 1_000_000),  # in suspense: 1 085 000 USD micros
    ("R2", "310260000000001", "voice_mo", 700_000),  # charged to S001: passed on
    ("R3", _S006_IMSI, "voice_mt", 400_000),  # a call received abroad: not billable
    (None, "310260000000001", "sms_mo", 200_000),  # refused: 217 000 USD micros
]


def _add_terminated_and_roaming_usage(layout: Layout) -> None:
    period = {"billing_period": PERIOD}
    rated = read_table(layout, "rated_usage", period).to_pylist()
    template = next(row for row in rated if row["service"] == "voice")
    for usage_id, feed, day, subscriber, status, seconds, charge in TERMINATED_USAGE:
        started = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
        rated.append(
            {
                **template,
                **_S006,
                "usage_id": usage_id,
                "feed": feed,
                "event_date": day,
                "record_key": f"key-{usage_id}",
                "record_type": "voice_mt" if usage_id in ("N2", "R3") else "voice_mo",
                "direction": "inbound" if usage_id in ("N2", "R3") else "outbound",
                "served_msisdn": "13125550101" if subscriber == "S001" else "15125550106",
                "served_imsi": "310260000000001" if subscriber == "S001" else _S006_IMSI,
                "subscriber_id": subscriber,
                "account_id": {"S001": "A001", "S006": "A003"}.get(subscriber or ""),
                "started_at": started,
                "ended_at": started + timedelta(seconds=seconds),
                "duration_seconds": seconds,
                "billable_units": seconds,
                "chargeable_units": seconds,
                "charge_micros": charge,
                "rating_status": status,
                "suspense_reason": (
                    ("unknown_subscriber" if subscriber is None else "no_plan_at_event_time")
                    if status == "suspense"
                    else None
                ),
                "outgoing_trunk_group": None,
            }
        )
    # The fixture's rating is one bucket: the appended rows join it.
    write_partition(layout, "rated_usage", {**period, "bucket": 0}, pa.Table.from_pylist(rated))
    events = [
        {
            "billing_period": PERIOD,
            "direction": "payable",
            "tadig": "GBRZ1",
            "file_name": "CDGBRZ1USAZ900001",
            "file_sequence_number": "00001",
            "record_number": number,
            "usage_id": usage_id,
            "record_type": service,
            "service": service,
            "served_imsi": imsi,
            "served_msisdn": None,
            "other_party_number": None,
            "started_at": datetime(2025, 3, 10, 15, tzinfo=UTC),
            "event_date": date(2025, 3, 10),
            "units": 60,
            "billed_units": 60,
            "charge_micros": charge,
            "tax_micros": 0,
            "discount_micros": 0,
            "tap_currency": "EUR",
            "iot_version": None,
            "is_settled": True,
            "exclusion_reason": None,
            "reject_reason": None if usage_id else "tap_audit_mismatch",
        }
        for number, (usage_id, imsi, service, charge) in enumerate(ROAMING_EVENTS, start=1)
    ]
    write_partition(layout, "roaming_events", period, pa.Table.from_pylist(events))
    settlement = [
        {
            "billing_period": PERIOD,
            "tadig": "GBRZ1",
            "partner_name": "Albion Mobile",
            "direction": "payable",
            "service": service,
            "unit": "seconds",
            "files": 1,
            "events": 1,
            "units": 60,
            "charge_micros": 0,
            "tap_currency": "EUR",
            "settlement_currency": "USD",
            "exchange_rate": "1.085",
            "exchange_rate_date": date(2025, 3, 31),
            "usd_equivalent_micros": 0,
        }
        for service in ("voice_mo", "voice_mt", "sms_mo")
    ]
    write_partition(layout, "roaming_settlement", period, pa.Table.from_pylist(settlement))


@pytest.fixture(scope="module")
def usage_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    layout = write_fixture(tmp_path_factory.mktemp("usage") / "data")
    _add_terminated_and_roaming_usage(layout)
    # Models only: the added rows are the controls' inputs, not a reconciled month (no usage
    # rows, taxes or settlement totals behind them), so the warehouse's data tests would fail.
    outcome = dbt_invoke(layout, ["run", "--no-use-colors", "--select", "+fct_leakage_findings"])
    assert outcome.success, outcome.exception
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(
            "select category, subject_id, record_count, amount_at_risk_micros,"
            " evidence ->> 'tadig' from fct_leakage_findings"
            " where category in ('terminated_line_usage', 'roaming_not_passed_on',"
            " 'suspense_aged', 'usage_in_suspense')"
            " order by category, subject_id"
        ).fetchall()


@pytest.mark.slow
def test_usage_of_a_cancelled_line_on_and_after_its_cancellation_day(
    usage_findings: list[tuple],
) -> None:
    # T1 500 000 rated + T2 1 200 000 suspense + T3 100 000 on the cancellation day. N1 the
    # day before and N2 (inbound) are not counted; R1-R3 are TAP records, left to roaming.
    assert [f for f in usage_findings if f[0] == "terminated_line_usage"] == [
        ("terminated_line_usage", "S006", 3, 1_800_000, None)
    ]


@pytest.mark.slow
def test_payable_roaming_events_with_no_retail_charge(usage_findings: list[tuple]) -> None:
    # R1 (suspense): 1 000 000 EUR x 1.085; the refused SMS: 200 000 x 1.085. R2 was
    # charged to S001 and R3 is a call received abroad (not billable): not findings.
    assert [f for f in usage_findings if f[0] == "roaming_not_passed_on"] == [
        ("roaming_not_passed_on", "310260000000001", 1, 217_000, "GBRZ1"),
        ("roaming_not_passed_on", _S006_IMSI, 1, 1_085_000, "GBRZ1"),
    ]


@pytest.mark.slow
def test_suspense_of_terminated_and_roaming_usage_is_not_counted_again(
    usage_findings: list[tuple],
) -> None:
    # The fixture's own suspense (u10-u12) stays aged; T2 and R1 are not in it.
    assert [f[:4] for f in usage_findings if f[0] == "suspense_aged"] == [
        ("suspense_aged", "13125550777", 2, 6_200_000),
        ("suspense_aged", "S003", 1, 300_000),
    ]
