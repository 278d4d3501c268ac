"""The host name Airflow records for a task instance: the Celery worker that ran it.

Both workers of the local stack run on one machine, so the machine's name would not tell
them apart. Airflow asks ``[core] hostname_callable`` for the name; the stack points it here
and gives each worker its Celery node name in ``TELCOLAKE_CELERY_WORKER``.
"""

from __future__ import annotations

import os
import socket

WORKER_NAME_ENV = "TELCOLAKE_CELERY_WORKER"


def task_host_name() -> str:
    """The Celery node name (``worker1@host``) inside a worker, else the machine's name."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()
