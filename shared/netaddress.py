"""Which addresses Cutout refuses to send requests to, and IP literals read like the resolver does.

Python's `is_global` misses some kinds in 3.11 (multicast, site-local, NAT64, IPv4 inside
IPv6), so each kind is checked by name and the message says which one matched.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from shared.errors import InvalidUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# What glibc's inet_aton reads as IPv4 (2130706433, 0x7f.1, 0177.0.0.1): getaddrinfo accepts
# these forms without DNS, so they are read here the same way instead of sent to a resolver.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\.?$", re.I)


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for (None for a name)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError as exc:
            raise InvalidUrl(f"{host!r} is neither a host name nor an IPv4 address") from exc
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why a request must not go to `address` (None: a public address)."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata endpoint"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return None if inner is None else f"{inner} (as {embedded} inside IPv6)"
        if address in NAT64_LOCAL or address.teredo is not None:
            return "a tunnelled address"
        if address.is_site_local:
            return "a site-local address"
    return _kind(address)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: IPAddress) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in CGNAT, "shared (CGNAT)"),
        (address.is_reserved, "reserved"),  # before private: Python counts 240/4 in both
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    for matched, kind in checks:
        if matched:
            return f"a {kind} address"
    return None
