"""Background processes kept by pid file: start one once, tell whether it runs, stop it.

Each process starts in a session of its own, so stopping it stops everything it forked too
(Celery's pool processes, the task supervisors under them, the API server's workers). A pid
file holds the pid and the process's start time: after a reboot the pid may belong to
another program, and the start time tells them apart. Linux only (/proc), like the Debian
packages the services come from.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Service:
    """One background process: its command, and where its pid and output go."""

    name: str
    command: list[str]
    pid_file: Path
    log_file: Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its ")" do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # exited, not yet reaped by its parent
        return None
    return fields[19]


def running_pid(service: Service) -> int | None:
    """The pid of the service's process when it is running, else None."""
    try:
        pid_text, started = service.pid_file.read_text().split()
    except (OSError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _start_time(pid) == started else None


def start(service: Service, env: dict[str, str], cwd: Path) -> int:
    """Start the service unless it runs already; return its pid.

    Output goes to the service's log file, appended, so a restart keeps the earlier log.
    """
    if (pid := running_pid(service)) is not None:
        return pid
    service.pid_file.parent.mkdir(parents=True, exist_ok=True)
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    with service.log_file.open("ab") as log:
        process = subprocess.Popen(
            service.command,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = _start_time(process.pid)
    if started is None:
        raise RuntimeError(f"{service.name} exited at once; see {service.log_file}")
    service.pid_file.write_text(f"{process.pid} {started}\n")
    return process.pid


def _group_alive(pgid: int) -> bool:
    # A leader started from this process stays a zombie until reaped: reap it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Signal 0 also reaches zombies: the group is alive while one member is not a zombie.
    return any(
        _start_time(int(entry.name)) is not None
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _process_group(int(entry.name)) == pgid
    )


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def stop(service: Service, grace_seconds: float = 30.0) -> bool:
    """Stop the service and every process of its session; True when it was running.

    SIGTERM first (a Celery worker then finishes its current task), SIGKILL for whatever is
    left after ``grace_seconds``.
    """
    pid = running_pid(service)
    if pid is None:
        service.pid_file.unlink(missing_ok=True)
        return False
    for sig, wait_seconds in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_seconds
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _group_alive(pid):
            break
    else:
        raise RuntimeError(f"{service.name} (process group {pid}) survived SIGKILL")
    service.pid_file.unlink(missing_ok=True)
    return True
