"""tdp.roles.assign_role and `set_role`: one role per user, clearance, staff flag, audit."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tdp.models import AuditEntry
from tdp.roles import assign_role, has_role, is_cleared, role_name
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_assign_role_replaces_the_previous_role_and_writes_an_audit_entry(admin_user) -> None:
    user = make_user("rolf", role="analyst")
    assign_role(user, "lead", cleared=True, actor=admin_user)
    user.refresh_from_db()
    assert role_name(user) == "lead"
    assert is_cleared(user)
    entry = AuditEntry.objects.get(action="user.role")
    assert entry.changes["role"] == ["analyst", "lead"]
    assert entry.user == admin_user


def test_admins_are_staff_and_others_are_not() -> None:
    user = make_user("stan", role=None)
    assign_role(user, "admin")
    assert user.is_staff and has_role(user, "admin")
    assign_role(user, "analyst")
    assert not user.is_staff and not has_role(user, "lead")


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        assign_role(make_user("x", role=None), "superhero")


def test_set_role_command_creates_and_clears() -> None:
    call_command("set_role", "newbie", "analyst", "--create", "--cleared")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="newbie")
    assert role_name(user) == "analyst" and is_cleared(user)
    call_command("set_role", "newbie", "none")
    user = get_user_model().objects.get(username="newbie")
    assert role_name(user) == "" and not is_cleared(user)


def test_set_role_command_refuses_a_missing_user() -> None:
    with pytest.raises(CommandError, match="no user"):
        call_command("set_role", "ghost", "lead")


def test_the_django_admin_lists_intel_models_for_admins(admin_client_: Client) -> None:
    page = admin_client_.get("/django-admin/").content.decode()
    assert "Indicators" in page
    assert admin_client_.get("/django-admin/intel/indicator/").status_code == 200


def test_the_django_admin_refuses_staff_without_the_admin_role() -> None:
    user = make_user("staffy", role="lead")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert "/django-admin/login/" in response["Location"]


def test_the_admin_role_alone_does_not_clear_for_tlp_red() -> None:
    assert not is_cleared(make_user("plain-admin", role="admin"))
