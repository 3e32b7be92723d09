"""False negatives: analysts report events that should have hit; what intel would have caught them.

:func:`report_miss` validates the event with :func:`detection.scan.validate_event` (the
intake's own check) and records a `MissedReport`, audited. :func:`would_catch` answers, when a
report is read, which *existing* intel matches the event — active or not, since a miss is often
explained by an indicator that expired, was revoked or allowlisted: the event's observables
(:func:`detection.observables.extract_observables`, normalised as intel is) are looked up by
(type, value), domains with their parent domains, and the indicators found are confirmed by the
one matcher (:meth:`detection.matching.Matcher.match_event`), which also says where each
matched. Keywords, CIDR ranges and near PDQ hashes are not looked up (an exact lookup cannot
find them). Indicators the viewer may not see (TLP:RED without clearance) are never returned.
:func:`misses_per_policy` is the metrics view: misses per policy over a period, each with that
list.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from detection.matching import IndicatorRef, Matcher
from detection.models import Rule
from detection.observables import extract_observables
from detection.scan import validate_event
from intel.models import Indicator
from tdp import audit
from tuning.models import MissedReport

MAX_NOTE = 5000
MAX_EVENT_BYTES = 256 * 1024


class MissedReportError(ValueError):
    """A miss that cannot be recorded (the message says why)."""


@dataclass(frozen=True)
class Catch:
    """One existing indicator that matches a missed event, and where."""

    indicator_id: int
    type: str
    value: str
    status: str
    tlp: str
    confidence: int
    field: str
    observable: str

    def as_dict(self) -> dict[str, Any]:
        """The API's shape."""
        return {
            "indicator": self.indicator_id,
            "type": self.type,
            "value": self.value,
            "status": self.status,
            "tlp": self.tlp,
            "confidence": self.confidence,
            "field": self.field,
            "observable": self.observable,
        }


@transaction.atomic
def report_miss(event: object, *, policy: str, note: str = "", actor: Any) -> MissedReport:
    """Record that ``event`` should have hit under ``policy``; raises MissedReportError."""
    valid, reason = validate_event(event)
    if valid is None:
        raise MissedReportError(f"event: {reason}")
    stored = {**valid, "occurred_at": valid["occurred_at"].isoformat()}
    if len(json.dumps(stored)) > MAX_EVENT_BYTES:
        raise MissedReportError(f"event: larger than {MAX_EVENT_BYTES // 1024} KB")
    if policy not in Rule.PolicyLabel.values:
        raise MissedReportError(f"policy must be one of {', '.join(Rule.PolicyLabel.values)}")
    if len(note) > MAX_NOTE:
        raise MissedReportError(f"note: at most {MAX_NOTE} characters")
    report = MissedReport.objects.create(
        event=stored,
        event_id=valid["id"],
        occurred_at=valid["occurred_at"],
        policy=policy,
        note=note,
        reported_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        "tuning.missed.report",
        report,
        actor=actor,
        changes={"policy": [None, policy], "event_id": [None, report.event_id]},
        note=note,
    )
    return report


def _lookup_keys(observables: Iterable[Any]) -> set[tuple[str, str]]:
    """The (type, value) pairs an indicator matching these observables would be stored as."""
    keys: set[tuple[str, str]] = set()
    for obs in observables:
        keys.add((obs.type, obs.value))
        if obs.type == "domain":
            labels = obs.value.split(".")
            # Parent domains, never a bare top-level label (the matcher's rule).
            keys.update(("domain", ".".join(labels[i:])) for i in range(1, len(labels) - 1))
    return keys


def would_catch_many(reports: Iterable[MissedReport], *, viewer: Any) -> dict[int, list[Catch]]:
    """:func:`would_catch` for many reports, with one indicator query."""
    reports = list(reports)
    observables = {report.pk: extract_observables(report.event) for report in reports}
    keys: set[tuple[str, str]] = set()
    for found in observables.values():
        keys |= _lookup_keys(found)
    by_type: dict[str, list[str]] = defaultdict(list)
    for type_, value in keys:
        by_type[type_].append(value)
    indicators: dict[int, Indicator] = {}
    if by_type:
        query = Q()
        for type_, values in by_type.items():
            query |= Q(type=type_, value__in=values)
        indicators = {
            ind.pk: ind
            for ind in Indicator.objects.visible_to(viewer)
            .filter(query)
            .prefetch_related("provenance")
        }
    probe = Matcher.build(
        IndicatorRef(
            ind.pk,
            ind.type,
            ind.value,
            ind.confidence,
            tuple(ind.tags),
            tuple(p.source_id for p in ind.provenance.all()),
        )
        for ind in indicators.values()
    )
    out: dict[int, list[Catch]] = {}
    for report in reports:
        catches: dict[int, Catch] = {}
        for match in probe.match_event(report.event) if indicators else []:
            ind = indicators[match.indicator.id]
            obs = match.observable
            catches.setdefault(
                ind.pk,
                Catch(
                    ind.pk,
                    ind.type,
                    ind.value,
                    ind.status,
                    ind.tlp,
                    ind.confidence,
                    match.field,
                    obs.raw or obs.value,
                ),
            )
        out[report.pk] = list(catches.values())
    return out


def would_catch(report: MissedReport, *, viewer: Any) -> list[Catch]:
    """Existing indicators (any status) that match the missed event, visible to ``viewer``."""
    return would_catch_many([report], viewer=viewer)[report.pk]


@dataclass
class PolicyMisses:
    """The misses of one policy over a period."""

    policy: str
    label: str
    reports: list[MissedReport] = field(default_factory=list)
    catches: dict[int, list[Catch]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Misses reported."""
        return len(self.reports)

    @property
    def caught(self) -> int:
        """Misses that existing intel (active or not) matches."""
        return sum(1 for report in self.reports if self.catches.get(report.pk))


def misses_per_policy(
    *, viewer: Any, days: int = 30, policy: str | None = None
) -> list[PolicyMisses]:
    """Misses reported in the last ``days`` days, per policy (most misses first), each with
    the intel that would have caught it."""
    since = timezone.now() - timedelta(days=days)
    reports = MissedReport.objects.filter(created_at__gte=since).select_related("reported_by")
    if policy:
        reports = reports.filter(policy=policy)
    reports = list(reports.order_by("-created_at", "-id"))
    catches = would_catch_many(reports, viewer=viewer)
    labels: Mapping[str, str] = dict(Rule.PolicyLabel.choices)
    groups: dict[str, PolicyMisses] = {}
    for report in reports:
        group = groups.setdefault(
            report.policy, PolicyMisses(report.policy, labels.get(report.policy, report.policy))
        )
        group.reports.append(report)
        group.catches[report.pk] = catches[report.pk]
    return sorted(groups.values(), key=lambda g: (-g.count, g.policy))
