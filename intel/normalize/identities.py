"""Indicators that reach or pay a person: ``email``, ``phone``, ``account``, ``crypto_wallet``.

email
    ``local@domain``, exactly one ``@``; ``mailto:`` prefix removed; domain as for ``domain``.
    The local part is lowercased too: abuse matching across platforms is case-insensitive.
phone
    E.164 (``+14155550100``) via ``phonenumbers``. A ``+`` or ``00`` international prefix is
    required; numbers must be *possible* for their country (length check), not necessarily
    assigned. Letters (vanity numbers) and extensions are rejected.
account
    ``@handle`` lowercased, handle ``[a-z0-9_.]{1,30}``. ``normalize("Name", "account")``
    adds the ``@``.
crypto_wallet
    ETH ``0x`` + 40 hex, lowercased. BTC bech32 ``bc1...`` (42 or 62 characters; upper-case
    QR form lowercased, mixed case rejected). BTC base58 ``1...``/``3...`` (26-35
    characters) and Substrate SS58 (47-48 characters) are case-sensitive and kept as given;
    character set and length are checked, checksums are not.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from intel.normalize.domains import _canonical_domain
from intel.normalize.errors import NormalizationError

_LOCAL_RE = re.compile(r"[^\s@<>()\[\]\\,;:\"]+")
_PHONE_CHARS = re.compile(r"\+[0-9 ().\-/]+")
_HANDLE_RE = re.compile(r"[A-Za-z0-9_.]{1,30}")

_ETH_RE = re.compile(r"0[xX][0-9A-Fa-f]{40}")
_BECH32_CHARS = "02-9ac-hj-np-z"
_BECH32_RE = re.compile(rf"bc1(?:[{_BECH32_CHARS}]{{39}}|[{_BECH32_CHARS}]{{59}})")
_B58 = "1-9A-HJ-NP-Za-km-z"
_BTC_B58_RE = re.compile(rf"[13][{_B58}]{{25,34}}")
_SS58_RE = re.compile(rf"[{_B58}]{{47,48}}")


def _norm_email(v: str) -> str:
    if v[:7].lower() == "mailto:":
        v = v[7:]
    if v.count("@") != 1:
        raise NormalizationError("an email address must contain exactly one '@'")
    local, _, domain = v.partition("@")
    if not local:
        raise NormalizationError("email address has an empty local part")
    if len(local) > 64:
        raise NormalizationError("email local part longer than 64 characters")
    if _LOCAL_RE.fullmatch(local) is None:
        raise NormalizationError("email local part contains whitespace or a forbidden character")
    if domain.startswith("["):
        raise NormalizationError("email addresses with an IP-literal domain are not supported")
    return f"{local.lower()}@{_canonical_domain(domain, require_dot=True, what='email domain')}"


@lru_cache(maxsize=16384)
def _norm_phone(v: str) -> str:
    """E.164 via phonenumbers (cached: parsing costs ~10 us and scam numbers repeat)."""
    if v.startswith("00"):
        v = "+" + v[2:]
    elif not v.startswith("+"):
        raise NormalizationError("a phone number needs its international prefix (+ or 00)")
    if _PHONE_CHARS.fullmatch(v) is None:
        raise NormalizationError(
            "a phone number may only contain digits, spaces, dots, dashes, slashes and "
            "parentheses after the '+'"
        )
    digits = sum(c.isdigit() for c in v)
    if digits > 15:
        raise NormalizationError(f"a phone number has at most 15 digits, got {digits}")
    try:
        number = phonenumbers.parse(v, None)
    except phonenumbers.NumberParseException:
        raise NormalizationError("not a valid international phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise NormalizationError(
            f"not a possible phone number for country code +{number.country_code}"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _norm_account(v: str) -> str:
    handle = v[1:] if v.startswith("@") else v
    if _HANDLE_RE.fullmatch(handle) is None:
        raise NormalizationError(
            "an account handle is 1-30 letters, digits, '_' or '.' after the '@'"
        )
    return "@" + handle.lower()


def _norm_wallet(v: str) -> str:
    if v[:2] in ("0x", "0X"):
        if _ETH_RE.fullmatch(v) is None:
            raise NormalizationError("an ETH address is '0x' followed by 40 hex characters")
        return v.lower()
    if v[:3].lower() == "bc1":
        lowered = v.lower()
        if v != lowered and v != v.upper():
            raise NormalizationError("a bech32 address must not mix upper and lower case")
        if _BECH32_RE.fullmatch(lowered) is None:
            raise NormalizationError(
                "a bech32 BTC address is 'bc1' plus 39 or 59 bech32 characters"
            )
        return lowered
    if _BTC_B58_RE.fullmatch(v) or _SS58_RE.fullmatch(v):
        return v
    raise NormalizationError(
        "not a recognised wallet address (BTC base58/bech32, ETH 0x..., Substrate SS58)"
    )
