"""intel.lifecycle: expiry (directly and through a real RQ worker), edits and status changes."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from intel.jobs import expire_indicators_job
from intel.lifecycle import expire_due_indicators, set_indicator_status, update_indicator
from intel.models import Indicator, Status
from tdp.models import AuditEntry
from tests.factories import make_indicator

pytestmark = pytest.mark.django_db


def status_of(indicator: Indicator) -> str:
    indicator.refresh_from_db()
    return indicator.status


def test_past_due_active_indicators_expire_with_one_summary_entry() -> None:
    now = timezone.now()
    due = make_indicator("due.example", expires_at=now - timedelta(minutes=1))
    also_due = make_indicator("192.0.2.1", type="ipv4", expires_at=now - timedelta(days=9))
    later = make_indicator("later.example", expires_at=now + timedelta(days=1))
    never = make_indicator("never.example", expires_at=None)
    revoked = make_indicator("revoked.example", status=Status.REVOKED, expires_at=now)
    assert expire_due_indicators(now=now) == 2
    assert status_of(due) == status_of(also_due) == Status.EXPIRED
    assert status_of(later) == status_of(never) == Status.ACTIVE
    assert status_of(revoked) == Status.REVOKED
    entry = AuditEntry.objects.get(action="intel.expire")
    assert (entry.changes, entry.user_name) == ({"expired": 2}, "system")


def test_expiring_again_finds_nothing_and_writes_no_entry() -> None:
    make_indicator("due.example", expires_at=timezone.now() - timedelta(days=1))
    assert expire_due_indicators() == 1
    assert expire_due_indicators() == 0
    assert AuditEntry.objects.filter(action="intel.expire").count() == 1


def test_expired_indicators_leave_the_matcher_set() -> None:
    make_indicator("due.example", expires_at=timezone.now() - timedelta(days=1))
    expire_due_indicators()
    assert not Indicator.objects.active().exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_expiry_job_runs_on_a_real_worker() -> None:
    due = make_indicator("due.example", expires_at=timezone.now() - timedelta(days=1))
    job = django_rq.get_queue("default").enqueue(expire_indicators_job)
    assert django_rq.get_worker("default").work(burst=True)
    job.refresh()
    assert job.is_finished
    assert job.return_value() == 1
    assert status_of(due) == Status.EXPIRED


def test_update_records_only_what_changed(analyst) -> None:
    indicator = make_indicator("evil.example", confidence=50, tags=["a"])
    update_indicator(indicator, actor=analyst, confidence=80, tags=["a"])
    entry = AuditEntry.objects.get(action="indicator.update")
    assert entry.changes == {"confidence": [50, 80]}
    assert Indicator.objects.get().confidence == 80


def test_an_update_that_changes_nothing_writes_nothing(analyst) -> None:
    indicator = make_indicator("evil.example", confidence=50)
    update_indicator(indicator, actor=analyst, confidence=50)
    assert not AuditEntry.objects.exists()


def test_only_editable_fields_can_be_updated(analyst) -> None:
    indicator = make_indicator("evil.example")
    with pytest.raises(ValueError, match="not editable: value"):
        update_indicator(indicator, actor=analyst, value="other.example")


def test_revoking_records_the_reason(analyst) -> None:
    indicator = make_indicator("evil.example")
    set_indicator_status(indicator, Status.REVOKED, actor=analyst, reason="false positive")
    assert status_of(indicator) == Status.REVOKED
    entry = AuditEntry.objects.get(action="indicator.revoked")
    assert (entry.note, entry.changes) == ("false positive", {"status": ["active", "revoked"]})


def test_reactivating_an_expired_indicator_clears_its_past_expiry(analyst) -> None:
    past = timezone.now() - timedelta(days=1)
    indicator = make_indicator("evil.example", status=Status.EXPIRED, expires_at=past)
    set_indicator_status(indicator, Status.ACTIVE, actor=analyst, reason="still live")
    indicator.refresh_from_db()
    assert (indicator.status, indicator.expires_at) == (Status.ACTIVE, None)
    assert expire_due_indicators() == 0  # not expired again at once


def test_setting_the_same_status_writes_nothing(analyst) -> None:
    indicator = make_indicator("evil.example")
    set_indicator_status(indicator, Status.ACTIVE, actor=analyst)
    assert not AuditEntry.objects.exists()


def test_an_unknown_status_is_refused(analyst) -> None:
    with pytest.raises(ValueError, match="unknown status 'deleted'"):
        set_indicator_status(make_indicator(), "deleted", actor=analyst)


def test_an_allowlisted_value_is_never_reactivated(analyst) -> None:
    # www.tiktok.com is covered by the seeded platform entry for tiktok.com
    allowlisted = make_indicator("www.tiktok.com", status=Status.ALLOWLISTED)
    revoked = make_indicator("https://tiktok.com/@x", type="url", status=Status.REVOKED)
    for indicator in (allowlisted, revoked):
        with pytest.raises(ValueError, match=r"is allowlisted \(domain tiktok\.com\)"):
            set_indicator_status(indicator, Status.ACTIVE, actor=analyst, reason="oops")
    assert status_of(allowlisted) == Status.ALLOWLISTED
    assert status_of(revoked) == Status.REVOKED
    assert not AuditEntry.objects.exists()


def test_a_no_longer_allowlisted_value_can_be_reactivated(analyst) -> None:
    indicator = make_indicator("corp.example", status=Status.ALLOWLISTED)
    set_indicator_status(indicator, Status.ACTIVE, actor=analyst, reason="entry removed")
    assert status_of(indicator) == Status.ACTIVE
