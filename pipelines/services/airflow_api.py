"""A small client of Airflow's public REST API (``/api/v2``), standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any


class AirflowApiError(RuntimeError):
    """The API answered with an error status; the message holds Airflow's detail."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AirflowApi:
    """Requests to one API server, authenticated with a token of the given user."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        login = self._send("POST", "/auth/token", {"username": username, "password": password})
        self._token = login["access_token"]

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise AirflowApiError(error.code, f"{method} {path}: {error.code} {detail}") from None

    def get(self, path: str, **query: str | int) -> Any:
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return self._send("GET", f"/api/v2{path}{suffix}", token=self._token)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", f"/api/v2{path}", body, token=self._token)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("PATCH", f"/api/v2{path}", body, token=self._token)

    def pages(self, path: str, key: str, page_size: int = 100, **query: str | int) -> Iterator[Any]:
        """Every item of a paginated list endpoint (``total_entries`` and ``key``)."""
        offset = 0
        while True:
            page = self.get(path, limit=page_size, offset=offset, **query)
            yield from page[key]
            offset += len(page[key])
            if not page[key] or offset >= page["total_entries"]:
                return
