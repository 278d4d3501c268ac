"""The benchmark's operator cache and run roots, and its scale names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.bench import cache
from pipelines.bench.scales import Scale, parse_scale, parse_scales

SCALE = Scale("1K", 1_000)


@pytest.fixture
def generator_copy(tmp_path: Path) -> list[Path]:
    """A copy of the generator's source, to change."""
    copies = []
    for source in cache.GENERATOR_SOURCES:
        copy = tmp_path / "src" / source.name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
        copies.append(copy)
    return copies


def test_the_cache_key_changes_when_the_generator_source_changes(generator_copy):
    before = cache.generator_version(generator_copy)
    assert before == cache.generator_version(generator_copy)  # the same source, the same key
    assert before == cache.generator_version()  # a copy hashes as the original
    module = sorted(generator_copy[0].glob("*.py"))[0]
    module.write_text(module.read_text() + "\n# a change\n")
    changed = cache.generator_version(generator_copy)
    assert changed != before
    assert cache.cache_key(SCALE, 7, before) != cache.cache_key(SCALE, 7, changed)
    (generator_copy[1] / "new_encoder.py").write_text("")
    added = cache.generator_version(generator_copy)
    assert added != changed  # a new file counts too
    encoder = next(path for path in generator_copy if path.is_file())
    encoder.write_text(encoder.read_text().replace("def ", "def  ", 1))
    assert cache.generator_version(generator_copy) != added  # so does a source named alone


def test_the_cache_key_names_scale_seed_and_version():
    assert cache.cache_key(Scale("10M", 10_000_000), 7, "3fa9c2d1e0b4") == "10M-seed7-3fa9c2d1e0b4"
    assert cache.cache_key(SCALE, 8, "v") != cache.cache_key(SCALE, 7, "v")


def _writer(calls: list[Path]):
    def generate(root: Path) -> dict:
        calls.append(root)
        (root / "reference").mkdir()
        (root / "reference" / "accounts.csv").write_text("account_id\nA1\n")
        (root / "landing" / "ts32298_ber" / "MSC1").mkdir(parents=True)
        (root / "landing" / "ts32298_ber" / "MSC1" / "f_2026100100_1.ber").write_bytes(b"\x01")
        return {"seconds": 1.5}

    return generate


def test_an_operator_is_generated_once_then_reused(tmp_path: Path):
    calls: list[Path] = []
    first = cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v1")
    assert first.generated and len(calls) == 1
    assert first.path == tmp_path / "cache" / "1K-seed7-v1"
    assert (first.path / "landing" / "ts32298_ber" / "MSC1" / "f_2026100100_1.ber").is_file()
    again = cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v1")
    assert not again.generated and len(calls) == 1
    assert again.snapshot == first.snapshot
    assert set(again.snapshot) == {
        "reference/accounts.csv",
        "landing/ts32298_ber/MSC1/f_2026100100_1.ber",
    }
    described = json.loads((first.path / cache.ENTRY_FILE).read_text())
    assert described["generation"] == {"seconds": 1.5} and described["file_count"] == 2
    other = cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v2")
    assert other.generated and other.path != first.path and len(calls) == 2


def test_a_failed_generation_leaves_no_entry(tmp_path: Path):
    def failing(root: Path) -> dict:
        (root / "reference").mkdir()
        raise RuntimeError("the generator ran out of disk")

    with pytest.raises(RuntimeError, match="out of disk"):
        cache.cached_operator(tmp_path, SCALE, 7, failing, version="v1")
    assert list((tmp_path / "cache").iterdir()) == []
    calls: list[Path] = []
    assert cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v1").generated


def test_a_run_root_links_the_operator_and_is_made_afresh(tmp_path: Path):
    calls: list[Path] = []
    entry = cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v1")
    run_root = tmp_path / "runs" / "1K"
    cache.fresh_run_root(run_root, entry.path)
    assert (run_root / "reference").is_symlink() and (run_root / "landing").is_symlink()
    assert not (run_root / "manifest").exists()  # the operator has none
    assert (run_root / "reference" / "accounts.csv").read_text() == "account_id\nA1\n"
    (run_root / "lake" / "usage").mkdir(parents=True)
    (run_root / "lake" / "usage" / "part-0.parquet").write_bytes(b"old")
    cache.fresh_run_root(run_root, entry.path)
    assert not (run_root / "lake").exists()  # a new run starts from an empty lake
    assert cache.changed_files(entry.path, entry.snapshot) == []  # the links were not followed


def test_changed_files_names_what_a_run_changed_in_the_operator(tmp_path: Path):
    calls: list[Path] = []
    entry = cache.cached_operator(tmp_path, SCALE, 7, _writer(calls), version="v1")
    landing = entry.path / "landing" / "ts32298_ber" / "MSC1"
    (landing / "f_2026100100_1.ber").write_bytes(b"\x01\x02")
    (landing / "stray.txt").write_text("moved here")
    assert cache.changed_files(entry.path, entry.snapshot) == [
        "landing/ts32298_ber/MSC1/f_2026100100_1.ber",
        "landing/ts32298_ber/MSC1/stray.txt",
    ]


def test_scale_names():
    assert parse_scale("10M") == Scale("10M", 10_000_000)
    assert parse_scale("200m").subscribers == 2_000_000
    assert parse_scale("250K") == Scale("250K", 250_000)
    assert parse_scale("5000").records == 5_000
    assert [s.name for s in parse_scales(["1M,10M", "10M", "100M"])] == ["1M", "10M", "100M"]
    assert [s.name for s in parse_scales(None)] == ["1M"]
    for bad in ("", "0M", "ten", "1T", "-1M"):
        with pytest.raises(ValueError):
            parse_scale(bad)
