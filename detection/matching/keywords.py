"""Keyword indicators: whole words and phrases in an event's text, any case, any script.

Keywords are stored as intel normalises them (NFC, case-folded, whitespace collapsed to one
space) in one Aho-Corasick automaton (pyahocorasick, C), so the text is scanned once however
many keywords there are. The text is folded the same way (:func:`fold`), keeping a map from
folded offsets back to the original for highlighting; plain ASCII or already-NFC text whose
case folding keeps its length (nearly every post) needs no map.

A hit counts only at word boundaries: the character before (after) the match must not
continue the word, i.e. it is not alphanumeric (``str.isalnum``, any script) and not a
combining mark, when the keyword's own first (last) character is alphanumeric. So
``free robux`` matches ``FREE Robux!!`` and ``free   robux``, not ``freerobuxx``; ``c++``
needs a boundary only before the ``c``. Scripts written without spaces between words (Chinese,
Japanese kana, Thai, Lao, Khmer, Myanmar) need no boundary next to their characters.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import ahocorasick

from detection.matching.refs import IndicatorRef, Refs, add_ref

__all__ = ["KeywordIndex", "fold", "is_word_boundary"]

_ODD_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != " ")
_ODD_SPACE_RX = re.compile(f"[{re.escape(_ODD_SPACES)}]")
_SEGMENT_RX = re.compile(r"\s+|\S+")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def _continues_word(c: str) -> bool:
    if c.isalnum():
        o = ord(c)
        return o < 0x0E00 or not any(lo <= o <= hi for lo, hi in _UNSPACED)
    return not c.isascii() and unicodedata.category(c)[0] == "M"


def is_word_boundary(before: str, after: str) -> bool:
    """True when a keyword edge may sit between characters ``before`` and ``after``.

    Either may be ``""`` (start or end of text). There is no boundary only when both
    continue a word: alphanumeric or a combining mark, in a script that spaces its words.
    """
    return not (before and after and _continues_word(before) and _continues_word(after))


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` NFC-normalised, case-folded, whitespace runs collapsed to one space.

    Returns the folded text and ``origin``: ``origin[i]`` is the offset in ``text`` where
    folded character ``i`` came from, plus one final entry ``len(text)``; or None when every
    folded offset equals the original one.
    """
    if text.isascii():
        folded = text.lower()
        # Deleting the printable bytes leaves the control characters: the same test as
        # isprintable() on ASCII, at a third of its cost.
        printable = not folded.encode("ascii").translate(None, _PRINTABLE_ASCII)
        aligned = True
    else:
        folded = text.casefold()
        # Case folding never shortens a character, so equal length means one for one.
        aligned = len(folded) == len(text) and unicodedata.is_normalized("NFC", text)
        printable = aligned and folded.isprintable()
    if aligned:
        # Every whitespace but " " is unprintable, so a printable text has none (fast path).
        if not printable:
            folded = _ODD_SPACE_RX.sub(" ", folded)  # "\n" -> " ": same length
        if "  " not in folded:
            return folded, None
    parts: list[str] = []
    origin: list[int] = []
    for m in _SEGMENT_RX.finditer(text):
        seg, s = m.group(), m.start()
        if seg[0].isspace():
            parts.append(" ")
            origin.append(s)
            continue
        f = seg.lower() if seg.isascii() else unicodedata.normalize("NFC", seg).casefold()
        if len(f) == len(seg):
            parts.append(f)
            origin.extend(range(s, m.end()))
            continue
        # Cluster by cluster (a base character and its combining marks), so each folded
        # character maps back to the cluster it came from.
        k = 0
        while k < len(seg):
            j = k + 1
            while j < len(seg) and unicodedata.combining(seg[j]):
                j += 1
            f = unicodedata.normalize("NFC", seg[k:j]).casefold()
            parts.append(f)
            origin.extend([s + k] * len(f))
            k = j
    origin.append(len(text))
    return "".join(parts), origin


class KeywordIndex:
    """Keyword indicators in one Aho-Corasick automaton."""

    __slots__ = ("_automaton", "_building", "_count")

    def __init__(self) -> None:
        self._building: dict[str, Refs] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self._count = 0

    def add(self, keyword: str, ref: IndicatorRef) -> None:
        """Add one canonical keyword; call :meth:`freeze` when done."""
        add_ref(self._building, keyword, ref)

    def freeze(self) -> None:
        """Build the automaton."""
        self._count = len(self._building)
        if self._building:
            automaton = ahocorasick.Automaton()
            for keyword, refs in self._building.items():
                automaton.add_word(keyword, (keyword, refs))
            automaton.make_automaton()
            self._automaton = automaton
        self._building = {}

    def __len__(self) -> int:
        return self._count or len(self._building)

    def get(self, keyword: str) -> Refs | None:
        """The index slot of one canonical keyword, or None."""
        if self._automaton is None:
            return self._building.get(keyword)
        found = self._automaton.get(keyword, None)
        return None if found is None else found[1]

    def find(self, text: str) -> list[tuple[int, int, str, Refs]]:
        """``(start, end, keyword, refs)`` of the first whole-word hit of each keyword.

        Offsets are into ``text`` as given.
        """
        if self._automaton is None or not text:
            return []
        folded, origin = fold(text)
        size = len(folded)
        hits: list[tuple[int, int, str, Refs]] = []
        seen: set[str] = set()
        for last, (keyword, refs) in self._automaton.iter(folded):
            if keyword in seen:
                continue
            start, end = last + 1 - len(keyword), last + 1
            if start and not is_word_boundary(folded[start - 1], keyword[0]):
                continue
            if end < size and not is_word_boundary(keyword[-1], folded[end]):
                continue
            seen.add(keyword)
            if origin is not None:
                start, end = origin[start], origin[end]
            hits.append((start, end, keyword, refs))
        return hits

    def memory_bytes(self) -> int:
        """Approximate bytes held by the automaton."""
        if self._automaton is None:
            return sys.getsizeof(self._building)
        return int(self._automaton.get_stats()["total_size"])
