"""The rollup refresh: idempotent, incremental (recent and dirty days, windows), recorded,
serialised by its lock; the operations, automation and intel rollups; the command."""

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone

from automation.models import Playbook, PlaybookRun
from cases.models import Case, QaReview
from metrics import rollups
from metrics.models import (
    ActionDay,
    AnalystDay,
    CaseDay,
    HitDay,
    IndicatorDay,
    IndicatorTypeDay,
    IndicatorWindow,
    PlaybookDay,
    RollupRun,
    RuleDay,
    SourceDay,
    SourceIntelDay,
    SourceOverlap,
)
from tests.metrics.conftest import NOON, hits_with_labels, make_case_for, make_hit

pytestmark = pytest.mark.django_db

TABLES = [
    HitDay,
    RuleDay,
    IndicatorDay,
    SourceDay,
    IndicatorWindow,
    CaseDay,
    AnalystDay,
    PlaybookDay,
    ActionDay,
    IndicatorTypeDay,
    SourceIntelDay,
    SourceOverlap,
]


def snapshot() -> dict:
    """Every rollup row, without ids."""
    return {
        model.__name__: sorted(
            (tuple(sorted((k, v) for k, v in model_to_dict(row).items() if k != "id")))
            for row in model.objects.all()
        )
        for model in TABLES
    }


def test_a_refresh_is_idempotent(world, analyst) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=2, fp=1, at=NOON)
    hits_with_labels(world["spam"], world["both"], fp=1, unlabelled=2)
    first = rollups.refresh(full=True)
    rows = snapshot()
    assert rows["RuleDay"] and rows["IndicatorWindow"] and rows["SourceOverlap"]
    rollups.refresh(full=True)
    assert snapshot() == rows
    rollups.refresh()
    assert snapshot() == rows
    assert first.status == RollupRun.Status.SUCCESS and first.kind == RollupRun.Kind.FULL


def test_a_recent_refresh_equals_a_full_one(world, analyst) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON - timedelta(days=20))
    rollups.refresh(full=True)
    # New hits today, old hits labelled now, and a late hit of an old day.
    hits_with_labels(world["phish"], world["both"], fp=2)
    case = make_case_for(world["spam"], at=NOON - timedelta(days=10))
    old = make_hit(world["spam"], world["a_only"], at=NOON - timedelta(days=10), case=case)
    from cases import triage

    run = rollups.refresh()
    assert run.kind == RollupRun.Kind.RECENT
    triage.label_case(case.pk, user=analyst, disposition="true_positive")
    make_hit(world["spam"], world["both"], at=NOON - timedelta(days=30))
    recent = rollups.refresh()
    assert recent.kind == RollupRun.Kind.RECENT
    assert any(day.startswith("2026-09-14") for day in recent.days)  # the late hit's day
    assert IndicatorDay.objects.get(indicator=old.indicator, day=old.created_at.date()).labelled
    incremental = snapshot()
    rollups.refresh(full=True)
    assert snapshot() == incremental


def test_windows_follow_the_day_change(world) -> None:
    today = timezone.now().astimezone(UTC).date()
    hits_with_labels(
        world["phish"], world["a_only"], unlabelled=1, at=timezone.now() - timedelta(days=6)
    )
    run = rollups.refresh(full=True)
    assert IndicatorWindow.objects.filter(window_days=7, indicator=world["a_only"]).exists()
    # A day later the hit leaves the 7-day window (and nothing else changed).
    RollupRun.objects.filter(pk=run.pk).update(window_day=today - timedelta(days=1))
    with connection.cursor() as cursor:  # as if the hit's day were a day older
        cursor.execute("UPDATE metrics_indicatorday SET day = day - 1")
    rollups.refresh()
    windows = set(
        IndicatorWindow.objects.filter(indicator=world["a_only"]).values_list(
            "window_days", flat=True
        )
    )
    assert windows == {30, 90, 0}


def test_each_run_is_recorded_with_its_watermark(world) -> None:
    [hit] = hits_with_labels(world["phish"], world["a_only"], unlabelled=1)
    run = rollups.refresh()
    assert run.hit_watermark == hit.pk
    assert run.counts["ruleday"] == 1 and run.duration_ms is not None
    assert rollups.last_run() == run


def test_a_failed_refresh_is_recorded_and_changes_nothing(world, monkeypatch) -> None:
    hits_with_labels(world["phish"], world["a_only"], unlabelled=1)
    rollups.refresh()
    before = snapshot()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollups, "refresh_operations", broken)
    with pytest.raises(RuntimeError):
        rollups.refresh(full=True)
    failed = RollupRun.objects.first()
    assert failed.status == RollupRun.Status.FAILED and "disk full" in failed.error
    assert snapshot() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_tick_skips_while_another_refresh_holds_the_lock() -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import connection as other

        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [rollups.LOCK_KEY])
            holding.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [rollups.LOCK_KEY])
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(rollups.RefreshBusy):
            rollups.refresh(wait=False)
        assert not RollupRun.objects.exists()
    finally:
        release.set()
        thread.join()
    assert rollups.refresh(wait=False).status == RollupRun.Status.SUCCESS


def test_case_days_describe_the_queue_at_each_days_end(world, analyst) -> None:
    day1 = datetime(2026, 10, 1, 10, tzinfo=UTC)
    open_case = make_case_for(world["phish"], at=day1)  # SLA due day 2, 10:00
    done = make_case_for(world["phish"], at=day1)
    Case.objects.filter(pk=done.pk).update(
        status="resolved",
        disposition="true_positive",
        first_touched_at=day1 + timedelta(hours=1),
        resolved_at=day1 + timedelta(days=2),
        resolved_by=analyst,
    )
    auto = make_case_for(world["spam"], at=day1 + timedelta(days=1))
    Case.objects.filter(pk=auto.pk).update(
        status="resolved", disposition="false_positive", resolved_at=day1 + timedelta(days=1)
    )
    rollups.refresh(full=True)
    days = {row.day.day: row for row in CaseDay.objects.filter(day__lte="2026-10-04")}
    assert (days[1].opened, days[1].open_at_end, days[1].past_sla_at_end) == (2, 2, 0)
    assert days[1].open_age_hours_at_end == pytest.approx(14)
    assert (days[2].opened, days[2].resolved, days[2].auto_resolved) == (1, 1, 1)
    assert (days[2].open_at_end, days[2].past_sla_at_end) == (2, 2)
    assert (days[3].resolved, days[3].resolved_late, days[3].open_at_end) == (1, 1, 1)
    assert days[4].open_at_end == 1 and open_case.pk
    [work] = AnalystDay.objects.all()
    assert (work.user_id, work.resolved, work.true_positive) == (analyst.pk, 1, 1)
    assert work.handle_seconds == pytest.approx(47 * 3600)


def test_analyst_days_count_qa_agreement_by_review_day(world, analyst, lead) -> None:
    case = make_case_for(world["phish"], at=NOON)
    QaReview.objects.create(
        case=case,
        original_disposition="true_positive",
        original_analyst=analyst,
        reviewer=lead,
        disposition="true_positive",
        agrees=True,
        reviewed_at=NOON,
    )
    rollups.refresh(full=True)
    [row] = AnalystDay.objects.all()
    assert (row.user_id, row.qa_reviewed, row.qa_agreed, row.resolved) == (analyst.pk, 1, 1, 0)


def test_automation_days_count_runs_and_steps_by_outcome() -> None:
    playbook = Playbook.objects.create(name="Close spam", trigger="case_created", actions=[])
    started = timezone.now()
    for index, (status, steps) in enumerate(
        [
            ("success", [{"type": "tag", "status": "done"}, {"type": "resolve", "status": "done"}]),
            (
                "failed",
                [{"type": "tag", "status": "done"}, {"type": "webhook", "status": "failed"}],
            ),
            ("skipped", []),
        ]
    ):
        PlaybookRun.objects.create(
            playbook=playbook,
            idempotency_key=f"k{index}",
            trigger="case_created",
            object_type="case",
            object_id=index,
            status=status,
            steps=steps,
            started_at=started,
            finished_at=started,
        )
    rollups.refresh(full=True)
    runs = dict(PlaybookDay.objects.values_list("status", "runs"))
    assert runs == {"success": 1, "failed": 1, "skipped": 1}
    steps = {(a.action, a.outcome): a.steps for a in ActionDay.objects.all()}
    assert steps == {("tag", "done"): 2, ("resolve", "done"): 1, ("webhook", "failed"): 1}


def test_intel_rollups_count_types_statuses_sources_and_overlap(world) -> None:
    world["red"].status = "expired"
    world["red"].save()
    rollups.refresh(full=True)
    today = timezone.now().astimezone(UTC).date()
    snapshot_row = IndicatorTypeDay.objects.get(day=today, type="domain")
    assert (snapshot_row.active, snapshot_row.expired, snapshot_row.created) == (2, 1, 3)
    a, b = world["feed_a"].source, world["feed_b"].source
    totals = {r.source_id: r for r in SourceIntelDay.objects.filter(day=today)}
    assert (totals[a.pk].indicators, totals[a.pk].unique, totals[a.pk].active) == (2, 1, 2)
    assert (totals[b.pk].indicators, totals[b.pk].unique, totals[b.pk].unique_active) == (2, 1, 0)
    shared = {(o.source_a_id, o.source_b_id): o.shared for o in SourceOverlap.objects.all()}
    assert shared == {(a.pk, b.pk): 1, (b.pk, a.pk): 1}
    assert SourceDay.objects.count() == 0  # no hits yet


def test_the_command_refreshes_and_says_what_it_wrote(world) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1)
    out = io.StringIO()
    call_command("refresh_metrics", "--full", stdout=out)
    assert "(full)" in out.getvalue() and "ruleday 1" in out.getvalue()
    call_command("refresh_metrics", "--days", "3", stdout=out)
    assert "(recent)" in out.getvalue()


def test_response_time_percentiles_come_from_daily_histograms(world, analyst) -> None:
    from metrics.operations import percentile, response_times
    from metrics.periods import Period

    day = datetime(2026, 10, 1, tzinfo=UTC)
    for minutes in (10, 20, 30, 40, 600):
        case = make_case_for(world["phish"], at=day)
        Case.objects.filter(pk=case.pk).update(first_touched_at=day + timedelta(minutes=minutes))
    rollups.refresh(full=True)
    times = response_times(Period(day.date(), day.date()))["first_touch"]
    assert times["count"] == 5
    assert times["median"] == pytest.approx(30 * 60, rel=0.1)
    assert times["p90"] == pytest.approx(600 * 60, rel=0.2)
    assert percentile({}, 0.5) is None
    assert percentile({0: 4}, 0.5) == pytest.approx(0.59, rel=0.01)


def test_the_run_keeps_the_queue_as_it_found_it(world) -> None:
    make_case_for(world["phish"], at=timezone.now() - timedelta(days=3))
    run = rollups.refresh()
    assert run.queue["open"] == 1 and run.queue["breached"] == 1
    assert ["1-7 days", 1] in run.queue["ages"]
