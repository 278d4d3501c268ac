"""Validate stage: hold the warehouse marts to the auditors' expectation suites.

Pulls each audit frame (``expectations/suites``) from the DuckDB warehouse, opened read-only
so a validation never competes with the dbt writer, snapshots it as Parquet, runs one Great
Expectations checkpoint per audit domain, rebuilds the Data Docs, writes a machine-readable
``<reports>/validation/results.json`` (the latest run) and every expectation's outcome to the
lake table ``validation_results`` (kept for every run). ``raise_for_failures`` turns a failed
expectation into an exception so the orchestrating task fails loudly.

Great Expectations is imported inside the functions: it takes seconds to import, and the CLI
and the DAG file import this module.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import Layout
from pipelines.locks import locked_partition
from pipelines.storage import Location

log = logging.getLogger(__name__)

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: A run id names one partition directory of validation_results: one path segment.
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")
#: Reference files some frames join (the marts do not carry the interconnect decks).
_REFERENCE_VIEWS = {
    "reference_interconnect_rates": "interconnect_rates.csv",
    "reference_carriers": "carriers.csv",
}
#: How many offending rows a failure names in results.json and in the exception.
_KEYS_SHOWN = 20


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation that did not hold, with what was observed."""

    suite: str
    check: str
    severity: str  # "critical" fails the run, "warning" is only reported
    expectation_type: str
    column: str | None
    description: str | None
    observed_value: Any
    unexpected_count: int | None
    unexpected_keys: tuple[str, ...]
    unexpected_values: tuple[Any, ...]

    def describe(self) -> str:
        where = f" on {self.column}" if self.column else ""
        if self.unexpected_count:
            examples = ", ".join(
                f"{key} = {value!r}"
                for key, value in zip(
                    self.unexpected_keys[:5], self.unexpected_values[:5], strict=True
                )
            )
            seen = f"{self.unexpected_count} row(s), e.g. {examples}"
        else:
            seen = f"observed {self.observed_value!r}"
        return (
            f"{self.suite}: {self.check} [{self.severity}] ({self.expectation_type}{where}): {seen}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "expectation_type": self.expectation_type,
            "column": self.column,
            "description": self.description,
            "observed_value": self.observed_value,
            "unexpected_count": self.unexpected_count,
            "unexpected_keys": list(self.unexpected_keys),
            "unexpected_values": list(self.unexpected_values),
        }


@dataclass(frozen=True)
class SuiteResult:
    """The outcome of one suite on its audit frame."""

    suite: str
    domain: str
    grain: str
    rows: int
    evaluated: int
    successful: int
    failures: tuple[FailedExpectation, ...]

    @property
    def success(self) -> bool:
        """No critical expectation failed (warnings are reported, not fatal)."""
        return not any(failure.severity == "critical" for failure in self.failures)

    @property
    def warnings(self) -> int:
        return sum(failure.severity != "critical" for failure in self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "domain": self.domain,
            "grain": self.grain,
            "rows": self.rows,
            "success": self.success,
            "evaluated_expectations": self.evaluated,
            "successful_expectations": self.successful,
            "failed_expectations": self.evaluated - self.successful,
            "warnings": self.warnings,
            "failures": [failure.as_dict() for failure in self.failures],
        }


@dataclass(frozen=True)
class ValidationSummary:
    """What a validation run found, and where its reports are."""

    billing_period: str | None
    run_name: str
    suites: tuple[SuiteResult, ...]
    data_docs_index: Path
    results_path: Path
    run_id: str
    results_table: Location

    @property
    def success(self) -> bool:
        return bool(self.suites) and all(suite.success for suite in self.suites)

    @property
    def failures(self) -> tuple[FailedExpectation, ...]:
        """Critical failures: the ones that fail the run."""
        return tuple(
            failure
            for suite in self.suites
            for failure in suite.failures
            if failure.severity == "critical"
        )

    @property
    def warnings(self) -> tuple[FailedExpectation, ...]:
        return tuple(
            failure
            for suite in self.suites
            for failure in suite.failures
            if failure.severity != "critical"
        )

    def suite(self, name: str) -> SuiteResult:
        return next(suite for suite in self.suites if suite.suite == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "billing_period": self.billing_period,
            "run_name": self.run_name,
            "success": self.success,
            "warnings": len(self.warnings),
            "data_docs_index": str(self.data_docs_index),
            "suites": [suite.as_dict() for suite in self.suites],
        }


class ValidationFailed(RuntimeError):
    """Raised by ``raise_for_failures`` when any expectation failed."""

    def __init__(self, summary: ValidationSummary) -> None:
        self.summary = summary
        lines = [failure.describe() for failure in summary.failures]
        if not summary.suites:
            lines.append("no suite was validated")
        super().__init__(
            f"{len(summary.failures)} expectation(s) failed in validation run "
            f"{summary.run_name} (Data Docs: {summary.data_docs_index}):\n  " + "\n  ".join(lines)
        )


def raise_for_failures(summary: ValidationSummary) -> None:
    """Raise ValidationFailed, listing every failed expectation, unless the run succeeded."""
    if not summary.success:
        raise ValidationFailed(summary)


@locked_partition("validate", "billing_period")
def validate_warehouse(
    layout: Layout, billing_period: str | None = None, run_id: str | None = None
) -> ValidationSummary:
    """Validate the marts for one billing period (``YYYY-MM``), or all of them when None.

    ``run_id`` names the run in the lake table validation_results (the DAG passes its
    Airflow run id, so a retried task replaces its own rows); None names it after the wall
    clock, ``manual__<UTC time>``, so every such call adds a run.
    """
    import duckdb

    from expectations import checkpoints
    from expectations.suites import audit_domains

    if billing_period is not None and not _PERIOD.match(billing_period):
        raise ValueError(f"billing period must be YYYY-MM, got {billing_period!r}")
    validated_at = dt.datetime.now(dt.UTC)
    run_id = run_id or f"manual__{validated_at.isoformat()}"
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id must be letters, digits and _.:+- only, got {run_id!r}")
    if not layout.duckdb_path.exists():
        raise FileNotFoundError(f"warehouse not built: {layout.duckdb_path}")

    validation_dir = layout.reports / "validation"
    frames_dir = validation_dir / "frames"
    data_docs_dir = layout.reports / "data_docs"
    domains = audit_domains()
    frame_rows: dict[str, int] = {}

    with duckdb.connect(str(layout.duckdb_path), read_only=True) as con:
        _create_reference_views(con, layout.reference)
        run_name, run_time = _run_identity(con, billing_period)
        for domain in domains:
            for frame in domain.frames:
                df = con.execute(frame.sql, {"billing_period": billing_period}).df()
                path = checkpoints.frame_path(frames_dir, frame)
                path.parent.mkdir(parents=True, exist_ok=True)
                df.to_parquet(path, index=False)
                frame_rows[frame.suite_name] = len(df)

    context = checkpoints.open_context(layout.reports / "gx", data_docs_dir)
    registered = checkpoints.register_domains(context, domains, frames_dir)
    results = checkpoints.run_checkpoints(registered, run_name, run_time)
    index = checkpoints.build_data_docs(context, data_docs_dir)

    suites = tuple(
        _suite_result(domain.name, frame.suite_name, frame.grain, frame_rows, results)
        for domain in domains
        for frame in domain.frames
    )
    summary = ValidationSummary(
        billing_period=billing_period,
        run_name=run_name,
        suites=suites,
        data_docs_index=index,
        results_path=validation_dir / "results.json",
        run_id=run_id,
        results_table=_record_results(
            layout,
            run_id,
            _result_rows(run_id, billing_period, validated_at, domains, results),
        ),
    )
    summary.results_path.write_text(
        json.dumps(_plain(summary.as_dict()), indent=2, sort_keys=True) + "\n"
    )
    log.info(
        "validation %s: %s, %d expectation(s) failed; Data Docs at %s",
        run_name,
        "passed" if summary.success else "FAILED",
        len(summary.failures),
        index,
    )
    return summary


def _create_reference_views(con: Any, reference_dir: Path) -> None:
    for view, file_name in _REFERENCE_VIEWS.items():
        path = reference_dir / file_name
        if not path.exists():
            raise FileNotFoundError(f"reference file missing: {path}")
        quoted = str(path).replace("'", "''")
        con.execute(
            f"create temp view {view} as "
            f"select * from read_csv('{quoted}', header = true, all_varchar = true)"
        )


def _run_identity(con: Any, billing_period: str | None) -> tuple[str, dt.datetime]:
    """Run name and time from the billing period, not the wall clock.

    A whole-warehouse run is named ``all-periods`` and timed at the start of the latest
    invoiced period, so it too replaces its previous results when repeated.
    """
    if billing_period is None:
        (latest,) = con.execute("select max(billing_period) from fct_invoices").fetchone()
        if latest is None:
            return "all-periods", dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return "all-periods", _period_start(latest)
    return billing_period, _period_start(billing_period)


def _period_start(billing_period: str) -> dt.datetime:
    year, month = (int(part) for part in billing_period.split("-"))
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def _suite_result(
    domain: str, suite: str, grain: str, frame_rows: dict[str, int], results: dict[str, Any]
) -> SuiteResult:
    validation = results[suite]
    statistics = validation.statistics
    failures = tuple(
        _failed_expectation(suite, outcome) for outcome in validation.results if not outcome.success
    )
    return SuiteResult(
        suite=suite,
        domain=domain,
        grain=grain,
        rows=frame_rows[suite],
        evaluated=int(statistics["evaluated_expectations"]),
        successful=int(statistics["successful_expectations"]),
        failures=failures,
    )


def _result_rows(
    run_id: str,
    billing_period: str | None,
    validated_at: dt.datetime,
    domains: tuple[Any, ...],
    results: dict[str, Any],
) -> list[dict[str, Any]]:
    """One validation_results row per expectation of every suite, passed or not."""
    rows = []
    for domain in domains:
        for frame in domain.frames:
            for outcome in results[frame.suite_name].results:
                config = outcome.expectation_config
                observed = _observed_value(outcome)
                count = (outcome.result or {}).get("unexpected_count")
                rows.append(
                    {
                        "run_id": run_id,
                        "billing_period": billing_period,
                        "validated_at": validated_at,
                        "domain": domain.name,
                        "suite": frame.suite_name,
                        "check_name": (config.meta or {}).get("check", config.type),
                        "severity": _severity(config),
                        "success": bool(outcome.success),
                        "observed_value": None
                        if observed is None
                        else json.dumps(_plain(observed), sort_keys=True),
                        "unexpected_count": int(count) if count is not None else None,
                    }
                )
    return rows


def _record_results(layout: Layout, run_id: str, rows: list[dict[str, Any]]) -> Location:
    """Replace the run's partition of validation_results; other runs' rows stay."""
    import pyarrow as pa

    from pipelines.lake import write_partition
    from pipelines.schema import VALIDATION_RESULT_SCHEMA

    table = pa.Table.from_pylist(rows, schema=VALIDATION_RESULT_SCHEMA)
    return write_partition(layout, "validation_results", {"run_id": run_id}, table)


def _severity(config: Any) -> str:
    return str(getattr(config.severity, "value", config.severity or "critical"))


def _observed_value(outcome: Any) -> Any:
    """What GX observed, or the exception message when the expectation could not run."""
    if outcome.exception_info and outcome.exception_info.get("raised_exception"):
        return outcome.exception_info.get("exception_message")
    return (outcome.result or {}).get("observed_value")


def _failed_expectation(suite: str, outcome: Any) -> FailedExpectation:
    from expectations.suites import AUDIT_KEY

    config = outcome.expectation_config
    result = outcome.result or {}
    observed = _observed_value(outcome)
    # Each entry holds the audit key and the offending value(s) of one row.
    rows = (result.get("partial_unexpected_index_list") or [])[:_KEYS_SHOWN]
    keys = tuple(str(row.get(AUDIT_KEY)) for row in rows)
    values = tuple(
        _plain(next(iter(row.values())) if len(row) == 1 else row)
        for row in ({k: v for k, v in row.items() if k != AUDIT_KEY} for row in rows)
    )
    columns = [
        config.kwargs[name] for name in ("column", "column_A", "column_B") if name in config.kwargs
    ]
    count = result.get("unexpected_count")
    return FailedExpectation(
        suite=suite,
        check=(config.meta or {}).get("check", config.type),
        severity=_severity(config),
        expectation_type=config.type,
        column=", ".join(columns) or None,
        description=config.description,
        observed_value=_plain(observed),
        unexpected_count=int(count) if count is not None else None,
        unexpected_keys=keys,
        unexpected_values=values,
    )


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN to null, dates to ISO strings."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
