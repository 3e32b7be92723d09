"""Indicator precision over any range: every read strategy of `metrics.precision` (the range
summed whole, the window-bounded read, its fallback) answers exactly what counting the hits
and labels directly answers, before and after refreshes, with hits and labels made a moment
ago, for cleared and uncleared users and for small limits (where the bounded read prunes)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases import triage
from cases.models import HitLabel
from detection.models import Hit
from intel.models import Indicator
from metrics import precision, rollups
from metrics.rollups.detection import midnight
from tests.factories import make_indicator
from tests.metrics.conftest import hits_with_labels, make_case_for, make_hit

pytestmark = pytest.mark.django_db

LIMITS = (1000, 2, 1)


def counted_directly(
    user: Any, since: datetime | None, until: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """The API rows computed from the hits and labels themselves, nothing shared with the code
    under test: most hits first, then lowest indicator id."""
    hits = Hit.objects.all()
    if since is not None:
        hits = hits.filter(created_at__gte=since)
    if until is not None:
        hits = hits.filter(created_at__lt=until)
    visible = set(Indicator.objects.visible_to(user).values_list("pk", flat=True))
    labels = dict(HitLabel.objects.values_list("hit_id", "disposition"))
    counts: dict[int, list[int]] = {}
    for hit_id, indicator_id in hits.values_list("pk", "indicator_id"):
        if indicator_id not in visible:
            continue
        row = counts.setdefault(indicator_id, [0, 0, 0, 0])
        disposition = labels.get(hit_id)
        row[0] += 1
        row[1] += disposition is not None
        row[2] += disposition == "true_positive"
        row[3] += disposition == "false_positive"
    names = {i.pk: f"{i.type}:{i.value}" for i in Indicator.objects.filter(pk__in=counts)}
    best = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [
        {
            "key": names[pk],
            "hits": hits,
            "labelled": labelled,
            "true_positive": tp,
            "false_positive": fp,
            "precision": tp / (tp + fp) if tp + fp else None,
        }
        for pk, (hits, labelled, tp, fp) in best
    ]


def ranges(now: datetime) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Ranges that are no window (and one that is), by name."""
    today = midnight(now.astimezone(UTC).date())
    return {
        "last 10 days": (today - timedelta(days=9), None),
        "days 20 to 3 ago": (today - timedelta(days=20), today - timedelta(days=3)),
        "last 46 days": (today - timedelta(days=45), None),
        "until 5 days ago": (None, today - timedelta(days=5)),
        "partial days at both ends": (
            today - timedelta(days=12, hours=-5),
            today - timedelta(days=1, hours=-7),
        ),
        "partial day, then to now": (today - timedelta(days=2, hours=-3), None),
        "within one day": (
            today - timedelta(days=3, hours=-2),
            today - timedelta(days=3, hours=-20),
        ),
        "the 7-day window": (today - timedelta(days=6), None),
    }


@pytest.fixture
def spread(world) -> dict[str, Any]:
    """Hits of eight indicators (one TLP:RED, among the most hit) over the last 40 days, most
    labelled; one case left unlabelled and one labelled true positive, to label later."""
    now = timezone.now()
    indicators = [world["red"], world["a_only"], world["both"]]
    indicators += [make_indicator(f"n{n}.example") for n in range(5)]
    for k, indicator in enumerate(indicators):
        for days_ago in range(0, 41, 1 + k % 3):
            at = now - timedelta(days=days_ago, hours=(k * 5) % 20)
            count = 1 + (days_ago * (k + 3)) % 4 + (2 if k == 0 else 0)
            hits_with_labels(
                world["phish"],
                indicator,
                tp=count // 2,
                fp=count % 2,
                unlabelled=days_ago % 3 == 0,
                at=at,
            )
    unlabelled = make_case_for(world["phish"], at=now - timedelta(days=15))
    for _ in range(3):
        make_hit(world["phish"], indicators[4], at=now - timedelta(days=15), case=unlabelled)
    relabel = make_case_for(world["phish"], at=now - timedelta(days=25))
    for _ in range(2):
        make_hit(world["phish"], indicators[5], at=now - timedelta(days=25), case=relabel)
    return {"now": now, "indicators": indicators, "unlabelled": unlabelled, "relabel": relabel}


STRATEGIES = {
    # The range's indicator days summed whole.
    "summed": {"DIRECT_ROWS": 10**9},
    # Bounded by the covering window; every candidate summed.
    "bounded": {"DIRECT_ROWS": 0, "ROWS_PER_RESULT": 0, "CANDIDATE_COST": 1},
    # Bounded, but too many candidates: summed whole after all.
    "fallback": {"DIRECT_ROWS": 0, "ROWS_PER_RESULT": 0, "CANDIDATE_COST": 10**9},
}


def assert_all_agree(users: list, now: datetime) -> None:
    for name, (since, until) in ranges(now).items():
        for user in users:
            for limit in LIMITS:
                got = [
                    row.as_api()
                    for row in precision.quality_rows(
                        "indicator", user=user, since=since, until=until, limit=limit
                    )
                ]
                assert got == counted_directly(user, since, until, limit), (
                    name,
                    user.username,
                    limit,
                )


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_range_agrees_with_counting_directly(
    spread, lead, uncleared_lead, analyst, world, monkeypatch, strategy
) -> None:
    for setting, value in STRATEGIES[strategy].items():
        monkeypatch.setattr(precision, setting, value)
    summed = []
    monkeypatch.setattr(
        precision,
        "_summed_top",
        lambda *args, _real=precision._summed_top, **kwargs: (
            summed.append(1) or _real(*args, **kwargs)
        ),
    )
    users = [lead, uncleared_lead]
    assert_all_agree(users, spread["now"])  # before any refresh: all counted live
    rollups.refresh(full=True)
    summed.clear()
    assert_all_agree(users, spread["now"])
    if strategy == "bounded":
        assert not summed, "the bounded read fell back to summing"
    elif strategy == "fallback":
        assert summed, "too many candidates did not fall back"
    # A moment ago: hits on a little-hit indicator, a case labelled, another relabelled.
    hits_with_labels(world["phish"], spread["indicators"][7], fp=9, unlabelled=3)
    triage.label_case(spread["unlabelled"].pk, user=analyst, disposition="true_positive")
    triage.label_case(
        spread["relabel"].pk, user=lead, disposition="false_positive", reason="benign_site"
    )
    assert_all_agree(users, spread["now"])
    rollups.refresh()
    assert_all_agree(users, spread["now"])


def test_a_label_made_a_moment_ago_counts_in_a_custom_range(world, lead, analyst) -> None:
    now = timezone.now()
    case = make_case_for(world["phish"], at=now - timedelta(days=9))
    make_hit(world["phish"], world["a_only"], at=now - timedelta(days=9), case=case)
    hits_with_labels(world["phish"], world["both"], tp=2, at=now - timedelta(days=9))
    rollups.refresh(full=True)
    since = midnight(now.astimezone(UTC).date() - timedelta(days=11))
    until = since + timedelta(days=5)
    before = {row.key: row for row in precision.quality_rows("indicator", user=lead, since=since)}
    assert before["domain:a.example"].labelled == 0
    triage.label_case(case.pk, user=analyst, disposition="false_positive", reason="benign_site")
    for kwargs in ({"since": since}, {"since": since, "until": until}):
        rows = {row.key: row for row in precision.quality_rows("indicator", user=lead, **kwargs)}
        row = rows["domain:a.example"]
        assert (row.labelled, row.false_positive, row.precision) == (1, 1, 0.0), kwargs


def test_a_new_hit_lifts_an_indicator_into_a_custom_range_top(world, lead) -> None:
    """An indicator far down the window (not a candidate by its window total) still enters
    the top when hits newer than the refresh put it there."""
    now = timezone.now()
    for days_ago in (3, 4, 5):
        hits_with_labels(world["phish"], world["a_only"], tp=2, at=now - timedelta(days=days_ago))
    hits_with_labels(world["phish"], world["both"], tp=1, at=now - timedelta(days=4))
    rollups.refresh(full=True)
    hits_with_labels(world["phish"], world["both"], unlabelled=7)
    since = midnight(now.astimezone(UTC).date() - timedelta(days=8))
    [top] = precision.quality_rows("indicator", user=lead, since=since, limit=1)
    assert (top.key, top.hits) == ("domain:both.example", 8)


@pytest.fixture
def bounded(monkeypatch) -> None:
    """Force the window-bounded read whatever the range's size."""
    for setting, value in STRATEGIES["bounded"].items():
        monkeypatch.setattr(precision, setting, value)


def test_the_bounded_read_keeps_a_tie_below_the_window_top(world, lead, bounded) -> None:
    """X ties the window's top two on the range's hits and has the lowest id: it wins the tie
    although its window total only just reaches the threshold."""
    now = timezone.now()
    today = midnight(now.astimezone(UTC).date())
    x = make_indicator("x.example")
    fillers = [make_indicator("f1.example"), make_indicator("f2.example")]
    hits_with_labels(world["phish"], x, tp=3, at=today - timedelta(days=10, hours=-12))
    for filler in fillers:
        hits_with_labels(world["phish"], filler, tp=3, at=today - timedelta(days=10, hours=-12))
        hits_with_labels(world["phish"], filler, fp=7, at=today - timedelta(days=20))
    rollups.refresh(full=True)
    since, until = today - timedelta(days=12), today - timedelta(days=2)
    [top] = precision.quality_rows("indicator", user=lead, since=since, until=until, limit=1)
    assert (top.key, top.hits) == ("domain:x.example", 3)


def test_the_bounded_read_covers_a_partial_first_day(world, lead, bounded) -> None:
    """Hits on the partial first day, the day before the 7-day window, are bounded by the
    30-day window: the indicator with most of them is found."""
    now = timezone.now()
    today = midnight(now.astimezone(UTC).date())
    edge = make_indicator("edge.example")
    hits_with_labels(world["phish"], edge, fp=5, at=today - timedelta(days=7, hours=-20))
    for n in range(3):
        filler = make_indicator(f"f{n}.example")
        hits_with_labels(world["phish"], filler, tp=3, at=today - timedelta(days=4))
    rollups.refresh(full=True)
    since, until = today - timedelta(days=7, hours=-12), today - timedelta(days=1)
    [top] = precision.quality_rows("indicator", user=lead, since=since, until=until, limit=1)
    assert (top.key, top.hits, top.false_positive) == ("domain:edge.example", 5, 5)


def test_the_summed_read_breaks_ties_by_indicator_id(world, lead) -> None:
    """More tied indicators than the read's batch: the lowest ids win the last places."""
    now = timezone.now()
    today = midnight(now.astimezone(UTC).date())
    tied = [make_indicator(f"tie{n}.example") for n in range(150)]
    for indicator in reversed(tied):
        make_hit(world["phish"], indicator, at=today - timedelta(days=4))
    rollups.refresh(full=True)
    since, until = today - timedelta(days=5), today - timedelta(days=2)
    rows = precision.quality_rows("indicator", user=lead, since=since, until=until, limit=2)
    assert [row.key for row in rows] == ["domain:tie0.example", "domain:tie1.example"]
