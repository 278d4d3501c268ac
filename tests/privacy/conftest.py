"""One generated operator billed by the real billing DAG with a deployment's CPNI key and
an AWS secret in its environment, shared by the end-to-end CPNI tests (session-wide: the
run takes minutes)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from cpni_dag_runs import run_dag_test

from pipelines.airflow_run import prepare_airflow
from pipelines.config import Layout
from pipelines.generate import generate_operator
from pipelines.periods import run_after

PERIOD = "2026-10"


@dataclass(frozen=True)
class BilledOperator:
    layout: Layout
    cpni_key: str  # TELCOLAKE_CPNI_KEY of the run
    aws_secret: str  # AWS_SECRET_ACCESS_KEY of the run (nothing uses it: it must not leak)
    dag_output: str


@pytest.fixture(scope="session")
def billed_cpni_operator(tmp_path_factory: pytest.TempPathFactory) -> BilledOperator:
    """Seed 11, 30 subscribers, 2 days of October 2026, billed by one DAG run."""
    layout = Layout(tmp_path_factory.mktemp("cpni_operator"))
    generate_operator(layout, seed=11, subscribers=30, month=PERIOD, days=2)
    prepare_airflow(layout)
    key, aws_secret = secrets.token_hex(32), secrets.token_urlsafe(30)[:40]
    output = run_dag_test(
        layout,
        "telcolake_billing_period",
        run_after(PERIOD),
        {"TELCOLAKE_CPNI_KEY": key, "AWS_SECRET_ACCESS_KEY": aws_secret},
    )
    return BilledOperator(layout, key, aws_secret, output)
