# ruff: noqa: E501  (the reference CSVs and call rows below are wider than code lines)
"""The fraud detectors on a hand-made operator: one case per detector and a near miss.

The operator is only what the detectors read: a few reference files and the rated usage,
interconnect legs and payments of March 2025 (Chicago is on CDT, UTC-5, from March 9th).
`dbt build --select +fct_fraud_alerts` builds the detectors and runs their tests; every
expected alert below is worked out by hand from docs/fraud.md and the default thresholds.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from pipelines.build import _invoke
from pipelines.config import Layout
from pipelines.lake import write_partition
from pipelines.schema import LAKE_TABLES

PERIOD = "2025-03"

REFERENCE = {
    "accounts.csv": """account_id,account_name,account_class,bill_cycle_day,currency,service_address_id,created_date
A1,Old Customer,consumer,1,USD,AD1,2020-01-01
B1,Harbor Logistics,business,15,USD,AD1,2020-01-01
N1,New Fraudster,consumer,1,USD,AD1,2025-03-05
N2,New Customer,consumer,1,USD,AD1,2025-03-05
N3,New Payer,consumer,1,USD,AD1,2025-03-05
""",
    "subscribers.csv": """subscriber_id,account_id,service_type,msisdn,imsi,plan_id,service_address_id,activated_date,cancelled_date,status
S1,A1,mobile,13125550001,310260000000001,P,AD1,2020-01-01,,active
S2,A1,mobile,13125550002,310260000000002,P,AD1,2020-01-01,,active
F1,B1,fixed_voip,13125550101,,P,AD1,2020-01-01,,active
F2,B1,fixed_voip,13125550102,,P,AD1,2020-01-01,,active
N1S,N1,mobile,13125550201,310260000000201,P,AD1,2025-03-05,,active
N2S,N2,mobile,13125550202,310260000000202,P,AD1,2025-03-05,,active
N3S,N3,mobile,13125550203,310260000000203,P,AD1,2025-03-05,,active
""",
    "crm_orders.csv": """order_id,account_id,subscriber_id,order_type,plan_id,ordered_date,completed_date,order_status
O1,N1,N1S,plan_change,P2,2025-03-06,2025-03-06,completed
O2,N1,N1S,plan_change,P3,2025-03-08,2025-03-08,completed
O3,N2,N2S,plan_change,P2,2025-03-06,2025-03-06,completed
O4,N2,N2S,plan_change,P3,2025-03-08,,open
O5,N3,N3S,plan_change,P2,2025-03-06,2025-03-06,completed
O6,N3,N3S,plan_change,P3,2025-03-08,2025-03-08,completed
""",
    "holidays.csv": "holiday_date,holiday_name,country\n2025-01-01,New Year's Day,US\n",
    "cell_sites.csv": """cell_id,latitude,longitude,city
310-260-4101-1,41.8781,-87.6298,Chicago
310-260-4701-1,43.0389,-87.9065,Milwaukee
310-260-5101-1,40.7128,-74.0060,New York
""",
}
CHICAGO, MILWAUKEE, NEW_YORK = "310-260-4101-1", "310-260-4701-1", "310-260-5101-1"
HANDSET, CLONE = "353323110000001", "358757110000009"


class Usage:
    """Rated usage rows and their interconnect legs, built call by call."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.legs: list[dict[str, Any]] = []

    def call(
        self,
        msisdn: str,
        subscriber: str | None,
        direction: str,
        other: str,
        start: datetime,
        talk: int = 0,
        *,
        ring: int = 5,
        group: str = "international",
        prefix: str | None = None,
        imsi: str | None = None,
        imei: str | None = None,
        cell: str | None = None,
        account: str | None = None,
        charge: int = 0,
        cost: int = 0,
    ) -> None:
        usage_id = f"u{len(self.rows) + 1:03d}"
        answered = start + timedelta(seconds=ring) if talk else None
        self.rows.append(
            {
                "usage_id": usage_id,
                "file_name": "F.ber",
                "record_number": len(self.rows) + 1,
                "feed": "ts32298_ber",
                "switch_id": "MSC1",
                "file_date": start.date(),
                "event_date": start.date(),
                "record_type": "voice_mo" if direction == "outbound" else "voice_mt",
                "service": "voice",
                "direction": direction,
                "served_msisdn": msisdn,
                "served_imsi": imsi,
                "served_imei": imei,
                "other_party_number": other,
                "started_at": start,
                "answered_at": answered,
                "ended_at": (answered or start) + timedelta(seconds=talk or ring),
                "duration_seconds": talk,
                "is_answered": bool(talk),
                "cell_id": cell,
                "billing_period": PERIOD,
                "subscriber_id": subscriber,
                "account_id": account,
                "destination_prefix": prefix or other[:3],
                "destination_group": group,
                "charge_micros": charge,
                "rating_status": "rated",
            }
        )
        if cost:
            self.legs.append(
                {
                    "usage_id": usage_id,
                    "leg_direction": "outbound",
                    "leg_id": f"{usage_id}/outbound",
                    "billing_period": PERIOD,
                    "event_date": start.date(),
                    "started_at": start,
                    "carrier_id": "C1",
                    "served_msisdn": msisdn,
                    "other_party_number": other,
                    "duration_seconds": talk,
                    "billable_seconds": talk,
                    "amount_micros": cost,
                    "rating_status": "rated",
                }
            )


def utc(day: int, hour: int, minutes: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC) + timedelta(minutes=minutes)


def operator_usage() -> Usage:
    usage = Usage()
    s1 = {"imsi": "310260000000001", "imei": HANDSET, "account": "A1"}
    s2 = {"imsi": "310260000000002", "imei": HANDSET, "account": "A1"}

    # IRSF: S1, 10 answered premium calls 07:00-08:30 UTC on the 12th (02:00-03:30 CDT).
    for n in range(10):
        usage.call("13125550001", "S1", "outbound", "8821234567", utc(12, 7, 10 * n), 120,
                   group="premium", prefix="882", cost=600_000, **s1)  # fmt: skip
    # Near miss: S2 places 9.
    for n in range(9):
        usage.call("13125550002", "S2", "outbound", "8821234567", utc(12, 7, 10 * n), 120,
                   group="premium", prefix="882", cost=600_000, **s2)  # fmt: skip

    # Wangiri: 1876555xxxx rings 9 lines for 3 s; a 20 s ring of a 10th line is an
    # ordinary missed call; V01 calls back. Near miss: 1268444xxxx rings 7 lines.
    for n in range(1, 10):
        usage.call(f"131255510{n:02d}", f"V{n:02d}", "inbound", f"187655500{n:02d}",
                   utc(14, 15, n), ring=3)  # fmt: skip
    usage.call("13125551010", "V10", "inbound", "18765550010", utc(14, 15, 30), ring=20)
    usage.call("13125551001", "V01", "outbound", "18765550001", utc(14, 18), 60, cost=220_000)
    for n in range(1, 8):
        usage.call(f"131255510{n:02d}", f"V{n:02d}", "inbound", f"126844400{n:02d}",
                   utc(20, 15, n), ring=2)  # fmt: skip

    # SIM cloning: S1 in Chicago at 15:00, its SIM in New York at 15:20 in another
    # handset, back in Chicago at 15:40: two moves of 1 145 km in 20 minutes.
    usage.call("13125550001", "S1", "inbound", "13125559999", utc(13, 15), 60,
               group="domestic", cell=CHICAGO, **s1)  # fmt: skip
    usage.call("13125550001", "S1", "outbound", "447700900123", utc(13, 15, 20), 300,
               cell=NEW_YORK, imsi="310260000000001", imei=CLONE, account="A1", cost=225_000)  # fmt: skip
    usage.call("13125550001", "S1", "outbound", "13125559999", utc(13, 15, 40), 60,
               group="domestic", cell=CHICAGO, **s1)  # fmt: skip
    # Near miss: S2 drives Chicago -> Milwaukee (130 km in 30 min), then is in New York
    # once: one impossible move, the threshold is two.
    usage.call("13125550002", "S2", "outbound", "13125559999", utc(13, 10), 60,
               group="domestic", cell=CHICAGO, **s2)  # fmt: skip
    usage.call("13125550002", "S2", "outbound", "13125559999", utc(13, 10, 30), 60,
               group="domestic", cell=MILWAUKEE, **s2)  # fmt: skip
    usage.call("13125550002", "S2", "outbound", "13125559999", utc(13, 11), 60,
               group="domestic", cell=NEW_YORK, **s2)  # fmt: skip
    usage.call("13125550002", "S2", "outbound", "13125559999", utc(13, 12), 60,
               group="domestic", cell=NEW_YORK, **s2)  # fmt: skip

    # PBX hacking: F1 calls London 8 times on Saturday the 15th from 09:00 CDT (weekend).
    for n in range(8):
        usage.call("13125550101", "F1", "outbound", f"44207946000{n}", utc(15, 14, 5 * n), 60,
                   prefix="44", account="B1", cost=100_000)  # fmt: skip
    # Near miss: F2 calls 8 times in office hours on Wednesday the 12th (10:00 CDT) and 7
    # times that night (22:00 CDT, 03:00 UTC on the 13th).
    for n in range(8):
        usage.call("13125550102", "F2", "outbound", f"44207946100{n}", utc(12, 15, 5 * n), 60,
                   prefix="44", account="B1", cost=100_000)  # fmt: skip
    for n in range(7):
        usage.call("13125550102", "F2", "outbound", f"44207946200{n}", utc(13, 3, 5 * n), 60,
                   prefix="44", account="B1", cost=100_000)  # fmt: skip

    # Subscription fraud: N1 (new, 2 plan changes, unpaid) calls Nigeria 5 times at
    # 12 000 000 retail each. N2 has one completed change, N3 paid: both near misses.
    for account, msisdn, subscriber in (
        ("N1", "13125550201", "N1S"),
        ("N2", "13125550202", "N2S"),
        ("N3", "13125550203", "N3S"),
    ):
        for n in range(5):
            usage.call(msisdn, subscriber, "outbound", f"23480300000{n}", utc(10, 16 + n), 600,
                       prefix="234", account=account, charge=12_000_000, cost=1_000_000)  # fmt: skip
    return usage


def write_operator(root: Path) -> Layout:
    layout = Layout(root)
    layout.reference.mkdir(parents=True)
    for name, text in REFERENCE.items():
        (layout.reference / name).write_text(text, encoding="utf-8")
    usage = operator_usage()
    values = {"billing_period": PERIOD}

    def table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
        schema, _ = LAKE_TABLES[name]
        return pa.Table.from_pylist(rows, schema=schema)

    # The rated tables as one rating bucket.
    bucket = {**values, "bucket": 0}
    write_partition(layout, "rated_usage", bucket, table("rated_usage", usage.rows))
    write_partition(layout, "interconnect_legs", bucket, table("interconnect_legs", usage.legs))
    payment = {
        "billing_period": PERIOD,
        "payment_id": "PAY1",
        "account_id": "N3",
        "received_date": date(2025, 3, 20),
        "amount_micros": 10_000_000,
        "method": "card",
        "invoice_id": "I1",
    }
    write_partition(layout, "payments", values, table("payments", [payment]))
    return layout


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    layout = write_operator(tmp_path_factory.mktemp("fraud") / "data")
    outcome = _invoke(
        layout,
        ["build", "--select", "+fct_fraud_alerts", "--indirect-selection", "cautious"],
    )
    assert outcome.success, outcome.exception
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select detector, subject_id, score, lines_affected, affected_lines, record_count,"
            " amount_at_risk_micros, evidence, alert_id, alert_status from fct_fraud_alerts"
        ).fetchall()
    return {row[0]: row for row in rows}


@pytest.mark.slow
def test_one_alert_per_detector_and_no_near_miss(alerts: dict[str, tuple]) -> None:
    assert sorted(alerts) == ["irsf", "pbx_hacking", "sim_cloning", "subscription_fraud", "wangiri"]
    assert {row[1] for row in alerts.values()} == {
        "13125550001", "1876555", "310260000000001", "13125550101", "N1"
    }  # fmt: skip
    assert {row[9] for row in alerts.values()} == {"open"}


@pytest.mark.slow
def test_irsf_burst(alerts: dict[str, tuple]) -> None:
    _, _, score, lines, affected, records, amount, evidence, alert_id, _ = alerts["irsf"]
    # 10 calls, all out of hours: 50 x 10 / 10 x (0.5 + 0.5) = 50; 10 x 600 000.
    assert (score, lines, affected, records, amount) == (50, 1, "13125550001", 10, 6_000_000)
    facts = json.loads(evidence)
    assert facts["local_date"] == "2025-03-12"
    assert facts["off_hours_calls"] == 10 and facts["talk_seconds"] == 1200
    assert facts["sample_usage_ids"] == ["u001", "u002", "u003", "u004", "u005"]
    assert alert_id == _md5("irsf|13125550001|2025-03-12")


@pytest.mark.slow
def test_wangiri_wave_and_callback(alerts: dict[str, tuple]) -> None:
    _, _, score, lines, affected, records, amount, evidence, _, _ = alerts["wangiri"]
    # 9 lines rung: round(50 x 9 / 8) = 56, + 10 for the one callback; 9 rings + 1 callback.
    assert (score, lines, records, amount) == (66, 9, 10, 220_000)
    assert affected == ",".join(f"131255510{n:02d}" for n in range(1, 10))
    facts = json.loads(evidence)
    assert (facts["callbacks"], facts["callback_lines"]) == (1, "13125551001")


@pytest.mark.slow
def test_sim_clone(alerts: dict[str, tuple]) -> None:
    _, _, score, lines, affected, records, amount, evidence, _, _ = alerts["sim_cloning"]
    # Two impossible moves (threshold 2): 50; the three records involved; the clone's call.
    assert (score, lines, affected, records, amount) == (50, 1, "13125550001", 3, 225_000)
    facts = json.loads(evidence)
    assert facts["impossible_travel"] == 2 and facts["other_imeis"] == CLONE
    assert facts["routes"] == ["Chicago -> New York", "New York -> Chicago"]


@pytest.mark.slow
def test_pbx_hacking(alerts: dict[str, tuple]) -> None:
    _, _, score, lines, affected, records, amount, evidence, _, _ = alerts["pbx_hacking"]
    assert (score, lines, affected, records, amount) == (50, 1, "13125550101", 8, 800_000)
    assert json.loads(evidence)["local_date"] == "2025-03-15"


@pytest.mark.slow
def test_subscription_fraud(alerts: dict[str, tuple]) -> None:
    _, _, score, lines, affected, records, amount, evidence, _, _ = alerts["subscription_fraud"]
    # 60 000 000 retail: round(50 x 60 / 50) = 60, + 10 x 2 changes = 80; 5 x 1 000 000.
    assert (score, lines, affected, records, amount) == (80, 1, "13125550201", 5, 5_000_000)
    facts = json.loads(evidence)
    assert (facts["service_changes"], facts["retail_charge_micros"]) == (2, 60_000_000)


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()
