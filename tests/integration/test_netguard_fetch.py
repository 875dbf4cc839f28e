"""The guard's requests over real HTTP(S) on loopback: sent to the checked address, named right.

Host names come from a fake resolver (no real DNS) that points them at 127.0.0.1, so the
tests see which address was connected to and which name the Host header, SNI and
certificate check carried.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from shared.errors import (
    DestinationRefused,
    FetchFailed,
    FetchTimeout,
    FileTooLarge,
    TooManyRedirects,
)
from shared.netguard import check_destination, fetch, send

pytestmark = pytest.mark.integration


@dataclass
class Server:
    port: int
    hosts: list[str] = field(default_factory=list)  # Host headers seen
    names: list[str | None] = field(default_factory=list)  # TLS SNI seen


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  # http.server's naming
        self.server.state.hosts.append(self.headers["Host"])  # type: ignore[attr-defined]
        if self.path.startswith("/redirect/"):
            hops = int(self.path.rsplit("/", 1)[1])
            target = f"/redirect/{hops - 1}" if hops > 1 else "/image"
            return self._answer(302, b"", {"Location": target})
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/missing":
            return self._answer(404, b"no")
        self._answer(200, b"x" * 1000, {"Content-Type": "image/png"})

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def log_message(self, *args: object) -> None:
        pass


def serve(context: ssl.SSLContext | None = None) -> tuple[Server, ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Server(httpd.server_port)
    httpd.state = state  # type: ignore[attr-defined]
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: state.names.append(name)  # type: ignore[assignment]
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return state, httpd


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    state, httpd = serve()
    yield state
    httpd.shutdown()


def to_loopback(host: str, port: int) -> list[str]:
    """A resolver that sends every name to 127.0.0.1."""
    return ["127.0.0.1"]


def test_the_request_goes_to_the_checked_address_with_the_name_in_host(server: Server) -> None:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    url = f"http://images.test:{server.port}/image"
    got = fetch(url, max_bytes=5000, timeout=10, allow_private=True, resolver=resolver)
    assert got.data == b"x" * 1000 and got.content_type == "image/png"
    assert server.hosts[-1] == f"images.test:{server.port}" and calls == ["images.test"]


def test_redirects_are_followed_and_each_hop_checked(server: Server) -> None:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    url = f"http://images.test:{server.port}/redirect/2"
    got = fetch(url, max_bytes=5000, timeout=10, allow_private=True, resolver=resolver)
    assert got.url.endswith("/image") and len(got.redirects) == 2 and len(calls) == 3
    with pytest.raises(TooManyRedirects):
        fetch(
            url, max_bytes=5000, timeout=10, max_redirects=1, allow_private=True, resolver=resolver
        )


def test_limits_and_failures_have_their_codes(server: Server) -> None:
    base = f"http://127.0.0.1:{server.port}"
    with pytest.raises(FileTooLarge):
        fetch(f"{base}/image", max_bytes=999, timeout=10, allow_private=True)
    with pytest.raises(FetchFailed, match="404"):
        fetch(f"{base}/missing", max_bytes=999, timeout=10, allow_private=True)
    with pytest.raises(FetchTimeout):
        fetch(f"{base}/slow", max_bytes=5000, timeout=0.5, allow_private=True)
    with pytest.raises(DestinationRefused):
        fetch(f"{base}/image", max_bytes=5000, timeout=10, allow_private=False)


def test_nothing_listening_is_a_connection_failure() -> None:
    with pytest.raises(FetchFailed, match="cannot connect") as caught:
        fetch("http://127.0.0.1:9/", max_bytes=10, timeout=5, allow_private=True)
    assert caught.value.code == "fetch_failed"


def test_https_carries_the_name_for_sni_and_the_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("images.test").configure_cert(context)
    state, httpd = serve(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    trusted = partial(send, ca_certs=str(bundle))
    try:
        url = f"https://images.test:{state.port}/image"
        got = fetch(
            url,
            max_bytes=5000,
            timeout=10,
            allow_private=True,
            resolver=to_loopback,
            transport=trusted,
        )
        assert got.data == b"x" * 1000
        assert state.names[-1] == "images.test" and state.hosts[-1] == f"images.test:{state.port}"
        with pytest.raises(FetchFailed, match="certificate"):  # our CA is not certifi's
            fetch(url, max_bytes=5000, timeout=10, allow_private=True, resolver=to_loopback)
        wrong = f"https://other.test:{state.port}/image"  # the certificate is not other.test's
        resolved = check_destination(wrong, allow_private=True, resolver=to_loopback)
        with pytest.raises(FetchFailed, match="other.test"):
            trusted(resolved, timeout=10, max_bytes=5000)
    finally:
        httpd.shutdown()
