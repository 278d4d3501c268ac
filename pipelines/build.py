"""Build the warehouse: one ``dbt build`` of dbt_project/ over the lake and reference data.

The dbt project reads ``$TELCOLAKE_DATA`` (profile path, reference CSVs) and
``$TELCOLAKE_LAKE_URL`` (lake globs), so the build sets them from the layout for the
duration of the run. dbt's target/ and logs/ go under
the data root (``warehouse/dbt_target``, ``warehouse/dbt_logs``) so a run leaves the
repository clean. DuckDB allows one writer: callers run one build at a time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import PROJECT_ROOT, Layout
from pipelines.config import layout as default_layout
from pipelines.locks import locked_partition

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

#: dbt node statuses that count as a failure of the node.
_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
_TEST_TYPES = frozenset({"test", "unit_test"})

# dbt's in-process runner keeps global state (flags, adapters, the DuckDB environment):
# two invocations in one process must not overlap.
_DBT_LOCK = threading.Lock()


class BuildError(RuntimeError):
    """``dbt build`` failed; ``failures`` names the nodes that errored or failed."""

    def __init__(self, message: str, failures: list[str]) -> None:
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True)
class BuildResult:
    """What one ``dbt build`` did."""

    models_passed: int = 0
    models_failed: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def success(self) -> bool:
        return not self.failures


def dbt_paths(layout: Layout) -> dict[str, Path]:
    """Where dbt writes its artifacts and logs for this data root."""
    return {
        "target": layout.warehouse / "dbt_target",
        "logs": layout.warehouse / "dbt_logs",
    }


@contextmanager
def _dbt_environment(layout: Layout) -> Iterator[None]:
    # The data root, and where the lake is (its sources' globs, the profile's S3 access).
    variables = layout.environment()
    previous = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after a run.

    dbt-duckdb holds one process-wide DuckDB instance (and its file lock) until the next run
    replaces it; readers in this process (validation, tests) or in others need it closed.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            try:
                env.close()
            finally:
                DuckDBConnectionManager._ENV = None


def _invoke(layout: Layout, command: list[str]) -> Any:
    from dbt.cli.main import dbtRunner

    paths = dbt_paths(layout)
    layout.warehouse.mkdir(parents=True, exist_ok=True)
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(paths["target"]),
        "--log-path",
        str(paths["logs"]),
    ]
    with _DBT_LOCK, _dbt_environment(layout):
        try:
            return dbtRunner().invoke(args)
        finally:
            _release_duckdb()


def _node_label(node: Any) -> str:
    return f"{node.resource_type}:{node.name}"


@locked_partition("build")
def build_warehouse(layout: Layout | None = None) -> BuildResult:
    """Run one ``dbt build`` (models, then their tests, in DAG order) into the warehouse.

    Returns the counts of models and tests that passed and failed. Raises BuildError naming
    every failed node (a model that did not build, a data or unit test that failed) when
    any node fails, or with the dbt error when dbt could not run at all.
    """
    layout = layout or default_layout()
    outcome = _invoke(layout, ["build", "--no-use-colors"])
    run_result = outcome.result
    if run_result is None or not hasattr(run_result, "results"):
        detail = outcome.exception or "dbt build did not run"
        raise BuildError(f"dbt build failed: {detail}", failures=[])

    counts = {"models_passed": 0, "models_failed": 0, "tests_passed": 0, "tests_failed": 0}
    skipped = 0
    failures: list[str] = []
    for node_result in run_result.results:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status)).lower()
        kind = "tests" if node.resource_type in _TEST_TYPES else "models"
        if status in _FAILED_STATUSES:
            counts[f"{kind}_failed"] += 1
            failures.append(_node_label(node))
        elif status == "skipped":
            skipped += 1
        elif node.resource_type in _TEST_TYPES or node.resource_type == "model":
            counts[f"{kind}_passed"] += 1

    result = BuildResult(
        **counts,
        skipped=skipped,
        failures=failures,
        elapsed_seconds=float(getattr(run_result, "elapsed_time", 0.0) or 0.0),
    )
    if failures or not outcome.success:
        detail = ", ".join(failures) or str(outcome.exception or "unknown failure")
        raise BuildError(f"dbt build failed: {detail}", failures=failures)
    return result


def parse_project(layout: Layout | None = None) -> None:
    """``dbt parse --warn-error``: a misspelled test key or config fails here, not silently.

    Parsing renders the sources' lake paths, so it needs a data root, not data in it.
    """
    layout = layout or default_layout()
    outcome = _invoke(layout, ["--warn-error", "parse", "--no-use-colors"])
    if not outcome.success:
        raise BuildError(f"dbt parse failed: {outcome.exception}", failures=[])
