"""`setup_demo` (what `make up` runs): demo users per role and demo feeds, safe to run twice."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from automation.models import Playbook
from intel.models import TLP, Feed, FeedRun, Indicator
from tdp.management.commands.setup_demo import DEMO_PASSWORD
from tdp.roles import is_cleared, role_name

pytestmark = pytest.mark.django_db


def test_running_setup_demo_twice_is_harmless() -> None:
    call_command("setup_demo", stdout=io.StringIO())
    indicators = Indicator.objects.count()
    call_command("setup_demo", stdout=io.StringIO())

    users = {u.username: u for u in get_user_model().objects.all()}
    assert {name: role_name(u) for name, u in users.items()} == {
        "analyst": "analyst",
        "analyst2": "analyst",
        "lead": "lead",
        "admin": "admin",
    }
    assert not is_cleared(users["analyst"]) and is_cleared(users["analyst2"])
    assert authenticate(username="lead", password=DEMO_PASSWORD) is not None
    assert Feed.objects.count() == 7
    assert FeedRun.objects.count() == 7  # one first run each; the second call pulls nothing
    assert not FeedRun.objects.filter(status=FeedRun.Status.FAILED).exists()
    assert Indicator.objects.count() == indicators > 60_000
    assert Indicator.objects.filter(tlp=TLP.RED).count() == 3
    assert Playbook.objects.filter(dry_run=True).count() == 1
    assert Playbook.objects.count() == 3
