"""The generated operators the benchmark keeps, and the data roots its runs get.

Generating a day of a 2-million-line operator takes longer than billing it, so each
(scale, seed, generator code) is generated once into ``<work>/cache/<key>/`` and reused.
The key names the scale, the seed and a hash of the generator's source: a change to the
generator makes a new key, never a stale operator. An entry appears whole or not at all: it
is generated into a hidden folder, which is renamed to its key when complete.

A run's data root (``<work>/runs/<name>/``) is made afresh: its operator areas
(``OPERATOR_AREAS``) are symbolic links to the cache entry, and everything the stages write
(lake, warehouse, reports, locks, outbound files) is its own. No stage writes an operator
area (mediation quarantines a badly named file by recording it in the lake table
landing_rejects, and leaves it where it is): ``changed_files`` proves it after every run
against the snapshot taken when the entry was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.bench.scales import Scale
from pipelines.config import PROJECT_ROOT

#: The code whose output an entry holds (folders or files): the generator, the encoders of
#: its switch files, and the writers of the reference files it exports. Code it merely
#: imports (billing rules, say) is left out, so that work on the stages keeps the cache.
GENERATOR_SOURCES = tuple(
    PROJECT_ROOT / path
    for path in (
        "pipelines/generate",
        "pipelines/formats",
        "kernels/ber_encode_api.py",
        "kernels/ber_encode_nb.py",
        "pipelines/tariffs/catalog_files.py",
        "pipelines/taxes/rules_files.py",
        "pipelines/taxes/us_rules.py",
    )
)
#: What a generated operator is made of, under its data root.
OPERATOR_AREAS = ("reference", "landing", "manifest", "carrier_invoices")
#: The entry's description: key, scale, seed, generator version and its files' snapshot.
ENTRY_FILE = "cache.json"

#: relative path -> (size in bytes, modification time in ns) of each file of an operator.
Snapshot = dict[str, tuple[int, int]]


def generator_version(sources: Iterable[Path] = GENERATOR_SOURCES) -> str:
    """12 hex digits of SHA-256 over the generator's Python files (names and bytes); a
    source missing from the tree counts as empty."""
    digest = hashlib.sha256()
    for source in sources:
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for path in files:
            digest.update(path.relative_to(source.parent).as_posix().encode() + b"\0")
            digest.update((path.read_bytes() if path.is_file() else b"") + b"\0")
    return digest.hexdigest()[:12]


def cache_key(scale: Scale, seed: int, version: str) -> str:
    """The entry's folder name, e.g. ``10M-seed7-3fa9c2d1e0b4``."""
    return f"{scale.name}-seed{seed}-{version}"


def snapshot(root: Path) -> Snapshot:
    """Size and modification time of every file of ``root``'s operator areas (through the
    areas' links, if they are links)."""
    found: Snapshot = {}
    for area in OPERATOR_AREAS:
        top = root / area
        if not top.is_dir():
            continue
        for folder, _, files in os.walk(top, followlinks=True):
            for name in files:
                path = Path(folder) / name
                status = path.stat()
                found[path.relative_to(root).as_posix()] = (status.st_size, status.st_mtime_ns)
    return found


def changed_files(root: Path, before: Snapshot) -> list[str]:
    """The files of ``root``'s operator areas added, removed or changed since ``before``."""
    after = snapshot(root)
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


@dataclass(frozen=True)
class CacheEntry:
    """A generated operator in the cache, and whether this run generated it."""

    path: Path
    key: str
    generated: bool
    description: dict[str, Any]

    @property
    def snapshot(self) -> Snapshot:
        return {path: (size, mtime) for path, (size, mtime) in self.description["files"].items()}


def cached_operator(
    work: Path,
    scale: Scale,
    seed: int,
    generate: Callable[[Path], dict[str, Any]],
    version: str | None = None,
) -> CacheEntry:
    """The cache entry of (scale, seed, generator version), generated first if missing.

    ``generate(root)`` writes the operator under the data root ``root`` and returns what to
    keep about its generation (its measures); it is called only on a miss, and a failure
    leaves no entry.
    """
    version = generator_version() if version is None else version
    key = cache_key(scale, seed, version)
    cache = work / "cache"
    entry = cache / key
    if (entry / ENTRY_FILE).is_file():
        description = json.loads((entry / ENTRY_FILE).read_text())
        return CacheEntry(entry, key, False, description)
    for stale in cache.glob(f".partial-{key}-*"):  # a generation killed before its rename
        shutil.rmtree(stale)
    partial = cache / f".partial-{key}-{os.getpid()}"
    partial.mkdir(parents=True)
    try:
        generation = generate(partial)
        files = snapshot(partial)
        description = {
            "key": key,
            "scale": scale.name,
            "records_per_day": scale.records,
            "subscribers": scale.subscribers,
            "seed": seed,
            "generator_version": version,
            "generation": generation,
            "file_count": len(files),
            "bytes": sum(size for size, _ in files.values()),
            "files": files,
        }
        (partial / ENTRY_FILE).write_text(json.dumps(description, indent=1) + "\n")
        if entry.exists():  # an earlier, incomplete entry of the same key
            shutil.rmtree(entry)
        partial.rename(entry)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    # The rename keeps every file's modification time: the snapshot stays valid.
    return CacheEntry(entry, key, True, description)


def fresh_run_root(run_root: Path, operator_root: Path) -> None:
    """Make ``run_root`` a new, empty data root whose operator areas link to
    ``operator_root``'s (a cache entry or a data root given to bench)."""
    if run_root.is_symlink() or run_root.is_file():
        raise ValueError(f"{run_root} is not a folder the benchmark made")
    if run_root.exists():
        # rmtree removes the links and never follows them into the operator.
        shutil.rmtree(run_root)
    run_root.mkdir(parents=True)
    source = operator_root.resolve()
    for area in OPERATOR_AREAS:
        if (source / area).is_dir():
            (run_root / area).symlink_to(source / area, target_is_directory=True)
