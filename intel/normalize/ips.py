"""IP indicators: ``ipv4``, ``ipv6`` and ``cidr``.

ipv4
    Dotted quad, no leading zeros (``010.0.0.1`` could be octal: rejected, never guessed).
    Private, reserved and documentation addresses are valid indicators. ``a.b.c.d/32`` is
    accepted and becomes the address.
ipv6
    Compressed lowercase (RFC 5952). IPv4-mapped addresses stay ``ipv6`` and are written
    ``::ffff:a.b.c.d`` (RFC 5952 section 5, and identical on every Python version).
    Brackets are removed; zone ids (``%eth0``) are rejected.
cidr
    Network form (``10.1.2.3/8`` -> ``10.0.0.0/8``). When auto-detected, a ``/32`` (``/128``)
    is really an address and becomes ``ipv4`` (``ipv6``); with ``type_="cidr"`` it stays cidr.
"""

from __future__ import annotations

import ipaddress
import re

from intel.normalize.errors import NormalizationError

_IPV4_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")


def _norm_ipv4(v: str) -> str:
    m = _IPV4_RE.fullmatch(v)
    if m is None:
        addr, slash, prefix = v.partition("/")
        if slash and prefix == "32":
            return _norm_ipv4(addr)
        if slash:
            raise NormalizationError("an IPv4 address has no prefix length; use type 'cidr'")
        raise NormalizationError("not a valid IPv4 address")
    for octet in m.groups():
        if len(octet) > 1 and octet[0] == "0":
            raise NormalizationError(
                f"not a valid IPv4 address: octet {octet!r} has a leading zero "
                "(octal or decimal? not guessed)"
            )
        if int(octet) > 255:
            raise NormalizationError(f"not a valid IPv4 address: octet {octet} is above 255")
    return v


def _ipv6_text(addr: ipaddress.IPv6Address) -> str:
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{mapped}"
    return addr.compressed


def _parse_ipv6(v: str) -> ipaddress.IPv6Address:
    if v.startswith("[") and v.endswith("]"):
        v = v[1:-1]
    if "%" in v:
        raise NormalizationError("IPv6 zone ids (%...) are not part of an indicator")
    if not v.isascii():
        raise NormalizationError("not a valid IPv6 address")
    try:
        return ipaddress.IPv6Address(v)
    except ValueError:
        raise NormalizationError("not a valid IPv6 address") from None


def _norm_ipv6(v: str) -> str:
    addr, slash, prefix = v.partition("/")
    if slash:
        if prefix != "128":
            raise NormalizationError("an IPv6 address has no prefix length; use type 'cidr'")
        v = addr
    return _ipv6_text(_parse_ipv6(v))


def _norm_cidr(v: str, *, explicit: bool) -> tuple[str, str]:
    addr, slash, prefix = v.partition("/")
    if not slash:
        raise NormalizationError("a CIDR needs a /prefix length")
    if not (prefix.isascii() and prefix.isdigit()) or len(prefix) > 3:
        raise NormalizationError(f"CIDR prefix length must be a number, got {prefix!r}")
    bits = int(prefix)
    if ":" in addr:
        if bits > 128:
            raise NormalizationError(f"IPv6 prefix length must be 0-128, got {bits}")
        ip6 = _parse_ipv6(addr)
        if bits == 128 and not explicit:
            return "ipv6", _ipv6_text(ip6)
        net6 = ipaddress.IPv6Network((ip6, bits), strict=False)
        return "cidr", f"{_ipv6_text(net6.network_address)}/{bits}"
    if bits > 32:
        raise NormalizationError(f"IPv4 prefix length must be 0-32, got {bits}")
    ip4 = _norm_ipv4(addr)
    if bits == 32 and not explicit:
        return "ipv4", ip4
    net4 = ipaddress.IPv4Network((ip4, bits), strict=False)
    return "cidr", f"{net4.network_address}/{bits}"
