"""Test-wide setup: keep Airflow and telcolake data out of the user's home and data/."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_server import S3Server

# Airflow reads its home at import time; point it at a scratch directory before any test
# module imports airflow, so tests never touch ~/airflow or the project's data/.
_SCRATCH = Path(tempfile.mkdtemp(prefix="telcolake-tests-"))
os.environ.setdefault("AIRFLOW_HOME", str(_SCRATCH / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("TELCOLAKE_DATA", str(_SCRATCH / "data"))
# The suite runs the default local lake and landing area; a test that wants a bucket asks
# for one (s3_bucket below), never a deployment's real bucket from the environment.
os.environ.pop("TELCOLAKE_LAKE_URL", None)
os.environ.pop("TELCOLAKE_LANDING_URL", None)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"

_BUCKETS = itertools.count(1)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto's server mode) on loopback, for the whole session."""
    with S3Server.start() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket of ``s3_server``, with boto3's and s3fs's environment pointing at
    the server for the test; returns the bucket's name."""
    bucket = f"telcolake-test-{next(_BUCKETS)}"
    s3_server.create_bucket(bucket)
    for name, value in s3_server.client_environment().items():
        monkeypatch.setenv(name, value)
    return bucket
