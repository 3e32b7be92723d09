"""The metrics pages: access (anonymous, analyst, lead, admin), method, content, htmx partials,
TLP:RED in the indicator table, and the CSV/JSON exports."""

import csv
import io
import json

import pytest
from django.urls import reverse

from metrics import rollups
from tests.factories import make_indicator
from tests.metrics.conftest import NOON, hits_with_labels

pytestmark = pytest.mark.django_db

PAGES = ["overview", "detection", "intel", "operations", "automation", "report_list"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_leads(lead_client, world, name) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, fp=1, at=NOON)
    rollups.refresh(full=True)
    response = lead_client.get(reverse(f"metrics:{name}"), {"range": "all"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rollups refreshed" in body
    assert "style=" not in body and "<script>" not in body  # strict CSP: nothing inline


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_before_any_data_or_refresh(admin_client_, name) -> None:
    assert admin_client_.get(reverse(f"metrics:{name}")).status_code == 200


@pytest.mark.parametrize("name", [*PAGES, "detection_export"])
def test_pages_are_for_leads_not_analysts(analyst_client, name) -> None:
    assert analyst_client.get(reverse(f"metrics:{name}")).status_code == 403


def test_anonymous_users_go_to_the_login_page(client) -> None:
    response = client.get(reverse("metrics:overview"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_pages_refuse_post(lead_client) -> None:
    assert lead_client.post(reverse("metrics:detection")).status_code == 405


def test_the_menu_links_to_the_metrics_overview(lead_client) -> None:
    body = lead_client.get(reverse("metrics:overview")).content.decode()
    assert f'href="{reverse("metrics:overview")}"' in body


@pytest.mark.parametrize("by", ["rule", "policy", "feed", "indicator"])
def test_the_detection_table_groups_by_each_key(lead_client, world, by) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=3, fp=1, at=NOON)
    rollups.refresh(full=True)
    body = lead_client.get(reverse("metrics:detection"), {"by": by, "range": "all"}).content
    expected = {"rule": "Phish", "policy": "phishing", "feed": "Feed A", "indicator": "a.example"}
    assert expected[by] in body.decode()
    assert "75.0%" in body.decode()


def test_a_key_charts_its_own_volume(lead_client, world) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    rollups.refresh(full=True)
    url = reverse("metrics:detection")
    params = {"by": "rule", "range": "all", "key": world["phish"].pk}
    body = lead_client.get(url, params).content.decode()
    assert "Volume: Phish" in body and "<svg" in body


def test_htmx_gets_only_the_results(lead_client, world) -> None:
    response = lead_client.get(
        reverse("metrics:detection"), {"by": "rule"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="detection-results"' in body
    assert "HX-Request" in response["Vary"]
    for name in ("intel", "operations", "automation"):
        body = lead_client.get(
            reverse(f"metrics:{name}"), headers={"HX-Request": "true"}
        ).content.decode()
        assert "<html" not in body and f'id="{name}-results"' in body


def test_the_indicator_table_hides_tlp_red_from_uncleared_leads(
    client, lead_client, world, uncleared_lead
) -> None:
    hits_with_labels(world["phish"], world["red"], fp=2, at=NOON)
    rollups.refresh(full=True)
    url = reverse("metrics:detection")
    params = {"by": "indicator", "range": "all"}
    assert "red.example" in lead_client.get(url, params).content.decode()
    client.force_login(uncleared_lead)
    assert "red.example" not in client.get(url, params).content.decode()
    # Nor can its series be asked for by id, nor exported.
    chart = client.get(url, {**params, "key": world["red"].pk}).content.decode()
    assert "red.example" not in chart and "Volume: every hit" in chart
    export = client.get(reverse("metrics:detection_export"), {**params, "format": "csv"})
    assert "red.example" not in b"".join(export.streaming_content).decode()


def test_the_csv_export_neutralises_formulas(lead_client, world) -> None:
    evil = make_indicator("=cmd|' /C calc'!A0", type="keyword")
    hits_with_labels(world["phish"], evil, tp=1, at=NOON)
    world["spam"].name = "+SUM(A1:A9)"
    world["spam"].save()
    hits_with_labels(world["spam"], world["a_only"], fp=1, at=NOON)
    rollups.refresh(full=True)
    url = reverse("metrics:detection_export")
    response = lead_client.get(url, {"by": "rule", "range": "all", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["key"] for row in rows} == {"Phish", "'+SUM(A1:A9)"}
    assert rows[0]["precision"] in {"1", "0"}
    response = lead_client.get(url, {"by": "indicator", "range": "all", "format": "csv"})
    keys = [
        r["key"] for r in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    ]
    assert "keyword:=cmd|' /C calc'!A0" in keys  # begins with "k": nothing to neutralise


def test_the_json_export_has_every_column(lead_client, world) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, fp=3, unlabelled=1, at=NOON)
    rollups.refresh(full=True)
    response = lead_client.get(
        reverse("metrics:detection_export"), {"by": "feed", "range": "all", "format": "json"}
    )
    assert response["Content-Type"] == "application/json"
    rows = json.loads(b"".join(response.streaming_content))
    assert rows == [
        {
            "key": "Feed A",
            "hits": 5,
            "cases": 1,
            "labelled": 4,
            "true_positive": 1,
            "false_positive": 3,
            "precision": 0.25,
            "false_positive_rate": 0.75,
        }
    ]


def test_the_indicator_table_sorts_in_the_database(lead_client, world) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, fp=3, at=NOON)
    hits_with_labels(world["phish"], world["both"], tp=5, at=NOON)
    rollups.refresh(full=True)
    url = reverse("metrics:detection")
    for sort, first in (
        ("precision", "a.example"),
        ("-precision", "both.example"),
        ("-false_positive_rate", "a.example"),
        ("-hits", "both.example"),
        ("hits", "a.example"),
        ("-labelled", "both.example"),
        ("-false_positive", "a.example"),
        ("true_positive", "a.example"),
    ):
        body = lead_client.get(url, {"by": "indicator", "range": "all", "sort": sort}).content
        text = body.decode()
        other = "both.example" if first == "a.example" else "a.example"
        assert text.index(first) < text.index(other), sort


def test_the_detection_page_keeps_its_queries_few(
    lead_client, world, django_assert_max_num_queries
) -> None:
    hits_with_labels(world["phish"], world["a_only"], tp=1, at=NOON)
    rollups.refresh(full=True)
    with django_assert_max_num_queries(20):
        lead_client.get(reverse("metrics:detection"), {"by": "indicator"})
    with django_assert_max_num_queries(20):
        lead_client.get(reverse("metrics:detection"), {"by": "feed"})


def test_the_admin_lists_refresh_runs_and_reports_read_only(admin_client_, world) -> None:
    rollups.refresh(full=True)
    body = admin_client_.get("/django-admin/metrics/rolluprun/").content.decode()
    assert "full" in body.lower()
    assert admin_client_.get("/django-admin/metrics/rolluprun/add/").status_code == 403  # read-only
    assert admin_client_.get("/django-admin/metrics/weeklyreport/").status_code == 200


def test_the_intel_page_names_feeds_and_shows_their_overlap(lead_client, world) -> None:
    rollups.refresh(full=True)
    body = lead_client.get(reverse("metrics:intel"), {"range": "all"}).content.decode()
    feed_url = reverse("intel:feed_detail", args=[world["feed_a"].pk])
    assert f'<a href="{feed_url}">Feed A</a>' in body
    assert 'id="overlap"' in body and "Feed B" in body
