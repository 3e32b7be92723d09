"""The exceptions of the outbound HTTP client: every failure to get a response is one of these.

Both are re-exported as ``tdp.http.TransportError`` and ``tdp.http.BlockedAddressError``.
"""

from __future__ import annotations


class TransportError(Exception):
    """Any failure to get a response: bad URL, refused address, DNS, TLS, timeout, size, protocol.

    ``reason`` (also ``str(exc)``) is short and safe to show to users and to log: it names at most
    the host and never contains header values, query strings, credentials or body content.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedAddressError(TransportError):
    """The destination was refused by the SSRF policy, e.g. because it resolves to a private IP."""
