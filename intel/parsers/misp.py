"""MISP event parser (``{"Event": {...}}``, a bare event, a list of them, or a REST response).

Every attribute of ``Event.Attribute[]`` and ``Event.Object[].Attribute[]`` is one numbered
item (1-based, across all events of the document). ``to_ids: false`` -> Skipped("to_ids is
false"); a missing ``to_ids`` counts as true (some producers omit it). Supported types:

* ``ip-dst`` / ``ip-src`` -> ipv4 / ipv6 / cidr (by value); ``ip-dst|port`` -> the IP part;
* ``domain`` / ``hostname`` (and ``hostname|port``) -> domain; ``domain|ip`` -> both;
* ``url`` -> url (``link`` is a reference, not intel);
* ``md5`` / ``sha1`` / ``sha256`` and ``filename|<hash>`` -> the hash; ``malware-sample``
  (``filename|md5``) -> md5;
* ``email`` / ``email-src`` / ``email-dst`` / ``email-reply-to`` -> email;
* ``btc`` / ``xmr`` / ``dash`` -> crypto_wallet; ``phone-number`` -> phone.

Everything else (``text``, ``comment``, ``link``, ``ssdeep``, ``regkey``, ``float``, ``port``,
``attachment``, ``filename``...) is Skipped("unsupported MISP type: X"). Event and attribute
tags go to ``fields["tags"]``, ``Event.info`` to ``fields["description"]``; the reference is
the attribute uuid. A feed manifest (``manifest.json``) is recognised: use
:func:`parse_misp_manifest` to list its event uuids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .base import ParsedRow, ParseError, Rejected, Skipped, ip_type, split_ip_port, to_iso
from .tlp import tlp_from_tags

_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
SIMPLE_TYPES = {
    "ip-dst": "ip",
    "ip-src": "ip",
    "domain": "domain",
    "hostname": "domain",
    "url": "url",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "email": "email",
    "email-src": "email",
    "email-dst": "email",
    "email-reply-to": "email",
    "btc": "crypto_wallet",
    "xmr": "crypto_wallet",
    "dash": "crypto_wallet",
    "phone-number": "phone",
}
#: composite type -> types of its ``|``-separated parts (None = not imported)
COMPOSITE_TYPES = {
    "ip-dst|port": ("ip", None),
    "ip-src|port": ("ip", None),
    "hostname|port": ("domain", None),
    "domain|ip": ("domain", "ip"),
    "filename|md5": (None, "md5"),
    "filename|sha1": (None, "sha1"),
    "filename|sha256": (None, "sha256"),
    "malware-sample": (None, "md5"),
}
Item = ParsedRow | Rejected | Skipped


def _tag_names(container: dict, list_key: str, wrapped_key: str) -> list[str]:
    names = []
    for tag in container.get(list_key) or []:
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    for wrapper in container.get(wrapped_key) or []:
        tag = wrapper.get("Tag") if isinstance(wrapper, dict) else None
        if isinstance(tag, dict) and isinstance(tag.get("name"), str):
            names.append(tag["name"])
    return names


def _truthy(flag: object) -> bool:
    if isinstance(flag, str):
        return flag.strip().lower() in ("1", "true", "yes")
    return bool(flag)


def is_misp_manifest(doc: object) -> bool:
    """A MISP feed ``manifest.json``: event uuid -> summary object."""
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(_UUID_RE.match(str(k)) and isinstance(v, dict) for k, v in doc.items())
    )


def parse_misp_manifest(obj: object) -> list[str]:
    """Event uuids listed in a MISP feed manifest (``{uuid: {"info": ..., ...}, ...}``)."""
    if not is_misp_manifest(obj):
        raise ParseError("not a MISP feed manifest (expected an object keyed by event uuid)")
    return [str(k) for k in obj]


def is_misp_document(doc: object) -> bool:
    """Does this parsed JSON look like MISP (event, event list, REST response or manifest)?"""
    if isinstance(doc, list):
        return bool(doc) and all(isinstance(d, dict) and "Event" in d for d in doc[:5])
    if not isinstance(doc, dict):
        return False
    return (
        isinstance(doc.get("Event"), dict)
        or isinstance(doc.get("response"), list)
        or ("Attribute" in doc and ("info" in doc or "uuid" in doc))
        or is_misp_manifest(doc)
    )


def extract_events(doc: object) -> list[dict]:
    """The event dicts in a MISP document; ParseError for a manifest or non-MISP JSON."""
    items = doc.get("response") if isinstance(doc, dict) and "response" in doc else doc
    if isinstance(items, dict) and is_misp_manifest(items):
        raise ParseError(
            f"this is a MISP feed manifest listing {len(items)} events; "
            "import the event files it lists, not the manifest"
        )
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ParseError("no MISP event found")
    events = []
    for item in items:
        event = item.get("Event", item) if isinstance(item, dict) else None
        if isinstance(event, dict) and (
            "Attribute" in event or "Object" in event or "info" in event
        ):
            events.append(event)
    if not events:
        raise ParseError('no MISP event found (expected {"Event": {...}})')
    return events


def _attributes(event: dict) -> Iterator[dict | None]:
    for attr in event.get("Attribute") or []:
        yield attr if isinstance(attr, dict) else None
    for obj in event.get("Object") or []:
        if not isinstance(obj, dict):
            yield None
            continue
        for attr in obj.get("Attribute") or []:
            yield attr if isinstance(attr, dict) else None


def _values(misp_type: str, value: str) -> list[tuple[str, str]] | str:
    """(type, value) pairs for an attribute, or a reason string when it is not imported."""
    if misp_type in SIMPLE_TYPES:
        mapped = SIMPLE_TYPES[misp_type]
        return [(ip_type(value) if mapped == "ip" else mapped, value)]
    if misp_type in COMPOSITE_TYPES:
        parts = value.split("|")
        if len(parts) != 2:
            ip, port = split_ip_port(value)
            if COMPOSITE_TYPES[misp_type][0] != "ip" or not port:
                return f"malformed {misp_type} value"
            parts = [ip, port]
        out = []
        for part_type, part in zip(COMPOSITE_TYPES[misp_type], parts, strict=True):
            part = part.strip()
            if part_type and part:
                out.append((ip_type(part) if part_type == "ip" else part_type, part))
        return out or f"empty {misp_type} value"
    return f"unsupported MISP type: {misp_type}"


def iter_misp_events(events: list[dict], fixed_line: int | None = None) -> Iterator[Item]:
    """Rows for MISP events; items are numbered across events unless ``fixed_line`` is given."""
    index = 0
    for event in events:
        event_tags = _tag_names(event, "Tag", "EventTag")
        info = event.get("info") if isinstance(event.get("info"), str) else ""
        event_uuid = str(event.get("uuid") or "")
        for attr in _attributes(event):
            index += 1
            line = fixed_line or index
            if attr is None:
                yield Rejected(line, "MISP attribute is not an object")
                continue
            misp_type, value = attr.get("type"), attr.get("value")
            if not isinstance(misp_type, str) or not isinstance(value, str) or not value.strip():
                yield Rejected(line, "MISP attribute without type or value", str(value)[:200])
                continue
            if _truthy(attr.get("deleted")):
                yield Skipped(line, "deleted attribute")
                continue
            if "to_ids" in attr and not _truthy(attr["to_ids"]):
                yield Skipped(line, "to_ids is false")
                continue
            pairs = _values(misp_type, value.strip())
            if isinstance(pairs, str):
                yield (Rejected if pairs.startswith(("malformed", "empty")) else Skipped)(
                    line, pairs
                )
                continue
            fields: dict = {}
            tags = list(dict.fromkeys([*event_tags, *_tag_names(attr, "Tag", "AttributeTag")]))
            if tags:
                fields["tags"] = tags
                tlp = tlp_from_tags(tags)
                if tlp:
                    fields["tlp"] = tlp
            if info:
                fields["description"] = info
            for key in ("first_seen", "last_seen"):
                stamp = to_iso(attr.get(key))
                if stamp:
                    fields[key] = stamp
            comment = attr.get("comment")
            if isinstance(comment, str) and comment.strip():
                fields["comment"] = comment.strip()
            if event_uuid:
                fields["event_uuid"] = event_uuid
            ref = str(attr.get("uuid") or f"attribute {attr.get('id', index)}")
            for row_type, row_value in pairs:
                yield ParsedRow(line, row_value, row_type, ref, dict(fields))


def iter_misp(doc: object) -> Iterator[Item]:
    """Rows for a whole MISP JSON document."""
    yield from iter_misp_events(extract_events(doc))
