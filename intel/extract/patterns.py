"""The regular expressions that find candidate indicators in text, defanged or not.

Every pattern starts with a negative lookbehind so that it is only tried at token starts, and
every unbounded repeat is possessive (or bounded), so a failed attempt never rescans text and no
pattern can backtrack catastrophically: 1 MB of text takes well under a second. Boundary checks
that a regular expression would make slow are done in Python, in :mod:`intel.extract.candidates`.
Defanged spellings (``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``[:]``...) are part of the patterns.
"""

from __future__ import annotations

import re

from intel.normalize import URL_SCHEMES

_WORD = "A-Za-z0-9_"
_DOT_BRACKETED = r"[\[({][ \t]?(?:\.|dot)[ \t]?[\])}]"
_DOT = rf"(?:\.|\\\.|[ \t]?{_DOT_BRACKETED}[ \t]?)"
_LABEL = r"[a-z0-9_]++(?:-++[a-z0-9_]++)*+"
_DOMAIN = rf"{_LABEL}(?:{_DOT}{_LABEL})++"
_AT = r"(?:@|[ \t]?[\[({][ \t]?(?:at|@)[ \t]?[\])}][ \t]?)"
_SCHEME_SEP = r"(?:(?::|\[:\]|\(:\)|\{:\})(?://|\[//\]|\\/\\/)|\[://\]|\(://\)|\{://\})"
_SCHEMES = "|".join(sorted(URL_SCHEMES | {"hxxp", "hxxps", "fxp", "fxps"}, key=len, reverse=True))
# A URL ends at whitespace, quotes, angle brackets and CJK punctuation.
_URL_STOP = r"\s<>\"'`\u3000-\u303f\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1c\uff1e\uff1f"

_SCHEME_START = rf"(?=[a-z0-9]{{2,7}}+[\[({{:])(?:{_SCHEMES}){_SCHEME_SEP}"
# The body stops at a comma/semicolon/pipe that starts another URL ("http://a,http://b").
_URL_RX = re.compile(
    rf"(?<![{_WORD}]){_SCHEME_START}(?:[^{_URL_STOP},;|]++|[,;|](?!{_SCHEME_START}))++", re.I
)
_EMAIL_RX = re.compile(
    rf"(?<![{_WORD}.+%\-\])}}])[a-z0-9_+%\-](?:[a-z0-9_+%\-]|\.|{_DOT_BRACKETED}){{0,63}}+"
    rf"{_AT}{_DOMAIN}",
    re.I,
)
_DOMAIN_RX = re.compile(rf"(?<![{_WORD}.\-]){_DOMAIN}", re.I)
_IPV4_RX = re.compile(
    rf"(?<![{_WORD}.])(?<!version )[0-9]{{1,3}}(?:{_DOT}[0-9]{{1,3}}){{3}}"
    rf"(?:/[0-9]{{1,3}}(?![{_WORD}]))?(?!\.?[{_WORD}])",
    re.I,
)
_IPV6_RX = re.compile(
    rf"(?<![{_WORD}:.])(?=[0-9a-f]{{0,4}}::?[0-9a-f:])[0-9a-f:]{{2,39}}+(?:\.[0-9]{{1,3}}){{0,3}}+"
    rf"(?:/[0-9]{{1,3}}(?![{_WORD}]))?(?![{_WORD}:])",
    re.I,
)
_HEX_RX = re.compile(rf"(?<![{_WORD}])[0-9a-f]{{32,64}}+(?![{_WORD}])", re.I)
_ETH_RX = re.compile(rf"(?<![{_WORD}])0x[0-9a-f]{{40}}(?![{_WORD}])", re.I)
_BECH32_RX = re.compile(rf"(?<![{_WORD}])bc1[02-9ac-hj-np-z]{{39,59}}+(?![{_WORD}])", re.I)
_BASE58_RX = re.compile(rf"(?<![{_WORD}])[1-9A-HJ-NP-Za-km-z]{{26,48}}+(?![{_WORD}])")
_PHONE_RX = re.compile(rf"(?<![{_WORD}+])\+\(?[1-9](?:[ \-.()]{{0,3}}[0-9]){{6,14}}(?![0-9])")
_MENTION_RX = re.compile(rf"(?<![{_WORD}.@+\-/=])@[{_WORD}][{_WORD}.]*+")
_HASHTAG_RX = re.compile(
    r"(?<![\w&#/])#[^\s!-/:-@\[-^`{-~\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]++"
)
_RAW_TLD_RX = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+\Z")
