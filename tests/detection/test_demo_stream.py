"""The demo content stream (`make up`): synthetic events through the real intake path."""

import io

import django_rq
import pytest
from django.core.management import call_command

from detection.demo import synthetic_events
from detection.models import Hit, ScanBatch
from detection.scan import forget_matcher, validate_event
from tests.factories import make_indicator

pytestmark = pytest.mark.django_db


def test_synthetic_events_are_valid_and_some_carry_intel() -> None:
    intel = [("domain", "evil-demo.example"), ("hashtag", "#freerobux")]
    events = list(synthetic_events(200, intel, match_rate=0.2, seed=1))
    assert all(validate_event(event)[0] is not None for event in events)
    carrying = [e for e in events if "evil-demo" in e["text"] or "#freerobux" in e["hashtags"]]
    assert 20 < len(carrying) < 70


def test_demo_stream_submits_batches_that_a_worker_turns_into_hits(
    django_capture_on_commit_callbacks,
) -> None:
    make_indicator("evil-demo.example", type="domain", confidence=80)
    forget_matcher()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "demo_stream",
            "--batches",
            "2",
            "--rate",
            "50",
            "--match-rate",
            "0.5",
            "--interval",
            "0",
            stdout=out,
        )
    assert ScanBatch.objects.count() == 2
    django_rq.get_worker("scan").work(burst=True)
    assert set(ScanBatch.objects.values_list("status", flat=True)) == {"done"}
    assert Hit.objects.filter(indicator__value="evil-demo.example").exists()
