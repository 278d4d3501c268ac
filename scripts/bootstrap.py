#!/usr/bin/env python3
"""Set up the project's virtual environment, then run the main job or the tests.

Usage (from the project root, with nothing but Python 3.11 installed):

    python3 scripts/bootstrap.py run [telcolake run options]
    python3 scripts/bootstrap.py test [pytest options]

The environment lives in ``.venv/`` inside the project. It is (re)installed only when
``pyproject.toml`` (or the install options) changed since the last install, so the second
call starts at once.
``test`` also installs Debian's ``chromium`` and ``redis-server`` packages (with apt-get,
as root or through sudo) unless they are installed: the audit-report browser test renders
the RA report and the Data Docs in Chromium (docs/reports.md), and the Celery test's broker
is Redis (docs/deployment.md).
Standard library only: this file runs before any dependency exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
VENV = PROJECT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".telcolake-install-stamp"
#: Debian packages the tests need: the program that shows they are installed, the packages,
#: and the tests they serve.
TEST_PACKAGES = [
    # The fonts make the screenshots' text legible.
    (
        Path("/usr/bin/chromium"),
        ["chromium", "fonts-liberation"],
        "the browser test of the audit reports (tests/dags/test_audit_reports_browser.py)",
    ),
    (
        Path("/usr/bin/redis-server"),
        ["redis-server"],
        "the Celery broker of the distributed Airflow test (tests/dags/test_celery_workers.py)",
    ),
]


#: uv writes no bytecode unless asked. Without it every process compiles the source of
#: each module it imports (Airflow, dbt, pycrate's ASN.1 modules...) again: about half of
#: the start-up of a stage's process, and twice its memory.
UV_INSTALL_OPTIONS = ["--compile-bytecode"]


def _install_digest() -> str:
    """What the environment was installed from: pyproject.toml and the install options."""
    recipe = (PROJECT / "pyproject.toml").read_bytes() + " ".join(UV_INSTALL_OPTIONS).encode()
    return hashlib.sha256(recipe).hexdigest()


def _run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_environment() -> None:
    """Create .venv and install the project with its dev extras when out of date."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"telcolake needs Python 3.11; this is {sys.version.split()[0]}")
    digest = _install_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    python = str(BIN / "python")
    # uv resolves and installs Airflow's ~300 packages in seconds instead of minutes;
    # plain pip is the fallback when uv cannot be installed.
    try:
        _run([python, "-m", "pip", "install", "--quiet", "uv>=0.4"])
        uv = [str(BIN / "uv"), "pip", "install", *UV_INSTALL_OPTIONS, "--python", python]
        _run([*uv, "-e", ".[dev]"], cwd=PROJECT)
    except subprocess.CalledProcessError:
        print("uv install failed; falling back to pip (slower)", flush=True)
        _run([python, "-m", "pip", "install", "-e", ".[dev]"], cwd=PROJECT)
    STAMP.write_text(digest + "\n")


def ensure_test_packages() -> None:
    """Install the Debian packages of TEST_PACKAGES that are missing, once."""
    missing = [
        (packages, tests) for program, packages, tests in TEST_PACKAGES if not program.exists()
    ]
    if not missing:
        return
    packages = [package for needed, _ in missing for package in needed]
    serving = "; ".join(tests for _, tests in missing)
    if os.geteuid() == 0:
        apt = ["apt-get"]
    elif shutil.which("sudo"):
        apt = ["sudo", "-n", "apt-get"]
    else:
        print(
            f"{', '.join(packages)} not installed and this user cannot run apt-get: {serving} "
            "cannot run (install these Debian packages)",
            flush=True,
        )
        return
    print(f"installing Debian's {', '.join(packages)} for {serving}", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run([*apt, "update"], env=env)
    _run([*apt, "install", "--yes", *packages], env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "install"}:
        print(__doc__)
        return 2
    ensure_environment()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if argv[0] == "install":
        return 0
    if argv[0] == "run":
        cmd = [str(BIN / "telcolake"), "run", *argv[1:]]
    else:
        ensure_test_packages()
        cmd = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    return subprocess.call(cmd, cwd=PROJECT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
