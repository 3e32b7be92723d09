"""False-positive suggestions: find noisy indicators, rules and feeds, then apply or dismiss.

:func:`refresh_suggestions` (every 15 minutes from tdp/cron.py, and `manage.py
refresh_suggestions`) reads the hit labels: every active indicator, live enabled rule and
enabled feed with at least `TDP_TUNING_MIN_LABELS` true- or false-positive labels and a
false-positive rate of at least `TDP_TUNING_FP_RATE` gets one open suggestion (kept up to date
while it qualifies, withdrawn — deleted — once it no longer does). A feed's labels are those
of hits on indicators its source reported.

The suggested action, by false-positive rate:

* indicator: ≥ 0.9 and an allowlistable type → allowlist the value; ≥ 0.75 (or already at
  confidence 0) → expire it; otherwise lower its confidence to ``confidence * (1 - rate)``;
* rule: ≥ 0.9 → disable it; otherwise narrow it by switching it to shadow mode (it keeps
  recording hits for measurement but queues no cases; narrowing filters is a lead's edit);
* feed: mute it, i.e. disable its pulls (its indicators stay as they are: a lead may expire
  them, or wait for their TTL).

:func:`apply_suggestion` carries the action out through the audited service function that owns
it (`intel.lifecycle`, `intel.allowlist`, `detection.rules`, `intel.feed_config`) and writes an
audit entry for the suggestion itself, in one transaction; :func:`dismiss_suggestion` records a
decision not to. Either way, the target gets a new suggestion only after
`TDP_TUNING_MIN_LABELS` more labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from cases.models import Disposition, HitLabel
from detection.models import Rule
from detection.rules import set_rule_enabled, update_rule
from intel.allowlist import add_allowlist_entry, normalize_entry
from intel.feed_config import apply_feed_config
from intel.lifecycle import set_indicator_status, update_indicator
from intel.models import AllowlistEntry, Feed, Indicator, Status
from tdp import audit
from tuning.models import ACTIONS, Action, TargetKind, TuningSuggestion

logger = logging.getLogger(__name__)

ALLOWLIST_AT = 0.9
EXPIRE_AT = 0.75
DISABLE_RULE_AT = 0.9
# Indicator types an allowlist entry can cover, and the entry kind for each.
ALLOWLIST_KINDS = {
    "domain": AllowlistEntry.Kind.DOMAIN,
    "url": AllowlistEntry.Kind.URL_PREFIX,
    "ipv4": AllowlistEntry.Kind.IP,
    "ipv6": AllowlistEntry.Kind.IP,
    "cidr": AllowlistEntry.Kind.IP,
    "md5": AllowlistEntry.Kind.HASH,
    "sha1": AllowlistEntry.Kind.HASH,
    "sha256": AllowlistEntry.Kind.HASH,
    "pdq": AllowlistEntry.Kind.HASH,
    "account": AllowlistEntry.Kind.ACCOUNT,
    "email": AllowlistEntry.Kind.EMAIL,
}
_COUNTED = (Disposition.TRUE_POSITIVE, Disposition.FALSE_POSITIVE)


class TuningError(ValueError):
    """A suggestion that cannot be applied or dismissed as asked (the message says why)."""


@dataclass(frozen=True)
class Candidate:
    """A target over the thresholds, with the action suggested for it."""

    kind: str
    target_id: int
    target_repr: str
    labels: int
    false_positives: int
    action: str
    params: dict[str, Any]

    @property
    def fp_rate(self) -> float:
        """False positives / labels."""
        return self.false_positives / self.labels


def _qualifies(labels: int, false_positives: int, min_labels: int, rate: float) -> bool:
    return labels >= min_labels and false_positives >= rate * labels


def indicator_action(type_: str, confidence: int, fp_rate: float) -> tuple[str, dict[str, Any]]:
    """The action suggested for a noisy indicator, and its values (see the module docstring)."""
    if fp_rate >= ALLOWLIST_AT and type_ in ALLOWLIST_KINDS:
        return Action.ALLOWLIST, {}
    lowered = int(confidence * (1 - fp_rate))
    if fp_rate >= EXPIRE_AT or lowered >= confidence:
        return Action.EXPIRE, {}
    return Action.LOWER_CONFIDENCE, {"confidence": lowered}


def find_candidates(*, min_labels: int, rate: float) -> list[Candidate]:
    """Every active indicator, live enabled rule and enabled feed over the thresholds."""
    labels = HitLabel.objects.filter(disposition__in=_COUNTED).order_by()
    tally = {
        "labels": Count("pk"),
        "fps": Count("pk", filter=Q(disposition=Disposition.FALSE_POSITIVE)),
    }
    found: list[Candidate] = []
    indicators = (
        labels.filter(indicator__status=Status.ACTIVE)
        .values("indicator_id", "indicator__type", "indicator__value", "indicator__confidence")
        .annotate(**tally)
        .filter(labels__gte=min_labels)
    )
    for row in indicators:
        if _qualifies(row["labels"], row["fps"], min_labels, rate):
            action, params = indicator_action(
                row["indicator__type"], row["indicator__confidence"], row["fps"] / row["labels"]
            )
            name = f"{row['indicator__type']}:{row['indicator__value']}"
            found.append(
                Candidate(
                    TargetKind.INDICATOR,
                    row["indicator_id"],
                    name[:300],
                    row["labels"],
                    row["fps"],
                    action,
                    params,
                )
            )
    rules = (
        labels.filter(rule__is_enabled=True, rule__mode=Rule.Mode.LIVE)
        .values("rule_id", "rule__name")
        .annotate(**tally)
        .filter(labels__gte=min_labels)
    )
    for row in rules:
        if _qualifies(row["labels"], row["fps"], min_labels, rate):
            disable = row["fps"] / row["labels"] >= DISABLE_RULE_AT
            action = Action.DISABLE_RULE if disable else Action.SHADOW_RULE
            found.append(
                Candidate(
                    TargetKind.RULE,
                    row["rule_id"],
                    row["rule__name"],
                    row["labels"],
                    row["fps"],
                    action,
                    {},
                )
            )
    for feed_id, name, n, fps in _feed_tallies(min_labels):
        if _qualifies(n, fps, min_labels, rate):
            found.append(Candidate(TargetKind.FEED, feed_id, name, n, fps, Action.MUTE_FEED, {}))
    return found


def _feed_tallies(min_labels: int) -> list[tuple[int, str, int, int]]:
    """``(feed id, name, labels, false positives)`` of enabled feeds with enough labels.

    A label keeps its indicator's source ids (an array); a feed is one source.
    """
    sql = f"""
        SELECT f.id, f.name, count(*),
               count(*) FILTER (WHERE l.disposition = %s)
        FROM {Feed._meta.db_table} f
        JOIN {HitLabel._meta.db_table} l ON f.source_id = ANY(l.source_ids)
        WHERE f.enabled AND l.disposition IN (%s, %s)
        GROUP BY f.id, f.name
        HAVING count(*) >= %s
    """  # noqa: S608  table names come from the models, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [Disposition.FALSE_POSITIVE, *_COUNTED, min_labels])
        return list(cursor.fetchall())


@dataclass
class RefreshResult:
    """What a refresh changed."""

    created: int = 0
    updated: int = 0
    withdrawn: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts, for the command and the job's result."""
        return {"created": self.created, "updated": self.updated, "withdrawn": self.withdrawn}


@transaction.atomic
def refresh_suggestions(
    *, min_labels: int | None = None, rate: float | None = None
) -> RefreshResult:
    """Bring the open suggestions in line with the labels (see the module docstring)."""
    min_labels = settings.TDP_TUNING_MIN_LABELS if min_labels is None else min_labels
    rate = settings.TDP_TUNING_FP_RATE if rate is None else rate
    with connection.cursor() as cursor:  # one refresh at a time: the open set is read, then
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tuning.refresh'))")  # rewritten
    result = RefreshResult()
    candidates = {
        (c.kind, c.target_id): c for c in find_candidates(min_labels=min_labels, rate=rate)
    }
    open_ = {(s.target_kind, s.target_id): s for s in TuningSuggestion.objects.open()}
    decided: dict[tuple[str, int], int] = {}
    for kind, target_id, labels in (
        TuningSuggestion.objects.exclude(status=TuningSuggestion.Status.OPEN)
        .order_by("decided_at", "id")
        .values_list("target_kind", "target_id", "labels")
    ):
        decided[(kind, target_id)] = labels  # the latest decision wins
    for key, candidate in candidates.items():
        suggestion = open_.pop(key, None)
        if suggestion is None:
            if key in decided and candidate.labels < decided[key] + min_labels:
                continue
            TuningSuggestion.objects.create(
                target_kind=candidate.kind,
                target_id=candidate.target_id,
                **_fields(candidate),
            )
            result.created += 1
            continue
        fields = _fields(candidate)
        if any(getattr(suggestion, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(suggestion, name, value)
            suggestion.save(update_fields=[*fields, "updated_at"])
            result.updated += 1
    if open_:
        TuningSuggestion.objects.filter(pk__in=[s.pk for s in open_.values()]).delete()
        result.withdrawn = len(open_)
    if result.created or result.withdrawn:
        audit.record("tuning.refresh", None, changes=result.as_dict())
    logger.info(
        "suggestions: %s created, %s updated, %s withdrawn",
        result.created,
        result.updated,
        result.withdrawn,
    )
    return result


def _fields(candidate: Candidate) -> dict[str, Any]:
    return {
        "target_repr": candidate.target_repr,
        "action": candidate.action,
        "params": candidate.params,
        "fp_rate": round(candidate.fp_rate, 4),
        "labels": candidate.labels,
        "false_positives": candidate.false_positives,
    }


def _lock_open(suggestion: TuningSuggestion) -> TuningSuggestion:
    locked = TuningSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if locked.status != TuningSuggestion.Status.OPEN:
        raise TuningError(f"this suggestion was {locked.get_status_display().lower()} already")
    return locked


@transaction.atomic
def apply_suggestion(
    suggestion: TuningSuggestion, *, actor: Any, action: str | None = None, note: str = ""
) -> TuningSuggestion:
    """Carry out the suggested ``action`` (or another one allowed for its kind of target)."""
    suggestion = _lock_open(suggestion)
    action = action or suggestion.action
    if action not in ACTIONS[suggestion.target_kind]:
        raise TuningError(f"{action!r} cannot be applied to a {suggestion.target_kind}")
    reason = note or (
        f"tuning: {suggestion.false_positives} of {suggestion.labels} labels false positive"
    )
    _carry_out(suggestion, action, actor=actor, reason=reason)
    suggestion.status = TuningSuggestion.Status.APPLIED
    suggestion.applied_action = action
    suggestion.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    suggestion.decided_at = timezone.now()
    suggestion.note = note
    suggestion.save()
    audit.record(
        "tuning.suggestion.apply",
        suggestion,
        actor=actor,
        changes={"status": ["open", "applied"], "action": [None, action]},
        note=note,
    )
    return suggestion


def _carry_out(suggestion: TuningSuggestion, action: str, *, actor: Any, reason: str) -> None:
    """Change the target through its own audited service function."""
    target_id = suggestion.target_id
    if suggestion.target_kind == TargetKind.INDICATOR:
        indicator = Indicator.objects.select_for_update().filter(pk=target_id).first()
        if indicator is None:
            raise TuningError("the indicator no longer exists")
        if action == Action.EXPIRE:
            set_indicator_status(indicator, Status.EXPIRED, actor=actor, reason=reason)
        elif action == Action.LOWER_CONFIDENCE:
            confidence = suggestion.params.get("confidence")
            if confidence is None:
                confidence = int(indicator.confidence * (1 - suggestion.fp_rate))
            update_indicator(indicator, actor=actor, confidence=confidence)
        else:
            _allowlist(indicator, actor=actor, reason=reason)
        return
    if suggestion.target_kind == TargetKind.RULE:
        rule = Rule.objects.select_for_update().filter(pk=target_id).first()
        if rule is None:
            raise TuningError("the rule no longer exists")
        if action == Action.DISABLE_RULE:
            set_rule_enabled(rule, False, actor=actor)
        else:
            update_rule(rule, {"mode": Rule.Mode.SHADOW}, actor=actor)
        return
    feed = Feed.objects.filter(pk=target_id).first()
    if feed is None:
        raise TuningError("the feed no longer exists")
    apply_feed_config({"enabled": False}, actor=actor, feed=feed)


def _allowlist(indicator: Indicator, *, actor: Any, reason: str) -> None:
    """Allowlist the indicator's value; when an entry covers it already, just flip it."""
    kind = ALLOWLIST_KINDS.get(indicator.type)
    if kind is None:
        raise TuningError(f"{indicator.get_type_display()} values cannot be allowlisted")
    value = normalize_entry(kind, indicator.value)
    if AllowlistEntry.objects.filter(kind=kind, value=value).exists():
        set_indicator_status(indicator, Status.ALLOWLISTED, actor=actor, reason=reason)
    else:
        add_allowlist_entry(kind, value, reason=reason, actor=actor)


@transaction.atomic
def dismiss_suggestion(
    suggestion: TuningSuggestion, *, actor: Any, note: str = ""
) -> TuningSuggestion:
    """Decide not to act on a suggestion (the reason goes in ``note``), audited."""
    suggestion = _lock_open(suggestion)
    suggestion.status = TuningSuggestion.Status.DISMISSED
    suggestion.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    suggestion.decided_at = timezone.now()
    suggestion.note = note
    suggestion.save()
    audit.record(
        "tuning.suggestion.dismiss",
        suggestion,
        actor=actor,
        changes={"status": ["open", "dismissed"]},
        note=note,
    )
    return suggestion
