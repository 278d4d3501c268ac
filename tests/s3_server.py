"""A real S3-compatible server on loopback for the tests: moto's server mode, in a child
process of its own (so a server shared by Airflow or Celery workers in other processes keeps
answering whatever the test process is busy with).

Imported by name from the test folders (tests/ is on sys.path through conftest.py); the
session fixture ``s3_server`` in tests/conftest.py starts one for the whole run:

    with S3Server.start() as server:
        variables = server.bucket_environment("telcolake-run")  # creates the bucket
        # set ``variables`` in os.environ (or a child's environment): boto3, s3fs and
        # telcolake then use the bucket's lake/ and landing/ prefixes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

#: moto accepts any credentials; these only have to be present.
ACCESS_KEY_ID = "telcolake-test"
SECRET_ACCESS_KEY = "telcolake-test-secret"
REGION = "us-east-1"
_START_SECONDS = 60.0


class S3Server:
    """One moto S3 server on 127.0.0.1; ``stop`` (or leaving the ``with``) ends it."""

    def __init__(self, process: subprocess.Popen[bytes], endpoint_url: str, log: Path) -> None:
        self.process = process
        self.endpoint_url = endpoint_url
        self.log = log

    @classmethod
    def start(cls) -> S3Server:
        """Start a server on a free loopback port and wait until it answers."""
        log = Path(tempfile.mkdtemp(prefix="telcolake-s3-")) / "moto_server.log"
        port = _free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = cls(process, f"http://127.0.0.1:{port}", log)
        try:
            server._wait_until_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def __enter__(self) -> S3Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client_environment(self) -> dict[str, str]:
        """The variables that point boto3 and s3fs at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self) -> Any:
        """A boto3 S3 client of this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def bucket_environment(self, bucket: str) -> dict[str, str]:
        """Create ``bucket``; the variables that put telcolake's lake and landing area in it
        (``s3://<bucket>/lake``, ``s3://<bucket>/landing``), with the client variables."""
        self.create_bucket(bucket)
        return {
            **self.client_environment(),
            "TELCOLAKE_LAKE_URL": f"s3://{bucket}/lake",
            "TELCOLAKE_LANDING_URL": f"s3://{bucket}/landing",
        }

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"moto_server did not answer within {_START_SECONDS:.0f} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
