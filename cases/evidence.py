"""The evidence of a case as analysts review it: each event with its matched spans marked.

Event text comes from threat actors. It is split here into plain segments and matched segments;
the template escapes every segment and wraps the matched ones in `<mark>`, so nothing from the
event is ever rendered as markup.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from detection.models import ContentEvent, Hit

MAX_EVENTS = 50


@dataclass
class Segment:
    """A piece of event text; ``matched`` pieces are highlighted."""

    text: str
    matched: bool = False


@dataclass
class Listed:
    """An entry of an event's urls, hashtags or media, and whether a hit matched it."""

    text: str
    matched: bool = False


@dataclass
class EventEvidence:
    """One event of a case: where and what matched, ready to render."""

    event_id: str
    kind: str = ""
    occurred_at: Any = None
    author: str = ""
    segments: list[Segment] = field(default_factory=list)
    urls: list[Listed] = field(default_factory=list)
    hashtags: list[Listed] = field(default_factory=list)
    media: list[Listed] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    expired: bool = False  # the event's partition was dropped; only the hits remain


def highlight(text: str, spans: list[tuple[int, int]]) -> list[Segment]:
    """Split ``text`` into segments, marking the (start, end) spans (merged when they overlap)."""
    segments: list[Segment] = []
    position = 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        if start > position:
            segments.append(Segment(text[position:start]))
        segments.append(Segment(text[start:end], matched=True))
        position = end
    if position < len(text) or not segments:
        segments.append(Segment(text[position:]))
    return segments


def _listed(values: list[Any], matched_values: set[str]) -> list[Listed]:
    out = []
    for value in values:
        text = str(value)
        low = text.lower()
        out.append(Listed(text, any(m and m in low for m in matched_values)))
    return out


def _media_text(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return []
    return [f"{kind}:{item[kind]}" for kind in ("sha256", "md5", "sha1", "pdq") if item.get(kind)]


def case_evidence(hits: list[Hit]) -> list[EventEvidence]:
    """The events behind ``hits`` (at most ``MAX_EVENTS``), newest first, with matches marked."""
    by_event: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_event[hit.event_id].append(hit)
    keys = sorted(
        by_event, key=lambda eid: max(h.occurred_at for h in by_event[eid]), reverse=True
    )[:MAX_EVENTS]
    wanted = Q()
    for event_id in keys:
        wanted |= Q(event_id=event_id, received_day=by_event[event_id][0].event_day)
    events = {e.event_id: e for e in ContentEvent.objects.filter(wanted)} if keys else {}
    out = []
    for event_id in keys:
        event_hits = by_event[event_id]
        stored = events.get(event_id)
        if stored is None:
            out.append(EventEvidence(event_id, hits=event_hits, expired=True))
            continue
        payload = stored.payload or {}
        matched = {h.value.lower() for h in event_hits}
        spans = [(h.start, h.end) for h in event_hits if h.field == "text" and h.start is not None]
        media = [text for item in payload.get("media") or [] for text in _media_text(item)]
        out.append(
            EventEvidence(
                event_id=event_id,
                kind=stored.get_kind_display(),
                occurred_at=stored.occurred_at,
                author=stored.author_handle or stored.author_id,
                segments=highlight(stored.text, spans),
                urls=_listed(payload.get("urls") or [], matched),
                hashtags=_listed(payload.get("hashtags") or [], matched),
                media=_listed(media, matched),
                hits=event_hits,
            )
        )
    return out
