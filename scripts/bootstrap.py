#!/usr/bin/env python3
"""Set up the project's virtual environment, then run the main job or the tests.

Usage (from the project root, with nothing but Python 3.11 installed):

    python3 scripts/bootstrap.py run [telcolake run options]
    python3 scripts/bootstrap.py test [pytest options]

The environment lives in ``.venv/`` inside the project. It is (re)installed only when
``pyproject.toml`` changed since the last install, so the second call starts at once.
``test`` also installs Debian's ``chromium`` package (with apt-get, as root or through
sudo) unless /usr/bin/chromium exists: the audit-report browser test renders the RA report
and the Data Docs in it (docs/reports.md).
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
CHROMIUM = Path("/usr/bin/chromium")
#: Debian packages of the headless browser test; the fonts make the screenshots' text legible.
BROWSER_PACKAGES = ["chromium", "fonts-liberation"]


def _pyproject_digest() -> str:
    return hashlib.sha256((PROJECT / "pyproject.toml").read_bytes()).hexdigest()


def _run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_environment() -> None:
    """Create .venv and install the project with its dev extras when out of date."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"telcolake needs Python 3.11; this is {sys.version.split()[0]}")
    digest = _pyproject_digest()
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
        _run([str(BIN / "uv"), "pip", "install", "--python", python, "-e", ".[dev]"], cwd=PROJECT)
    except subprocess.CalledProcessError:
        print("uv install failed; falling back to pip (slower)", flush=True)
        _run([python, "-m", "pip", "install", "-e", ".[dev]"], cwd=PROJECT)
    STAMP.write_text(digest + "\n")


def ensure_chromium() -> None:
    """Install Debian's Chromium for the browser test of the audit reports, once."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0:
        apt = ["apt-get"]
    elif shutil.which("sudo"):
        apt = ["sudo", "-n", "apt-get"]
    else:
        print(
            "chromium is not installed and this user cannot run apt-get: the browser test "
            "of the audit reports will be skipped (install Debian's chromium package)",
            flush=True,
        )
        return
    print(
        "installing Debian's chromium package for the browser test of the audit reports "
        "(tests/dags/test_audit_reports_browser.py)",
        flush=True,
    )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run([*apt, "update"], env=env)
    _run([*apt, "install", "--yes", *BROWSER_PACKAGES], env=env)


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
        ensure_chromium()
        cmd = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    return subprocess.call(cmd, cwd=PROJECT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
