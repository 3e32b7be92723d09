"""Rules: create, change and switch them (audited), try them on sample events, explain misses.

The state changes follow the house pattern: one transaction, one audit entry with the
before/after diff. :func:`test_rule_on_sample` runs the scanner's own pieces (event validation,
the process matcher over active intel, :func:`detection.scan.rule_matches`) on pasted events
without storing anything, for a saved rule or the unsaved values of the rule editor.
:func:`explain_why_not` says, line by line, why an event and an indicator did not give a hit.
Both only ever show indicators the viewer may see (``Indicator.objects.visible_to``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db import transaction

from detection.matching import IndicatorRef, Match
from detection.models import Rule
from detection.observables import extract_observables
from detection.scan import load_matcher, rule_matches, validate_event
from intel.allowlist import AllowlistMatcher
from intel.models import Indicator, IndicatorSource, IndicatorType, Source, Status
from intel.normalize import NormalizationError, normalize
from tdp import audit

# The fields a rule's audit entry snapshots (sources are added as sorted ids).
RULE_FIELDS = (
    "name",
    "description",
    "is_enabled",
    "mode",
    "indicator_types",
    "tags",
    "min_confidence",
    "event_kinds",
    "threshold",
    "window_seconds",
    "severity",
    "policy_label",
    "grouping",
    "group_window_seconds",
)
MAX_SAMPLE_EVENTS = 200


def _rule_snapshot(rule: Rule) -> dict[str, Any]:
    state = audit.snapshot(rule, RULE_FIELDS)
    state["sources"] = sorted(source.pk for source in rule.sources.all())
    return state


def _split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Source] | None]:
    scalars = {key: value for key, value in values.items() if key in RULE_FIELDS}
    sources = values.get("sources")
    return scalars, None if sources is None else list(sources)


@transaction.atomic
def create_rule(values: Mapping[str, Any], *, actor: Any) -> Rule:
    """Create a rule from form values (``sources`` an iterable of sources), audited."""
    scalars, sources = _split_values(values)
    rule = Rule.objects.create(**scalars)
    rule.sources.set(sources or [])
    audit.record("rule.create", rule, actor=actor, changes=audit.diff({}, _rule_snapshot(rule)))
    return rule


@transaction.atomic
def update_rule(rule: Rule, values: Mapping[str, Any], *, actor: Any) -> Rule:
    """Change a rule's settings and sources; the audit entry holds what changed."""
    before = _rule_snapshot(rule)
    scalars, sources = _split_values(values)
    for name, value in scalars.items():
        setattr(rule, name, value)
    rule.save()
    if sources is not None:
        rule.sources.set(sources)
    changes = audit.diff(before, _rule_snapshot(rule))
    audit.record("rule.update", rule, actor=actor, changes=changes)
    return rule


@transaction.atomic
def set_rule_enabled(rule: Rule, enabled: bool, *, actor: Any) -> Rule:
    """Switch a rule on or off (a disabled rule records no hits), audited."""
    before = rule.is_enabled
    rule.is_enabled = enabled
    rule.save(update_fields=["is_enabled", "updated_at"])
    audit.record(
        "rule.enable" if enabled else "rule.disable",
        rule,
        actor=actor,
        changes=audit.diff({"is_enabled": before}, {"is_enabled": enabled}),
    )
    return rule


# --- Test on sample ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainedMatch:
    """One match of a sample event, with where it was seen and why it counts."""

    event_id: str
    field: str
    observable_raw: str
    observable_value: str
    indicator_id: int
    indicator_type: str
    indicator_value: str
    confidence: int
    source_names: tuple[str, ...]
    rule_name: str


@dataclass
class SampleResult:
    """A sample test: the explained matches, the events read and those rejected."""

    matches: list[ExplainedMatch] = field(default_factory=list)
    events: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    error: str = ""


def parse_events(text: str) -> list[object]:
    """Events from pasted text: a JSON array, one JSON object, or JSON lines.

    Raises ``ValueError`` with a readable message when the text is none of these.
    """
    text = text.strip()
    if not text:
        raise ValueError("paste at least one event (a JSON object, an array or JSON lines)")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
        events: list[object] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"line {number} is not JSON: {exc.msg}") from exc
        return events
    return parsed if isinstance(parsed, list) else [parsed]


def draft_rule(values: Mapping[str, Any]) -> Any:
    """An unsaved rule from editor values, usable by :func:`detection.scan.rule_matches`.

    An unsaved ``Rule`` cannot hold sources (a many-to-many), so this is a stand-in with the
    same attributes and a ``sources.all()``.
    """
    defaults = {name: Rule._meta.get_field(name).get_default() for name in RULE_FIELDS}
    scalars, sources = _split_values(values)
    draft = SimpleNamespace(**{**defaults, **scalars}, pk=None)
    chosen = list(sources or [])
    draft.sources = SimpleNamespace(all=lambda: chosen)
    return draft


def test_rule_on_sample(
    rule: Rule | Mapping[str, Any], events_text: str, *, viewer: Any
) -> SampleResult:
    """Run ``rule`` (saved, or editor values) over pasted events; nothing is stored.

    Every valid event is matched against active intel and the matches the rule counts are
    returned with their field, observable, indicator and the indicator's sources. The rule is
    tried even when disabled. Indicators ``viewer`` may not see are left out.
    """
    result = SampleResult()
    try:
        objects = parse_events(events_text)
    except ValueError as exc:
        result.error = str(exc)
        return result
    if len(objects) > MAX_SAMPLE_EVENTS:
        result.error = f"at most {MAX_SAMPLE_EVENTS} events at a time"
        return result
    if isinstance(rule, Rule):
        rule = Rule.objects.prefetch_related("sources").get(pk=rule.pk)
    else:
        rule = draft_rule(rule)
    valid: dict[str, dict[str, Any]] = {}
    for index, obj in enumerate(objects):
        event, reason = validate_event(obj)
        if event is None:
            result.rejected.append((index + 1, reason))
        else:
            valid.setdefault(event["id"], event)
    result.events = len(valid)
    matcher = load_matcher()
    counted: list[tuple[dict[str, Any], Match]] = []
    seen: set[tuple[str, int, str, str]] = set()
    for event in valid.values():
        for match in matcher.match_event(event):
            key = (event["id"], match.indicator.id, match.field, match.observable.value)
            if key not in seen and rule_matches(rule, match, event):
                seen.add(key)
                counted.append((event, match))
    ids = {match.indicator.id for _, match in counted}
    visible = dict(
        Indicator.objects.visible_to(viewer).filter(pk__in=ids).values_list("pk", "confidence")
    )
    names = _source_names(visible)
    for event, match in counted:
        ref, obs = match.indicator, match.observable
        if ref.id not in visible:
            continue
        result.matches.append(
            ExplainedMatch(
                event_id=event["id"],
                field=match.field,
                observable_raw=obs.raw or obs.value,
                observable_value=obs.value,
                indicator_id=ref.id,
                indicator_type=ref.type,
                indicator_value=ref.value,
                confidence=visible[ref.id],
                source_names=names.get(ref.id, ()),
                rule_name=rule.name,
            )
        )
    return result


test_rule_on_sample.__test__ = False  # a service, not a pytest test, despite its name


def _source_names(indicator_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    names: dict[int, list[str]] = {}
    rows = (
        IndicatorSource.objects.filter(indicator_id__in=list(indicator_ids))
        .order_by("source__name")
        .values_list("indicator_id", "source__name")
    )
    for indicator_id, name in rows:
        names.setdefault(indicator_id, []).append(name)
    return {key: tuple(value) for key, value in names.items()}


# --- Why not ----------------------------------------------------------------------------------


def parse_indicator_text(text: str) -> tuple[str | None, str]:
    """``(type, value)`` from ``type:value`` (a known type before the colon) or a bare value."""
    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.strip().lower() in IndicatorType.values and rest.strip():
        return prefix.strip().lower(), rest.strip()
    return None, text


def explain_why_not(
    event_json: str, indicator_text: str, rule: Rule | None = None, *, viewer: Any
) -> list[str]:
    """Reasons why ``indicator_text`` gives no hit on the event (``rule``: also its filters).

    Covers an invalid event, a value that does not normalise, an unknown indicator, an
    inactive one (expired, revoked, allowlisted with the entry), a different normal form, the
    matcher's own explanation, and the rule's filters and switch. Indicators ``viewer`` may
    not see are reported as unknown, exactly like missing ones.
    """
    try:
        obj = json.loads(event_json)
    except json.JSONDecodeError as exc:
        return [f"The event is invalid: not JSON ({exc.msg})."]
    event, reason = validate_event(obj)
    if event is None:
        return [f"The event is invalid: {reason}."]
    wanted_type, raw_value = parse_indicator_text(indicator_text)
    if not raw_value:
        return ["Enter an indicator value."]
    try:
        type_, value = normalize(raw_value, wanted_type)
    except NormalizationError as exc:
        return [f"The indicator value {raw_value!r} is not normalisable: {exc.reason}."]
    reasons: list[str] = []
    if raw_value != value:
        reasons.append(f"Normal form: you entered {raw_value!r}; intel stores it as {value!r}.")
    indicator = (
        Indicator.objects.visible_to(viewer)
        .filter(type=type_, value=value)
        .prefetch_related("provenance")
        .first()
    )
    if indicator is None:
        reasons.append(f"No such indicator: {type_} {value!r} is not in intel.")
        return reasons
    reasons.extend(_inactive_reasons(indicator))
    ref = IndicatorRef(
        indicator.pk,
        indicator.type,
        indicator.value,
        indicator.confidence,
        tuple(indicator.tags),
        tuple(p.source_id for p in indicator.provenance.all()),
    )
    matcher = load_matcher()
    matches = _probe_matches(matcher, event, ref)
    if not matches:
        reasons.extend(_normal_form_reasons(event, type_, value))
    reasons.append(f"Matcher: {matcher.why_not(event, ref)}.")
    if rule is not None:
        reasons.extend(_rule_reasons(rule, ref, event))
    return reasons


def _probe_matches(matcher: Any, event: Mapping[str, Any], ref: IndicatorRef) -> list[Match]:
    """Matches of ``ref`` alone in ``event``, by the matcher's rules (active or not)."""
    probe = type(matcher).build([ref], pdq_distance=matcher.pdq_distance)
    return probe.match_event(event)


def _inactive_reasons(indicator: Indicator) -> list[str]:
    if indicator.status == Status.ACTIVE:
        return []
    if indicator.status == Status.EXPIRED:
        when = indicator.expires_at.strftime("%Y-%m-%d %H:%M UTC") if indicator.expires_at else ""
        return [f"Inactive: the indicator expired{' at ' + when if when else ''}."]
    if indicator.status == Status.REVOKED:
        return ["Inactive: the indicator was revoked."]
    hit = AllowlistMatcher.load().match(indicator.type, indicator.value)
    if hit is None:
        return ["Inactive: the indicator is allowlisted (its entry has since been removed)."]
    return [
        f"Inactive: the indicator is allowlisted by entry {hit.kind} {hit.value!r} ({hit.reason})."
    ]


def _normal_form_reasons(event: Mapping[str, Any], type_: str, value: str) -> list[str]:
    """Observables of the same type whose normal form differs from the indicator's."""
    reasons = []
    for obs in extract_observables(event):
        if obs.type != type_ or obs.value == value:
            continue
        looks_alike = value.lower() in obs.raw.lower() or obs.raw.lower() in value.lower()
        if looks_alike or obs.raw.lower().rstrip("/") == value.lower().rstrip("/"):
            reasons.append(
                f"Different normal form: the event's {obs.raw!r} ({obs.field}) normalises to "
                f"{obs.value!r}, the indicator is {value!r}."
            )
    return reasons


def _rule_reasons(rule: Rule, ref: IndicatorRef, event: Mapping[str, Any]) -> list[str]:
    reasons = []
    name = rule.name
    if not rule.is_enabled:
        reasons.append(f"Rule {name!r} is disabled: it records no hits.")
    if rule.indicator_types and ref.type not in rule.indicator_types:
        reasons.append(
            f"Rule {name!r} indicator types filter ({', '.join(rule.indicator_types)}) "
            f"excludes type {ref.type}."
        )
    if rule.event_kinds and event.get("kind") not in rule.event_kinds:
        reasons.append(
            f"Rule {name!r} event kinds filter ({', '.join(rule.event_kinds)}) "
            f"excludes kind {event.get('kind')}."
        )
    if ref.confidence < rule.min_confidence:
        reasons.append(
            f"Rule {name!r} minimum confidence filter ({rule.min_confidence}) excludes "
            f"confidence {ref.confidence}."
        )
    if rule.tags and not set(rule.tags).intersection(ref.tags):
        reasons.append(
            f"Rule {name!r} tags filter ({', '.join(rule.tags)}) excludes tags "
            f"({', '.join(ref.tags) or 'none'})."
        )
    sources = list(rule.sources.all())
    if sources and not {s.pk for s in sources}.intersection(ref.source_ids):
        reasons.append(
            f"Rule {name!r} sources filter ({', '.join(s.name for s in sources)}) excludes "
            "the indicator's sources."
        )
    if not reasons:
        reasons.append(f"Rule {name!r} filters accept this indicator.")
    return reasons
