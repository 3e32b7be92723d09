"""The one matcher: content events against every active indicator, in memory.

Public API
----------
``IndicatorRef``   what the matcher needs of an indicator (id, type, value, confidence, tags,
                   source ids).
``Match``          one indicator matched by one observable, and the field it was seen in.
``Matcher``        ``Matcher.build(indicators, pdq_distance=31)``, then ``match_event(event)``,
                   ``match_observables(observables)``, ``match_keywords(text)``,
                   ``why_not(event, indicator)``, ``size``, ``counts``, ``skipped``,
                   ``memory_bytes()``.

The rules per indicator type are in :mod:`detection.matching.matcher`; how events become
observables is :mod:`detection.observables`. Indexes: CIDRs by prefix length
(:mod:`~detection.matching.networks`), PDQ by multi-index hashing
(:mod:`~detection.matching.pdq`), keywords in an Aho-Corasick automaton
(:mod:`~detection.matching.keywords`); explanations in :mod:`~detection.matching.explain`.
"""

from detection.matching.matcher import Matcher
from detection.matching.refs import IndicatorRef, Match

__all__ = ["IndicatorRef", "Match", "Matcher"]
