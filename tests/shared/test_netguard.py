"""The address guard: URL checks and address kinds, with a fake resolver (no real DNS)."""

from __future__ import annotations

import ipaddress

import pytest

from shared.errors import DestinationRefused, InvalidUrl, UnresolvableHost
from shared.netguard import Answer, Resolved, check_destination, fetch


class FakeResolver:
    """Answers from a table and counts its calls; unknown names do not resolve."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise UnresolvableHost(f"cannot resolve {host!r}")
        return self.table[host]


REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "169.254.1.1": "link-local",
    "169.254.169.254": "cloud metadata",
    "169.254.170.2": "cloud metadata",
    "100.64.0.1": "CGNAT",
    "100.127.255.254": "CGNAT",
    "0.0.0.0": "unspecified",  # noqa: S104  # an address under test, not a bind
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "",
    "192.0.2.1": "",  # TEST-NET-1
    "198.18.0.1": "",  # benchmarking
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fd00:ec2::254": "cloud metadata",
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "",  # documentation
    "::ffff:127.0.0.1": "loopback address (as 127.0.0.1 inside IPv6)",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "cloud metadata",
    "64:ff9b::7f00:1": "loopback address (as 127.0.0.1",
    "64:ff9b::a9fe:a9fe": "cloud metadata",
    "64:ff9b:1::1": "tunnelled",
    "2002:7f00:1::1": "loopback address (as 127.0.0.1",  # 6to4
    "2002:c0a8:101::1": "private",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "",  # Teredo
    "::127.0.0.1": "",  # IPv4-compatible (deprecated)
}
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "kind"), REFUSED.items())
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    resolver = FakeResolver({"hook.example": [address]})
    with pytest.raises(DestinationRefused, match="only public addresses") as caught:
        check_destination("https://hook.example/in", allow_private=False, resolver=resolver)
    normal = str(ipaddress.ip_address(address))
    assert kind in caught.value.message and normal in caught.value.message
    assert caught.value.code == "destination_refused"


@pytest.mark.parametrize("address", REFUSED)
def test_allow_private_lets_them_through(address: str) -> None:
    resolver = FakeResolver({"hook.example": [address]})
    resolved = check_destination("http://hook.example/", allow_private=True, resolver=resolver)
    assert resolved.address == str(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass_and_are_the_ones_used(address: str) -> None:
    resolver = FakeResolver({"hook.example": [address]})
    resolved = check_destination(
        "https://hook.example:8443/in?x=1", allow_private=False, resolver=resolver
    )
    normal = str(ipaddress.ip_address(address))
    assert (resolved.address, resolved.host, resolved.port) == (normal, "hook.example", 8443)
    assert resolved.target == "/in?x=1" and resolved.host_header == "hook.example:8443"
    assert resolver.calls == [("hook.example", 8443)]  # resolved once


def test_one_private_answer_among_public_ones_refuses_the_host() -> None:
    resolver = FakeResolver({"mixed.example": ["8.8.8.8", "10.0.0.1"]})
    with pytest.raises(DestinationRefused, match="10.0.0.1"):
        check_destination("http://mixed.example/", allow_private=False, resolver=resolver)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # decimal
        "0x7f000001",  # hex
        "0177.0.0.1",  # octal
        "0x7f.1",
        "127.1",
        "[::1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
        "169.254.169.254",
        "[fe80::1%25eth0]",
    ],
)
def test_ip_literals_in_any_form_are_read_without_dns(host: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(DestinationRefused):
        check_destination(f"http://{host}/x", allow_private=False, resolver=resolver)
    assert resolver.calls == []


def test_a_literal_public_address_is_used_as_written() -> None:
    resolved = check_destination("http://[2606:4700:4700::1111]:81/", allow_private=False)
    assert resolved.address == "2606:4700:4700::1111"
    assert resolved.host_header == "[2606:4700:4700::1111]:81"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "http:///nohost",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://example.com/\nHost: evil",
        "http://" + "a" * 3000 + ".com/",
        "http://256.256.256.256/",
    ],
)
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidUrl):
        check_destination(url, allow_private=True, resolver=FakeResolver({}))


def test_names_that_do_not_resolve_say_so() -> None:
    with pytest.raises(UnresolvableHost, match="nowhere.example"):
        check_destination("http://nowhere.example/", allow_private=True, resolver=FakeResolver({}))
    empty = FakeResolver({"empty.example": []})
    with pytest.raises(UnresolvableHost, match="no address"):
        check_destination("http://empty.example/", allow_private=True, resolver=empty)


def test_credentials_in_the_url_are_kept_for_basic_auth() -> None:
    resolver = FakeResolver({"hook.example": ["8.8.8.8"]})
    resolved = check_destination(
        "https://user:pa%20ss@Hook.Example/p", allow_private=False, resolver=resolver
    )
    assert (resolved.username, resolved.password) == ("user", "pa%20ss")
    assert resolved.host == "hook.example" and resolved.host_header == "hook.example"


def test_every_redirect_is_checked_again() -> None:
    """A public host that redirects to a private one: the second hop is refused, not sent."""
    resolver = FakeResolver({"cdn.example": ["8.8.8.8"], "inside.example": ["10.0.0.7"]})
    sent: list[str] = []

    def transport(resolved: Resolved, **_: object) -> Answer:
        sent.append(resolved.url)
        return Answer(302, {"location": "http://inside.example/secret"})

    with pytest.raises(DestinationRefused, match="10.0.0.7"):
        fetch(
            "http://cdn.example/a.jpg",
            max_bytes=100,
            timeout=5,
            allow_private=False,
            resolver=resolver,
            transport=transport,
        )
    assert sent == ["http://cdn.example/a.jpg"]
    with pytest.raises(InvalidUrl):
        fetch(
            "http://cdn.example/a.jpg",
            max_bytes=100,
            timeout=5,
            allow_private=False,
            resolver=resolver,
            transport=lambda resolved, **_: Answer(301, {"location": "file:///etc/passwd"}),
        )
