"""What a benchmark process costs, read from Linux's /proc: peak and current resident
memory, bytes read and written, the machine it ran on.

Each benchmark task is a child process of its own, so that its peak resident set (VmHWM,
which starts afresh at exec) is its own. Threads (DuckDB's, Numba's, dbt's) live in the
process and count in it; child processes a task starts count only while they run, which
``RssSampler`` catches by sampling the resident set of each task's whole process tree.
Shared pages are counted once per process that maps them, so a tree's sum can exceed what
the machine spent: a conservative figure.
"""

from __future__ import annotations

import os
import platform
import resource
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: The four counters of /proc/<pid>/io the report keeps: rchar and wchar count every byte
#: passed to read() and write() (page cache hits, pipes and all), read_bytes and
#: write_bytes what the process made the storage layer fetch and store.
IO_FIELDS = ("rchar", "wchar", "read_bytes", "write_bytes")


def _status_kib(pid: int | str, key: str) -> int | None:
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def peak_rss_bytes(pid: int | str = "self") -> int | None:
    """The process's peak resident set (VmHWM) in bytes; None where /proc cannot tell."""
    kib = _status_kib(pid, "VmHWM")
    return None if kib is None else kib * 1024


def rss_bytes(pid: int | str = "self") -> int | None:
    """The process's resident set now, in bytes; None when it is gone."""
    try:
        resident = int((PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * _PAGE_BYTES


def io_counters(pid: int | str = "self") -> dict[str, int] | None:
    """IO_FIELDS of /proc/<pid>/io: this process's threads and the children it has reaped
    (the kernel adds a child's counters to its parent's when the parent waits for it)."""
    try:
        text = (PROC / str(pid) / "io").read_text()
    except OSError:
        return None
    values = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return {name: int(values[name]) for name in IO_FIELDS if name in values}


def cpu_seconds() -> float:
    """CPU seconds (user and system) of this process and the children it has reaped: a
    steadier measure than wall time on a shared machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process now running."""
    parents = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after its end.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    """``pid`` and every process descended from it that is running now."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def tree_rss_bytes(pid: int, parents: dict[int, int] | None = None) -> int:
    """The summed resident set of ``pid``'s process tree now (0 when it is gone)."""
    return sum(rss_bytes(member) or 0 for member in process_tree(pid, parents))


@dataclass
class _Watched:
    peak: int = 0


@dataclass
class RssSampler:
    """Samples, every ``interval`` seconds, the resident set of each watched process tree:
    each tree's peak, and the peak of their sum (tasks running side by side).

    Use as a context manager; ``watch`` a task's pid when it starts, ``release`` it when it
    ends (its peak), and ``take_concurrent_peak`` at the end of a stage.
    """

    interval: float = 0.2
    _watched: dict[int, _Watched] = field(default_factory=dict)
    _concurrent_peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def watch(self, pid: int) -> None:
        with self._lock:
            self._watched[pid] = _Watched()
        self.sample()

    def release(self, pid: int) -> int:
        """Stop watching ``pid``; its tree's sampled peak in bytes."""
        with self._lock:
            return self._watched.pop(pid).peak

    def take_concurrent_peak(self) -> int:
        """The peak of the watched trees' summed resident sets since the last call."""
        with self._lock:
            peak, self._concurrent_peak = self._concurrent_peak, 0
        return peak

    def sample(self) -> None:
        with self._lock:
            pids = list(self._watched)
        if not pids:
            return
        parents = _parents()
        sizes = {pid: tree_rss_bytes(pid, parents) for pid in pids}
        with self._lock:
            # A tree released while it was measured belongs to a stage already reported.
            live = {pid: size for pid, size in sizes.items() if pid in self._watched}
            for pid, size in live.items():
                self._watched[pid].peak = max(self._watched[pid].peak, size)
            self._concurrent_peak = max(self._concurrent_peak, sum(live.values()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def memory_total_bytes() -> int | None:
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine() -> dict[str, object]:
    """The machine a run measures: cores usable here, memory, system, Python."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": usable,
        "memory_bytes": memory_total_bytes(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "host": platform.node(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded to 2 decimals."""
    return [round(value, 2) for value in os.getloadavg()]
