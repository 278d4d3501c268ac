"""Analyst case status: transitions, idempotency, refusals, and the history the marts keep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from dbt_tiny_operator import write_fixture

from pipelines import lake
from pipelines.assurance.cases import (
    Case,
    CaseError,
    CaseKind,
    parse_amount,
    read_cases,
    read_history,
    set_status,
)
from pipelines.build import build_warehouse
from pipelines.config import Layout

LEAK = "f" * 32
ALERT = "a" * 32
CASES = {
    LEAK: Case(LEAK, CaseKind.FINDING, "2026-10", "usage_in_suspense", 5_000_000),
    ALERT: Case(ALERT, CaseKind.ALERT, "2026-10", "irsf", 90_000_000),
}
OCT_31 = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
NOV_2 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _set(layout: Layout, case_id: str, status: str, **kwargs):
    kwargs.setdefault("by", "ana")
    kwargs.setdefault("note", "RA-7")
    return set_status(layout, case_id, status, cases=CASES, **kwargs)


@pytest.mark.parametrize(
    ("text", "micros"),
    [("12.34", 12_340_000), ("0", 0), ("7", 7_000_000), ("0.000001", 1), (" 1.5 ", 1_500_000)],
)
def test_amounts_in_currency_text_are_exact_micros(text: str, micros: int) -> None:
    assert parse_amount(text) == micros


@pytest.mark.parametrize("text", ["-1", "1.0000001", "12,34", "", "nan", "ten"])
def test_amounts_that_are_not_a_recovery_are_refused(text: str) -> None:
    with pytest.raises(CaseError):
        parse_amount(text)


def test_a_case_moves_open_confirmed_recovered_and_keeps_each_step(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    first = _set(layout, LEAK, "confirmed", at=OCT_31)
    second = _set(layout, LEAK, "recovered", recovered_micros=4_200_000, by="bo", at=NOV_2)
    assert (first.from_status, first.to_status, first.recorded) == ("open", "confirmed", True)
    assert (second.from_status, second.to_status) == ("confirmed", "recovered")
    history = read_history(layout, LEAK)
    assert [(r["change_seq"], r["from_status"], r["to_status"]) for r in history] == [
        (1, "open", "confirmed"),
        (2, "confirmed", "recovered"),
    ]
    assert [r["recovered_micros"] for r in history] == [None, 4_200_000]
    assert history[1]["changed_by"] == "bo" and history[1]["case_kind"] == "finding"
    # Each change is its own partition, under the month of the change (UTC).
    files = sorted(
        p.relative_to(layout.lake).as_posix()
        for p in layout.lake.glob("case_status_changes/*/*/part-0.parquet")
    )
    assert files == [
        f"case_status_changes/change_month=2026-10/change_id={LEAK}-1/part-0.parquet",
        f"case_status_changes/change_month=2026-11/change_id={LEAK}-2/part-0.parquet",
    ]


def test_the_same_change_twice_records_it_once(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    _set(layout, ALERT, "confirmed")
    assert _set(layout, ALERT, "confirmed", note="asked again").recorded is False
    _set(layout, ALERT, "recovered", recovered_micros=1_000_000)
    assert _set(layout, ALERT, "recovered", recovered_micros=1_000_000).recorded is False
    assert len(read_history(layout, ALERT)) == 2
    # A second recovery with another amount is not a repeat: recovered is final.
    with pytest.raises(CaseError, match="recovered is final"):
        _set(layout, ALERT, "recovered", recovered_micros=2_000_000)


@pytest.mark.parametrize(
    ("path", "refused", "match"),
    [
        ([], "recovered", "cannot move to recovered"),  # open must be confirmed first
        (["confirmed", "recovered"], "open", "cannot move to open"),  # recovered is final
        (["confirmed", "recovered"], "false_positive", "cannot move"),
        (["false_positive"], "confirmed", "allowed: open"),  # reopen first
        ([], "closed", "unknown status"),
    ],
)
def test_transitions_outside_the_table_are_refused(
    tmp_path: Path, path: list[str], refused: str, match: str
) -> None:
    layout = Layout(tmp_path)
    for status in path:
        _set(layout, LEAK, status, recovered_micros=1 if status == "recovered" else None)
    with pytest.raises(CaseError, match=match):
        _set(layout, LEAK, refused, recovered_micros=1 if refused == "recovered" else None)
    assert len(read_history(layout, LEAK)) == len(path)


def test_a_false_positive_can_be_reopened_and_confirmed(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    for status in ("false_positive", "open", "confirmed"):
        assert _set(layout, LEAK, status).recorded
    assert [r["to_status"] for r in read_history(layout, LEAK)] == [
        "false_positive",
        "open",
        "confirmed",
    ]


@pytest.mark.parametrize(
    ("case_id", "status", "kwargs", "match"),
    [
        ("0" * 32, "confirmed", {}, "no finding or alert"),
        (LEAK, "false_positive", {"recovered_micros": 5}, "only a recovery carries an amount"),
        (LEAK, "confirmed", {"by": " "}, "who makes it"),
        (LEAK, "confirmed", {"note": ""}, "why"),
    ],
)
def test_bad_requests_are_refused(tmp_path: Path, case_id, status, kwargs, match) -> None:
    layout = Layout(tmp_path)
    with pytest.raises(CaseError, match=match):
        _set(layout, case_id, status, **kwargs)
    assert not (layout.lake / "case_status_changes").exists()


def test_a_recovery_needs_a_non_negative_amount(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    _set(layout, LEAK, "confirmed")
    with pytest.raises(CaseError, match="needs the amount"):
        _set(layout, LEAK, "recovered")
    with pytest.raises(CaseError, match="negative"):
        _set(layout, LEAK, "recovered", recovered_micros=-1)


def _query(layout: Layout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_statuses_survive_rebuilds_and_recoveries_are_reported_per_month(tmp_path: Path) -> None:
    layout = write_fixture(tmp_path / "data")
    assert build_warehouse(layout).success  # no change yet: the lake table does not exist
    findings = dict(
        _query(layout, "select finding_id, amount_at_risk_micros from fct_leakage_findings")
    )
    assert len(findings) >= 2, "the tiny operator raises findings"
    cases = read_cases(layout)
    assert set(findings) <= set(cases)
    recovered, dismissed = sorted(findings)[:2]
    by = {"by": "ana", "note": "RA-9"}
    set_status(layout, recovered, "confirmed", at=OCT_31, **by)
    # 2026-11-01 03:00 UTC is still October 31 in Chicago: October's recovery.
    at = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    set_status(layout, recovered, "recovered", recovered_micros=1_234_567, at=at, **by)
    set_status(layout, dismissed, "false_positive", at=NOV_2, **by)
    with pytest.raises(CaseError, match="no finding or alert"):
        set_status(layout, "not-a-case", "confirmed", **by)

    assert build_warehouse(layout).success  # the warehouse rebuilt: statuses from the lake
    assert _query(
        layout,
        "select case_id, case_status, recovered_micros from int_case_status_current"
        " order by case_id",
    ) == sorted([(recovered, "recovered", 1_234_567), (dismissed, "false_positive", None)])
    assert _query(
        layout, "select count(*), count(*) filter (where is_current) from fct_case_status_history"
    ) == [(3, 2)]
    assert _query(
        layout,
        "select month, case_kind, cases, recovered_micros, amount_at_risk_micros"
        " from rpt_ra_recovered_by_month",
    ) == [("2026-10", "finding", 1, 1_234_567, findings[recovered])]
    assert lake.read_table(layout, "case_status_changes").num_rows == 3


def test_the_cases_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from pipelines.cli import main

    layout = Layout(tmp_path)
    layout.warehouse.mkdir(parents=True)
    # The two marts' columns the commands read, in a real DuckDB file.
    with duckdb.connect(str(layout.duckdb_path)) as con:
        con.execute(
            "create table fct_leakage_findings as select 'f1' as finding_id, '2026-10' as"
            " billing_period, 'zero_rated_usage' as category, 5000000 as amount_at_risk_micros"
        )
        con.execute(
            "create table fct_fraud_alerts as select 'a1' as alert_id, '2026-10' as"
            " billing_period, 'wangiri' as detector, 700000 as amount_at_risk_micros"
        )
    monkeypatch.setenv("TELCOLAKE_DATA", str(tmp_path))
    by = ["--by", "ana", "--note", "RA-1"]
    assert main(["cases", "set-status", "f1", "confirmed", *by]) == 0
    assert main(["cases", "set-status", "f1", "recovered", *by, "--recovered", "-1"]) == 2
    assert main(["cases", "set-status", "f1", "recovered", *by, "--recovered", "4.20"]) == 0
    assert main(["cases", "set-status", "f1", "recovered", *by, "--recovered", "4.2"]) == 0
    assert main(["cases", "set-status", "zz", "confirmed", *by]) == 2
    assert [(r["to_status"], r["recovered_micros"]) for r in read_history(layout, "f1")] == [
        ("confirmed", None),
        ("recovered", 4_200_000),
    ]
    capsys.readouterr()
    assert main(["cases", "list", "--status", "recovered"]) == 0
    listed = capsys.readouterr().out
    assert "f1" in listed and "a1" not in listed
    assert main(["cases", "list", "--kind", "alert"]) == 0
    assert "a1" in capsys.readouterr().out
    assert main(["cases", "history", "f1"]) == 0
    assert "2 change(s)" in capsys.readouterr().out


def test_without_a_built_warehouse_the_ids_cannot_be_checked(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    with pytest.raises(CaseError, match="telcolake build"):
        set_status(layout, LEAK, "confirmed", by="ana", note="RA-1")
    layout.warehouse.mkdir(parents=True)
    duckdb.connect(str(layout.duckdb_path)).close()  # a warehouse without the marts
    with pytest.raises(CaseError, match="no fct_leakage_findings"):
        set_status(layout, LEAK, "confirmed", by="ana", note="RA-1")
