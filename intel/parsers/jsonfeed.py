"""Generic JSON and JSON-lines feed parsers.

A JSON document is read whole (up to :data:`JSON_CAP`), then:

* a list of strings -> one row per string;
* a list of objects -> the value comes from ``json_value_path`` or the first key named like a
  CSV value column (``value``, ``indicator``, ``ioc``, ``url``, ``domain``, ``ip`` ...);
* an object whose values are lists (polkadot ``all.json`` ``{"allow": [...], "deny": [...]}``)
  -> every list is read, except allowlist keys (``allow``, ``allowlist``, ``whitelist``...),
  whose entries are Skipped; a label key (polkadot ``address.json``) goes to
  ``fields["description"]``;
* a MISP warning list (``{"list": [...], "matching_attributes": [...]}``) -> its ``list``.

``json_list_path`` (dotted, e.g. ``data.items`` or ``deny``) selects the list explicitly.
JSON lines: one object or string per line; a bad line is Rejected with its line number; STIX
objects and MISP events found on a line are handed to those parsers. Nesting bombs become
ParseError("JSON nesting too deep") (or a Rejected line) instead of a RecursionError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .base import (
    CONFIDENCE_COLUMNS,
    DESCRIPTION_COLUMNS,
    FIRST_SEEN_COLUMNS,
    LAST_SEEN_COLUMNS,
    TAG_COLUMNS,
    TYPE_COLUMNS,
    VALUE_COLUMNS,
    ParsedRow,
    ParseError,
    ParserOptions,
    Rejected,
    Skipped,
    header_key,
    map_type,
    resolve_type,
    split_ip_port,
    split_tags,
    to_int,
    to_iso,
)
from .detect import RAW_PREVIEW, Input, iter_line_batches

JSON_CAP = 256 * 1024 * 1024
ALLOW_KEYS = frozenset(("allow", "allowlist", "allowed", "whitelist", "safelist", "exclude"))
#: Keys that just name "the list" and carry no description of their entries.
LIST_KEYS = frozenset(
    [
        "deny",
        "denylist",
        "denysub",
        "blocklist",
        "blacklist",
        "block",
        "list",
        "data",
        "items",
        "results",
        "indicators",
        "iocs",
        "entries",
        "values",
        "urls",
        "domains",
        "ips",
        "hashes",
        "objects",
    ]
)
Item = ParsedRow | Rejected | Skipped


class ConcatenatedJSON(ParseError):
    """Several JSON values one after another (really JSON lines); keeps the bytes read."""

    def __init__(self, data: bytes) -> None:
        super().__init__("invalid JSON: several JSON values in one file; use format=jsonl")
        self.data = data


def loads(text: str | bytes) -> object:
    """json.loads that turns nesting bombs and syntax errors into ParseError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError("JSON nesting too deep") from None
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def load_document(inp: Input, opts: ParserOptions) -> object:
    """Read and decode the whole JSON document (capped at JSON_CAP / max_bytes)."""
    data = inp.read_all(min(JSON_CAP, opts.max_bytes))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"invalid UTF-8 in JSON document at byte {exc.start}") from None
    try:
        return loads(text)
    except ParseError as exc:
        if "Extra data" in str(exc):
            raise ConcatenatedJSON(data) from None
        raise


def get_path(obj: object, path: str | None) -> object:
    """Follow a dotted path (``data.items``; list indexes as numbers) or return None."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _find_key(keymap: dict[str, str], names: tuple[str, ...] | dict) -> str | None:
    for name in names:
        if name in keymap:
            return keymap[name]
    return None


def object_row(
    index: int, obj: dict, opts: ParserOptions, ref: str, extra: dict | None = None
) -> Item:
    """One ParsedRow (or Rejected) for a JSON object that describes an indicator."""
    keymap = {header_key(k): k for k in obj if isinstance(k, str)}
    name_type = None
    if opts.json_value_path:
        value = get_path(obj, opts.json_value_path)
    else:
        key = _find_key(keymap, VALUE_COLUMNS)
        if key is None:
            return Rejected(index, "no value field in object", json.dumps(obj)[:RAW_PREVIEW])
        value, name_type = obj[key], VALUE_COLUMNS[header_key(key)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return Rejected(index, "value is missing or not a string", json.dumps(obj)[:RAW_PREVIEW])
    value = value.strip()
    fields = dict(extra or {})
    if opts.json_type_path:
        label = get_path(obj, opts.json_type_path)
    else:
        type_key = _find_key(keymap, TYPE_COLUMNS)
        label = obj[type_key] if type_key else None
    mapped = map_type(label) if isinstance(label, str) else None
    if mapped == "ip" and ("port" in label.lower() or "|" in value):
        value, port = split_ip_port(value)
        if port:
            fields["port"] = port
    row_type = resolve_type(mapped or name_type, value) or opts.default_type
    for names, target, conv in (
        (TAG_COLUMNS, "tags", split_tags),
        (CONFIDENCE_COLUMNS, "confidence", to_int),
        (FIRST_SEEN_COLUMNS, "first_seen", to_iso),
        (LAST_SEEN_COLUMNS, "last_seen", to_iso),
        (DESCRIPTION_COLUMNS, "description", lambda v: v if isinstance(v, str) and v else None),
    ):
        key = _find_key(keymap, names)
        if key is not None:
            converted = conv(obj[key])
            if converted or converted == 0:
                fields[target] = converted
    return ParsedRow(index, value, row_type, ref, fields)


def element_items(
    index: int, element: object, opts: ParserOptions, extra: dict | None = None
) -> Iterator[Item]:
    """Rows for one element of a JSON list (or one JSON-lines value)."""
    ref = f"item {index}"
    if isinstance(element, str):
        if element.strip():
            yield ParsedRow(index, element.strip(), opts.default_type, ref, dict(extra or {}))
        else:
            yield Rejected(index, "empty value")
    elif isinstance(element, int | float) and not isinstance(element, bool):
        yield ParsedRow(index, str(element), opts.default_type, ref, dict(extra or {}))
    elif isinstance(element, dict):
        yield object_row(index, element, opts, ref, extra)
    else:
        yield Rejected(
            index, f"unexpected JSON {type(element).__name__}", str(element)[:RAW_PREVIEW]
        )


def _is_warninglist(obj: dict) -> bool:
    return isinstance(obj.get("list"), list) and "matching_attributes" in obj


def iter_generic(doc: object, opts: ParserOptions) -> Iterator[Item]:
    """Rows for a generic (non-STIX, non-MISP) JSON document."""
    if opts.json_list_path:
        target = get_path(doc, opts.json_list_path)
        if target is None:
            raise ParseError(f"json_list_path {opts.json_list_path!r} not found in the document")
        if isinstance(target, dict):
            yield from _iter_dict_of_lists(target, opts, honour_allow=False)
            return
        if not isinstance(target, list):
            raise ParseError(f"json_list_path {opts.json_list_path!r} is not a list")
        doc = target
    if isinstance(doc, list):
        for index, element in enumerate(doc, 1):
            yield from element_items(index, element, opts)
    elif isinstance(doc, dict):
        if _is_warninglist(doc):
            extra = {"description": doc["name"]} if isinstance(doc.get("name"), str) else {}
            for index, element in enumerate(doc["list"], 1):
                yield from element_items(index, element, opts, extra)
        elif any(isinstance(v, list) for v in doc.values()):
            yield from _iter_dict_of_lists(doc, opts, honour_allow=True)
        elif opts.json_value_path or any(header_key(k) in VALUE_COLUMNS for k in doc):
            yield object_row(1, doc, opts, "item 1")
        else:
            raise ParseError("no list of indicators found in the JSON document; set json_list_path")
    else:
        raise ParseError("JSON document is a bare value, not a list or object")


def _iter_dict_of_lists(doc: dict, opts: ParserOptions, honour_allow: bool) -> Iterator[Item]:
    index = 0
    for key, values in doc.items():
        if not isinstance(values, list):
            continue
        lowered = key.lower()
        if honour_allow and lowered in ALLOW_KEYS:
            for _ in values:
                index += 1
                yield Skipped(index, f"allowlist entry (key {key!r})")
            continue
        extra = {} if lowered in LIST_KEYS else {"description": key}
        for element in values:
            index += 1
            yield from element_items(index, element, opts, extra)


def parse_jsonl(inp: Input, opts: ParserOptions) -> Iterator[Item]:
    """JSON lines: one value per line, streamed; STIX objects / MISP events are recognised."""
    from .misp import iter_misp_events
    from .stix import is_stix_object, stix_object_items

    for start, items in iter_line_batches(inp.chunks(), opts.max_line_bytes):
        n = start - 1
        for item in items:
            n += 1
            if item.__class__ is not str:
                yield item
                continue
            line = item.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except RecursionError:
                yield Rejected(n, "JSON nesting too deep", line[:RAW_PREVIEW])
                continue
            except ValueError as exc:
                yield Rejected(n, f"invalid JSON: {getattr(exc, 'msg', exc)}", line[:RAW_PREVIEW])
                continue
            if isinstance(value, dict) and is_stix_object(value):
                yield from stix_object_items(value, n)
            elif isinstance(value, dict) and isinstance(value.get("Event"), dict):
                yield from iter_misp_events([value["Event"]], fixed_line=n)
            elif isinstance(value, list):
                yield Rejected(n, "expected an object or a string, got a list", line[:RAW_PREVIEW])
            else:
                for row in element_items(n, value, opts):
                    if isinstance(row, ParsedRow):
                        row.reference = f"line {n}"
                    yield row
