"""The SSRF address policy: which IP addresses the client refuses to contact, and why.

* Loopback, private, shared (CGNAT), reserved and otherwise non-public addresses are refused
  unless private URLs are allowed (argument ``allow_private`` or the Django setting
  ``TDP_ALLOW_PRIVATE_URLS``).
* Unspecified, link-local, multicast and reserved-for-future-use addresses and the cloud metadata
  endpoints are refused always: nothing legitimate lives there, credentials do.
* IPv6 addresses that wrap an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by the
  IPv4 address inside as well.

Applying the policy to every address a host resolves to is :mod:`tdp.http.connection`'s job.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused even when private URLs are allowed: nothing legitimate lives there, credentials do.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OCI, DigitalOcean, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata / credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure WireServer (public-looking, reachable only from inside Azure)
        "192.0.0.192",  # Oracle Cloud legacy metadata
    )
)


def _nets(
    *pairs: tuple[str, str],
) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.ip_network(net), why) for net, why in pairs)


_ALWAYS_BLOCKED = _nets(
    ("0.0.0.0/8", "an unspecified address"),
    ("169.254.0.0/16", "a link-local address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),  # includes 255.255.255.255
    ("::/128", "an unspecified address"),
    ("fe80::/10", "a link-local address"),
    ("ff00::/8", "a multicast address"),
)

_PRIVATE = _nets(
    ("127.0.0.0/8", "a loopback address"),
    ("10.0.0.0/8", "a private address"),
    ("172.16.0.0/12", "a private address"),
    ("192.168.0.0/16", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("192.0.0.0/24", "a reserved address"),
    ("192.0.2.0/24", "a reserved address"),
    ("192.88.99.0/24", "a reserved address"),
    ("198.18.0.0/15", "a reserved address"),
    ("198.51.100.0/24", "a reserved address"),
    ("203.0.113.0/24", "a reserved address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a reserved address"),  # deprecated IPv4-compatible addresses
    ("fc00::/7", "a private address"),
    ("fec0::/10", "a reserved address"),  # deprecated site-local
    ("64:ff9b:1::/48", "a private address"),  # local-use NAT64
    ("100::/64", "a reserved address"),
    ("2001::/23", "a reserved address"),
    ("2001:db8::/32", "a reserved address"),
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses that an IPv6 address wraps, each with a label of the wrapping kind."""
    if ip.ipv4_mapped is not None:
        return [("an IPv4-mapped form of", ip.ipv4_mapped)]
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("a 6to4 address wrapping", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("a Teredo address wrapping", server), ("a Teredo address wrapping", client)]
    if ip in _NAT64:
        found.append(("a NAT64 address wrapping", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


def _refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why ``ip`` may not be contacted (a phrase like "a private address"), or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).partition("%")[0])
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        for kind, inner in _embedded_ipv4(ip):
            why = _refusal(inner, allow_private)
            if why:
                return f"{kind} {inner}, {why}"
        if ip.ipv4_mapped is not None:
            return None  # the connection really goes to the IPv4 address just checked
    for net, why in _ALWAYS_BLOCKED:
        if ip in net:
            return why
    if allow_private:
        return None
    for net, why in _PRIVATE:
        if ip in net:
            return why
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return "a non-public address"
    return None


def _private_allowed(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    try:
        if not settings.configured:
            return False
        return bool(getattr(settings, "TDP_ALLOW_PRIVATE_URLS", False))
    except (ImproperlyConfigured, ImportError):
        return False
