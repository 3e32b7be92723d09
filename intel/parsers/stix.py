"""STIX 2.x parser: indicator objects and a small, safe patterning-language parser.

Input: a bundle (``{"type": "bundle", "objects": [...]}``), a TAXII envelope
(``{"objects": [...]}``), a plain list of objects or a single object. Only ``indicator``
objects with ``pattern_type`` stix (or none) yield rows; every other object is Skipped
("not an indicator: <type>"), as are revoked indicators and other pattern types.

Patterns are tokenised by hand (no eval, no backtracking regex). Each supported ``=``
comparison yields one row:

=====================================  ==============================
``url:value``                          url
``domain-name:value``                  domain
``ipv4-addr:value`` / ``ipv6-addr``    ipv4 / ipv6 (cidr if it has ``/``)
``email-addr:value``                   email (also email-message from_ref/sender_ref)
``file:hashes.MD5|'SHA-1'|'SHA-256'``  md5 / sha1 / sha256 (key case-insensitive)
=====================================  ==============================

Policy: an OR keeps the supported comparisons (each term alone matches the indicator) and
reports the rest in one Skipped; an AND / FOLLOWEDBY is imported only when every term is
supported, otherwise the whole indicator is Skipped (importing half of a conjunction would
flag far more than the producer meant). Other operators (``!=``, ``MATCHES``, ``LIKE``, ``IN``,
``>`` ...), negation, ``WITHIN`` / ``REPEATS`` qualifiers and unsupported paths (``file:name``,
``x509-certificate:hashes`` - a certificate fingerprint is not a file hash) are unsupported.
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import ParsedRow, ParseError, Rejected, Skipped, split_tags, to_int, to_iso
from .tlp import tlp_from_marking_refs

MAX_PATTERN_CHARS = 64 * 1024
MAX_NESTING = 64
_HASH_TYPES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256"}
_VALUE_TYPES = {"url": "url", "domain-name": "domain", "email-addr": "email"}
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_KEYWORD_OPS = frozenset(("IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"))


class PatternError(ValueError):
    """The pattern is not valid STIX patterning (or too large/deep for us)."""


# --- tokenizer -----------------------------------------------------------------------------------


def _string(p: str, i: int) -> tuple[str, int]:
    """Read a quoted string starting at p[i] == "'"; ``\\'`` and ``\\\\`` are escapes."""
    out, i, n = [], i + 1, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                break
            out.append(p[i + 1])
            i += 2
        elif c == "'":
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise PatternError("unterminated string")


def _path(p: str, i: int, obj_type: str) -> tuple[tuple[str, tuple[str, ...]], int]:
    """Read the property part of ``type:prop.'quoted'[*].x`` starting at p[i] (after ':')."""
    props: list[str] = []
    n = len(p)
    while True:
        if i < n and p[i] == "'":
            name, i = _string(p, i)
        else:
            j = i
            while j < n and (p[j].isalnum() or p[j] in "_-"):
                j += 1
            if j == i:
                raise PatternError(f"bad object path at offset {i}")
            name, i = p[i:j], j
        props.append(name)
        while i < n and p[i] == "[":
            close = p.find("]", i)
            index = p[i + 1 : close] if close > 0 else ""
            if index != "*" and not index.isdigit():
                raise PatternError(f"bad list index at offset {i}")
            props.append(f"[{index}]")
            i = close + 1
        if i < n and p[i] == ".":
            i += 1
            continue
        return (obj_type.lower(), tuple(props)), i


def tokenize(p: str) -> list[tuple[str, object]]:
    """Split a pattern into tokens.

    Kinds: ``[ ] ( ) ,``, ("op", op), ("str", s), ("lit", s), ("num", s), ("kw", WORD) and
    ("path", (object_type, props)).
    """
    tokens: list[tuple[str, object]] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c.isspace():
            i += 1
        elif c in "[](),":
            tokens.append((c, c))
            i += 1
        elif c == "'":
            s, i = _string(p, i)
            tokens.append(("str", s))
        elif c in "=!<>":
            op = next((o for o in _OPERATORS if p.startswith(o, i)), None)
            if op is None:
                raise PatternError(f"unexpected {c!r} at offset {i}")
            tokens.append(("op", op))
            i += len(op)
        elif c in _WORD_CHARS:
            j = i
            while j < n and p[j] in _WORD_CHARS:
                j += 1
            word = p[i:j]
            if j < n and p[j] == ":" and word[0].isalpha():
                path, i = _path(p, j + 1, word)
                tokens.append(("path", path))
            elif j < n and p[j] == "'" and word in ("t", "h", "b"):
                s, i = _string(p, j)
                tokens.append(("lit", s))
            else:
                kind = "num" if word[0].isdigit() or word[0] == "-" else "kw"
                tokens.append((kind, word.upper() if kind == "kw" else word))
                i = j
        else:
            raise PatternError(f"unexpected {c!r} at offset {i}")
    return tokens


# --- parser: builds ("cmp", path, op, value, negated) / ("and"|"or", [..]) / ("obs", node, quals)


class _Parser:
    """Recursive-descent parser over the tokens (depth-limited; nothing is ever evaluated).

    seq := or (FOLLOWEDBY or)*;  or := and (OR and)*;  and := unit (AND unit)*
    unit := ('[' cmp_or ']' | '(' seq ')') (WITHIN n SECONDS | REPEATS n TIMES | START t STOP t)*
    cmp_or := cmp_and (OR cmp_and)*;  cmp_and := cmp (AND cmp)*
    cmp := '(' cmp_or ')' | path [NOT] op value
    """

    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, object]:
        return self.t[self.i] if self.i < len(self.t) else ("eof", None)

    def take(self, kind: str, value: object = None) -> object:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise PatternError(f"expected {value or kind}, found {tok[1] or 'end of pattern'}")
        self.i += 1
        return tok[1]

    def at_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok[0] == "kw" and tok[1] in words

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise PatternError("pattern nested too deeply")

    def binary(self, sub, word: str, kind: str) -> tuple:
        items = [sub()]
        while self.at_kw(word):
            self.i += 1
            items.append(sub())
        return items[0] if len(items) == 1 else (kind, items)

    def obs_seq(self) -> tuple:
        return self.binary(self.obs_or, "FOLLOWEDBY", "and")

    def obs_or(self) -> tuple:
        return self.binary(self.obs_and, "OR", "or")

    def obs_and(self) -> tuple:
        return self.binary(self.obs_unit, "AND", "and")

    def obs_unit(self) -> tuple:
        self._enter()
        if self.peek()[0] == "(":
            self.i += 1
            node = self.obs_seq()
            self.take(")")
        else:
            self.take("[")
            node = self.cmp_or()
            self.take("]")
        quals = []
        while self.at_kw("WITHIN", "REPEATS", "START"):
            word = self.take("kw")
            quals.append(word)
            if word == "START":
                self.take("lit")
                self.take("kw", "STOP")
                self.take("lit")
            else:
                self.take("num")
                self.take("kw")
        self.depth -= 1
        return ("obs", node, quals)

    def cmp_or(self) -> tuple:
        return self.binary(self.cmp_and, "OR", "or")

    def cmp_and(self) -> tuple:
        return self.binary(self.cmp_unit, "AND", "and")

    def cmp_unit(self) -> tuple:
        if self.peek()[0] == "(":
            self._enter()
            self.i += 1
            node = self.cmp_or()
            self.take(")")
            self.depth -= 1
            return node
        path = self.take("path")
        negated = self.at_kw("NOT")
        if negated:
            self.i += 1
        kind, op = self.peek()
        if kind == "op" or (kind == "kw" and op in _KEYWORD_OPS):
            self.i += 1
        else:
            raise PatternError(f"expected a comparison operator, found {op or 'end of pattern'}")
        return ("cmp", path, op, self.value(), negated)

    def value(self) -> object:
        kind, val = self.peek()
        if kind == "(":
            self.i += 1
            values = [self.value()]
            while self.peek()[0] == ",":
                self.i += 1
                values.append(self.value())
            self.take(")")
            return tuple(values)
        if kind in ("str", "num", "lit") or (kind == "kw" and val in ("TRUE", "FALSE")):
            self.i += 1
            return val if kind == "str" else ("literal", val)
        raise PatternError(f"expected a value, found {val or 'end of pattern'}")


def parse_pattern(pattern: str) -> tuple:
    """Parse a STIX pattern into a small tree; raises PatternError if it is not valid."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError("pattern too long")
    parser = _Parser(tokenize(pattern))
    tree = parser.obs_seq()
    if parser.peek()[0] != "eof":
        raise PatternError(f"unexpected {parser.peek()[1]!r} after the pattern")
    return tree


def _path_text(path: tuple[str, tuple[str, ...]]) -> str:
    obj_type, props = path
    shown = [
        f"'{p}'" if not (p.replace("_", "").isalnum() or p.startswith("[")) else p for p in props
    ]
    return f"{obj_type}:" + ".".join(shown).replace(".[", "[")


def map_path(path: tuple[str, tuple[str, ...]], value: str) -> str | None:
    """TDP type for an object path (given the compared value), or None if unsupported."""
    obj_type, props = path
    lowered = tuple(p.lower() for p in props)
    if lowered == ("value",):
        if obj_type in ("ipv4-addr", "ipv6-addr"):
            return "cidr" if "/" in value else obj_type[:4]
        return _VALUE_TYPES.get(obj_type)
    if obj_type == "file" and len(props) == 2 and lowered[0] == "hashes":
        return _HASH_TYPES.get(props[1].upper().replace("-", "").replace("_", ""))
    if obj_type == "email-message" and lowered in (("from_ref", "value"), ("sender_ref", "value")):
        return "email"
    return None


def evaluate(node: tuple) -> tuple[list[tuple[str, str]], list[str], bool]:
    """(rows as (type, value), reasons for what was not imported, fully supported?)."""
    kind = node[0]
    if kind == "obs":
        _, inner, quals = node
        bad = [q for q in quals if q != "START"]
        if bad:
            return [], [f"{bad[0]} qualifier not supported"], False
        return evaluate(inner)
    if kind == "cmp":
        _, path, op, value, negated = node
        where = _path_text(path)
        if negated or op != "=":
            return [], [f"operator {'NOT ' if negated else ''}{op} on {where}"], False
        if not isinstance(value, str):
            return [], [f"non-string value for {where}"], False
        mapped = map_path(path, value)
        if mapped is None:
            if path[0] == "x509-certificate":
                return [], [f"unsupported path {where} (certificate, not a file hash)"], False
            return [], [f"unsupported path {where}"], False
        return [(mapped, value)], [], True
    results = [evaluate(child) for child in node[1]]
    reasons = [r for res in results for r in res[1]]
    complete = all(res[2] for res in results)
    if kind == "and" and not complete:
        return [], [f"AND with unsupported terms: {'; '.join(reasons[:3])}"], False
    return [row for res in results for row in res[0]], reasons, complete


# --- objects -------------------------------------------------------------------------------------


def is_stix_object(obj: dict) -> bool:
    """Does this dict look like a STIX object (``type`` plus an ``id`` of the form type--uuid)?"""
    return isinstance(obj.get("type"), str) and "--" in str(obj.get("id", ""))


def extract_objects(doc: object) -> list:
    """The object list of a bundle / TAXII envelope / plain list / single object."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if isinstance(doc.get("objects"), list):
            return doc["objects"]
        if doc.get("type") == "bundle":
            return []
        if isinstance(doc.get("type"), str):
            return [doc]
    raise ParseError("no STIX objects found (expected a bundle or a list of objects)")


def _fields(obj: dict) -> dict:
    fields: dict = {}
    tlp = tlp_from_marking_refs(obj.get("object_marking_refs"))
    if tlp:
        fields["tlp"] = tlp
    confidence = to_int(obj.get("confidence"))
    if confidence is not None:
        fields["confidence"] = confidence
    tags = split_tags(obj.get("labels"))
    if tags:
        fields["tags"] = tags
    for key, target in (("valid_from", "first_seen"), ("valid_until", "expires_at")):
        stamp = to_iso(obj.get(key))
        if stamp:
            fields[target] = stamp
    description = obj.get("name") or obj.get("description")
    if isinstance(description, str) and description:
        fields["description"] = description
    return fields


def stix_object_items(obj: object, index: int) -> Iterator[ParsedRow | Rejected | Skipped]:
    """Rows / Skipped / Rejected for one STIX object at 1-based position ``index``."""
    if not isinstance(obj, dict):
        yield Rejected(index, "STIX object is not a JSON object", str(obj)[:200])
        return
    obj_type = obj.get("type")
    if not isinstance(obj_type, str) or not obj_type:
        yield Rejected(index, "STIX object has no type", str(obj.get("id", ""))[:200])
        return
    if obj_type != "indicator":
        yield Skipped(index, f"not an indicator: {obj_type}")
        return
    ref = str(obj.get("id") or f"object {index}")
    if obj.get("revoked") is True:
        yield Skipped(index, "revoked indicator")
        return
    pattern_type = obj.get("pattern_type") or "stix"
    if str(pattern_type).lower() != "stix":
        yield Skipped(index, f"unsupported pattern_type: {pattern_type}")
        return
    pattern = obj.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        yield Skipped(index, "indicator has no pattern")
        return
    try:
        rows, reasons, _ = evaluate(parse_pattern(pattern))
    except PatternError as exc:
        yield Skipped(index, f"unparseable pattern: {exc}")
        return
    fields = _fields(obj)
    seen: set[tuple[str, str]] = set()
    for row_type, value in rows:
        if (row_type, value) not in seen:
            seen.add((row_type, value))
            yield ParsedRow(index, value, row_type, ref, dict(fields))
    if reasons:
        prefix = "partly imported, skipped: " if rows else ""
        yield Skipped(index, prefix + "; ".join(reasons[:5]))


def iter_stix(doc: object) -> Iterator[ParsedRow | Rejected | Skipped]:
    """Rows for a whole STIX document (bundle, envelope or list)."""
    for index, obj in enumerate(extract_objects(doc), 1):
        yield from stix_object_items(obj, index)
