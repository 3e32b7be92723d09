"""Paste: free text in, a preview with new/known/allowlisted flags, the chosen ones stored."""

import re

import pytest
from django.test import Client

from intel.models import TLP, Indicator, Status
from tdp.models import AuditEntry
from tests.factories import make_indicator

pytestmark = pytest.mark.django_db

PASTE = "/intel/paste/"
COMMIT = "/intel/paste/commit"
REPORT = """Phishing wave, 3 March: victims got mail from billing@evil.example
linking to hxxps://login.evil[.]example/verify?id=7 (C2 192.0.2.44).
The kit also loads https://www.tiktok.com/@brand and pings known.example."""
DEFAULTS = {"confidence": 70, "severity": "medium", "tlp": "AMBER", "tags": "", "source": ""}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def preview(client: Client, text: str = REPORT, **headers: str):
    return client.post(PASTE, {"text": text, **DEFAULTS}, **headers)


def states(response) -> dict[str, str]:
    return {c["item"].value: c["state"] for c in response.context["candidates"]}


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("get", PASTE), ("post", PASTE), ("post", COMMIT)])
def test_anonymous_users_are_sent_to_login(client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path, {"text": REPORT})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "path"), [("get", PASTE), ("post", PASTE), ("post", COMMIT)])
def test_users_without_a_role_get_403(nobody, method: str, path: str) -> None:
    data = {"text": REPORT, "selected": ["domain|evil.example"], **DEFAULTS}
    assert getattr(as_user(nobody), method)(path, data).status_code == 403
    assert Indicator.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), [("put", PASTE), ("get", COMMIT)])
def test_wrong_methods_get_405(analyst_client: Client, method: str, path: str) -> None:
    assert getattr(analyst_client, method)(path).status_code == 405


# --- preview ----------------------------------------------------------------------------------


def test_the_paste_page_renders_the_form(analyst_client: Client) -> None:
    response = analyst_client.get(PASTE)
    assert response.status_code == 200
    assert 'name="text"' in response.content.decode()


def test_the_paste_form_as_rendered_finds_indicators(analyst_client: Client) -> None:
    page = analyst_client.get(PASTE).content.decode()
    start = page.index('hx-post="/intel/paste/"')
    form = page[start : page.index("</form>", start)]
    posted = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert {"confidence", "severity", "tlp"} <= set(posted)  # PasteForm requires them
    response = analyst_client.post(PASTE, {**posted, "text": REPORT}, HTTP_HX_REQUEST="true")
    assert "Found 5 indicators" in response.content.decode()


def test_the_preview_flags_new_known_and_allowlisted_values(analyst_client: Client) -> None:
    make_indicator("known.example")
    response = preview(analyst_client)
    assert response.status_code == 200
    assert states(response) == {
        "billing@evil.example": "new",
        "https://login.evil.example/verify?id=7": "new",
        "192.0.2.44": "new",
        "https://www.tiktok.com/@brand": "allowlisted",
        "known.example": "known",
    }
    content = response.content.decode()
    assert 'value="url|https://login.evil.example/verify?id=7" checked' in content
    assert 'value="url|https://www.tiktok.com/@brand" ' in content  # not checked
    assert "Platform&#x27;s own domain" in content
    assert Indicator.objects.count() == 1  # a preview stores nothing


def test_htmx_gets_only_the_preview_partial(analyst_client: Client) -> None:
    response = preview(analyst_client, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "<html" not in content
    assert content.count('<form method="post" action="/intel/paste/commit"') == 1
    assert "Found 5 indicators" in content


def test_text_without_indicators_says_so(analyst_client: Client) -> None:
    response = preview(analyst_client, "nothing to see here", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "No indicators found in this text." in response.content.decode()


def test_the_preview_escapes_what_it_echoes(analyst_client: Client) -> None:
    text = 'see http://evil.example/?q="><script>alert(1)</script>x'
    content = preview(analyst_client, text).content.decode()  # the textarea echoes the text
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert 'value="url|http://evil.example/?q="' in content


# --- commit -----------------------------------------------------------------------------------


def test_committing_stores_the_chosen_values_with_the_defaults(
    analyst_client: Client, analyst
) -> None:
    response = analyst_client.post(
        COMMIT,
        {
            "selected": ["domain|evil.example", "ipv4|192.0.2.44", "url|http://x.example/"],
            "confidence": 85,
            "severity": "high",
            "tlp": "GREEN",
            "tags": "Phishing, march",
            "source": "Report 2024-03",
        },
    )
    assert response.status_code == 302
    indicators = Indicator.objects.all()
    assert {(i.type, i.value) for i in indicators} == {
        ("domain", "evil.example"),
        ("ipv4", "192.0.2.44"),
        ("url", "http://x.example/"),
    }
    assert {(i.confidence, i.severity, i.tlp) for i in indicators} == {(85, "high", TLP.GREEN)}
    assert {tuple(i.tags) for i in indicators} == {("march", "phishing")}
    source = indicators[0].provenance.get().source
    assert source.name == "Report 2024-03"
    assert response["Location"] == f"/intel/indicators/?source={source.pk}"
    assert AuditEntry.objects.filter(action="indicator.create", user=analyst).count() == 3


def test_committing_an_allowlisted_value_stores_it_as_allowlisted(analyst_client: Client) -> None:
    analyst_client.post(COMMIT, {"selected": ["url|https://www.tiktok.com/@brand"], **DEFAULTS})
    assert Indicator.objects.get().status == Status.ALLOWLISTED


def test_committed_values_are_normalised_again_and_bad_ones_rejected(
    analyst_client: Client,
) -> None:
    response = analyst_client.post(
        COMMIT, {"selected": ["domain|EVIL[.]example", "ipv4|999.1.1.1"], **DEFAULTS}
    )
    assert list(Indicator.objects.values_list("value", flat=True)) == ["evil.example"]
    page = analyst_client.get(response["Location"]).content.decode()
    assert "Added 1, updated 0, unchanged 0, rejected 1" in page


def test_committing_over_htmx_answers_with_a_client_redirect(analyst_client: Client) -> None:
    response = analyst_client.post(
        COMMIT, {"selected": ["domain|evil.example"], **DEFAULTS}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/intel/indicators/?source=")


@pytest.mark.parametrize(
    "selected", [[], ["bogus|evil.example"], ["domain|"], ["no separator at all"]]
)
def test_a_commit_without_valid_choices_stores_nothing(
    analyst_client: Client, selected: list[str]
) -> None:
    response = analyst_client.post(COMMIT, {"selected": selected, **DEFAULTS})
    assert response.status_code == 302
    assert response["Location"] == PASTE
    assert Indicator.objects.count() == 0
    assert "Nothing added" in analyst_client.get(PASTE).content.decode()
