"""The address guard for every request Cutout makes on a client's behalf (webhooks, image URLs).

A URL is checked once: http or https, its host resolved once, every address it resolves to
public (not loopback, private, link-local, CGNAT, multicast, reserved, unspecified or a cloud
metadata endpoint, also when an IPv4 address hides inside an IPv6 one). The request is then
sent to that very address (`send`, `fetch`): urllib3 connects to the checked IP itself while
the Host header, TLS SNI and the certificate check use the URL's host name, so DNS cannot
switch the destination between the check and the send. No redirect is followed by `send` and
no proxy from the environment is used; `fetch` follows a few, checking each new URL.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from shared.errors import (
    DestinationRefused,
    FetchFailed,
    FetchTimeout,
    FileTooLarge,
    InvalidUrl,
    TooManyRedirects,
    UnresolvableHost,
)
from shared.netaddress import IPAddress, literal_address, refusal_reason

# host, port -> the addresses the host resolves to (tests pass a fake; no real DNS there).
Resolver = Callable[[str, int], list[str]]

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
USER_AGENT = "Cutout/1"


@dataclass(frozen=True)
class Resolved:
    """A checked URL and the one address its request goes to."""

    url: str
    scheme: str
    host: str  # as in the URL, lower case, without brackets (Host header, SNI, certificate)
    port: int
    address: str  # the IP address connected to
    target: str  # path and query sent in the request line
    username: str | None = None
    password: str | None = None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass
class Answer:
    """What a server answered: status, headers and at most the bytes asked for."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    truncated: bool = False  # the body had more than the bytes read
    elapsed: float = 0.0


@dataclass
class Fetched:
    """A file downloaded from a URL (after redirects)."""

    url: str
    data: bytes
    content_type: str | None = None
    redirects: list[str] = field(default_factory=list)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (TCP), in its order, deduplicated."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"cannot resolve {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_destination(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> Resolved:
    """Parse and resolve `url` once; refuse it unless every address is public (or allowed)."""
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    literal = literal_address(host)
    addresses = [literal] if literal is not None else _resolve(resolver, host, port)
    if not allow_private:
        for address in addresses:
            reason = refusal_reason(address)
            if reason is not None:
                where = host if literal is not None else f"{host} resolves to {address}, which"
                raise DestinationRefused(f"{where} is {reason}; only public addresses are allowed")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return Resolved(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=port,
        address=str(addresses[0]),
        target=target,
        username=parts.username,
        password=parts.password,
    )


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"a URL of at most {MAX_URL_LENGTH} characters is required")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise InvalidUrl("the URL contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidUrl(f"only http and https URLs are allowed, not {parts.scheme or 'none'!r}")
    try:
        parts.port  # noqa: B018  # raises on a port that is not a number in range
    except ValueError as exc:
        raise InvalidUrl(f"bad port in {url!r}: {exc}") from exc
    if not parts.hostname:
        raise InvalidUrl(f"no host in {url!r}")
    return parts._replace(scheme=parts.scheme.lower())


def _resolve(resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    names = resolver(host, port)
    if not names:
        raise UnresolvableHost(f"{host!r} resolves to no address")
    try:
        return [ipaddress.ip_address(name.split("%", 1)[0]) for name in names]
    except ValueError as exc:
        raise UnresolvableHost(f"{host!r} resolved to something not an address: {exc}") from exc


def _pool(resolved: Resolved, timeout: float, ca_certs: str | None) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
    if resolved.scheme == "http":
        return urllib3.HTTPConnectionPool(
            resolved.address, resolved.port, timeout=limits, retries=False, maxsize=1
        )
    return urllib3.HTTPSConnectionPool(
        resolved.address,
        resolved.port,
        timeout=limits,
        retries=False,
        maxsize=1,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_certs or certifi.where(),
        server_hostname=resolved.host,  # SNI: the name, not the address connected to
        assert_hostname=resolved.host,  # the certificate must be the name's
    )


def _headers(resolved: Resolved, extra: dict[str, str] | None) -> dict[str, str]:
    headers = {"Host": resolved.host_header, "User-Agent": USER_AGENT, **(extra or {})}
    if resolved.username is not None:
        pair = f"{resolved.username}:{resolved.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return headers


def send(
    resolved: Resolved,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
    max_bytes: int,
    ca_certs: str | None = None,
) -> Answer:
    """One request to `resolved.address` within `timeout` s; reads at most `max_bytes` back.

    Raises FetchTimeout or FetchFailed when the server cannot be reached or stops answering.
    HTTPS certificates are checked against certifi's CAs, or the bundle `ca_certs` names.
    """
    started = time.monotonic()
    deadline = started + timeout
    pool = _pool(resolved, timeout, ca_certs)
    try:
        response = pool.urlopen(
            method,
            resolved.target,
            body=body,
            headers=_headers(resolved, headers),
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        limit = 0 if response.status in REDIRECT_STATUSES else max_bytes
        data, truncated = _read(response, limit, deadline)
        headers = {name.lower(): value for name, value in response.headers.items()}
        answer = Answer(response.status, headers, data, truncated)
        response.release_conn()
    except NewConnectionError as exc:  # before TimeoutError: urllib3 makes it a subclass
        raise FetchFailed(
            f"cannot connect to {resolved.host_header}: {exc.__cause__ or exc}"
        ) from exc
    except TimeoutError as exc:
        raise FetchTimeout(f"{resolved.host} did not answer within {timeout:.1f} s") from exc
    except (HTTPError, OSError) as exc:
        raise FetchFailed(f"{resolved.host}: {type(exc).__name__}: {exc}") from exc
    finally:
        pool.close()
    answer.elapsed = time.monotonic() - started
    return answer


def _read(response: urllib3.BaseHTTPResponse, limit: int, deadline: float) -> tuple[bytes, bool]:
    """Up to `limit` bytes of the body, giving up at `deadline` (a slow drip cannot hold us)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the body did not arrive in time")
        _set_socket_timeout(response, remaining)
        chunk = response.read1(min(CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit], True


def _set_socket_timeout(response: urllib3.BaseHTTPResponse, seconds: float) -> None:
    # Each recv waits at most what is left of the whole request's time, not a fresh timeout.
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    max_redirects: int = 3,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    transport: Callable[..., Answer] = send,
) -> Fetched:
    """Download `url` (GET): every hop checked by the guard, `max_bytes` and `timeout` overall.

    Raises InvalidUrl, UnresolvableHost, DestinationRefused, FetchFailed (a non-2xx answer
    too), FetchTimeout, TooManyRedirects or FileTooLarge. `transport` is `send` (tests pass
    a fake, or `functools.partial(send, ca_certs=...)` for a private CA).
    """
    deadline = time.monotonic() + timeout
    redirects: list[str] = []
    while True:
        resolved = check_destination(url, allow_private=allow_private, resolver=resolver)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout(f"{url} was not fetched within {timeout:.1f} s")
        answer = transport(resolved, timeout=remaining, max_bytes=max_bytes)
        location = answer.headers.get("location")
        if answer.status in REDIRECT_STATUSES and location:
            if len(redirects) >= max_redirects:
                raise TooManyRedirects(f"{url}: more than {max_redirects} redirects")
            redirects.append(url)
            url = urljoin(url, location)
            continue
        if not 200 <= answer.status < 300:
            raise FetchFailed(f"{resolved.host} answered HTTP {answer.status} for {url}")
        if answer.truncated:
            raise FileTooLarge(f"{url}: files are limited to {max_bytes} bytes")
        content_type = answer.headers.get("content-type")
        return Fetched(url, answer.body, content_type, redirects)
