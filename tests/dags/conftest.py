"""One billed tiny operator shared by the DAG run tests and the audit-report browser test."""

from __future__ import annotations

import pytest
from billing_dag_run import PERIOD, run_dag_test

from pipelines.airflow_run import prepare_airflow
from pipelines.config import Layout
from pipelines.generate import generate_operator


@pytest.fixture(scope="session")
def billed_operator(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """Seed 11, 30 subscribers, 2 days of PERIOD, billed by one DAG run (session-wide: the
    run takes minutes, and every test file of this folder reads it)."""
    layout = Layout(tmp_path_factory.mktemp("operator"))
    generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
    prepare_airflow(layout)
    run_dag_test(layout)
    return layout
