"""The fraud ground truth (manifest/fraud.json) against what was written.

The generated operator is mediated, and every case's records are read back from the lake
by the file name and record number the manifest gives; the reference files are read with
the csv module. Nothing is taken from the generator's objects.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from generated_operator import mediate_period

from pipelines.config import Layout
from pipelines.generate import generate_operator

PERIOD = "2026-10"
CHICAGO = ZoneInfo("America/Chicago")
#: NANP area codes and country codes of the FCC's one-ring scam warnings.
FCC_WANGIRI = ("1268", "1284", "1473", "1649", "1664", "1767", "1809", "1829", "1849", "1876")


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """The DAG test's operator (seed 11, 30 lines, 2 days), mediated."""
    layout = Layout(tmp_path_factory.mktemp("fraud") / "data")
    generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
    mediate_period(layout, PERIOD)
    return layout


@pytest.fixture(scope="module")
def truth(operator: Layout) -> dict:
    return json.loads((operator.manifest / "fraud.json").read_text(encoding="utf-8"))


def reference(layout: Layout, name: str) -> list[dict[str, str]]:
    with (layout.reference / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def records(layout: Layout, case: dict) -> list[dict]:
    """The lake rows at the case's file names and record numbers."""
    wanted = [(r["file_name"], r["record_number"]) for r in case["records"]]
    con = duckdb.connect()
    con.execute("create table wanted (file_name varchar, record_number integer)")
    con.executemany("insert into wanted values (?, ?)", wanted)
    glob = str(layout.lake_table("usage") / "**" / "*.parquet")
    cursor = con.execute(
        "select usage.* from read_parquet(?, hive_partitioning = true, union_by_name = true) "
        "as usage inner join wanted using (file_name, record_number) order by started_at",
        [glob],
    )
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def termination_cost(layout: Layout, rows: list[dict]) -> int:
    """The carriers' termination decks (interconnect_rates.csv) applied to answered
    outbound calls: longest prefix in force on the local date, first increment then every
    started increment, per 60 s, half up to 100 micros."""
    decks = [
        r for r in reference(layout, "interconnect_rates.csv") if r["direction"] == "termination"
    ]
    total = 0
    for row in rows:
        if row["direction"] != "outbound" or not row["is_answered"]:
            continue
        day = row["started_at"].astimezone(CHICAGO).date()
        number = row["other_party_number"]
        live = [
            r
            for r in decks
            if number.startswith(r["prefix"])
            and date.fromisoformat(r["effective_from"]) <= day
            and (not r["effective_to"] or day <= date.fromisoformat(r["effective_to"]))
        ]
        rate = max(live, key=lambda r: len(r["prefix"]))
        first, step = int(rate["first_increment"]), int(rate["increment"])
        seconds = row["duration_seconds"]
        billable = first + math.ceil(max(0, seconds - first) / step) * step
        total += (int(rate["price_micros"]) * billable + 3000) // 6000 * 100
    return total


def test_every_pattern_is_injected_at_the_dag_scale(truth: dict) -> None:
    assert set(truth["counts"]) == {
        "irsf", "wangiri", "sim_cloning", "pbx_hacking", "subscription_fraud"
    }  # fmt: skip
    for pattern, count in truth["counts"].items():
        assert count >= 1, pattern
        assert count == len(truth[pattern])
    # The anomaly generator's own burst is one of the IRSF cases.
    assert any(case.get("source") for case in truth["irsf"])


def test_bursts_are_night_calls_to_the_ranges_named(operator: Layout, truth: dict) -> None:
    classes = {r["account_id"]: r["account_class"] for r in reference(operator, "accounts.csv")}
    for pattern in ("irsf", "pbx_hacking"):
        for case in truth[pattern]:
            rows = records(operator, case)
            assert len(rows) == case["call_count"] == len(case["records"])
            assert {r["served_msisdn"] for r in rows} == {case["msisdn"]}
            assert case["case_key"] == f"{case['msisdn']}|{case['local_date']}"
            local = [r["started_at"].astimezone(CHICAGO) for r in rows]
            assert {t.date().isoformat() for t in local} == {case["local_date"]}
            assert all(t.hour < 6 for t in local)
            assert all(r["direction"] == "outbound" and r["is_answered"] for r in rows)
            assert sorted({r["other_party_number"] for r in rows}) == case["destinations"]
            assert termination_cost(operator, rows) == case["termination_cost_micros"] > 0
            if pattern == "irsf":
                assert all(r["other_party_number"][:3] in ("881", "882", "979") for r in rows)
            else:
                assert classes[case["account_id"]] in ("business", "government")
                assert case["service_type"] == "fixed_voip"
                assert not any(r["other_party_number"].startswith("1") for r in rows)


def test_wangiri_rings_many_lines_from_one_range(operator: Layout, truth: dict) -> None:
    for case in truth["wangiri"]:
        rows = records(operator, case)
        rings = [r for r in rows if r["direction"] == "inbound"]
        callbacks = [r for r in rows if r["direction"] == "outbound"]
        assert case["calling_range"].startswith(FCC_WANGIRI)
        assert {r["other_party_number"][:7] for r in rows} == {case["calling_range"]}
        assert not any(r["is_answered"] for r in rings)
        assert all((r["ended_at"] - r["started_at"]).total_seconds() <= 4 for r in rings)
        assert sorted({r["served_msisdn"] for r in rings}) == case["lines_called"]
        assert len(case["lines_called"]) >= 10
        assert len(callbacks) == case["callback_count"] >= 2
        assert {r["served_msisdn"] for r in callbacks} <= set(case["lines_called"])
        assert termination_cost(operator, rows) == case["termination_cost_micros"]


def test_clones_call_from_far_cells_with_another_handset(operator: Layout, truth: dict) -> None:
    sites = {r["cell_id"]: r for r in reference(operator, "cell_sites.csv")}
    lines = {r["imsi"]: r for r in reference(operator, "subscribers.csv") if r["imsi"]}
    for case in truth["sim_cloning"]:
        rows = records(operator, case)
        assert len(rows) == case["call_count"] >= 1
        assert {r["served_imsi"] for r in rows} == {case["imsi"]}
        assert lines[case["imsi"]]["msisdn"] == case["msisdn"]
        assert {r["served_imei"] for r in rows} == {case["clone_imei"]}
        assert {sites[r["cell_id"]]["city"] for r in rows} == {case["clone_city"]}
        assert termination_cost(operator, rows) == case["termination_cost_micros"]


def test_subscription_fraud_is_a_new_unpaid_account(operator: Layout, truth: dict) -> None:
    accounts = {r["account_id"]: r for r in reference(operator, "accounts.csv")}
    payers = {r["account_id"] for r in reference(operator, "payments.csv")}
    hlr = {r["imsi"] for r in reference(operator, "hlr_snapshot.csv")}
    orders = reference(operator, "crm_orders.csv")
    subscribers = {r["subscriber_id"]: r for r in reference(operator, "subscribers.csv")}
    for case in truth["subscription_fraud"]:
        account = accounts[case["account_id"]]
        assert account["created_date"] == case["created_date"] >= "2026-10-01"
        assert case["account_id"] not in payers
        assert subscribers[case["subscriber_id"]]["imsi"] in hlr
        changes = [
            o
            for o in orders
            if o["account_id"] == case["account_id"] and o["order_type"] == "plan_change"
        ]
        assert len(changes) == case["plan_changes"] == 3
        rows = records(operator, case)
        assert len(rows) == case["call_count"] >= 8
        assert {r["served_msisdn"] for r in rows} == {case["msisdn"]}
        assert termination_cost(operator, rows) == case["termination_cost_micros"] > 0


def test_every_cell_in_the_records_has_a_site(operator: Layout) -> None:
    sites = {r["cell_id"] for r in reference(operator, "cell_sites.csv")}
    glob = str(operator.lake_table("usage") / "**" / "*.parquet")
    cells = {
        cell
        for (cell,) in duckdb.execute(
            "select distinct cell_id from read_parquet(?, union_by_name = true) "
            "where cell_id like '310-260-%'",  # our cells; TAP records carry partners'
            [glob],
        ).fetchall()
    }
    assert cells and cells <= sites


def test_the_ground_truth_is_deterministic(operator: Layout, tmp_path: Path) -> None:
    again = Layout(tmp_path / "data")
    generate_operator(again, seed=11, subscribers=30, month=PERIOD, days=2)
    for name in ("manifest/fraud.json", "reference/cell_sites.csv"):
        assert (again.root / name).read_bytes() == (operator.root / name).read_bytes()


def test_case_keys_name_dates_in_the_window(truth: dict) -> None:
    for pattern in ("irsf", "pbx_hacking"):
        for case in truth[pattern]:
            assert datetime.fromisoformat(case["local_date"]).date() in (
                date(2026, 10, 1),
                date(2026, 10, 2),
            )
