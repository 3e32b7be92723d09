"""The intel a back-test matches with: active intel the rule accepts, changed by a pasted list.

An indicator change list (the command's ``--indicators FILE``, the page's text box) has one
indicator per line: ``type,value`` (a known type before the first comma) or a plain value whose
type is detected, normalised through :func:`intel.normalize.normalize`. Lines are *added* to
the active set; a line starting with ``-`` *removes* that indicator from it instead. Blank
lines and lines starting with ``#`` are skipped; lines that do not normalise are reported and
skipped.

An added value that intel already holds keeps its stored attributes (an expired or revoked
indicator is simply back, with its confidence, tags and sources); a value intel does not know
is matched as a new indicator of confidence 100 with no tags and no sources, under a negative
id. Rule filters apply to added indicators as to any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Q, Value

from detection.matching import IndicatorRef
from intel.models import Indicator, IndicatorType, Status
from intel.normalize import NormalizationError, normalize

NEW_INDICATOR_CONFIDENCE = 100
MAX_ERRORS = 20
_LOOKUP_CHUNK = 5000


@dataclass
class IndicatorChanges:
    """Parsed change list: canonical ``(type, value)`` pairs to add and to remove."""

    add: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered set
    remove: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    rejected: int = 0

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def parse_indicator_changes(lines: Iterable[str]) -> IndicatorChanges:
    """Read a change list (see the module docstring); bad lines go to ``errors``."""
    changes = IndicatorChanges()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        removing = line.startswith("-")
        if removing:
            line = line[1:].strip()
        prefix, sep, rest = line.partition(",")
        wanted = prefix.strip().lower()
        type_, value = (
            (wanted, rest.strip()) if sep and wanted in IndicatorType.values else (None, line)
        )
        try:
            key = normalize(value, type_)
        except NormalizationError as exc:
            changes.rejected += 1
            if len(changes.errors) < MAX_ERRORS:
                changes.errors.append(f"line {number}: {exc.reason}")
            continue
        if removing:
            changes.remove.add(key)
            changes.add.pop(key, None)
        else:
            changes.add[key] = None
            changes.remove.discard(key)
    return changes


def rule_indicators(rule: Any) -> Iterator[IndicatorRef]:
    """Active indicators that pass ``rule``'s indicator filters (types, confidence, tags,
    sources), streamed.

    The filters run in SQL, so a narrow rule builds a small matcher. Tags and sources are only
    read when the rule filters on them (:func:`detection.scan.rule_matches` reads them for
    nothing else): aggregating provenance, even parsing tag arrays, for a million indicators
    costs seconds.
    """
    rows = Indicator.objects.active().order_by()
    if rule.indicator_types:
        rows = rows.filter(type__in=rule.indicator_types)
    if rule.min_confidence:
        rows = rows.filter(confidence__gte=rule.min_confidence)
    if rule.tags:
        rows = rows.filter(tags__overlap=list(rule.tags))
    source_ids = [source.pk for source in rule.sources.all()]
    if not source_ids and not rule.tags:  # the common case, and the fastest to read
        plain = rows.values_list("id", "type", "value", "confidence")
        for id_, type_, value, confidence in plain.iterator(chunk_size=10_000):
            yield IndicatorRef(id_, type_, value, confidence)
        return
    if not source_ids:
        tagged = rows.values_list("id", "type", "value", "confidence", "tags")
        for id_, type_, value, confidence, tags in tagged.iterator(chunk_size=10_000):
            yield IndicatorRef(id_, type_, value, confidence, tuple(tags))
        return
    # Filtering before annotating aggregates only the rule's sources: enough for its filter.
    sourced = (
        rows.filter(provenance__source_id__in=source_ids)
        .annotate(source_ids=ArrayAgg("provenance__source_id"))
        .values_list("id", "type", "value", "confidence", "tags", "source_ids")
    )
    for id_, type_, value, confidence, tags, ids in sourced.iterator(chunk_size=10_000):
        yield IndicatorRef(id_, type_, value, confidence, tuple(tags), tuple(ids))


@dataclass
class ChangeCounts:
    """What a change list did to the matched set."""

    added: int = 0
    already_active: int = 0
    removed: int = 0


def backtest_refs(
    rule: Any, changes: IndicatorChanges | None, counts: ChangeCounts
) -> Iterator[IndicatorRef]:
    """Every indicator the back-test matches with: :func:`rule_indicators` minus
    ``changes.remove`` plus ``changes.add``; ``counts`` is filled in as they stream."""
    remove = changes.remove if changes else set()
    additions = _resolve_additions(list(changes.add), counts) if changes else []
    for ref in rule_indicators(rule):
        if remove and (ref.type, ref.value) in remove:
            counts.removed += 1
            continue
        yield ref
    counts.added = len(additions)
    yield from additions


def _resolve_additions(keys: list[tuple[str, str]], counts: ChangeCounts) -> list[IndicatorRef]:
    """A reference for each key intel does not hold active: the stored indicator's (expired,
    revoked or allowlisted) or a new one. Active ones are counted, not repeated."""
    stored: dict[tuple[str, str], IndicatorRef | None] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        by_type: dict[str, list[str]] = {}
        for type_, value in keys[start : start + _LOOKUP_CHUNK]:
            by_type.setdefault(type_, []).append(value)
        query = Q()
        for type_, values in by_type.items():
            query |= Q(type=type_, value__in=values)
        found = (
            Indicator.objects.filter(query)
            .order_by()
            .annotate(
                source_ids=ArrayAgg(
                    "provenance__source_id",
                    filter=Q(provenance__source_id__isnull=False),
                    default=Value([]),
                )
            )
            .values_list("id", "type", "value", "status", "confidence", "tags", "source_ids")
        )
        for id_, type_, value, status, confidence, tags, source_ids in found:
            stored[(type_, value)] = (
                None
                if status == Status.ACTIVE
                else IndicatorRef(id_, type_, value, confidence, tuple(tags), tuple(source_ids))
            )
    refs: list[IndicatorRef] = []
    for key in keys:
        if key not in stored:
            refs.append(IndicatorRef(-len(refs) - 1, key[0], key[1], NEW_INDICATOR_CONFIDENCE))
        elif stored[key] is None:
            counts.already_active += 1
        else:
            refs.append(stored[key])
    return refs
