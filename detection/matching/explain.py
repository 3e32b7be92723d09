"""Why an indicator did not match an event, in one sentence an analyst can act on.

The verdict itself comes from the matcher's own rules (a matcher holding just that indicator
is run on the event); this module only finds the nearest observable of the right kind and
says how it differs: "closest observable cdn.evil.example.org (text) is not evil.example or a
subdomain".
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from detection.matching.keywords import fold
from detection.matching.pdq import hamming_distance
from detection.matching.refs import IndicatorRef
from detection.observables import Observable, extract_observables
from intel.normalize import normalize

if TYPE_CHECKING:
    from detection.matching.matcher import Matcher

__all__ = ["explain_miss"]

_HINTS = {
    "domain": " (domains come from URLs, email addresses and bare names in the text)",
    "account": " (accounts are the author's handle and @mentions in the text)",
    "pdq": " (no media item carries a pdq hash)",
}


def explain_miss(
    matcher: Matcher, probe: Matcher, event: Mapping[str, Any], indicator: IndicatorRef
) -> str:
    """Explain why ``indicator`` does not match ``event`` in ``matcher``.

    ``probe`` is a matcher built from ``indicator`` alone, with ``matcher``'s settings.
    """
    if probe.skipped:
        reason = probe.skipped[0][1]
        return (
            f"indicator #{indicator.id} is not a valid {indicator.type} ({reason}), "
            "so it never matches"
        )
    type_, value = normalize(indicator.value, indicator.type)
    matches = probe.match_event(event)
    if matches:
        where = _describe(matches[0].observable)
        if any(ref.id == indicator.id for ref in matcher.lookup(type_, value)):
            return f"it matches: {where}"
        return (
            f"it would match {where}, but this matcher was built without indicator "
            f"#{indicator.id} (inactive, expired or added after the build)"
        )
    if type_ == "keyword":
        return _keyword_miss(event, value)
    wanted = type_
    if type_ == "cidr":
        wanted = "ipv6" if ":" in value else "ipv4"
    candidates = [o for o in extract_observables(event) if o.type == wanted]
    if not candidates:
        if type_ == "cidr":
            return f"no {'IPv6' if wanted == 'ipv6' else 'IPv4'} address in the event"
        return f"no observable of type {wanted} in the event{_HINTS.get(wanted, '')}"
    if type_ == "pdq":
        bits, closest = min((hamming_distance(o.value, value), o) for o in candidates)
        return (
            f"closest pdq hash {_describe(closest)} is {bits} bits away, above the "
            f"threshold of {matcher.pdq_distance}"
        )
    closest = _closest(candidates, value, by_labels=type_ == "domain")
    if type_ == "domain":
        return f"closest observable {_describe(closest)} is not {value} or a subdomain"
    if type_ == "cidr":
        return f"no address inside {value}: closest observable {_describe(closest)} is outside it"
    if type_ == "url":
        return (
            f"closest observable {_describe(closest)} is not {value} "
            "(URLs match only when equal after normalisation)"
        )
    return f"closest observable {_describe(closest)} is not {value}"


def _describe(obs: Observable) -> str:
    if obs.derived_from is not None:
        return f"{obs.value} ({obs.field}, host of {obs.derived_from})"
    return f"{obs.value} ({obs.field})"


def _closest(candidates: list[Observable], value: str, *, by_labels: bool) -> Observable:
    def score(obs: Observable) -> tuple[int, float]:
        shared = 0
        if by_labels:
            theirs, ours = obs.value.split(".")[::-1], value.split(".")[::-1]
            while shared < min(len(theirs), len(ours)) and theirs[shared] == ours[shared]:
                shared += 1
        return shared, SequenceMatcher(None, obs.value, value).ratio()

    return max(candidates, key=score)


def _keyword_miss(event: Mapping[str, Any], keyword: str) -> str:
    text = event.get("text")
    if not text or not isinstance(text, str):
        return "the event has no text to look for keywords in"
    folded, _ = fold(text)
    at = folded.find(keyword)
    if at < 0:
        return (
            f"the text does not contain {keyword!r} "
            "(compared case-insensitively, whitespace runs as one space)"
        )
    around = folded[max(0, at - 12) : at + len(keyword) + 12]
    return f"{keyword!r} occurs only inside a longer word ({around!r}); keywords match whole words"
