"""Shared types and vocabulary for the feed parsers.

Parsers turn bytes into rows and nothing more: they never normalise values or touch the
database. Every parser yields a stream of three kinds of item:

* :class:`ParsedRow` - a candidate indicator value (still raw; the importer normalises it),
* :class:`Rejected` - a malformed row; it is counted and the rest of the file still lands,
* :class:`Skipped` - a valid record that is not intel (allowlist entry, STIX relationship, ...).

A file that cannot be read at all raises :class:`ParseError` with a one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

FORMATS = ("auto", "csv", "txt", "json", "jsonl", "stix", "misp")


@dataclass(slots=True)
class ParsedRow:
    """One candidate indicator taken from a feed.

    ``line`` is the 1-based physical line for line formats and the 1-based object/attribute
    index for JSON, STIX and MISP. ``type`` is a TDP type only when the source states it.
    ``fields`` holds optional extras: tags, confidence, first_seen, last_seen, expires_at,
    description.
    """

    line: int
    value: str
    type: str | None = None
    reference: str = ""
    fields: dict = field(default_factory=dict)


@dataclass(slots=True)
class Rejected:
    """A malformed row: counted as rejected, the rest of the file is still parsed."""

    line: int
    reason: str
    raw: str = ""


@dataclass(slots=True)
class Skipped:
    """A well-formed record that is not intel (or uses a construct we do not import)."""

    line: int
    reason: str


class ParseError(Exception):
    """The file cannot be read at all; the message is a one-line reason."""


@dataclass
class ParserOptions:
    """How to read a feed; every field has a sensible automatic default."""

    format: str = "auto"  # auto|csv|txt|json|jsonl|stix|misp
    value_column: str | None = None  # header name or 0-based index as a string
    type_column: str | None = None
    delimiter: str | None = None
    comment_prefix: str = "#"
    has_header: bool | None = None  # None = detect
    json_value_path: str | None = None  # dotted paths, e.g. "ioc" or "attributes.value"
    json_type_path: str | None = None
    json_list_path: str | None = None  # e.g. "data.items" or "deny"
    default_type: str | None = None
    max_bytes: int = 2 * 1024**3  # cap on the (decompressed) size
    max_line_bytes: int = 64 * 1024
    # Extra fields the caller will use (None = all). Ingestion reads only tags, confidence and
    # description, so it skips converting dates it would throw away.
    wanted_fields: frozenset[str] | None = None


# --- column / key vocabulary shared by CSV and generic JSON ------------------------------------

#: Value columns in order of preference. The mapped type (or "ip" = decide by value, or None)
#: is the row type when the column name itself names a type.
VALUE_COLUMNS: dict[str, str | None] = {
    "value": None,
    "indicator": None,
    "ioc": None,
    "ioc_value": None,
    "observable": None,
    "url": "url",
    "domain": "domain",
    "hostname": "domain",
    "host": "domain",
    "ip": "ip",
    "ip_address": "ip",
    "dst_ip": "ip",
    "src_ip": "ip",
    "ipv4": "ip",
    "ipv6": "ip",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha_256": "sha256",
    "hash": None,
    "email": "email",
    "phone": "phone",
    "account": "account",
    "handle": "account",
    "hashtag": "hashtag",
    "wallet": "crypto_wallet",
    "address": None,
}
TYPE_COLUMNS = ("type", "ioc_type", "indicator_type")
TAG_COLUMNS = ("tags", "tag", "labels")
CONFIDENCE_COLUMNS = ("confidence", "confidence_level")
FIRST_SEEN_COLUMNS = ("first_seen", "dateadded", "first_seen_utc", "date_added")
LAST_SEEN_COLUMNS = ("last_seen", "last_online", "last_seen_utc")
DESCRIPTION_COLUMNS = ("description", "comment")
PORT_COLUMNS = ("port", "dst_port")
#: Header words that mark a reference column (e.g. URLhaus ``urlhaus_link``): never the value
#: column while a better one exists.
REFERENCE_WORDS = ("link", "reference")

#: Source vocabulary -> TDP type. "ip" means: decide ipv4 / ipv6 / cidr from the value.
TYPE_VOCAB: dict[str, str] = {
    **dict.fromkeys(
        [
            "ip",
            "ipv4",
            "ipv6",
            "ip-dst",
            "ip-src",
            "ip_dst",
            "ip_src",
            "ip:port",
            "ip_port",
            "ip-port",
            "ipv4-addr",
            "ipv6-addr",
            "ip-dst|port",
            "ip-src|port",
            "ip_address",
            "ipaddress",
            "ipv4_address",
            "ipv6_address",
        ],
        "ip",
    ),
    **dict.fromkeys(["cidr", "ip-range", "netblock", "subnet", "ipv4-net", "ipv6-net"], "cidr"),
    **dict.fromkeys(["url", "uri_full", "url_full", "full_url"], "url"),
    **dict.fromkeys(
        ["domain", "hostname", "fqdn", "host", "domain-name", "domain_name", "hostname|port"],
        "domain",
    ),
    **dict.fromkeys(["md5", "md5_hash", "hash-md5", "md5hash", "filehash-md5", "file_md5"], "md5"),
    **dict.fromkeys(
        ["sha1", "sha1_hash", "hash-sha1", "sha-1", "sha1hash", "filehash-sha1"], "sha1"
    ),
    **dict.fromkeys(
        [
            "sha256",
            "sha256_hash",
            "hash-sha256",
            "sha-256",
            "sha_256",
            "sha256hash",
            "filehash-sha256",
        ],
        "sha256",
    ),
    **dict.fromkeys(
        ["email", "email-src", "email-dst", "email-addr", "email_address", "email-address"], "email"
    ),
    **dict.fromkeys(["phone", "phone-number", "phone_number"], "phone"),
    **dict.fromkeys(
        ["btc", "xmr", "eth", "wallet", "crypto_wallet", "cryptocurrency-wallet"], "crypto_wallet"
    ),
    **dict.fromkeys(["account", "handle", "username"], "account"),
    "pdq": "pdq",
    "hashtag": "hashtag",
    "keyword": "keyword",
}

#: Types detect_type may return that count as real indicators when scoring a column.
STRONG_TYPES = frozenset(
    ("url", "domain", "ipv4", "ipv6", "cidr", "md5", "sha1", "sha256", "pdq", "email")
)


def header_key(name: str) -> str:
    """Canonical form of a column header or JSON key: lower case, ``_`` for spaces/dashes."""
    return name.strip().strip("#").strip().lower().replace(" ", "_").replace("-", "_")


def ip_type(value: str) -> str:
    """ipv4 / ipv6 / cidr for a value known to be an IP address (decided by its shape)."""
    if "/" in value:
        return "cidr"
    return "ipv6" if value.count(":") >= 2 else "ipv4"


def map_type(label: str | None) -> str | None:
    """Map a source's type label (``ip:port``, ``md5_hash``, ``email-src``...) to a TDP type."""
    if not label:
        return None
    return TYPE_VOCAB.get(label.strip().lower())


def resolve_type(mapped: str | None, value: str) -> str | None:
    """Turn a vocabulary result into a concrete type ("ip" becomes ipv4/ipv6/cidr)."""
    if mapped == "ip":
        return ip_type(value)
    return mapped


def split_ip_port(value: str) -> tuple[str, str | None]:
    """Split ``1.2.3.4:443`` / ``[::1]:443`` / ``1.2.3.4|443`` into (ip, port)."""
    if "|" in value:
        ip, _, port = value.partition("|")
        return ip.strip(), port.strip() or None
    if value.startswith("[") and "]" in value:
        ip, _, rest = value[1:].partition("]")
        return ip, rest.lstrip(":") or None
    if value.count(":") == 1:
        ip, _, port = value.partition(":")
        if port.isdigit():
            return ip, port
    return value, None


_NO_TAG = frozenset(("none", "null", "n/a", "-"))


def split_tags(raw: object) -> list[str]:
    """Tags from a comma-separated string or a list; the literal ``None`` means no tags."""
    if isinstance(raw, str):
        if raw.strip().lower() in _NO_TAG:
            return []
        out = raw.split(",")
        if " " in raw:
            out = [t.strip() for t in out]
        if "" not in out and (len(out) == 1 or len(set(out)) == len(out)):
            return out  # fast path: the common clean "a,b,c"
    elif isinstance(raw, list):
        out = [str(t).strip() for t in raw if t is not None]
    else:
        return []
    return [t for t in dict.fromkeys(out) if t and t.lower() not in _NO_TAG]


def to_int(raw: object) -> int | None:
    """An int from a number or numeric string, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    try:
        return int(float(str(raw).strip()))
    except (TypeError, ValueError, OverflowError):
        return None


def to_iso(raw: object) -> str | None:
    """ISO-8601 text for a timestamp string (``2026-03-09 09:28:18``) or epoch number.

    Naive timestamps stay naive (feeds almost always mean UTC; the importer decides).
    Unparseable or empty input gives None.
    """
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if not (text.isdigit() and len(text) >= 9):
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            if len(text) == 19 and text[10] == " ":  # fast path for "YYYY-MM-DD HH:MM:SS"
                return f"{text[:10]}T{text[11:]}"
            return parsed.isoformat()
        raw = int(text)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(float(raw), tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None
