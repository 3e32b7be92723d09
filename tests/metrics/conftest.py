"""Metrics fixtures: hits, cases and labels written directly, with the times a test needs.

Rollups and live reads only look at rows, so tests build exactly the rows they reason about
(the cases app's own tests cover how scans and triage write them); the freshness tests label
through `cases.triage` to prove a real label counts at once.
"""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Case, HitLabel
from detection.models import Hit, Rule
from intel.models import IndicatorSource
from tests.factories import make_feed, make_indicator, make_rule, make_user

_events = itertools.count(1)
# A fixed Wednesday noon, far enough back that "today" never interferes.
NOON = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)


def make_hit(
    rule: Rule,
    indicator: Any,
    *,
    at: datetime | None = None,
    case: Case | None = None,
    mode: str = "live",
) -> Hit:
    """A hit of ``rule`` on ``indicator`` created at ``at`` (now by default)."""
    at = at or timezone.now()
    hit = Hit.objects.create(
        event_id=f"ev-{next(_events)}",
        event_day=at.date(),
        rule=rule,
        indicator=indicator,
        field="text",
        value=indicator.value,
        author_id="a1",
        occurred_at=at,
        mode=mode,
        case=case,
    )
    Hit.objects.filter(pk=hit.pk).update(created_at=at)
    hit.created_at = at
    return hit


def make_case_for(rule: Rule, *, at: datetime | None = None, **fields: Any) -> Case:
    """An open case of ``rule`` opened at ``at``."""
    at = at or timezone.now()
    return Case.objects.create(
        rule=rule,
        grouping=rule.grouping,
        group_key="a1",
        policy_label=rule.policy_label,
        sla_due_at=at + timedelta(hours=24),
        first_hit_at=at,
        last_hit_at=at,
        created_at=at,
        **fields,
    )


def label(hit: Hit, disposition: str, *, at: datetime | None = None, user: Any = None) -> HitLabel:
    """Label ``hit`` (which must be in a case) as the triage code would, at ``at``."""
    sources = sorted(
        IndicatorSource.objects.filter(indicator_id=hit.indicator_id).values_list(
            "source_id", flat=True
        )
    )
    return HitLabel.objects.create(
        hit=hit,
        case=hit.case,
        disposition=disposition,
        rule=hit.rule,
        indicator=hit.indicator,
        indicator_type=hit.indicator.type,
        indicator_value=hit.indicator.value,
        source_ids=sources,
        labelled_by=user,
        labelled_at=at or timezone.now(),
    )


def hits_with_labels(
    rule: Rule,
    indicator: Any,
    *,
    tp: int = 0,
    fp: int = 0,
    other: int = 0,
    unlabelled: int = 0,
    at: datetime | None = None,
) -> list[Hit]:
    """Hits of ``rule`` on ``indicator`` in one case: ``tp`` true, ``fp`` false, ``other``
    duplicate, ``unlabelled`` without a label."""
    case = make_case_for(rule, at=at)
    hits = []
    for disposition, count in (
        ("true_positive", tp),
        ("false_positive", fp),
        ("duplicate", other),
        ("", unlabelled),
    ):
        for _ in range(count):
            hit = make_hit(rule, indicator, at=at, case=case)
            if disposition:
                label(hit, disposition)
            hits.append(hit)
    return hits


@pytest.fixture
def uncleared_lead(db):
    return make_user("lou", role="lead", cleared=False)


@pytest.fixture
def world(db):
    """Two rules (phishing, spam), two feeds and a manual source, three indicators (one RED)."""
    feed_a, feed_b = make_feed("Feed A"), make_feed("Feed B")
    past = NOON - timedelta(days=400)
    a_only = make_indicator("a.example")
    both = make_indicator("both.example")
    red = make_indicator("red.example", tlp="RED")
    for indicator, feeds in ((a_only, [feed_a]), (both, [feed_a, feed_b]), (red, [feed_b])):
        for feed in feeds:
            IndicatorSource.objects.create(
                indicator=indicator, source=feed.source, first_seen_at=past, reference="t"
            )
    return {
        "phish": make_rule("Phish", policy_label="phishing"),
        "spam": make_rule("Spam", policy_label="spam"),
        "feed_a": feed_a,
        "feed_b": feed_b,
        "a_only": a_only,
        "both": both,
        "red": red,
    }
