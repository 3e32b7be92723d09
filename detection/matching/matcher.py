"""The one matcher: every active indicator in memory, every event checked against all of them.

:meth:`Matcher.build` indexes indicators by type once; :meth:`Matcher.match_event` then costs
a few dict lookups per observable, independent of how many indicators there are. The rules
(one test each in tests/detection/test_matching.py):

``url``
    Equal after normalisation (text, ``urls``).
``domain``
    That domain and its subdomains, as written in text, as a URL's host or an email's domain:
    the host's label suffixes are looked up (``cdn.evil.example`` -> ``cdn.evil.example``,
    ``evil.example``), so ``evil.example`` never matches ``notevil.example`` or
    ``evil.example.org``.
``ipv4`` / ``ipv6``
    Equal addresses, also as URL hosts.
``cidr``
    Addresses inside the network (:mod:`detection.matching.networks`).
``md5`` / ``sha1`` / ``sha256``
    Equal, case-insensitively, on the same kind only (media hashes, hex in text).
``pdq``
    Media PDQ hashes within ``pdq_distance`` bits (default 31, inclusive; per call
    overridable) (:mod:`detection.matching.pdq`).
``email`` / ``phone`` / ``account`` / ``hashtag`` / ``crypto_wallet``
    Equal after normalisation; accounts are the author's handle and ``@mentions``.
``keyword``
    Whole words or phrases in the text, case-insensitive, any script
    (:mod:`detection.matching.keywords`).

Indicator values are normalised again at build time through :func:`intel.normalize.normalize`
(values from the database are canonical already, but one stray spelling must not silently
never match); the ones that fail are left out and listed in :attr:`Matcher.skipped`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from detection.matching.explain import explain_miss
from detection.matching.keywords import KeywordIndex
from detection.matching.networks import NetworkIndex
from detection.matching.pdq import DEFAULT_DISTANCE, PdqIndex
from detection.matching.refs import IndicatorRef, Match, Refs, add_ref, each_ref
from detection.observables import Observable, extract_observables
from intel.normalize import NormalizationError, normalize

__all__ = ["Matcher"]

logger = logging.getLogger(__name__)

EXACT_TYPES: tuple[str, ...] = (
    "url",
    "ipv4",
    "ipv6",
    "md5",
    "sha1",
    "sha256",
    "email",
    "phone",
    "account",
    "hashtag",
    "crypto_wallet",
)
_IP_VERSION = {"ipv4": 4, "ipv6": 6}


class Matcher:
    """Active indicators indexed by type; build once, match many events, rebuild to refresh.

    Read-only once built, so one instance can be shared by threads; to pick up new or
    expired indicators, build a new one and swap it in.
    """

    __slots__ = (
        "_domain_tails",
        "_domains",
        "_exact",
        "_keywords",
        "_networks",
        "_pdq",
        "counts",
        "pdq_distance",
        "skipped",
    )

    def __init__(self, *, pdq_distance: int = DEFAULT_DISTANCE) -> None:
        if not 0 <= pdq_distance <= 256:
            raise ValueError(f"a PDQ distance is 0-256 bits, got {pdq_distance}")
        self.pdq_distance = pdq_distance
        self._exact: dict[str, dict[str, Refs]] = {t: {} for t in EXACT_TYPES}
        self._domains: dict[str, Refs] = {}
        # The last two labels of every domain indicator: any indicator a host can match ends
        # in the host's last two labels, so most hosts need one lookup, not a walk.
        self._domain_tails: set[str] = set()
        self._networks = NetworkIndex()
        self._pdq = PdqIndex()
        self._keywords = KeywordIndex()
        self.counts: dict[str, int] = {}
        """Indicators indexed, by type."""
        self.skipped: list[tuple[IndicatorRef, str]] = []
        """Indicators left out, with the reason (an invalid value or an unknown type)."""

    @classmethod
    def build(
        cls, indicators: Iterable[IndicatorRef], *, pdq_distance: int = DEFAULT_DISTANCE
    ) -> Matcher:
        """Index ``indicators`` (a million take a few seconds); invalid ones go to ``skipped``."""
        self = cls(pdq_distance=pdq_distance)
        exact, domains = self._exact, self._domains
        counts: dict[str, int] = {}
        for ref in indicators:
            try:
                type_, value = normalize(ref.value, ref.type)
            except NormalizationError as exc:
                self.skipped.append((ref, exc.reason))
                continue
            if value == ref.value:
                value = ref.value  # one string object, not two
            table = exact.get(type_)
            if table is not None:
                add_ref(table, value, ref)
            elif type_ == "domain":
                add_ref(domains, value, ref)
                self._domain_tails.add(_tail(value))
            elif type_ == "cidr":
                self._networks.add(value, ref)
            elif type_ == "pdq":
                self._pdq.add(value, ref)
            elif type_ == "keyword":
                self._keywords.add(value, ref)
            else:  # a type intel may add later, before it has a rule here
                self.skipped.append((ref, f"no matching rule for type {type_!r}"))
                continue
            counts[type_] = counts.get(type_, 0) + 1
        self._pdq.freeze()
        self._keywords.freeze()
        self.counts = counts
        if self.skipped:
            logger.info("matcher: %s indicators skipped", len(self.skipped))
        return self

    @property
    def size(self) -> int:
        """Number of indicators indexed."""
        return sum(self.counts.values())

    # --- Matching ---------------------------------------------------------------------------

    def match_event(
        self, event: Mapping[str, Any], *, pdq_distance: int | None = None
    ) -> list[Match]:
        """Every indicator match in one content event (observables first, then keywords).

        One :class:`Match` per indicator and observable: an indicator seen in the text and in
        ``urls`` matches twice, once per place. ``pdq_distance`` overrides the build's.
        """
        matches = self.match_observables(extract_observables(event), pdq_distance=pdq_distance)
        text = event.get("text")
        if len(self._keywords) and text and isinstance(text, str):
            matches.extend(self.match_keywords(text))
        return matches

    def match_observables(
        self, observables: list[Observable], *, pdq_distance: int | None = None
    ) -> list[Match]:
        """Every indicator matched by these observables, in observable order.

        Keywords are matched against text, not observables: see :meth:`match_keywords`.
        """
        out: list[Match] = []
        exact = self._exact
        networks = self._networks
        tails = self._domain_tails
        for obs in observables:
            type_, value = obs[0], obs[1]  # tuple indexing: faster than the named properties
            table = exact.get(type_)
            if table is not None:
                refs = table.get(value)
                if refs is not None:
                    _add_matches(out, refs, obs)
                version = _IP_VERSION.get(type_)
                if version is not None and networks.has_version(version):
                    for refs in networks.containing(version, value):
                        _add_matches(out, refs, obs)
            elif type_ == "domain":
                cut = value.rfind(".", 0, value.rfind("."))  # _tail, inlined
                if (value if cut < 0 else value[cut + 1 :]) in tails:
                    for refs in self._domain_refs(value):
                        _add_matches(out, refs, obs)
            elif type_ == "pdq" and len(self._pdq):
                distance = self.pdq_distance if pdq_distance is None else pdq_distance
                for _bits, refs in self._pdq.search(value, distance):
                    _add_matches(out, refs, obs)
        return out

    def match_keywords(self, text: str) -> list[Match]:
        """Keyword matches in ``text``, as ``keyword`` observables with offsets into it."""
        out: list[Match] = []
        for start, end, keyword, refs in self._keywords.find(text):
            obs = Observable("keyword", keyword, "text", start, end, text[start:end])
            _add_matches(out, refs, obs)
        return out

    def _domain_refs(self, host: str) -> list[Refs]:
        """Index slots of ``host`` and each parent domain (never a bare TLD)."""
        domains = self._domains
        found = []
        while True:
            refs = domains.get(host)
            if refs is not None:
                found.append(refs)
            cut = host.find(".") + 1
            host = host[cut:]
            if not cut or "." not in host:
                return found

    # --- Introspection ----------------------------------------------------------------------

    def lookup(self, type_: str, value: str) -> tuple[IndicatorRef, ...]:
        """Indicators indexed under exactly this canonical ``(type, value)``."""
        refs: Refs | None = None
        if type_ in self._exact:
            refs = self._exact[type_].get(value)
        elif type_ == "domain":
            refs = self._domains.get(value)
        elif type_ == "keyword":
            refs = self._keywords.get(value)
        elif type_ == "pdq":
            hits = self._pdq.search(value, 0)
            refs = hits[0][1] if hits else None
        elif type_ == "cidr":
            refs = self._networks.get(value)
        return () if refs is None else each_ref(refs)

    def why_not(self, event: Mapping[str, Any], indicator: IndicatorRef) -> str:
        """A sentence saying why ``indicator`` does not match ``event`` (or that it does).

        The verdict comes from the same rules: a matcher holding only ``indicator`` is run on
        the event, then the nearest observable of the right kind is described.
        """
        probe = Matcher.build([indicator], pdq_distance=self.pdq_distance)
        return explain_miss(self, probe, event, indicator)

    def memory_bytes(self) -> int:
        """Approximate bytes held by the indexes, keys included.

        The :class:`IndicatorRef` objects belong to the caller and are not counted; walking a
        million keys takes about a second, so this is for benchmarks, not request paths.
        """
        tables = [*self._exact.values(), self._domains, self._domain_tails]
        tables += self._networks.tables()
        total = sum(sys.getsizeof(t) for t in tables)
        total += sum(sys.getsizeof(k) for t in tables for k in t)
        return total + self._pdq.memory_bytes() + self._keywords.memory_bytes()


def _tail(domain: str) -> str:
    """The last two labels of a domain (the domain itself when it has two)."""
    cut = domain.rfind(".", 0, domain.rfind("."))
    return domain if cut < 0 else domain[cut + 1 :]


def _add_matches(out: list[Match], refs: Refs, obs: Observable) -> None:
    if type(refs) is tuple:
        out.extend(Match(ref, obs, obs.field) for ref in refs)
    else:
        out.append(Match(refs, obs, obs.field))  # type: ignore[arg-type]
