"""The telcolake command: readable help, and a clear refusal without reference data."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.cli import build_parser


def test_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    help_text = capsys.readouterr().out
    for command in ("run", "generate", "mediate", "rate", "build", "validate", "report"):
        assert command in help_text


def test_run_without_reference_data_names_the_missing_files(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--skip-generate"],
        env=dict(os.environ, TELCOLAKE_DATA=str(tmp_path), COLUMNS="200"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "cannot start" in done.stdout
    assert "accounts.csv" in done.stdout and "tax_rules/ruleset.yaml" in done.stdout
    # Nothing was started: no Airflow home was created.
    assert not (tmp_path / "airflow").exists()
