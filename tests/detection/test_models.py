"""Detection models: the partitioned event table, the seeded rule, hit uniqueness."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from detection.models import ContentEvent, Hit, Rule
from detection.retention import ensure_partition, partition_name
from tests.factories import make_indicator, make_rule

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 25)


def store_event(event_id: str = "ev1", day: date = DAY) -> ContentEvent:
    ensure_partition(day)
    return ContentEvent.objects.create(
        received_day=day,
        event_id=event_id,
        kind=ContentEvent.Kind.POST,
        occurred_at=timezone.now(),
        author_id="a1",
        author_handle="alice",
        payload={"id": event_id},
    )


def test_the_default_rule_exists_after_migrate() -> None:
    rule = Rule.objects.get(name="Known-bad intel")
    assert rule.is_enabled
    assert rule.mode == Rule.Mode.LIVE
    assert rule.grouping == Rule.Grouping.PER_AUTHOR
    assert (rule.indicator_types, rule.tags, rule.event_kinds) == ([], [], [])
    assert (rule.min_confidence, rule.threshold) == (0, 1)
    assert not rule.sources.exists()


def test_the_event_table_is_partitioned_by_received_day() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = 'detection_contentevent'::regclass"
        )
        assert cursor.fetchone() == ("r", "received_day")


def test_an_event_is_stored_in_its_day_partition_with_an_id_from_the_sequence() -> None:
    event = store_event()
    assert event.id > 0
    assert event.pk == (DAY, event.id)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id FROM {partition_name(DAY)}")  # noqa: S608
        assert cursor.fetchall() == [("ev1",)]
    assert ContentEvent.objects.get().received_at is not None


def test_an_event_id_is_unique_within_a_day() -> None:
    store_event("ev1")
    with pytest.raises(IntegrityError), transaction.atomic():
        store_event("ev1")


def test_the_same_event_id_may_be_stored_on_two_days() -> None:
    store_event("ev1", DAY)
    store_event("ev1", date(2026, 11, 26))
    assert ContentEvent.objects.filter(event_id="ev1").count() == 2


def test_an_event_outside_every_partition_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ContentEvent.objects.create(
            received_day=date(1999, 1, 1),
            event_id="old",
            kind="post",
            occurred_at=timezone.now(),
            author_id="a1",
            payload={},
        )


def test_a_hit_is_unique_per_event_rule_and_indicator() -> None:
    rule, indicator = make_rule(), make_indicator()
    fields = {
        "event_id": "ev1",
        "event_day": DAY,
        "rule": rule,
        "indicator": indicator,
        "field": "text",
        "value": indicator.value,
        "author_id": "a1",
        "occurred_at": timezone.now(),
        "mode": rule.mode,
    }
    Hit.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hit.objects.create(**{**fields, "field": "urls"})


def test_a_rule_threshold_is_at_least_one() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_rule(threshold=0)


def test_a_rule_needs_a_unique_name() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_rule("Known-bad intel")
