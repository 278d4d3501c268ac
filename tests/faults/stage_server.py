"""A fork server for the fault tests: imports every stage once, then forks one child per
stage run. Each run is a real process of its own (SIGKILL ends it as it would end an
Airflow task's), without paying the seconds of imports per run.

Protocol, one JSON object per line on stdin, one reply per line on stdout:

- ``{"do": "start", ...fault_stages.run_stage request, "log": path}`` -> ``{"pid": n}``
- ``{"do": "wait", "pid": n, "timeout": s}`` -> ``{"returncode": c}``: 0, or minus the
  signal that ended the child (-9: SIGKILL); a child still running at the timeout is
  killed and reported as ``"timeout"``.

The server itself runs nothing but forks and waits, so its children fork from a process
whose libraries never started a thread pool.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import fault_stages


def _start(request: dict) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    # The child: its output goes to its log, never into the protocol.
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(0)
    code = 1
    try:
        code = fault_stages.run_stage(request)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait(pid: int, timeout: float) -> int | str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "timeout"


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if request["do"] == "start":
            reply: dict = {"pid": _start(request)}
        else:
            reply = {"returncode": _wait(request["pid"], request["timeout"])}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
