"""A webhook receiver on loopback for the tests and bench/webhooks.py: scripted answers per path.

Every request is recorded (arrival time, headers, body) before it is answered, so a test
can check what the sender sent and when, and verify its signature with `standardwebhooks`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.processes import wait_until


@dataclass
class Received:
    path: str
    at: float  # time.time() on arrival
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> Any:
        """The payload, after Webhook.verify checked the signature (raises if it does not)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """Answers each path with its script of (status, headers), then 200 once it runs out."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    scripts: dict[str, list[tuple[int, dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def script(self, path: str, *answers: int | tuple[int, dict[str, str]]) -> str:
        """Set the answers for `path`; returns the full URL to give as webhook_url."""
        with self.lock:
            self.scripts[path] = [a if isinstance(a, tuple) else (a, {}) for a in answers]
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 60) -> list[Received]:
        """The requests to `path` once there are at least `count` of them."""
        return wait_until(lambda: len(got := self.at(path)) >= count and got, timeout, 0.02)

    def _answer(self, path: str) -> tuple[int, dict[str, str]]:
        with self.lock:
            script = self.scripts[path]
            return script.pop(0) if script else (200, {})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    """A receiver on 127.0.0.1 (a free port), serving from a daemon thread."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  # http.server's naming
            receiver = holder["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            with receiver.lock:
                receiver.received.append(Received(self.path, time.time(), headers, body))
            status, extra = receiver._answer(self.path)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
