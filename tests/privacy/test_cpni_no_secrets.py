"""No secrets in the repository, and none in what a run leaves behind (docs/privacy.md,
Secrets)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.config import PROJECT_ROOT

#: What a committed credential looks like.
SECRET_PATTERNS = {
    "AWS access key id": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        rb"(?i)aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
    ),
    "private key": re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "GitHub token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "CPNI key": re.compile(rb"TELCOLAKE_CPNI_KEY\s*[:=]\s*['\"]?[0-9A-Za-z+/=_-]{32,}"),
    "password in a URL": re.compile(rb"\b[a-z][a-z0-9+]*://[^/\s:@'\"]+:[^/\s:@'\"]{4,}@"),
}
SECRET_FILE_NAMES = re.compile(r"(^|/)(\.env|id_rsa|id_ed25519|[^/]*\.pem|[^/]*\.key)$")


def repository_files() -> list[str]:
    """Files committed, and files about to be (untracked, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (PROJECT_ROOT / name).is_file()]


def test_the_repository_holds_no_credentials_or_keys():
    files = repository_files()
    assert len(files) > 100
    found = [name for name in files if SECRET_FILE_NAMES.search(name)]
    for name in files:
        content = (PROJECT_ROOT / name).read_bytes()
        found += [
            f"{name}: {kind}"
            for kind, pattern in SECRET_PATTERNS.items()
            if pattern.search(content)
        ]
    assert found == []


def test_the_secret_patterns_catch_what_they_are_for():
    # Assembled here so that this file itself holds none of them.
    samples = {
        "AWS access key id": b"AKIA" + b"ABCDEFGHIJKLMNOP",
        "AWS secret access key": b"aws_secret_access_key = " + b"a" * 40,
        "private key": b"-----BEGIN RSA " + b"PRIVATE KEY-----",
        "CPNI key": b"TELCOLAKE_CPNI_KEY=" + b"0f" * 32,
        "password in a URL": b"postgresql://etl:" + b"hunter22@db:5432/lake",
    }
    for kind, sample in samples.items():
        assert SECRET_PATTERNS[kind].search(sample), kind
    assert not SECRET_PATTERNS["CPNI key"].search(b"TELCOLAKE_CPNI_KEY=$(openssl rand -hex 32)")


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def contains(path: Path, secret: str) -> bool:
    """Whether ``path`` holds ``secret``: in its bytes, in a Parquet file's values, or in
    any row of a DuckDB file (whose strings are compressed on disk)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return any(
            secret in value
            for column in table.columns
            if pa.types.is_string(column.type)
            for value in column.to_pylist()
            if value
        )
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
            return any(
                con.execute(
                    f'select count(*) from "{schema}"."{table}" as r '
                    "where contains(cast(r as varchar), ?)",
                    [secret],
                ).fetchone()[0]
                for schema, table in tables
            )
    return secret.encode() in path.read_bytes()


@pytest.mark.slow
def test_a_run_leaves_the_cpni_key_and_the_aws_secret_nowhere(billed_cpni_operator):
    run = billed_cpni_operator
    scanned = files_under(run.layout.root) + files_under(PROJECT_ROOT / "dbt_project")
    # The run's Airflow task logs, dbt's logs and compiled SQL, the lake, both stores.
    assert any(path.suffix == ".duckdb" for path in scanned)
    assert any("dbt_target" in path.parts for path in scanned)
    assert any(path.suffix == ".log" for path in scanned)
    for secret in (run.cpni_key, run.aws_secret):
        assert secret not in run.dag_output
        assert [path for path in scanned if contains(path, secret)] == []
