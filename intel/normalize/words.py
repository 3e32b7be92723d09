"""Indicators that are words rather than addresses: ``hashtag`` and ``keyword``.

hashtag
    ``#tag``, NFC then casefolded; letters (any script), marks, digits, ``_`` and the
    zero-width (non-)joiner; at least one letter; at most 139 characters after ``#``.
keyword
    Only when asked for explicitly. NFC, casefolded, whitespace collapsed, 1-200 characters.
    Not refanged and quotes are not stripped: a keyword is matched literally.
"""

from __future__ import annotations

import re
import unicodedata

from intel.normalize.errors import NormalizationError
from intel.normalize.refang import _CONTROL_RE

_ASCII_TAG_RE = re.compile(r"[A-Za-z0-9_]+")


def _has_letter(s: str) -> bool:
    return any(c.isalpha() for c in s)


def _valid_tag_body(body: str) -> bool:
    if body.isascii():
        return bool(_ASCII_TAG_RE.fullmatch(body)) and _has_letter(body)
    return all(_tag_char_ok(c) for c in body) and _has_letter(body)


def _tag_char_ok(c: str) -> bool:
    """Letters and digits of any script, '_', combining marks and the zero-width (non-)joiner."""
    return c.isalnum() or c == "_" or c in "\u200c\u200d" or unicodedata.category(c)[0] == "M"


def _norm_hashtag(v: str) -> str:
    body = v[1:] if v.startswith("#") else v
    if not body:
        raise NormalizationError("a hashtag needs text after the '#'")
    body = unicodedata.normalize("NFC", body).casefold()
    if len(body) > 139:
        raise NormalizationError("a hashtag is at most 139 characters after the '#'")
    if not _valid_tag_body(body):
        raise NormalizationError(
            "a hashtag is letters, digits, marks and '_' after the '#', with at least one letter"
        )
    return "#" + body


def _norm_keyword(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise NormalizationError("empty value")
    if _CONTROL_RE.search(text):
        raise NormalizationError("value contains control characters")
    text = unicodedata.normalize("NFC", text).casefold()
    if len(text) > 200:
        raise NormalizationError(f"a keyword is at most 200 characters, got {len(text)}")
    return text
