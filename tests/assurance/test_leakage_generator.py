"""The generator's revenue-assurance ground truth (manifest/leakage.json) tells the truth
about the reference files it wrote, read back independently of pipelines/generate/leakage.py."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest

from pipelines.config import Layout
from pipelines.generate.operator import generate_operator

# The DAG test's scale: the injections must exist on a tiny operator too.
SEED, SUBSCRIBERS, MONTH, DAYS = 11, 30, "2026-10", 2
CLOSE = date(2026, 10, 31)


def _rows(layout: Layout, name: str) -> list[dict[str, str]]:
    with (layout.reference / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    layout = Layout(tmp_path_factory.mktemp("leakage-gen") / "data")
    generate_operator(layout, seed=SEED, subscribers=SUBSCRIBERS, month=MONTH, days=DAYS)
    return layout


@pytest.fixture(scope="module")
def truth(operator: Layout) -> dict[str, list[dict[str, object]]]:
    return json.loads((operator.manifest / "leakage.json").read_text(encoding="utf-8"))["cases"]


def test_each_credit_kind_is_injected_on_a_tiny_operator(truth: dict) -> None:
    for category in (
        "promo_credit_not_eligible",
        "credit_above_authority",
        "retention_credit_unqualified",
    ):
        assert len(truth[category]) >= 1, category


def test_credit_cases_are_what_adjustments_csv_and_the_matrix_say(
    operator: Layout, truth: dict
) -> None:
    credits = {row["adjustment_id"]: row for row in _rows(operator, "adjustments.csv")}
    authority = {row["approved_by"]: row for row in _rows(operator, "credit_authority.csv")}
    lines = {row["subscriber_id"]: row for row in _rows(operator, "subscribers.csv")}
    for case in truth["credit_above_authority"]:
        credit = credits[case["key"]]
        limit = int(authority[credit["approved_by"]]["max_credit_micros"])
        # Within the CRM row's limit (the gate applies it), above the matrix's.
        assert int(credit["amount_micros"]) <= int(credit["approval_limit_micros"])
        assert case["amount_micros"] == int(credit["amount_micros"]) - limit > 0
    for case in truth["promo_credit_not_eligible"]:
        credit = credits[case["key"]]
        assert credit["adjustment_type"] != "promotional" and credit["promotion_id"]
        # FIRSTMONTH50 is for a line's first bill run: these lines started before October.
        assert date.fromisoformat(lines[credit["subscriber_id"]]["activated_date"]) < date(
            2026, 10, 1
        )
        assert case["amount_micros"] == int(credit["amount_micros"])


def test_normal_credits_are_within_authority(operator: Layout, truth: dict) -> None:
    injected = {case["key"] for category in truth.values() for case in category}
    authority = {row["approved_by"]: row for row in _rows(operator, "credit_authority.csv")}
    normal = [r for r in _rows(operator, "adjustments.csv") if r["adjustment_id"] not in injected]
    assert normal
    for credit in normal:
        if int(credit["amount_micros"]) > int(credit["approval_limit_micros"]):
            continue  # held by the bill run: never applied
        grant = authority[credit["approved_by"]]
        assert credit["adjustment_type"] in grant["adjustment_types"].split()
        assert int(credit["amount_micros"]) <= int(grant["max_credit_micros"])


def test_only_injected_retention_credits_lack_a_churn_signal(operator: Layout, truth: dict) -> None:
    window_start = CLOSE - timedelta(days=90)
    lines = _rows(operator, "subscribers.csv")
    account_of = {row["subscriber_id"]: row["account_id"] for row in lines}
    signalled = {
        row["account_id"]
        for row in _rows(operator, "churn_scores.csv")
        if float(row["churn_score"]) >= 0.7
        and window_start <= date.fromisoformat(row["scored_on"]) <= CLOSE
    }
    signalled |= {
        account_of[row["subscriber_id"]]
        for row in _rows(operator, "port_requests.csv")
        if row["direction"] == "port_out"
        and window_start <= date.fromisoformat(row["requested_date"]) <= CLOSE
    }
    signalled |= {
        row["account_id"]
        for row in lines
        if row["cancelled_date"]
        and window_start <= date.fromisoformat(row["cancelled_date"]) <= CLOSE
    }
    unqualified = {
        row["adjustment_id"]
        for row in _rows(operator, "adjustments.csv")
        if row["adjustment_type"] == "retention" and row["account_id"] not in signalled
    }
    assert unqualified == {case["key"] for case in truth["retention_credit_unqualified"]}


def test_ground_truth_names_the_lost_file_gap(operator: Layout, truth: dict) -> None:
    anomalies = json.loads((operator.manifest / "anomalies.json").read_text(encoding="utf-8"))
    assert {case["key"] for case in truth["file_sequence_gap"]} == {
        f"{lost['feed']}/{lost['switch_id']}/{lost['file_sequence_number']}"
        for lost in anomalies["lost_files"]
    }
