"""Reads of raw call detail through the product's commands are logged: who, what, when,
why and how many rows (pipelines/privacy/access_log.py, `telcolake call-detail`)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import duckdb
import pytest
from cpni_toll_lake import write_toll_lake

from pipelines import lake
from pipelines.cli import main
from pipelines.config import Layout
from pipelines.privacy.access_log import read_access_log
from pipelines.privacy.call_detail import CALL_DETAIL_COLUMNS
from pipelines.privacy.keys import KEY_ENV, cpni_key
from pipelines.privacy.masking import token

PERIOD = "2025-03"
SUB1_NUMBER, SUB1_IMSI = "13120000001", "310260000000001"
# (usage_id, subscriber, served number, served IMSI, period): SUB1 has two calls in March,
# one in April; SUB2 one in March; an unknown SIM one in March.
CALLS = [
    ("c1", "SUB1", SUB1_NUMBER, SUB1_IMSI, PERIOD),
    ("c2", "SUB1", SUB1_NUMBER, SUB1_IMSI, PERIOD),
    ("c3", "SUB1", SUB1_NUMBER, SUB1_IMSI, "2025-04"),
    ("c4", "SUB2", "13120000002", "310260000000002", PERIOD),
    ("c5", None, "13129999999", "310260999999999", PERIOD),
]


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Layout:
    """A warehouse with the relations call-detail reads, and the toll lake's rejects."""
    layout = Layout(tmp_path / "data")
    write_toll_lake(layout)
    monkeypatch.setenv("TELCOLAKE_DATA", str(layout.root))
    monkeypatch.setenv("TELCOLAKE_USER", "alice")
    monkeypatch.delenv(KEY_ENV, raising=False)
    layout.warehouse.mkdir(parents=True)
    with duckdb.connect(str(layout.duckdb_path)) as con:
        con.execute(
            "create table dim_subscribers as select * from (values "
            f"('SUB1', '{SUB1_NUMBER}', '{SUB1_IMSI}'), "
            "('SUB2', '13120000002', '310260000000002')) as t(subscriber_id, msisdn, imsi)"
        )
        con.execute("create schema restricted")
        columns = ", ".join(f"cast(null as varchar) as {c}" for c in CALL_DETAIL_COLUMNS)
        con.execute(f"create table restricted.call_detail as select {columns} where false")
        for usage_id, subscriber, number, imsi, period in CALLS:
            con.execute(
                "insert into restricted.call_detail (usage_id, billing_period, subscriber_id, "
                "served_msisdn, served_imsi, started_at) values (?, ?, ?, ?, ?, ?)",
                [usage_id, period, subscriber, number, imsi, f"{period}-05 10:00:0{usage_id[1]}"],
            )
    return layout


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def test_call_detail_returns_the_records_and_logs_who_what_when_why(warehouse, tmp_path):
    out = tmp_path / "calls.csv"
    before = datetime.now(UTC)
    code = main(
        [
            "call-detail",
            "--subscriber",
            SUB1_NUMBER,
            "--period",
            PERIOD,
            "--reason",
            "fraud case FR-12",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert [row["usage_id"] for row in read_csv(out)] == ["c1", "c2"]
    (entry,) = read_access_log(warehouse)
    assert entry["accessed_by"] == "alice"
    assert entry["command"] == "call-detail"
    key = cpni_key(warehouse)
    assert json.loads(entry["arguments"]) == {
        "period": PERIOD,
        "subscriber": token(key, SUB1_NUMBER),
    }
    assert SUB1_NUMBER not in str(entry)
    assert entry["reason"] == "fraud case FR-12"
    assert entry["rows_returned"] == 2
    assert before <= entry["accessed_at"] <= datetime.now(UTC)


def test_an_analysts_token_finds_the_same_records(warehouse, tmp_path):
    out = tmp_path / "calls.csv"
    analyst_token = token(cpni_key(warehouse), SUB1_IMSI)
    main(
        [
            "call-detail",
            "--subscriber",
            analyst_token,
            "--period",
            PERIOD,
            "--reason",
            "SIM cloning alert",
            "--out",
            str(out),
        ]
    )
    assert [row["usage_id"] for row in read_csv(out)] == ["c1", "c2"]
    (entry,) = read_access_log(warehouse)
    assert json.loads(entry["arguments"])["subscriber"] == analyst_token


def test_a_number_no_subscriber_holds_is_found_in_the_records(warehouse, tmp_path):
    out = tmp_path / "calls.csv"
    main(
        [
            "call-detail",
            "--subscriber",
            "13129999999",
            "--period",
            PERIOD,
            "--reason",
            "provisioned not billed",
            "--out",
            str(out),
        ]
    )
    assert [row["usage_id"] for row in read_csv(out)] == ["c5"]


def test_no_reason_no_records_and_an_unknown_subject_is_logged_as_an_attempt(warehouse):
    assert main(["call-detail", "--subscriber", "SUB1", "--reason", " "]) == 2
    assert read_access_log(warehouse) == []
    assert main(["call-detail", "--subscriber", "19998887777", "--reason", "curious"]) == 2
    (attempt,) = read_access_log(warehouse)
    assert attempt["rows_returned"] == 0


def test_each_access_is_a_partition_of_its_own_never_rewritten(warehouse):
    main(["call-detail", "--subscriber", "SUB1", "--period", PERIOD, "--reason", "first"])
    (first,) = lake.partitions(warehouse, "cpni_access_log")
    key = lake.partition_key("cpni_access_log", first)
    written = warehouse.lake_store.read(key)
    main(["call-detail", "--subscriber", "SUB2", "--period", PERIOD, "--reason", "second"])
    assert len(lake.partitions(warehouse, "cpni_access_log")) == 2
    assert warehouse.lake_store.read(key) == written
    assert [e["reason"] for e in read_access_log(warehouse)] == ["first", "second"]


def test_exporting_quarantined_raw_records_is_logged(warehouse, tmp_path):
    out = tmp_path / "rejects.csv"
    assert main(["quarantine", "list", "--out", str(out)]) == 0
    (entry,) = read_access_log(warehouse)
    assert entry["command"] == "quarantine list"
    assert entry["rows_returned"] == 1
    assert json.loads(entry["arguments"])["out"] == str(out)
