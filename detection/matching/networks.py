"""CIDR indicators: which networks contain an address.

Networks are grouped by prefix length. To test an address, shift it right by
``bits - prefix`` for each distinct prefix length and look the result up in that length's
dict: O(number of distinct prefix lengths), at most 33 for IPv4 and 129 for IPv6, usually a
handful, however many networks there are. Most specific networks come first.
"""

from __future__ import annotations

import ipaddress
import socket

from detection.matching.refs import IndicatorRef, Refs, add_ref

__all__ = ["NetworkIndex"]

_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
_BITS = {4: 32, 6: 128}


def address_int(version: int, address: str) -> int:
    """The integer of a canonical IPv4 (``version`` 4) or IPv6 (6) address."""
    return int.from_bytes(socket.inet_pton(_FAMILY[version], address), "big")


class NetworkIndex:
    """CIDR indicators by IP version and prefix length."""

    __slots__ = ("_by_length", "_lookup", "count")

    def __init__(self) -> None:
        self._by_length: dict[int, dict[int, dict[int, Refs]]] = {4: {}, 6: {}}
        self._lookup: dict[int, tuple[tuple[int, dict[int, Refs]], ...]] = {4: (), 6: ()}
        self.count = 0

    def add(self, cidr: str, ref: IndicatorRef) -> None:
        """Index one canonical CIDR (``10.0.0.0/8``, ``2001:db8::/32``)."""
        net = ipaddress.ip_network(cidr, strict=False)
        bits = _BITS[net.version]
        table = self._by_length[net.version].setdefault(net.prefixlen, {})
        add_ref(table, int(net.network_address) >> (bits - net.prefixlen), ref)
        self.count += 1
        self._lookup[net.version] = tuple(
            (bits - length, table)
            for length, table in sorted(self._by_length[net.version].items(), reverse=True)
        )

    def get(self, cidr: str) -> Refs | None:
        """The index slot of exactly this canonical network, or None."""
        net = ipaddress.ip_network(cidr, strict=False)
        table = self._by_length[net.version].get(net.prefixlen, {})
        return table.get(int(net.network_address) >> (_BITS[net.version] - net.prefixlen))

    def has_version(self, version: int) -> bool:
        """True when some network of that IP version is indexed."""
        return bool(self._lookup[version])

    def containing(self, version: int, address: str) -> list[Refs]:
        """Index slots of every network containing the canonical ``address``."""
        lookup = self._lookup[version]
        if not lookup:
            return []
        n = address_int(version, address)
        return [refs for shift, table in lookup if (refs := table.get(n >> shift)) is not None]

    def tables(self) -> list[dict[int, Refs]]:
        """Every per-prefix-length dict (for the memory estimate)."""
        return [t for by_len in self._by_length.values() for t in by_len.values()]
