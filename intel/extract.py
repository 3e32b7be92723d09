"""Find threat indicators in free text: reports, emails, chat logs, defanged or not.

:func:`extract_indicators` scans text once per indicator kind with linear-time regular
expressions that tolerate defanging (``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``[:]``...), then
hands each candidate to :func:`intel.normalize.normalize`; only values that normalise are
returned. Offsets always refer to the original text, so a UI can highlight ``evil[.]com``
exactly where the analyst pasted it.

Rules
-----
* Kinds found: URLs (known schemes, defanged or not), bare domains, IPv4 (``1.2.3[.]4``),
  IPv6, CIDRs, md5/sha1/sha256 hex strings, emails (``bad[at]evil[.]com``), E.164 phone
  numbers written with ``+``, ``@mentions``, ``#hashtags`` and crypto wallets (ETH ``0x``,
  BTC bech32 and base58, Substrate SS58). ``keyword`` and ``pdq`` are never extracted.
* Bare domains need a TLD from :data:`KNOWN_TLDS` (IANA root zone plus ``.example``,
  ``.test``, ``.invalid``, ``.onion``), written all-lowercase or all-uppercase (so
  ``System.Net`` is not a domain). TLDs that are also everyday file extensions (``.zip``,
  ``.py``, ``.md``, ``.sh``, ``.mov``...) count only when the domain is defanged, so
  ``invoice.zip`` and ``README.md`` stay file names while ``evil[.]zip`` is a domain.
  Bare domains are ASCII only (punycode is fine); IDN hosts are found inside URLs.
* URLs found in prose need a dotted host (a domain or an IP): ``hxxp://evil [.] com`` is
  broken by its spaces and yields the domain ``evil.com`` rather than ``http://evil/``.
* Overlaps: the higher-priority kind wins (URL > email > IPv6 > IPv4/CIDR > ETH > hash >
  other wallets > phone > domain > account > hashtag), so nothing nested inside an emitted
  URL or email (its host, a hash in its path) is emitted separately. A domain that is the
  host of an emitted URL or the domain of an emitted email is not emitted anywhere.
* Results are deduplicated by ``(type, value)``, keeping the first occurrence, and returned
  in text order. Trailing ``).,;:!?'"*`` (and unbalanced closing brackets) are not part of a URL.
* ``types`` limits which kinds are looked for; kinds that are not looked for do not shadow
  the others (``types={"domain"}`` finds ``evil.example`` inside ``http://evil.example/``).
* Performance: no pattern can backtrack catastrophically (possessive quantifiers, bounded
  repeats, boundary checks done in Python), so 1 MB of text takes well under a second.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Collection
from dataclasses import dataclass

from intel.normalize import TYPES, URL_SCHEMES, NormalizationError, normalize

__all__ = ["KNOWN_TLDS", "Extracted", "extract_indicators"]


@dataclass(frozen=True, slots=True)
class Extracted:
    """One indicator found in text.

    ``value`` is the canonical form (as :func:`intel.normalize.normalize` returns it),
    ``raw`` is exactly ``text[start:end]`` of the original, possibly defanged, text.
    """

    type: str
    value: str
    raw: str
    start: int
    end: int


# --------------------------------------------------------------------------- patterns
# Every pattern starts with a negative lookbehind so that it is only tried at token starts,
# and every unbounded repeat is possessive, so a failed attempt never rescans text.

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

_URL_TRAILING = frozenset(".,;:!?'\"*\u2026")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_MAX_CANDIDATE = 16384

# TLDs that are also everyday file extensions: a bare "name.<ext>" is only a domain when
# it is written defanged.
_FILE_EXT_TLDS = frozenset(
    {"app", "cab", "hiv", "inc", "java", "map", "md", "mm", "mov", "one"}
    | {"pl", "ps", "py", "rs", "run", "sh", "so", "zip"}
)

_Found = tuple[str, str, int, int]  # type, value, start, end


def _is_defanged(raw: str) -> bool:
    return "[" in raw or "(" in raw or "{" in raw or "\\" in raw


def _norm(raw: str, type_: str | None) -> tuple[str, str] | None:
    try:
        return normalize(raw, type_)
    except NormalizationError:
        return None


# --------------------------------------------------------------------------- handlers


def _trim_url(raw: str) -> str:
    counts: dict[str, int] = {}
    for closer, opener in _CLOSERS.items():
        if closer in raw:
            counts[closer] = raw.count(closer)
            counts[opener] = raw.count(opener)
    end = len(raw)
    while end:
        c = raw[end - 1]
        if c in _URL_TRAILING:
            end -= 1
        elif c in _CLOSERS and counts[c] > counts[_CLOSERS[c]]:
            counts[c] -= 1
            end -= 1
        else:
            break
    return raw[:end]


def _url(m: re.Match[str], text: str) -> _Found | None:
    if m.end() - m.start() > _MAX_CANDIDATE:
        return None
    raw = _trim_url(m.group())
    found = _norm(raw, "url")
    # In prose a single-label host is a broken-up defanged URL ("hxxp://evil [.] com").
    if found is None:
        return None
    host = _url_host(found[1])
    if "." not in host and not host.startswith("["):
        return None
    return "url", found[1], m.start(), m.start() + len(raw)


def _email(m: re.Match[str], text: str) -> _Found | None:
    if m.end() - m.start() > 600 or text[m.end() : m.end() + 1] == "-":
        return None
    raw_tld = _RAW_TLD_RX.search(m.group())
    if raw_tld is None or raw_tld.group().lower() not in KNOWN_TLDS:
        return None
    found = _norm(m.group(), "email")
    if found is None:
        return None
    return "email", found[1], m.start(), m.end()


def _domain(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if len(raw) > 300 or text[m.end() : m.end() + 1] in ("-", "@"):
        return None
    raw_tld = _RAW_TLD_RX.search(raw)
    if raw_tld is None:
        return None
    tld = raw_tld.group()
    if not (tld.islower() or tld.isupper()):  # "System.Net", "sentence.It"
        return None
    tld = tld.lower()
    if tld not in KNOWN_TLDS or (tld in _FILE_EXT_TLDS and not _is_defanged(raw)):
        return None
    found = _norm(raw, "domain")
    if found is None:
        return None
    return "domain", found[1], m.start(), m.end()


def _ip(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if "/" in raw:
        found = _norm(raw, None)
        if found is not None and found[0] in ("cidr", "ipv4", "ipv6"):
            return found[0], found[1], m.start(), m.end()
        raw = raw.partition("/")[0]
    is_v6 = ":" in raw
    if is_v6 and not any(c.isdigit() for c in raw):  # "dead::beef", "::" are prose, not IPs
        return None
    found = _norm(raw, "ipv6" if is_v6 else "ipv4")
    if found is None:
        return None
    return found[0], found[1], m.start(), m.start() + len(raw)


def _hash(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(raw))
    # All digits (an ID) or no digit at all (a word): random hex is neither.
    if kind is None or raw.isdigit() or not any(c.isdigit() for c in raw):
        return None
    return kind, raw.lower(), m.start(), m.end()


def _wallet(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    n = len(raw)
    if raw[:2] in ("0x", "0X") or raw[:3].lower() == "bc1":
        if raw[:3].lower() == "bc1" and n not in (42, 62):
            return None
    elif not ((26 <= n <= 35 and raw[0] in "13") or 47 <= n <= 48) or not (
        any(c.isupper() for c in raw)
        and any(c.islower() for c in raw)
        and any(c.isdigit() for c in raw[1:])
    ):
        return None
    found = _norm(raw, "crypto_wallet")
    if found is None:
        return None
    return "crypto_wallet", found[1], m.start(), m.end()


def _phone(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    if not 8 <= sum(c.isdigit() for c in raw) <= 15:
        return None
    found = _norm(raw, "phone")
    if found is None:
        return None
    return "phone", found[1], m.start(), m.end()


def _mention(m: re.Match[str], text: str) -> _Found | None:
    if text[m.end() : m.end() + 1] in ("@", "-"):
        return None
    raw = m.group().rstrip(".")
    if len(raw) > 31:
        return None
    found = _norm(raw, "account")
    if found is None:
        return None
    return "account", found[1], m.start(), m.start() + len(raw)


def _tag_char_ok(c: str) -> bool:
    return c.isalnum() or c == "_" or c in "\u200c\u200d" or unicodedata.category(c)[0] == "M"


def _hashtag(m: re.Match[str], text: str) -> _Found | None:
    raw = m.group()
    cut, limit = 1, min(len(raw), 141)
    while cut < limit and _tag_char_ok(raw[cut]):
        cut += 1
    raw = raw[:cut]
    if len(raw) < 2 or len(raw) > 140:
        return None
    found = _norm(raw, "hashtag")
    if found is None:
        return None
    return "hashtag", found[1], m.start(), m.start() + len(raw)


_Handler = Callable[[re.Match[str], str], _Found | None]

# (pattern, handler, kinds it can produce) in priority order: earlier wins an overlap.
_RULES: tuple[tuple[re.Pattern[str], _Handler, frozenset[str]], ...] = (
    (_URL_RX, _url, frozenset({"url"})),
    (_EMAIL_RX, _email, frozenset({"email"})),
    (_IPV6_RX, _ip, frozenset({"ipv6", "cidr"})),
    (_IPV4_RX, _ip, frozenset({"ipv4", "cidr"})),
    (_ETH_RX, _wallet, frozenset({"crypto_wallet"})),
    (_HEX_RX, _hash, frozenset({"md5", "sha1", "sha256"})),
    (_BECH32_RX, _wallet, frozenset({"crypto_wallet"})),
    (_BASE58_RX, _wallet, frozenset({"crypto_wallet"})),
    (_PHONE_RX, _phone, frozenset({"phone"})),
    (_DOMAIN_RX, _domain, frozenset({"domain"})),
    (_MENTION_RX, _mention, frozenset({"account"})),
    (_HASHTAG_RX, _hashtag, frozenset({"hashtag"})),
)


def _url_host(url: str) -> str:
    authority = url.partition("://")[2].partition("/")[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host
    return host.partition(":")[0]


def extract_indicators(text: str, *, types: Collection[str] | None = None) -> list[Extracted]:
    """Return the indicators found in ``text``, normalised, deduplicated, in text order.

    ``types`` restricts the search to those indicator types (names from
    :data:`intel.normalize.TYPES`; unknown names raise ``ValueError``). Each result keeps
    the raw text and its ``[start, end)`` offsets in ``text`` as given (not refanged).
    """
    wanted: frozenset[str] | None = None
    if types is not None:
        wanted = frozenset(types)
        unknown = wanted.difference(TYPES)
        if unknown:
            raise ValueError(f"unknown indicator type(s): {', '.join(sorted(unknown))}")

    # Accepted spans, kept sorted by start; higher-priority rules run first.
    starts: list[int] = []
    ends: list[int] = []
    accepted: list[_Found] = []
    for pattern, handler, kinds in _RULES:
        if wanted is not None and wanted.isdisjoint(kinds):
            continue
        fresh: list[_Found] = []
        for m in pattern.finditer(text):
            found = handler(m, text)
            if found is None or (wanted is not None and found[0] not in wanted):
                continue
            start, end = found[2], found[3]
            i = bisect_right(starts, start)
            if i and ends[i - 1] > start:
                continue
            if i < len(starts) and starts[i] < end:
                continue
            fresh.append(found)
        if fresh:
            accepted.extend(fresh)
            accepted.sort(key=lambda f: f[2])
            starts = [f[2] for f in accepted]
            ends = [f[3] for f in accepted]

    covered_hosts: set[str] = set()
    for kind, value, _start, _end in accepted:
        if kind == "url":
            covered_hosts.add(_url_host(value))
        elif kind == "email":
            covered_hosts.add(value.rpartition("@")[2])

    seen: set[tuple[str, str]] = set()
    out: list[Extracted] = []
    for kind, value, start, end in accepted:
        key = (kind, value)
        if key in seen or (kind == "domain" and value in covered_hosts):
            continue
        seen.add(key)
        out.append(Extracted(kind, value, text[start:end], start, end))
    return out


# --------------------------------------------------------------------------- TLDs
# Top-level labels of the ICANN section of the Public Suffix List (version
# 2025-04-07_15-51-09_UTC, which tracks the IANA root zone), punycoded, plus the special-use
# names example, invalid and test (RFC 2606/6761; onion is already listed).
_TLD_DATA = """
aaa aarp abb abbott abbvie abc able abogado abudhabi ac academy accenture accountant
accountants aco actor ad ads adult ae aeg aero aetna af afl africa ag agakhan agency ai aig
airbus airforce airtel akdn al alibaba alipay allfinanz allstate ally alsace alstom am amazon
americanexpress americanfamily amex amfam amica amsterdam analytics android anquan anz ao aol
apartments app apple aq aquarelle ar arab aramco archi army arpa art arte as asda asia
associates at athleta attorney au auction audi audible audio auspost author auto autos aw aws
ax axa az azure ba baby baidu banamex band bank bar barcelona barclaycard barclays barefoot
bargains baseball basketball bauhaus bayern bb bbc bbt bbva bcg bcn bd be beats beauty beer
bentley berlin best bestbuy bet bf bg bh bharti bi bible bid bike bing bingo bio biz bj black
blackfriday blockbuster blog bloomberg blue bm bms bmw bn bnpparibas bo boats boehringer bofa
bom bond boo book booking bosch bostik boston bot boutique box br bradesco bridgestone broadway
broker brother brussels bs bt build builders business buy buzz bv bw by bz bzh ca cab cafe cal
call calvinklein cam camera camp canon capetown capital capitalone car caravan cards care
career careers cars casa case cash casino cat catering catholic cba cbn cbre cc cd center ceo
cern cf cfa cfd cg ch chanel channel charity chase chat cheap chintai christmas chrome church
ci cipriani circle cisco citadel citi citic city ck cl claims cleaning click clinic clinique
clothing cloud club clubmed cm cn co coach codes coffee college cologne com commbank community
company compare computer comsec condos construction consulting contact contractors cooking cool
coop corsica country coupon coupons courses cpa cr credit creditcard creditunion cricket crown
crs cruise cruises cu cuisinella cv cw cx cy cymru cyou cz dad dance data date dating datsun
day dclk dds de deal dealer deals degree delivery dell deloitte delta democrat dental dentist
desi design dev dhl diamonds diet digital direct directory discount discover dish diy dj dk dm
dnp do docs doctor dog domains dot download drive dtv dubai dunlop dupont durban dvag dvr dz
earth eat ec eco edeka edu education ee eg email emerck energy engineer engineering enterprises
epson equipment er ericsson erni es esq estate et eu eurovision eus events example exchange
expert exposed express extraspace fage fail fairwinds faith family fan fans farm farmers
fashion fast fedex feedback ferrari ferrero fi fidelity fido film final finance financial fire
firestone firmdale fish fishing fit fitness fj fk flickr flights flir florist flowers fly fm fo
foo food football ford forex forsale forum foundation fox fr free fresenius frl frogans
frontier ftr fujitsu fun fund furniture futbol fyi ga gal gallery gallo gallup game games gap
garden gay gb gbiz gd gdn ge gea gent genting george gf gg ggee gh gi gift gifts gives giving
gl glass gle global globo gm gmail gmbh gmo gmx gn godaddy gold goldpoint golf goo goodyear
goog google gop got gov gp gq gr grainger graphics gratis green gripe grocery group gs gt gu
gucci guge guide guitars guru gw gy hair hamburg hangout haus hbo hdfc hdfcbank health
healthcare help helsinki here hermes hiphop hisamitsu hitachi hiv hk hkt hm hn hockey holdings
holiday homedepot homegoods homes homesense honda horse hospital host hosting hot hotels
hotmail house how hr hsbc ht hu hughes hyatt hyundai ibm icbc ice icu id ie ieee ifm ikano il
im imamat imdb immo immobilien in inc industries infiniti info ing ink institute insurance
insure int international intuit invalid investments io ipiranga iq ir irish is ismaili ist
istanbul it itau itv jaguar java jcb je jeep jetzt jewelry jio jll jm jmp jnj jo jobs joburg
jot joy jp jpmorgan jprs juegos juniper kaufen kddi ke kerryhotels kerryproperties kfh kg kh ki
kia kids kim kindle kitchen kiwi km kn koeln komatsu kosher kp kpmg kpn kr krd kred kuokgroup
kw ky kyoto kz la lacaixa lamborghini lamer lancaster land landrover lanxess lasalle lat latino
latrobe law lawyer lb lc lds lease leclerc lefrak legal lego lexus lgbt li lidl life
lifeinsurance lifestyle lighting like lilly limited limo lincoln link live living lk llc llp
loan loans locker locus lol london lotte lotto love lpl lplfinancial lr ls lt ltd ltda lu
lundbeck luxe luxury lv ly ma madrid maif maison makeup man management mango map market
marketing markets marriott marshalls mattel mba mc mckinsey md me med media meet melbourne meme
memorial men menu merck merckmsd mg mh miami microsoft mil mini mint mit mitsubishi mk ml mlb
mls mm mma mn mo mobi mobile moda moe moi mom monash money monster mormon mortgage moscow moto
motorcycles mov movie mp mq mr ms msd mt mtn mtr mu museum music mv mw mx my mz na nab nagoya
name navy nba nc ne nec net netbank netflix network neustar new news next nextdirect nexus nf
nfl ng ngo nhk ni nico nike nikon ninja nissan nissay nl no nokia norton now nowruz nowtv np nr
nra nrw ntt nu nyc nz obi observer office okinawa olayan olayangroup ollo om omega one ong
onion onl online ooo open oracle orange org organic origins osaka otsuka ott ovh pa page
panasonic paris pars partners parts party pay pccw pe pet pf pfizer pg ph pharmacy phd philips
phone photo photography photos physio pics pictet pictures pid pin ping pink pioneer pizza pk
pl place play playstation plumbing plus pm pn pnc pohl poker politie porn post pr pramerica
praxi press prime pro prod productions prof progressive promo properties property protection
pru prudential ps pt pub pw pwc py qa qpon quebec quest racing radio re read realestate realtor
realty recipes red redstone redumbrella rehab reise reisen reit reliance ren rent rentals
repair report republican rest restaurant review reviews rexroth rich richardli ricoh ril rio
rip ro rocks rodeo rogers room rs rsvp ru rugby ruhr run rw rwe ryukyu sa saarland safe safety
sakura sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sarl sas save saxo sb sbi
sbs sc scb schaeffler schmidt scholarships school schule schwarz science scot sd se search seat
secure security seek select sener services seven sew sex sexy sfr sg sh shangrila sharp shell
shia shiksha shoes shop shopping shouji show si silk sina singles site sj sk ski skin sky skype
sl sling sm smart smile sn sncf so soccer social softbank software sohu solar solutions song
sony soy spa space sport spot sr srl ss st stada staples star statebank statefarm stc stcgroup
stockholm storage store stream studio study style su sucks supplies supply support surf surgery
suzuki sv swatch swiss sx sy sydney systems sz tab taipei talk taobao target tatamotors tatar
tattoo tax taxi tc tci td tdk team tech technology tel temasek tennis test teva tf tg th thd
theater theatre tiaa tickets tienda tips tires tirol tj tjmaxx tjx tk tkmaxx tl tm tmall tn to
today tokyo tools top toray toshiba total tours town toyota toys tr trade trading training
travel travelers travelersinsurance trust trv tt tube tui tunes tushu tv tvs tw tz ua ubank ubs
ug uk unicom university uno uol ups us uy uz va vacations vana vanguard vc ve vegas ventures
verisign versicherung vet vg vi viajes video vig viking villas vin vip virgin visa vision viva
vivo vlaanderen vn vodka volvo vote voting voto voyage vu wales walmart walter wang wanggou
watch watches weather weatherchannel webcam weber website wed wedding weibo weir wf whoswho
wien wiki williamhill win windows wine winners wme wolterskluwer woodside work works world wow
ws wtc wtf xbox xerox xihuan xin xn--11b4c3d xn--1ck2e1b xn--1qqw23a xn--2scrj9c xn--30rr7y xn
--3bst00m xn--3ds443g xn--3e0b707e xn--3hcrj9c xn--3pxu8k xn--42c2d9a xn--45br5cyl xn--45brj9c
xn--45q11c xn--4dbrk0ce xn--4gbrim xn--54b7fta0cc xn--55qw42g xn--55qx5d xn--5su34j936bgsg xn--
5tzm5g xn--6frz82g xn--6qq986b3xl xn--80adxhks xn--80ao21a xn--80aqecdr1a xn--80asehdb xn--
80aswg xn--8y0a063a xn--90a3ac xn--90ae xn--90ais xn--9dbq2a xn--9et52u xn--9krt00a xn--
b4w605ferd xn--bck1b9a5dre4c xn--c1avg xn--c2br7g xn--cck2b3b xn--cckwcxetd xn--cg4bki xn--
clchc0ea0b2g2a9gcd xn--czr694b xn--czrs0t xn--czru2d xn--d1acj3b xn--d1alf xn--e1a4c xn--
eckvdtc9d xn--efvy88h xn--fct429k xn--fhbei xn--fiq228c5hs xn--fiq64b xn--fiqs8s xn--fiqz9s xn
--fjq720a xn--flw351e xn--fpcrj9c3d xn--fzc2c9e2c xn--fzys8d69uvgm xn--g2xx48c xn--gckr3f0f xn
--gecrj9c xn--gk3at1e xn--h2breg3eve xn--h2brj9c xn--h2brj9c8c xn--hxt814e xn--i1b6b1a6a2e xn--
imr513n xn--io0a7i xn--j1aef xn--j1amh xn--j6w193g xn--jlq480n2rg xn--jvr189m xn--kcrx77d1x4a
xn--kprw13d xn--kpry57d xn--kput3i xn--l1acc xn--lgbbat1ad8j xn--mgb2ddes xn--mgb9awbf xn--
mgba3a3ejt xn--mgba3a4f16a xn--mgba3a4fra xn--mgba7c0bbn0a xn--mgbaam7a8h xn--mgbab2bd xn--
mgbah1a3hjkrd xn--mgbai9a5eva00b xn--mgbai9azgqp6j xn--mgbayh7gpa xn--mgbbh1a xn--mgbbh1a71e xn
--mgbc0a9azcg xn--mgbca7dzdo xn--mgbcpq6gpa1a xn--mgberp4a5d4a87g xn--mgberp4a5d4ar xn--
mgbgu82a xn--mgbi4ecexp xn--mgbpl2fh xn--mgbqly7c0a67fbc xn--mgbqly7cvafr xn--mgbt3dhd xn--
mgbtf8fl xn--mgbtx2b xn--mgbx4cd0ab xn--mix082f xn--mix891f xn--mk1bu44c xn--mxtq1m xn--
ngbc5azd xn--ngbe9e0a xn--ngbrx xn--nnx388a xn--node xn--nqv7f xn--nqv7fs00ema xn--nyqy26a xn--
o3cw4h xn--ogbpf8fl xn--otu796d xn--p1acf xn--p1ai xn--pgbs0dh xn--pssy2u xn--q7ce6a xn--
q9jyb4c xn--qcka1pmc xn--qxa6a xn--qxam xn--rhqv96g xn--rovu88b xn--rvc1e0am3e xn--s9brj9c xn--
ses554g xn--t60b56a xn--tckwe xn--tiq49xqyj xn--unup4y xn--vermgensberater-ctb xn--
vermgensberatung-pwb xn--vhquv xn--vuq861b xn--w4r85el8fhu5dnra xn--w4rs40l xn--wgbh1c xn--
wgbl6a xn--xhq521b xn--xkc2al3hye2a xn--xkc2dl3a5ee0h xn--y9a3aq xn--yfro4i67o xn--ygbi2ammx xn
--zfr164b xxx xyz yachts yahoo yamaxun yandex ye yodobashi yoga yokohama you youtube yt yun za
zappos zara zero zip zm zone zuerich zw
"""
KNOWN_TLDS: frozenset[str] = frozenset(_TLD_DATA.split())
"""Lowercase ASCII (punycode) top-level domains a bare domain in prose may end with."""
