"""Test-wide setup: keep Airflow and telcolake data out of the user's home and data/."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Airflow reads its home at import time; point it at a scratch directory before any test
# module imports airflow, so tests never touch ~/airflow or the project's data/.
_SCRATCH = Path(tempfile.mkdtemp(prefix="telcolake-tests-"))
os.environ.setdefault("AIRFLOW_HOME", str(_SCRATCH / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("TELCOLAKE_DATA", str(_SCRATCH / "data"))

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"
