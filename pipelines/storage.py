"""Object stores: where the lake's partition files and the landing area's raw files are kept.

A store holds bytes under keys, ``/``-separated paths relative to its root
(``usage/feed=asterisk_cdr_csv/event_date=2026-10-01/file_date=2026-10-01/part-0.parquet``,
``asterisk_cdr_csv/ast-chi-01/Master_ast-chi-01_2026100109_000001.csv``). Two kinds:

- ``LocalStore``, a directory (the default: ``<data root>/lake`` and ``<data root>/landing``).
  A write goes to a temporary file beside its target, renamed over it with ``os.replace``:
  a crash leaves the old object or the new one, never half of one.
- ``S3Store``, a bucket and prefix (``s3://bucket/prefix``) of any S3-compatible service,
  through boto3. A ``put_object`` replaces an object whole and atomically, so a reader sees
  the old object or the new one there too. Endpoint and credentials come from boto3's
  standard environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, or an instance role): nothing secret
  passes through telcolake's configuration or messages.

docs/storage.md describes the configuration and the consistency each store gives.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Where an object is, for messages and for readers that open it themselves: a file path
#: in a local store, an ``s3://`` URL in a bucket.
Location = Path | str

S3_SCHEME = "s3://"


class StorageError(RuntimeError):
    """A store cannot be used: a malformed URL, a missing bucket, refused credentials."""


@dataclass(frozen=True)
class StoredObject:
    """One object found by ``ObjectStore.objects``: its key and size in bytes."""

    store: ObjectStore
    key: str
    size: int

    @property
    def name(self) -> str:
        """The last part of the key: the file name."""
        return self.key.rsplit("/", 1)[-1]

    @property
    def location(self) -> Location:
        return self.store.location(self.key)

    def read_bytes(self) -> bytes:
        return self.store.read(self.key)


class ObjectStore(ABC):
    """Bytes under ``/``-separated keys. Listings come sorted part by part, as a sorted
    directory walk would give them."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's root: a directory path or ``s3://bucket/prefix``."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""

    def read_if_exists(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            return self.read(key)
        except FileNotFoundError:
            return None

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Create or replace the object, atomically: readers see the old bytes or the new."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether the object exists."""

    @abstractmethod
    def objects(self, folder: str = "") -> list[StoredObject]:
        """Every object under ``folder`` (keys starting ``<folder>/``; "" for the whole
        store), at any depth, sorted."""

    @abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Keys matching ``pattern``, sorted: parts separated by ``/``, each a shell
        pattern (``*`` never crosses a ``/``), as ``Path.glob`` matches them."""

    @abstractmethod
    def location(self, key: str) -> Location:
        """Where the object is, for a message or a reader of its own (DuckDB)."""

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """The object's file when the store is a local directory, else None: a reader may
        then read only the parts of the file it needs."""


def _sorted_keys(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda key: key.split("/"))


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(part in ("", ".", "..") for part in parts):
        raise StorageError(f"not an object key: {key!r}")
    return key


class LocalStore(ObjectStore):
    """A directory on a local or shared filesystem; nothing is created until a write."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def url(self) -> str:
        return str(self.root)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        target = self._path(key)
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        # A writer killed before its rename leaves its temporary file behind; readers look
        # objects up by their keys and never open it, and the next write clears it.
        for stale in folder.glob(f".{target.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        temporary = folder / f".{target.name}.{os.getpid()}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def delete(self, key: str) -> None:
        target = self._path(key)
        target.unlink(missing_ok=True)
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
        # An emptied folder goes with its last object, as a prefix does on S3 (a lake
        # partition is a folder of one file).
        if target.parent != self.root and target.parent.is_dir():
            with contextlib.suppress(OSError):  # other files remain in it
                target.parent.rmdir()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def objects(self, folder: str = "") -> list[StoredObject]:
        top = self.root / _check_key(folder) if folder else self.root
        found: dict[str, int] = {}
        for folder, _, files in os.walk(top):
            base = Path(folder)
            for name in files:
                path = base / name
                found[path.relative_to(self.root).as_posix()] = path.stat().st_size
        return [StoredObject(self, key, found[key]) for key in _sorted_keys(found)]

    def glob(self, pattern: str) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in self.root.glob(pattern))
        return _sorted_keys(key for key in keys if (self.root / key).is_file())

    def location(self, key: str) -> Path:
        return self._path(key)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)


class S3Store(ObjectStore):
    """A prefix of an S3 bucket (``s3://bucket/prefix``), through boto3.

    The client is made from boto3's standard environment; ``client`` may be given instead
    (any boto3 S3 client).
    """

    def __init__(self, url: str, client: Any = None) -> None:
        bucket, _, prefix = url.removeprefix(S3_SCHEME).partition("/")
        if not url.startswith(S3_SCHEME) or not bucket:
            raise StorageError(f"not an s3://bucket/prefix URL: {url!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    @property
    def url(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}" if self.prefix else S3_SCHEME + self.bucket

    def read(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"no object {self.location(key)}") from None
        except Exception as error:
            raise self._error(error, self._key(key)) from error
        data: bytes = response["Body"].read()
        return data

    def write(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as error:
            raise self._error(error, self._key(key)) from error

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            raise self._error(error, self._key(key)) from error

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as error:
            if _status(error) == 404 and _code(error) != "NoSuchBucket":
                return False
            raise self._error(error, self._key(key)) from error
        return True

    def objects(self, folder: str = "") -> list[StoredObject]:
        sizes = self._list(self._key(folder) + "/" if folder else self._root())
        return [StoredObject(self, key, sizes[key]) for key in _sorted_keys(sizes)]

    def glob(self, pattern: str) -> list[str]:
        parts = pattern.split("/")
        # List only under the pattern's literal beginning: a partition glob with its first
        # values given reads one small listing, not the whole table's.
        literal = 0
        while literal < len(parts) - 1 and not _is_pattern(parts[literal]):
            literal += 1
        sizes = self._list(self._key("/".join(parts[:literal])) + "/" if literal else self._root())
        return _sorted_keys(
            key
            for key in sizes
            if len(key.split("/")) == len(parts)
            and all(map(fnmatch.fnmatchcase, key.split("/"), parts))
        )

    def location(self, key: str) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self._key(key)}"

    def local_path(self, key: str) -> None:
        return None

    def _root(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _key(self, key: str) -> str:
        """The bucket's key of the store's ``key``."""
        return self._root() + _check_key(key)

    def _list(self, prefix: str) -> dict[str, int]:
        """Object key (relative to the store) -> size, of every object under ``prefix``."""
        root = self._root()
        found: dict[str, int] = {}
        try:
            # A listing page holds at most 1000 keys: the paginator follows continuation
            # tokens until the last page.
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"].removeprefix(root)] = int(item["Size"])
        except Exception as error:
            raise self._error(error, prefix) from error
        return found

    def _error(self, error: Exception, bucket_key: str) -> Exception:
        """A boto3 failure as a StorageError naming the object or listing (never the
        credentials)."""
        if isinstance(error, StorageError | FileNotFoundError):
            return error
        code = _code(error)
        if code == "NoSuchBucket":
            return StorageError(f"bucket {self.bucket!r} does not exist ({self.url})")
        detail = f"{code}: {_message(error)}" if code else f"{type(error).__name__}: {error}"
        return StorageError(f"{S3_SCHEME}{self.bucket}/{bucket_key}: {detail}")


def _is_pattern(part: str) -> bool:
    return any(character in part for character in "*?[")


def _response_error(error: Exception) -> dict[str, Any]:
    response = getattr(error, "response", None)
    return response.get("Error", {}) if isinstance(response, dict) else {}


def _code(error: Exception) -> str:
    return str(_response_error(error).get("Code", ""))


def _message(error: Exception) -> str:
    return str(_response_error(error).get("Message", ""))


def _status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def open_store(location: str | Path) -> ObjectStore:
    """The store at ``location``: an ``s3://bucket/prefix`` URL, or a local directory."""
    if isinstance(location, str) and location.startswith(S3_SCHEME):
        return S3Store(location)
    return LocalStore(Path(location))


def mirror_directory(directory: Path, store: ObjectStore) -> int:
    """Make ``store`` hold exactly the files under ``directory``, under the same relative
    keys: write each, then delete the store's objects the directory does not have. Returns
    the number of files written."""
    files = _sorted_keys(
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    )
    for key in files:
        store.write(key, (directory / key).read_bytes())
    kept = set(files)
    for stored in store.objects():
        if stored.key not in kept:
            store.delete(stored.key)
    return len(files)
