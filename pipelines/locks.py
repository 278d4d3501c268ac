"""One writer per stage partition: a lock file per (stage, partition) under the data root.

Every stage replaces its partitions whole, so two runs of the same partition at once would
not corrupt a file (each write is atomic) but could interleave: one run's usage with the
other's registry, a rating with half of another's suspense rows. The stages therefore take
``<data root>/locks/<stage>/<key>=<value>/....lock`` with ``flock`` for the time they run.
The second run waits until the first is done (its rerun then rewrites the same bytes), or
fails with ``PartitionLocked`` naming the holder once ``TELCOLAKE_LOCK_TIMEOUT_SECONDS``
(600) have passed; 0 fails at once.

The kernel releases a ``flock`` when its holder exits, however it exits: a run killed with
SIGKILL leaves no stale lock behind, and the lock file itself is never removed (removing it
would let a third run lock a new file while the second still waits on the old one). The
file names the current holder (pid, host, since) for the error message only.

Scope: processes that share the data root's filesystem (one machine, or a shared volume
whose ``flock`` reaches every client, as NFSv4 does). docs/faults.md says more.
"""

from __future__ import annotations

import fcntl
import functools
import inspect
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from pipelines.config import Layout
from pipelines.config import layout as default_layout

#: Seconds a run waits for another run of the same partition before it gives up.
DEFAULT_TIMEOUT_SECONDS = 600.0
#: How often a waiting run tries the lock again.
_POLL_SECONDS = 0.2

# Locks this thread holds, by path, with their depth: a stage that calls another stage on
# the same partition (a re-rating runs the rate stage) must not wait for itself.
_held = threading.local()

P = ParamSpec("P")
R = TypeVar("R")


class PartitionLocked(RuntimeError):
    """Another run holds the partition's lock and did not release it in time."""


def lock_timeout() -> float:
    """``TELCOLAKE_LOCK_TIMEOUT_SECONDS`` (seconds, 0 = do not wait), read at each lock so a
    deployment or a test can set it for one run."""
    value = os.environ.get("TELCOLAKE_LOCK_TIMEOUT_SECONDS")
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"TELCOLAKE_LOCK_TIMEOUT_SECONDS must be seconds >= 0, got {value!r}")
    return seconds


def lock_path(layout: Layout, stage: str, partition: str) -> Path:
    """The lock file of ``stage``'s ``partition`` (``key=value/...``)."""
    return layout.root / "locks" / stage / f"{partition}.lock"


@contextmanager
def partition_lock(
    layout: Layout, stage: str, partition: str, timeout: float | None = None
) -> Iterator[None]:
    """Hold the lock of ``stage``'s ``partition`` for the ``with`` block.

    Waits up to ``timeout`` seconds (default ``lock_timeout()``) for another holder, then
    raises PartitionLocked naming it. Reentrant within a thread.
    """
    path = lock_path(layout, stage, partition)
    held = _held_in_this_thread()
    if held.get(path):
        held[path] += 1
        try:
            yield
        finally:
            held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, stage, partition, lock_timeout() if timeout is None else timeout)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        held[path] = 1
        try:
            yield
        finally:
            del held[path]
    finally:
        os.close(fd)  # releases the flock


def _held_in_this_thread() -> dict[Path, int]:
    if not hasattr(_held, "depth"):
        _held.depth = {}
    depth: dict[Path, int] = _held.depth
    return depth


def _acquire(fd: int, path: Path, stage: str, partition: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise PartitionLocked(
                    f"{stage} of {partition} is running in another process "
                    f"({_holder(path)}); gave up after {timeout:g} s "
                    f"(TELCOLAKE_LOCK_TIMEOUT_SECONDS). Lock file: {path}"
                ) from None
            time.sleep(_POLL_SECONDS)


def _holder(path: Path) -> str:
    """Who holds the lock, as its file says (it may be mid-rewrite: say so rather than fail)."""
    try:
        holder = json.loads(path.read_text() or "{}")
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (OSError, ValueError, KeyError):
        return "holder unknown"


def locked_partition(stage: str, *keys: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated stage function under the lock of its partition.

    ``keys`` name the function's parameters that make the partition (``feed``,
    ``billing_period``, ...); its ``layout`` parameter names the data root (None: the
    default one). A parameter left None locks ``<key>=all``; no keys, ``all``: the
    stage's one output (the warehouse).
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def run_locked(*args: P.args, **kwargs: P.kwargs) -> R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            partition = (
                "/".join(f"{key}={'all' if values[key] is None else values[key]}" for key in keys)
                or "all"
            )
            with partition_lock(values["layout"] or default_layout(), stage, partition):
                return func(*args, **kwargs)

        return run_locked

    return decorate
