"""A small client of the Cutout service (urllib3): jobs, batches, downloads.

Every failure is a `ClientError` with one line to print: the server is down, refused the
key, or answered an error (its code and message).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import urllib3

# Retries are said once, in the final error; urllib3's own warning per retry is noise here.
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
RETRIES = urllib3.Retry(total=4, connect=4, read=2, status=0, backoff_factor=0.5, redirect=3)


class ClientError(Exception):
    """One line about what went wrong talking to the server."""


class Client:
    """Talks to one server with one API key."""

    def __init__(self, server: str, api_key: str | None = None, timeout: float = 60) -> None:
        self.server = server.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = urllib3.PoolManager(
            maxsize=8, timeout=urllib3.Timeout(connect=5, read=timeout), retries=RETRIES
        )

    @classmethod
    def from_env(cls, server: str | None, api_key: str | None) -> Client:
        """Server and key from the options, else CUTOUT_SERVER / CUTOUT_API_KEY."""
        server = server or os.environ.get("CUTOUT_SERVER")
        if not server:
            raise ClientError("no server: pass --server URL or set CUTOUT_SERVER")
        return cls(server, api_key or os.environ.get("CUTOUT_API_KEY"))

    def request(self, method: str, path: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        url = path if path.startswith("http") else f"{self.server}{path}"
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ClientError(f"cannot reach {self.server} ({type(reason).__name__})") from exc
        if response.status >= 400:
            raise ClientError(_error_line(response))
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.request(method, path, **kwargs).json()

    def create_batch(self, fields: list[tuple[str, Any]]) -> dict[str, Any]:
        return self.json("POST", "/v1/batches", fields=fields)

    def add_items(self, batch_id: str, files: list[tuple[str, bytes]]) -> dict[str, Any]:
        fields = [("images", (name, data, "application/octet-stream")) for name, data in files]
        return self.json("POST", f"/v1/batches/{batch_id}/items", fields=fields)

    def add_urls(self, batch_id: str, urls: list[dict[str, str]]) -> dict[str, Any]:
        text = json.dumps(urls).encode()
        fields = [("urls", ("urls.json", text, "application/json"))]
        return self.json("POST", f"/v1/batches/{batch_id}/items", fields=fields)

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        """The batch, or None when the server does not know it (expired, other server)."""
        try:
            return self.json("GET", f"/v1/batches/{batch_id}")
        except ClientError as exc:
            if str(exc).startswith("not_found"):
                return None
            raise

    def jobs(self, batch_id: str, cursor: int, limit: int = 500) -> dict[str, Any]:
        return self.json("GET", f"/v1/batches/{batch_id}/jobs?cursor={cursor}&limit={limit}")

    def download(self, url: str, target: Path) -> None:
        """Stream `url` into `target` through a temporary file, renamed when complete."""
        partial = target.with_name(f".{target.name}.part")
        response = self.request("GET", url, preload_content=False)
        with partial.open("wb") as out:
            for chunk in response.stream(1024 * 1024):
                out.write(chunk)
        response.release_conn()
        partial.replace(target)


def _error_line(response: urllib3.BaseHTTPResponse) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status}: the server answered {response.status}"
