"""The benchmarks' memory measure: this process's peak resident set, in MiB."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident set. Linux's VmHWM starts afresh at exec, where
    ru_maxrss keeps the parent's peak at the fork, so each benchmark child reports its own."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
