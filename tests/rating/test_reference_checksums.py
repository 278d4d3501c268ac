"""The reference checksums are read once per file and process, never stale: a file
changed in place shows a new checksum whether or not its size and mtime changed."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from pipelines.config import Layout
from pipelines.rating.suspense import reference_checksums


def _layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path)
    (layout.reference / "tax_rules").mkdir(parents=True)
    return layout


def _write(path: Path, text: str, mtime_ns: int | None = None) -> None:
    path.write_text(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose bytes are hashed, in order (the real hash still runs)."""
    seen: list[str] = []
    real = hashlib.file_digest

    def counted(file, digest):  # type: ignore[no-untyped-def]
        seen.append(Path(file.name).name)
        return real(file, digest)

    monkeypatch.setattr(hashlib, "file_digest", counted)
    return seen


def test_checksums_are_each_files_sha256_by_relative_path(tmp_path):
    layout = _layout(tmp_path)
    _write(layout.reference / "plans.csv", "plan_id\nSMALL\n")
    _write(layout.reference / "tax_rules" / "taxes.csv", "tax_id\nFUSF\n")

    assert reference_checksums(layout) == {
        "plans.csv": _sha("plan_id\nSMALL\n"),
        "tax_rules/taxes.csv": _sha("tax_id\nFUSF\n"),
    }


def test_a_settled_file_is_read_once_until_it_changes(tmp_path, reads):
    layout = _layout(tmp_path)
    path = layout.reference / "plans.csv"
    _write(path, "plan_id\nSMALL\n")
    # Settled: unchanged for longer than a file system's timestamps can blur a change.
    time.sleep(2.1)

    first = reference_checksums(layout)
    second = reference_checksums(layout)
    # Rewritten in place with the same size and its mtime set back: only the change
    # time and the bytes tell.
    mtime_ns = path.stat().st_mtime_ns
    _write(path, "plan_id\nLARGE\n", mtime_ns)
    third = reference_checksums(layout)

    assert first == second == {"plans.csv": _sha("plan_id\nSMALL\n")}
    assert third == {"plans.csv": _sha("plan_id\nLARGE\n")}
    assert reads == ["plans.csv", "plans.csv"]


def test_a_file_changed_moments_ago_is_read_every_time(tmp_path, reads):
    layout = _layout(tmp_path)
    _write(layout.reference / "plans.csv", "plan_id\nSMALL\n")

    reference_checksums(layout)
    reference_checksums(layout)

    assert reads == ["plans.csv", "plans.csv"]
