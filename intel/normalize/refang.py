"""The first step for every value: undo defanging, trim, and the limits all types share.

Every value (except ``keyword``, which is taken literally) is refanged, then trimmed of
whitespace, quotes and angle brackets. Empty values, control characters and values longer than
2048 characters (``MAX_LENGTH``) are rejected: the de facto limit of URLs in the wild, and what
keeps every canonical value within PostgreSQL's B-tree key limit (~2,700 bytes), so one
over-long value can never fail a whole import.
"""

from __future__ import annotations

import re

from intel.normalize.errors import NormalizationError

MAX_LENGTH = 2048
"""Longest value accepted, in characters (the canonical URL, in UTF-8 bytes)."""

_REFANG_HINT = re.compile(r"[\[({\\]|[hf]xx?ps?[\[({]?:", re.I)
_REFANG_RE = re.compile(
    r"""
      \b(?P<scheme>hxxps?|fxps?)(?=[\[({]?:)
    | [ \t]?[\[({][ \t]?(?P<dot>\.|dot)[ \t]?[\])}][ \t]?
    | [ \t]?[\[({][ \t]?(?P<at>at|@)[ \t]?[\])}][ \t]?
    | [\[({](?P<sep>://|:|//|/)[\])}]
    | \\(?P<bsdot>\.)
    """,
    re.I | re.X,
)
_SCHEME_FANGS = {"hxxp": "http", "hxxps": "https", "fxp": "ftp", "fxps": "ftps"}


def _refang_repl(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "scheme":
        return _SCHEME_FANGS[m.group("scheme").lower()]
    if kind == "dot" or kind == "bsdot":
        return "."
    if kind == "at":
        return "@"
    return m.group("sep")


# Whitespace of every kind, invisible characters that ride along in copy-paste, quotes and
# angle brackets: trimmed from both ends of a value.
_TRIM = (
    "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
    + "\u200b\u200c\u200d\u2060\ufeff"
    + "\"'`<>\u2018\u2019\u201c\u201d\u00ab\u00bb"
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def refang(text: str) -> str:
    """Undo common defanging and trim surrounding whitespace, quotes and angle brackets.

    ``hxxp``/``hXXps``/``fxp`` schemes (only when followed by ``:``), ``[.]`` ``(.)`` ``{.}``
    ``[dot]`` ``(dot)`` (bracketed forms only, so prose "dot" is untouched), ``[:]``
    ``[://]`` ``[/]``, ``[at]`` ``(at)`` ``[@]`` and ``\\.`` become their plain characters.
    Works on a single value or on running text.
    """
    if _REFANG_HINT.search(text):
        text = _REFANG_RE.sub(_refang_repl, text)
    return text.strip(_TRIM)


def _prepare(value: str) -> str:
    if not isinstance(value, str):
        raise NormalizationError(f"value must be a string, got {type(value).__name__}")
    if len(value) > MAX_LENGTH:
        raise NormalizationError(f"value longer than {MAX_LENGTH} characters")
    head = value[:16].lower()
    if (
        "[" in value
        or "(" in value
        or "{" in value
        or "\\" in value
        or "xxp" in head
        or "fxp" in head
    ):
        value = _REFANG_RE.sub(_refang_repl, value)
    v = value.strip(_TRIM)
    if not v:
        raise NormalizationError("empty value")
    if not v.isprintable():
        bad = _CONTROL_RE.search(v)
        if bad is not None:
            raise NormalizationError(f"value contains a control character (U+{ord(bad[0]):04X})")
    return v
