"""TLP:RED intel is invisible to users who are not cleared, on every surface; cleared users see it.

`analyst_client` is not cleared; `cleared_client` is (the `cleared` group, tdp.view_tlp_red).
"""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from intel.models import TLP, Indicator
from tests.factories import make_indicator, make_user

pytestmark = pytest.mark.django_db

RED_VALUE = "red-only.example"


@pytest.fixture
def red() -> Indicator:
    return make_indicator(RED_VALUE, tlp=TLP.RED)


@pytest.fixture
def amber() -> Indicator:
    return make_indicator("amber.example", tlp=TLP.AMBER)


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_client_for(*, cleared: bool) -> Client:
    """A staff user who may view indicators in the Django admin."""
    user = make_user(role="admin", cleared=cleared)
    user.user_permissions.add(Permission.objects.get(codename="view_indicator"))
    client = Client()
    client.force_login(user)
    return client


def test_the_list_hides_red_from_users_who_are_not_cleared(
    analyst_client: Client, cleared_client: Client, red, amber
) -> None:
    hidden = analyst_client.get("/intel/indicators/").content.decode()
    assert "amber.example" in hidden
    assert RED_VALUE not in hidden
    assert (
        RED_VALUE not in analyst_client.get("/intel/indicators/", {"tlp": "RED"}).content.decode()
    )
    assert RED_VALUE in cleared_client.get("/intel/indicators/").content.decode()


def test_the_detail_page_of_red_intel_is_404_unless_cleared(
    analyst_client: Client, cleared_client: Client, red
) -> None:
    assert analyst_client.get(f"/intel/indicators/{red.pk}/").status_code == 404
    assert cleared_client.get(f"/intel/indicators/{red.pk}/").status_code == 200


def test_red_intel_cannot_be_edited_or_revoked_unless_cleared(
    analyst_client: Client, cleared_client: Client, red
) -> None:
    edit = {"confidence": 1, "severity": "low", "tlp": "RED"}
    assert analyst_client.post(f"/intel/indicators/{red.pk}/edit", edit).status_code == 404
    status = {"status": "revoked", "reason": "peek"}
    assert analyst_client.post(f"/intel/indicators/{red.pk}/status", status).status_code == 404
    red.refresh_from_db()
    assert (red.confidence, red.status) == (50, "active")
    assert cleared_client.post(f"/intel/indicators/{red.pk}/status", status).status_code == 302


def test_the_detect_fragment_does_not_reveal_red_intel(
    analyst_client: Client, cleared_client: Client, red
) -> None:
    hidden = analyst_client.get("/intel/indicators/detect", {"value": RED_VALUE}).content.decode()
    assert "already known" not in hidden
    assert f"/intel/indicators/{red.pk}/" not in hidden
    assert "badge-new" in hidden
    seen = cleared_client.get("/intel/indicators/detect", {"value": RED_VALUE}).content.decode()
    assert "already known" in seen


def test_the_paste_preview_does_not_flag_red_intel_as_known(
    analyst_client: Client, cleared_client: Client, red
) -> None:
    data = {"text": f"C2 at {RED_VALUE}", "confidence": 70, "severity": "medium", "tlp": "AMBER"}
    hidden = analyst_client.post("/intel/paste/", data).context["candidates"]
    assert [(c["item"].value, c["state"]) for c in hidden] == [(RED_VALUE, "new")]
    seen = cleared_client.post("/intel/paste/", data).context["candidates"]
    assert [(c["item"].value, c["state"]) for c in seen] == [(RED_VALUE, "known")]


@pytest.mark.parametrize("fmt", ["csv", "txt", "json", "jsonl", "stix"])
def test_the_web_export_leaves_red_out_unless_cleared(
    analyst_client: Client, cleared_client: Client, red, amber, fmt: str
) -> None:
    url = "/intel/indicators/export"
    hidden = b"".join(analyst_client.get(url, {"format": fmt}).streaming_content).decode()
    assert "amber.example" in hidden
    assert RED_VALUE not in hidden
    seen = b"".join(cleared_client.get(url, {"format": fmt}).streaming_content).decode()
    assert RED_VALUE in seen


def test_the_export_tlp_filter_does_not_bypass_the_rule(analyst_client: Client, red) -> None:
    response = analyst_client.get("/intel/indicators/export", {"format": "csv", "tlp": "RED"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == []


def test_the_api_list_hides_red_from_users_who_are_not_cleared(
    analyst, cleared_analyst, red, amber
) -> None:
    hidden = api_client_for(analyst).get("/api/v1/indicators").json()["results"]
    assert [i["value"] for i in hidden] == ["amber.example"]
    by_tlp = api_client_for(analyst).get("/api/v1/indicators", {"tlp": "RED"}).json()
    assert by_tlp["results"] == []
    seen = api_client_for(cleared_analyst).get("/api/v1/indicators").json()["results"]
    assert {i["value"] for i in seen} == {"amber.example", RED_VALUE}


def test_the_api_detail_of_red_intel_is_404_unless_cleared(analyst, cleared_analyst, red) -> None:
    response = api_client_for(analyst).get(f"/api/v1/indicators/{red.pk}")
    assert response.status_code == 404
    assert RED_VALUE not in json.dumps(response.json())
    assert api_client_for(cleared_analyst).get(f"/api/v1/indicators/{red.pk}").status_code == 200


def test_reporting_red_intel_through_the_api_does_not_reveal_it(analyst, red) -> None:
    response = api_client_for(analyst).post(
        "/api/v1/indicators", {"value": RED_VALUE}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["indicator"] is None
    assert Indicator.objects.get().tlp == TLP.RED  # the most restrictive label is kept


def test_reporting_red_intel_through_the_add_form_does_not_reveal_it(
    analyst_client: Client, red
) -> None:
    data = {"value": RED_VALUE, "confidence": 70, "severity": "medium", "tlp": "AMBER"}
    response = analyst_client.post("/intel/indicators/add/", data, follow=True)
    assert response.redirect_chain == [("/intel/indicators/add/", 302)]
    content = response.content.decode()
    assert f"Saved domain {RED_VALUE}." in content
    assert f"/intel/indicators/{red.pk}/" not in content


def test_the_admin_changelist_hides_red_from_users_who_are_not_cleared(red, amber) -> None:
    url = "/django-admin/intel/indicator/"
    hidden = admin_client_for(cleared=False).get(url)
    assert hidden.status_code == 200
    assert "amber.example" in hidden.content.decode()
    assert RED_VALUE not in hidden.content.decode()
    assert RED_VALUE in admin_client_for(cleared=True).get(url).content.decode()


def test_the_admin_page_of_red_intel_is_hidden_unless_cleared(red) -> None:
    url = f"/django-admin/intel/indicator/{red.pk}/change/"
    hidden = admin_client_for(cleared=False).get(url)
    assert hidden.status_code == 302  # the admin's "doesn't exist" redirect
    assert RED_VALUE not in hidden.content.decode()
    assert admin_client_for(cleared=True).get(url).status_code == 200
