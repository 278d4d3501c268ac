"""Fixtures of the dbt project tests: the tiny operator of dbt_tiny_operator.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_tiny_operator import write_fixture

from pipelines.config import Layout


@pytest.fixture
def fixture_layout(tmp_path: Path) -> Layout:
    """A fresh copy of the tiny operator's reference data and lake under tmp_path."""
    return write_fixture(tmp_path / "data")
