"""tdp.audit: one trail for every state change, written in the change's transaction."""

import pytest
from django.db import transaction
from django.test import Client

from tdp import audit
from tdp.models import AuditEntry
from tests.factories import make_source

pytestmark = pytest.mark.django_db


def test_record_stores_who_what_and_the_changes(analyst) -> None:
    source = make_source("Partner feed")
    entry = audit.record("source.update", source, actor=analyst, changes={"name": ["a", "b"]})
    assert entry.user == analyst
    assert entry.user_name == analyst.username
    assert entry.object_repr == "Partner feed"
    assert entry.object_id == str(source.pk)
    assert entry.changes == {"name": ["a", "b"]}
    assert list(audit.entries_for(source)) == [entry]


def test_the_user_name_survives_deleting_the_user(analyst) -> None:
    entry = audit.record("thing.happen", None, actor=analyst)
    analyst.delete()
    entry.refresh_from_db()
    assert entry.user is None
    assert entry.user_name == "ana"


def test_an_entry_is_rolled_back_with_its_change() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("thing.happen", None)
        raise RuntimeError("the change failed")
    assert AuditEntry.objects.count() == 0


def test_snapshot_never_copies_secrets() -> None:
    source = make_source("S")
    source.api_token = "hunter2"  # an attribute named like a secret
    snap = audit.snapshot(source, ["name", "api_token"])
    assert snap == {"name": "S"}


def test_diff_lists_only_changed_fields() -> None:
    assert audit.diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": [2, 3], "c": [None, 4]}


def test_the_audit_page_lists_and_filters_entries(admin_client_: Client, analyst) -> None:
    audit.record("intel.ingest", make_source("Alpha"), actor=analyst)
    audit.record("allowlist.add", make_source("Beta"), actor=analyst)
    page = admin_client_.get("/audit/?action=allowlist").content.decode()
    assert "Beta" in page
    assert "Alpha" not in page


def test_the_audit_page_returns_the_partial_to_htmx(admin_client_: Client) -> None:
    response = admin_client_.get("/audit/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="audit-results"' in html
    assert "<html" not in html


def test_entries_about_red_indicators_need_clearance_on_the_audit_page() -> None:
    from tests.factories import make_indicator, make_user

    red = make_indicator("red-audited.example", tlp="RED")
    audit.record("indicator.update", red, changes={"tags": [[], ["secret"]]})
    audit.record("intel.ingest", make_source("Visible source"))
    for cleared, visible in ((False, False), (True, True)):
        client = Client()
        client.force_login(make_user(role="admin", cleared=cleared))
        for url in ("/audit/", "/django-admin/tdp/auditentry/"):
            page = client.get(url).content.decode()
            assert "Visible source" in page
            assert ("red-audited.example" in page) is visible, (url, cleared)
