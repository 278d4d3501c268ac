"""Where the masking key comes from (pipelines/privacy/keys.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipelines.config import Layout
from pipelines.privacy.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    CpniKeyError,
    cpni_key,
    generated_key_path,
    key_id,
)

SUPPLIED = "0123456789abcdef0123456789abcdef-supplied"


@pytest.fixture(autouse=True)
def no_supplied_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def test_the_main_job_generates_one_key_per_data_root_readable_by_its_owner_only(tmp_path):
    first, second = Layout(tmp_path / "a"), Layout(tmp_path / "b")
    key = cpni_key(first)
    path = generated_key_path(first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(key) == 64
    assert cpni_key(first) == key  # reused, not regenerated
    assert cpni_key(second) != key


def test_a_supplied_key_wins_and_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SUPPLIED)
    layout = Layout(tmp_path)
    assert cpni_key(layout) == SUPPLIED.encode()
    assert not generated_key_path(layout).exists()


def test_a_short_key_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "short-secret")
    with pytest.raises(CpniKeyError, match="12 characters") as refused:
        cpni_key(Layout(tmp_path))
    assert "short-secret" not in str(refused.value)


def test_a_key_file_open_to_others_is_refused(tmp_path: Path, monkeypatch):
    key_file = tmp_path / "cpni.key"
    key_file.write_text(SUPPLIED + "\n")
    key_file.chmod(0o644)
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    with pytest.raises(CpniKeyError, match="chmod 600"):
        cpni_key(Layout(tmp_path))
    key_file.chmod(0o600)
    assert cpni_key(Layout(tmp_path)) == SUPPLIED.encode()


def test_the_key_id_names_the_key_without_revealing_it():
    assert key_id(SUPPLIED.encode()) == key_id(SUPPLIED.encode())
    assert key_id(SUPPLIED.encode()) != key_id(b"another key of enough characters!!")
    assert len(key_id(SUPPLIED.encode())) == 8
