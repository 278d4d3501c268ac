"""The lake table validation_results: every expectation of every run, kept per run id."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from expectations.suites import audit_domains
from pipelines.config import Layout
from pipelines.lake import read_table
from pipelines.validate import validate_warehouse

PERIOD = "2025-01"


def _tiny_warehouse_builder():
    # The validate stage's tests keep a tiny warehouse that every audit frame can read, and
    # its corrupted variant breaks known checks; reuse it rather than keep a second copy in
    # step with the suites.
    path = Path(__file__).resolve().parents[1] / "expectations" / "test_validate.py"
    spec = importlib.util.spec_from_file_location("tiny_validation_warehouse", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_warehouse


@pytest.fixture(scope="module")
def validated_twice_and_once(tmp_path_factory: pytest.TempPathFactory) -> dict:
    build_warehouse = _tiny_warehouse_builder()
    data: Layout = build_warehouse(tmp_path_factory.mktemp("results"), corrupt=True)
    first = validate_warehouse(data, PERIOD, "run-a")
    after_first = read_table(data, "validation_results").to_pylist()
    rerun = validate_warehouse(data, PERIOD, "run-a")
    after_rerun = read_table(data, "validation_results").to_pylist()
    other = validate_warehouse(data, PERIOD, "run-b")
    return {
        "data": data,
        "first": first,
        "after_first": after_first,
        "rerun": rerun,
        "after_rerun": after_rerun,
        "other": other,
        "final": read_table(data, "validation_results").to_pylist(),
    }


def _expected_checks() -> list[tuple[str, str, str]]:
    """(domain, suite, check) of every expectation the suites define: one row each."""
    return sorted(
        (domain.name, frame.suite_name, expectation.meta["check"])
        for domain in audit_domains()
        for frame in domain.frames
        for expectation in frame.expectations()
    )


def test_one_row_per_expectation_of_the_run(validated_twice_and_once: dict) -> None:
    rows = validated_twice_and_once["after_first"]
    assert sorted((row["domain"], row["suite"], row["check_name"]) for row in rows) == (
        _expected_checks()
    )
    assert {row["run_id"] for row in rows} == {"run-a"}
    assert {row["billing_period"] for row in rows} == {PERIOD}
    assert len({row["validated_at"] for row in rows}) == 1


def test_rows_carry_each_outcome(validated_twice_and_once: dict) -> None:
    rows = {row["check_name"]: row for row in validated_twice_and_once["after_first"]}
    # The corrupted warehouse leaves one unexplained record on ts32298_ber/2025-01-05.
    unexplained = rows["no_unexplained_records"]
    assert unexplained["success"] is False
    assert unexplained["severity"] == "critical"
    assert unexplained["unexpected_count"] == 1
    # What failed is exactly what the run reported as failed (critical) or warned about.
    summary = validated_twice_and_once["first"]
    reported = {failure.check for failure in (*summary.failures, *summary.warnings)}
    assert {check for check, row in rows.items() if not row["success"]} == reported
    # Frame-level checks record their observation as JSON text.
    observed = [row["observed_value"] for row in rows.values() if row["observed_value"]]
    assert observed
    for text in observed:
        json.loads(text)


def test_a_rerun_of_the_same_run_id_replaces_its_rows(validated_twice_and_once: dict) -> None:
    first, rerun = validated_twice_and_once["after_first"], validated_twice_and_once["after_rerun"]
    assert len(rerun) == len(first)

    def outcome(rows: list[dict]) -> list[tuple]:
        return sorted((row["suite"], row["check_name"], row["success"]) for row in rows)

    assert outcome(rerun) == outcome(first)
    assert rerun[0]["validated_at"] > first[0]["validated_at"]


def test_another_run_id_is_appended(validated_twice_and_once: dict) -> None:
    final = validated_twice_and_once["final"]
    per_run = {
        run_id: [row for row in final if row["run_id"] == run_id] for run_id in ("run-a", "run-b")
    }
    assert len(final) == 2 * len(_expected_checks())
    assert len(per_run["run-a"]) == len(per_run["run-b"])
    # run-a's rows are those of its rerun, untouched by run-b.
    assert {row["validated_at"] for row in per_run["run-a"]} == {
        row["validated_at"] for row in validated_twice_and_once["after_rerun"]
    }


def test_the_default_run_id_is_a_new_run_each_time(tmp_path: Path) -> None:
    build_warehouse = _tiny_warehouse_builder()
    data = build_warehouse(tmp_path, corrupt=False)
    first = validate_warehouse(data, PERIOD)
    second = validate_warehouse(data, PERIOD)
    assert first.run_id.startswith("manual__") and first.run_id != second.run_id
    runs = {row["run_id"] for row in read_table(data, "validation_results").to_pylist()}
    assert runs == {first.run_id, second.run_id}


def test_a_run_id_must_be_one_path_segment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run id"):
        validate_warehouse(Layout(tmp_path), PERIOD, "../x")
