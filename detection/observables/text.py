"""Observables in free text, defanged or not, found by anchors rather than by a full scan.

CPython's regex engine pays ~25 ns per text position for a pattern that can start anywhere,
which is ~10 us for 400 bytes before anything is found. So :func:`text_observables` searches
for *anchors* (``.`` inside a name, ``://``, ``@``, ``#``, ``+``, a digit starting a long
token) with one pattern that begins with a character class, which the engine skips to at C
speed, and only then reads the token around each anchor: leftwards with a match on the
reversed text (one C call), rightwards with a plain match. Text between tokens costs nearly
nothing, and only candidates are normalised.

What counts (each rule has a test in tests/detection/test_observables.py): URLs with a known
scheme (``hxxp`` too) and schemeless ``www.`` links (which become ``http://``), trimmed of
trailing punctuation and unbalanced closing brackets; email addresses; bare ASCII domains
whose TLD is known and written all-lower or all-upper (as in :mod:`intel.extract`); IPv4 and
IPv6 addresses (an IPv6 candidate needs a digit: ``dead::beef`` is prose); ``@mentions``;
``#hashtags`` in any script; ``+`` phone numbers; md5/sha1/sha256 hex (with digits and
letters); ETH, bech32 and base58 wallets. A URL also yields its host, an email its domain,
as derived observables. Bracketed defanging (``[.]``, ``(dot)``, ``[at]``, ``[:]``...) is
undone first with intel's own rules, and offsets are mapped back to the original text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right

from detection.observables.observable import Observable, canonical, url_host
from intel.extract import KNOWN_TLDS
from intel.normalize import URL_SCHEMES
from intel.normalize.refang import _REFANG_RE, _refang_repl  # the one definition of defanging

__all__ = ["text_observables"]

_new = tuple.__new__  # Observable(...) through its generated __new__ costs twice as much

# Starts with a character class so the engine skips ordinary text at C speed; each branch
# then says what that character anchors.
_ANCHOR_RX = re.compile(
    r"""[.:@\#+0-9]
    (?: (?<=[A-Za-z_\-]\.)(?=[A-Za-z0-9])       # a dot inside a host name
      | (?<=[0-9]\.)(?=[A-Za-z]|[0-9]{1,3}\.[0-9])  # ... or an IPv4 address, not "12.50"
      | (?<=:)(?=//)                             # a URL's "://"
      | (?<=:)(?=:|[0-9A-Fa-f:]{0,40}::|(?:[0-9A-Fa-f]{1,4}:){6})  # IPv6, not "10:30:12"
      | (?<=@)(?=[A-Za-z0-9_])                   # an email address or a mention
      | (?<=\#)(?=[^\s\#])                       # a hashtag
      | (?<=\+)(?=\(?[1-9])                      # an international phone number
      | (?<=[0-9])(?=[0-9A-Za-z]{7})             # a long token: a hash or a wallet
    )""",
    re.X,
)
# Runs matched leftwards on the reversed text: one C call instead of a backwards loop.
_LABEL_LEFT = re.compile(r"[A-Za-z0-9_\-]*+")
_LOCAL_LEFT = re.compile(r"[A-Za-z0-9._%+\-]*+")
_HEX_LEFT = re.compile(r"[0-9A-Fa-f]*+")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]*+")

_HOST_RX = re.compile(r"[A-Za-z0-9_\-]++(?:\.[A-Za-z0-9_\-]++)++")
_IPV6_BODY = re.compile(r"[0-9A-Fa-f:.]*+")
_HANDLE_RX = re.compile(r"@[A-Za-z0-9_][A-Za-z0-9_.]*+")
_PHONE_RX = re.compile(r"\+\(?[1-9](?:[ \-.()]{0,3}[0-9]){6,14}(?![0-9])")
_HEX_RX = re.compile(r"[0-9A-Fa-f]+")
# A URL ends at whitespace, quotes, angle brackets and CJK punctuation (as in intel.extract).
_URL_BODY = re.compile(
    r"[^\s<>\"'`\u3000-\u303f\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1c\uff1e\uff1f]*+"
)
_TAG_BODY = re.compile(r"[^\s!-/:-@\[-^`{-~\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]++")
_ASCII_TAG = re.compile(r"[A-Za-z0-9_]*+")
# Only bracketed defanging changes offsets; "hxxp://" is left to the URL normaliser.
_DEFANG_HINT = re.compile(
    r"[\[({\\](?:(?<=\\)\.|(?<!\\)[ \t]?(?:\.|dot|at|@|://|:|//|/)[ \t]?[\])}])", re.I
)

_URL_SCHEMES = URL_SCHEMES | {"hxxp", "hxxps", "fxp", "fxps"}
_URL_TRAILING = frozenset(".,;:!?'\"*\u2026")
_OPENERS = {")": "(", "]": "[", "}": "{"}
_HOST_BLOCKERS = frozenset("_-.@/\\")
_MENTION_BLOCKERS = frozenset("_.@+-/=")
_LOCAL_PUNCT = frozenset("._%+-")
_EMAIL_BLOCKERS = frozenset("-@")
_IPV6_BLOCKERS = frozenset("_:.")
_TAG_BLOCKERS = frozenset("_&#/")
_PHONE_BLOCKERS = frozenset("_+")
_TOKEN_BLOCKERS = frozenset("_.")
_HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}


def _trim_url(raw: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets from a URL found in prose."""
    counts = {c: raw.count(c) for c in "()[]{}" if c in raw}
    end = len(raw)
    while end:
        c = raw[end - 1]
        if c in _URL_TRAILING:
            end -= 1
        elif c in _OPENERS and counts[c] > counts.get(_OPENERS[c], 0):
            counts[c] -= 1
            end -= 1
        else:
            break
    return raw[:end]


def _known_tld(host: str, *, any_case: bool = False) -> bool:
    """The host ends in a known TLD; bare names also need it all-lower or all-upper, so that
    ``System.Net`` is code rather than a domain (an ``@`` or ``www.`` already says "host")."""
    tld = host[host.rfind(".") + 1 :]
    return (any_case or tld.islower() or tld.isupper()) and tld.lower() in KNOWN_TLDS


def _left(rx: re.Pattern[str], rtext: str, i: int, floor: int) -> int:
    """Start of the run of ``rx`` characters ending just before ``i``, never below ``floor``."""
    j = len(rtext) - i
    s = i - (rx.match(rtext, j).end() - j)  # type: ignore[union-attr]  # *+ always matches
    return s if s > floor else floor


# --- One handler per anchor: append what it found, return where the search goes on ---------
# Neighbours are read as text[k:k+1] ("" at either end: not alphanumeric, in no frozenset).

_Out = list[Observable]


def _emit_url(raw: str, s: int, out: _Out) -> bool:
    value = canonical(raw, "url")
    if value is None:
        return False
    e = s + len(raw)
    out.append(_new(Observable, ("url", value, "text", s, e, raw, None)))
    host = url_host(value)
    if host is not None:
        out.append(_new(Observable, (host[0], host[1], "text", s, e, raw, value)))
    return True


def _at_dot(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    s = _left(_LABEL_LEFT, rtext, i, floor)
    hm = _HOST_RX.match(text, s)
    if hm is None:
        return i + 1
    he = hm.end()
    before, after = text[s - 1 : s] if s else "", text[he : he + 1]
    if after == "@":  # the local part of an email: the "@" anchor takes it
        return he
    if before.isalnum() or before in _HOST_BLOCKERS or after.isalnum():
        return he
    host = hm.group()
    if host[:4].lower() == "www." and _known_tld(host, any_case=True):
        raw = _trim_url(_URL_BODY.match(text, s).group())  # type: ignore[union-attr]
        if _emit_url(raw, s, out):
            return s + len(raw)
    if host[-1].isdigit():
        if host.count(".") == 3 and host.replace(".", "").isdigit():
            value = canonical(host, "ipv4")
            if value is not None:
                out.append(_new(Observable, ("ipv4", value, "text", s, he, host, None)))
        return he
    if _known_tld(host):
        value = canonical(host, "domain")
        if value is not None:
            out.append(_new(Observable, ("domain", value, "text", s, he, host, None)))
    return he


def _at_colon(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    if text.startswith("//", i + 1):
        s = _left(_ALNUM_RUN, rtext, i, floor)
        before = text[s - 1 : s] if s else ""
        if text[s:i].lower() not in _URL_SCHEMES or before.isalnum() or before == "_":
            return i + 3
        raw = _trim_url(_URL_BODY.match(text, s).group())  # type: ignore[union-attr]
        if len(raw) > i + 3 - s and _emit_url(raw, s, out):
            return s + len(raw)
        return i + 3
    s = _left(_HEX_LEFT, rtext, i, floor)
    body = _IPV6_BODY.match(text, s).group().rstrip(".")  # type: ignore[union-attr]
    e = s + len(body)
    before, after = text[s - 1 : s] if s else "", text[e : e + 1]
    if (
        i - s > 4
        or before.isalnum()
        or before in _IPV6_BLOCKERS
        or after.isalnum()
        or after == "_"
        or not any(c.isdigit() for c in body)  # "dead::beef" is prose
    ):
        return e
    value = canonical(body, "ipv6")
    if value is not None:
        out.append(_new(Observable, ("ipv6", value, "text", s, e, body, None)))
    return e


def _at_at(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    prev = text[i - 1 : i] if i else ""
    if i > floor and prev.isascii() and (prev.isalnum() or prev in _LOCAL_PUNCT):
        s = _left(_LOCAL_LEFT, rtext, i, floor)
        hm = _HOST_RX.match(text, i + 1)
        if hm is None or i - s > 64:
            return i + 1
        he = hm.end()
        before, after = text[s - 1 : s] if s else "", text[he : he + 1]
        if (
            before.isalnum()
            or before in _LOCAL_PUNCT
            or after.isalnum()
            or after in _EMAIL_BLOCKERS
            or not _known_tld(hm.group(), any_case=True)
        ):
            return i + 1
        raw = text[s:he]
        value = canonical(raw, "email")
        if value is None:
            return i + 1
        out.append(_new(Observable, ("email", value, "text", s, he, raw, None)))
        domain = value[value.rfind("@") + 1 :]
        out.append(_new(Observable, ("domain", domain, "text", s, he, raw, value)))
        return he
    if prev.isalnum() or prev in _MENTION_BLOCKERS:
        return i + 1
    hm = _HANDLE_RX.match(text, i)
    if hm is None:
        return i + 1
    after = text[hm.end() : hm.end() + 1]
    raw = hm.group().rstrip(".")
    if after.isalnum() or after in _EMAIL_BLOCKERS or len(raw) > 31:
        return hm.end()
    value = canonical(raw, "account")
    if value is not None:
        out.append(_new(Observable, ("account", value, "text", i, i + len(raw), raw, None)))
    return i + len(raw)


def _tag_char_ok(c: str) -> bool:
    return c.isalnum() or c == "_" or c in "\u200c\u200d" or unicodedata.category(c)[0] == "M"


def _at_hash(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    prev = text[i - 1 : i] if i else ""
    if prev.isalnum() or prev in _TAG_BLOCKERS:
        return i + 1
    e = _ASCII_TAG.match(text, i + 1).end()  # type: ignore[union-attr]
    after = text[e : e + 1]
    if after and not after.isascii() and _tag_char_ok(after):
        # A hashtag in another script: letters, marks and joiners, up to punctuation.
        body = _TAG_BODY.match(text, i + 1)
        e = i + 1
        if body is not None:
            e = i + 1 + len(body.group())
        cut = i + 1
        while cut < e and _tag_char_ok(text[cut]):
            cut += 1
        e = cut
    if e == i + 1 or e - i > 140:
        return max(e, i + 1)
    raw = text[i:e]
    value = canonical(raw, "hashtag")
    if value is not None:
        out.append(_new(Observable, ("hashtag", value, "text", i, e, raw, None)))
    return e


def _at_plus(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    prev = text[i - 1 : i] if i else ""
    pm = _PHONE_RX.match(text, i)
    if pm is None or prev.isalnum() or prev in _PHONE_BLOCKERS:
        return i + 1
    raw = pm.group()
    if 8 <= sum(c.isdigit() for c in raw) <= 15:
        value = canonical(raw, "phone")
        if value is not None:
            out.append(_new(Observable, ("phone", value, "text", i, pm.end(), raw, None)))
    return pm.end()


def _at_digit(text: str, rtext: str, i: int, floor: int, out: _Out) -> int:
    s = _left(_ALNUM_RUN, rtext, i, floor)
    e = _ALNUM_RUN.match(text, i).end()  # type: ignore[union-attr]
    before, after = text[s - 1 : s] if s else "", text[e : e + 1]
    if before.isalnum() or before in _TOKEN_BLOCKERS or after.isalnum() or after == "_":
        return e
    token = text[s:e]
    n = len(token)
    kind = _HASH_BY_LENGTH.get(n)
    # The anchor is a digit; all digits is an ID, not a hash.
    if kind is not None and not token.isdigit() and _HEX_RX.fullmatch(token):
        value = canonical(token, kind)
        if value is not None:
            out.append(_new(Observable, (kind, value, "text", s, e, token, None)))
        return e
    head = token[:3].lower()
    if (
        (head[:2] == "0x" and n == 42)
        or (head == "bc1" and n in (42, 62))
        or (  # base58 (BTC, Substrate): mixed case and digits, unlike words or IDs
            ((26 <= n <= 35 and token[0] in "13") or 47 <= n <= 48)
            and not (token.islower() or token.isupper() or token.isalpha())
        )
    ):
        value = canonical(token, "crypto_wallet")
        if value is not None:
            out.append(_new(Observable, ("crypto_wallet", value, "text", s, e, token, None)))
    return e


_HANDLERS = {".": _at_dot, ":": _at_colon, "@": _at_at, "#": _at_hash, "+": _at_plus}


def _scan(text: str) -> list[Observable]:
    """Every observable in fanged ``text``, in text order, offsets into ``text``."""
    out: list[Observable] = []
    rtext = ""
    pos = floor = 0
    search = _ANCHOR_RX.search
    handlers = _HANDLERS
    while (m := search(text, pos)) is not None:
        i = m.start()
        if not rtext:
            rtext = text[::-1]
        count = len(out)
        pos = handlers.get(text[i], _at_digit)(text, rtext, i, floor, out)
        if len(out) != count:
            floor = out[-1].end
    return out


# --- Defanged text: refang once, map offsets back ------------------------------------------


def _refang_spans(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Refanged text and its replacements as ``(new_start, new_end, old_start, old_end)``."""
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    last = size = 0
    for m in _REFANG_RE.finditer(text):
        s, e = m.span()
        repl = _refang_repl(m)
        parts.append(text[last:s])
        size += s - last
        spans.append((size, size + len(repl), s, e))
        parts.append(repl)
        size += len(repl)
        last = e
    parts.append(text[last:])
    return "".join(parts), spans


def _old_start(spans: list[tuple[int, int, int, int]], starts: list[int], x: int) -> int:
    k = bisect_right(starts, x) - 1
    if k < 0:
        return x
    _ns, ne, os_, oe = spans[k]
    return os_ if x < ne else x - ne + oe


def _old_end(spans: list[tuple[int, int, int, int]], starts: list[int], x: int) -> int:
    k = bisect_left(starts, x) - 1
    if k < 0:
        return x
    _ns, ne, _os, oe = spans[k]
    return oe if x <= ne else x - ne + oe


def text_observables(text: str) -> list[Observable]:
    """Observables in free text (defanged or not), in text order, not deduplicated."""
    if ("[" in text or "(" in text or "{" in text or "\\" in text) and _DEFANG_HINT.search(text):
        fanged, spans = _refang_spans(text)
        starts = [span[0] for span in spans]
        out = []
        for obs in _scan(fanged):
            s, e = _old_start(spans, starts, obs.start), _old_end(spans, starts, obs.end)
            out.append(obs._replace(start=s, end=e, raw=text[s:e]))
        return out
    return _scan(text)
