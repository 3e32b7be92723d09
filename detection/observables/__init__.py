"""Observables: what in a content event intel can match, extracted fast enough for the stream.

:func:`extract_observables` turns one content event (a dict: ``text``, ``urls``, ``author``,
``hashtags``, ``media``...) into :class:`Observable` values, each normalised exactly as intel
is (through :func:`intel.normalize.normalize`, never a second normaliser), so the matcher can
compare with plain dict lookups.

Public API
----------
``Observable``                 ``(type, value, field, start, end, raw, derived_from)``.
``extract_observables(event)`` every observable of an event, deduplicated.
``text_observables(text)``     observables in free text, with offsets (:mod:`.text`).
``url_host(url)``              ``(type, value)`` of a canonical URL's host.
``canonical(raw, type_)``      cached :func:`intel.normalize.normalize`, None when invalid.

Where observables come from
---------------------------
* ``text``: URLs, emails, bare domains, IPs, ``@mentions``, ``#hashtags``, phone numbers,
  hashes and wallets, defanged or not; offsets into the original text
  (:mod:`detection.observables.text` has the rules).
* ``urls``: every entry as a URL (``http://`` added when the scheme is missing).
* ``author``: the handle as an account. ``hashtags``: every entry as a hashtag.
* ``media``: ``sha256``/``md5``/``sha1``/``pdq`` of every item, each as its own kind.
* A URL implies its host (a domain or an IP) and an email its domain, as *derived*
  observables (``derived_from`` names the URL or email; same field and offsets), so domain and
  IP indicators match links and addresses. Single-label hosts (``localhost``) imply nothing.

Observables are deduplicated per ``(type, value, field)``, keeping the first occurrence.
``metadata`` is not read. Values that do not normalise are skipped silently: an event is
evidence, not intel, and a broken link in a post is not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from detection.observables.observable import (
    FIELDS,
    MEDIA_HASH_TYPES,
    Observable,
    canonical,
    canonical_as,
    url_host,
)
from detection.observables.text import text_observables
from intel.normalize import NormalizationError, normalize

__all__ = [
    "FIELDS",
    "MEDIA_HASH_TYPES",
    "Observable",
    "canonical",
    "extract_observables",
    "text_observables",
    "url_host",
]


# Bound once: Observable(...) through its generated __new__ costs twice as much as
# tuple.__new__, and each canonical() call would look its type up again.
_new = tuple.__new__
_account = canonical_as("account")
_hashtag = canonical_as("hashtag")
_MEDIA_CANONICAL = tuple((kind, canonical_as(kind)) for kind in MEDIA_HASH_TYPES)


@lru_cache(maxsize=1 << 15)
def _listed_url(raw: str) -> tuple[Observable, ...]:
    """The observables of one entry of an event's ``urls``: the URL and its host (cached
    here rather than in :func:`canonical`: posts share links)."""
    try:
        value = normalize(raw, "url")[1]
    except NormalizationError:
        return ()
    url = _new(Observable, ("url", value, "urls", -1, -1, raw, None))
    host = url_host(value)
    if host is None:
        return (url,)
    return url, _new(Observable, (host[0], host[1], "urls", -1, -1, raw, value))


def extract_observables(event: Mapping[str, Any]) -> list[Observable]:
    """Every observable of one content event, deduplicated per ``(type, value, field)``.

    Order: text (in text order), urls, author, hashtags, media. The event is JSON-shaped
    (dicts, lists, strings); missing keys and values of the wrong type are ignored.
    """
    out: list[Observable] = []
    # Within one field a canonical value has one type (a pdq and a sha256 can share their
    # hex, hence the kind in the media keys), so values alone deduplicate.
    seen: set[str] = set()
    text = event.get("text")
    if text and type(text) is str:
        for obs in text_observables(text):
            if obs[1] not in seen:
                seen.add(obs[1])
                out.append(obs)
        seen.clear()
    for raw in event.get("urls") or ():
        if type(raw) is str:
            for obs in _listed_url(raw):
                if obs[1] not in seen:
                    seen.add(obs[1])
                    out.append(obs)
    author = event.get("author")
    if isinstance(author, dict) and type(handle := author.get("handle")) is str:
        value = _account(handle)
        if value is not None:
            out.append(_new(Observable, ("account", value, "author", -1, -1, handle, None)))
    hashtags = event.get("hashtags")
    if hashtags:
        seen.clear()
        for raw in hashtags:
            value = _hashtag(raw) if type(raw) is str else None
            if value is not None and value not in seen:
                seen.add(value)
                out.append(_new(Observable, ("hashtag", value, "hashtags", -1, -1, raw, None)))
    media_items = event.get("media")
    if media_items:
        seen.clear()
        for media in media_items:
            if isinstance(media, dict):
                for kind, canonical_hash in _MEDIA_CANONICAL:
                    raw = media.get(kind)
                    value = canonical_hash(raw) if raw and type(raw) is str else None
                    if value is not None and kind + value not in seen:
                        seen.add(kind + value)
                        out.append(_new(Observable, (kind, value, "media", -1, -1, raw, None)))
    return out
