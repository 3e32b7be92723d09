"""Indicator pages: list (filters, sort, htmx), detail, edit, revoke/reactivate, add, detect."""

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from intel.models import TLP, Indicator, Severity, Status
from intel.normalize import normalize
from tdp import audit
from tdp.models import AuditEntry
from tests.factories import make_indicator, make_source

pytestmark = pytest.mark.django_db

LIST = "/intel/indicators/"
ADD = "/intel/indicators/add/"
DETECT = "/intel/indicators/detect"
SCRIPT = "<script>alert(1)</script>"
XSS_URL = 'http://evil.example/?q="><img/src=x/onerror=alert(1)>&page=2'


def listed(response) -> list[str]:
    """The indicator values in the results table, in order."""
    content = response.content.decode()
    return [
        html.unescape(v) for v in re.findall(r'<td class="value"><a [^>]*>([^<]*)</a>', content)
    ]


def detail(indicator: Indicator) -> str:
    return f"/intel/indicators/{indicator.pk}/"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- access: anonymous, no role, right role, wrong method -----------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("get", "/intel/indicators/{pk}/"),
        ("post", "/intel/indicators/{pk}/edit"),
        ("post", "/intel/indicators/{pk}/status"),
        ("get", ADD),
        ("get", DETECT + "?value=evil.example"),
    ],
)
def test_anonymous_users_are_sent_to_login(client: Client, method: str, path: str) -> None:
    path = path.format(pk=make_indicator().pk)
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("get", "/intel/indicators/{pk}/"),
        ("post", "/intel/indicators/{pk}/edit"),
        ("post", "/intel/indicators/{pk}/status"),
        ("get", ADD),
        ("post", ADD),
        ("get", DETECT + "?value=evil.example"),
    ],
)
def test_users_without_a_role_get_403(nobody, method: str, path: str) -> None:
    indicator = make_indicator(confidence=50)
    response = getattr(as_user(nobody), method)(
        path.format(pk=indicator.pk), {"confidence": 99, "status": "revoked", "reason": "x"}
    )
    assert response.status_code == 403
    indicator.refresh_from_db()
    assert (indicator.confidence, indicator.status) == (50, Status.ACTIVE)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", LIST),
        ("post", "/intel/indicators/{pk}/"),
        ("get", "/intel/indicators/{pk}/edit"),
        ("get", "/intel/indicators/{pk}/status"),
        ("put", ADD),
        ("post", DETECT),
    ],
)
def test_wrong_methods_get_405(analyst_client: Client, method: str, path: str) -> None:
    path = path.format(pk=make_indicator().pk)
    assert getattr(analyst_client, method)(path).status_code == 405


# --- list -------------------------------------------------------------------------------------


def test_the_list_shows_the_newest_indicators_first(analyst_client: Client) -> None:
    now = timezone.now()
    make_indicator("old.example", last_seen_at=now - timedelta(days=3))
    make_indicator("new.example", last_seen_at=now)
    response = analyst_client.get(LIST)
    assert response.status_code == 200
    assert listed(response) == ["new.example", "old.example"]
    assert 'id="indicator-results"' in response.content.decode()


def test_the_value_filter_is_a_case_insensitive_substring(analyst_client: Client) -> None:
    make_indicator("login-bank.example")
    make_indicator("other.example")
    assert listed(analyst_client.get(LIST, {"q": " BANK "})) == ["login-bank.example"]


def test_the_type_filter_takes_several_types(analyst_client: Client) -> None:
    make_indicator("evil.example")
    make_indicator("192.0.2.1", type="ipv4")
    make_indicator("a" * 64, type="sha256")
    response = analyst_client.get(LIST, {"type": ["ipv4", "sha256"]})
    assert sorted(listed(response)) == ["192.0.2.1", "a" * 64]


def test_the_status_filter(analyst_client: Client) -> None:
    make_indicator("live.example")
    make_indicator("gone.example", status=Status.REVOKED)
    assert listed(analyst_client.get(LIST, {"status": "revoked"})) == ["gone.example"]


def test_the_source_filter_lists_each_indicator_once(analyst_client: Client) -> None:
    partner, other = make_source("Partner"), make_source("Other")
    make_indicator("both.example", sources=(partner, other))
    make_indicator("partner.example", sources=(partner,))
    make_indicator("other.example", sources=(other,))
    response = analyst_client.get(LIST, {"source": partner.pk})
    assert sorted(listed(response)) == ["both.example", "partner.example"]


def test_the_tlp_filter(analyst_client: Client) -> None:
    make_indicator("green.example", tlp=TLP.GREEN)
    make_indicator("amber.example", tlp=TLP.AMBER)
    assert listed(analyst_client.get(LIST, {"tlp": "GREEN"})) == ["green.example"]


def test_the_tag_filter_ignores_case(analyst_client: Client) -> None:
    make_indicator("tagged.example", tags=["phishing", "bank"])
    make_indicator("plain.example")
    assert listed(analyst_client.get(LIST, {"tag": "Phishing"})) == ["tagged.example"]


def test_the_confidence_range_filter(analyst_client: Client) -> None:
    for confidence in (10, 50, 90):
        make_indicator(f"c{confidence}.example", confidence=confidence)
    response = analyst_client.get(LIST, {"confidence_min": 40, "confidence_max": 60})
    assert listed(response) == ["c50.example"]


def test_the_seen_date_filters(analyst_client: Client) -> None:
    now = timezone.now()
    make_indicator("last-week.example", last_seen_at=now - timedelta(days=7))
    make_indicator("today.example", last_seen_at=now)
    week_ago = (now - timedelta(days=7)).date().isoformat()
    yesterday = (now - timedelta(days=1)).date().isoformat()
    assert listed(analyst_client.get(LIST, {"seen_after": yesterday})) == ["today.example"]
    assert listed(analyst_client.get(LIST, {"seen_before": week_ago})) == ["last-week.example"]


@pytest.mark.parametrize(
    "params",
    [{"type": "bogus"}, {"source": 999999}, {"tlp": "green"}, {"confidence_min": "high"}],
)
def test_an_invalid_filter_lists_nothing_rather_than_everything(
    analyst_client: Client, params: dict
) -> None:
    make_indicator("evil.example", tlp=TLP.GREEN)
    response = analyst_client.get(LIST, params)
    assert response.status_code == 200
    assert listed(response) == []


@pytest.mark.parametrize("params", [{"sort": "bogus"}, {"page": "abc"}, {"per_page": "x"}])
def test_odd_paging_and_sorting_parameters_are_ignored(analyst_client: Client, params) -> None:
    make_indicator("evil.example")
    response = analyst_client.get(LIST, params)
    assert response.status_code == 200
    assert listed(response) == ["evil.example"]


def test_the_list_sorts_by_a_chosen_column(analyst_client: Client) -> None:
    make_indicator("b.example", confidence=90)
    make_indicator("a.example", confidence=10)
    make_indicator("c.example", confidence=50)
    assert listed(analyst_client.get(LIST, {"sort": "value"})) == [
        "a.example",
        "b.example",
        "c.example",
    ]
    assert listed(analyst_client.get(LIST, {"sort": "-confidence"})) == [
        "b.example",
        "c.example",
        "a.example",
    ]


def test_sorted_pages_break_ties_by_id_so_no_row_repeats_or_goes_missing(
    analyst_client: Client,
) -> None:
    # One import gives every row the same confidence: the id keeps the pages apart.
    made = [make_indicator(f"t{n:02}.example", confidence=50).value for n in range(30)]
    pages = [
        listed(analyst_client.get(LIST, {"per_page": 25, "sort": sort, "page": page}))
        for sort in ("-confidence", "confidence")
        for page in (1, 2)
    ]
    assert pages[0] + pages[1] == made[::-1]
    assert pages[2] + pages[3] == made


def test_the_list_pages_without_counting(analyst_client: Client) -> None:
    for n in range(30):
        make_indicator(f"n{n:02}.example")
    first = analyst_client.get(LIST, {"per_page": 25, "sort": "value"})
    assert len(listed(first)) == 25
    assert "Next" in first.content.decode()
    second = analyst_client.get(LIST, {"per_page": 25, "sort": "value", "page": 2})
    assert listed(second) == [f"n{n:02}.example" for n in range(25, 30)]


def test_htmx_requests_get_only_the_results_partial(analyst_client: Client) -> None:
    make_indicator("evil.example")
    response = analyst_client.get(LIST, {"q": "evil"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="indicator-results"')
    assert "<html" not in content
    assert "<form" not in content  # the filter form stays on the page
    assert listed(response) == ["evil.example"]
    assert "HX-Request" in response["Vary"]


def test_boosted_htmx_requests_get_the_whole_page(analyst_client: Client) -> None:
    response = analyst_client.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert "<html" in response.content.decode()


def test_the_list_needs_at_most_ten_queries(
    analyst_client: Client, django_assert_max_num_queries
) -> None:
    sources = [make_source(f"Feed {n}") for n in range(3)]
    for n in range(40):
        make_indicator(f"n{n}.example", sources=sources, tags=["a", "b"])
    with django_assert_max_num_queries(10):
        response = analyst_client.get(LIST, {"per_page": 25, "source": sources[0].pk, "q": "n"})
    assert len(listed(response)) == 25
    assert ">3</td>" in response.content.decode()  # the annotated source count


def test_the_export_links_keep_the_filters(analyst_client: Client) -> None:
    content = analyst_client.get(LIST, {"q": "evil"}).content.decode()
    assert "/intel/indicators/export?q=evil&amp;format=csv" in content


def test_html_in_values_is_escaped_on_the_list(analyst_client: Client) -> None:
    make_indicator(normalize(SCRIPT, "keyword")[1], type="keyword")
    make_indicator(normalize(XSS_URL)[1], type="url")
    content = analyst_client.get(LIST).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<img/src=x" not in content
    assert "&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;" in content


# --- detail, edit, status ---------------------------------------------------------------------


def test_the_detail_page_shows_sources_tags_and_history(analyst_client: Client, analyst) -> None:
    indicator = make_indicator(
        "evil.example", sources=(make_source("Partner feed"),), tags=["phishing"]
    )
    other = make_indicator("other.example")
    audit.record("indicator.update", indicator, actor=analyst, changes={"confidence": [50, 80]})
    audit.record("indicator.revoked", other, actor=analyst, note="not this one")
    response = analyst_client.get(detail(indicator))
    content = response.content.decode()
    assert response.status_code == 200
    assert "evil.example" in content
    assert "Partner feed" in content
    assert '<span class="badge">phishing</span>' in content
    assert "indicator.update" in content
    assert "confidence: 50 → 80" in content
    assert "not this one" not in content


def test_the_history_shows_zero_and_empty_values_as_they_are(
    analyst_client: Client, analyst
) -> None:
    indicator = make_indicator("evil.example", confidence=0)
    audit.record(
        "indicator.update",
        indicator,
        actor=analyst,
        changes={"confidence": [0, 80], "expires_at": [None, "2030-01-01"]},
    )
    content = analyst_client.get(detail(indicator)).content.decode()
    assert "confidence: 0 → 80" in content
    assert "expires_at: ∅ → 2030-01-01" in content


def test_the_detail_page_of_a_missing_indicator_is_404(analyst_client: Client) -> None:
    assert analyst_client.get("/intel/indicators/999999/").status_code == 404


def test_html_in_values_is_escaped_on_the_detail_page(analyst_client: Client) -> None:
    keyword = make_indicator(normalize(SCRIPT, "keyword")[1], type="keyword")
    url = make_indicator(normalize(XSS_URL)[1], type="url", description=SCRIPT)
    keyword_page = analyst_client.get(detail(keyword)).content.decode()
    assert "<script>alert(1)" not in keyword_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in keyword_page
    url_page = analyst_client.get(detail(url)).content.decode()
    assert "<img/src=x" not in url_page
    assert "&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;" in url_page
    assert "<script>alert(1)" not in url_page  # the description


def test_editing_saves_the_attributes_and_writes_an_audit_entry(
    analyst_client: Client, analyst
) -> None:
    indicator = make_indicator("evil.example", confidence=50, tags=["old"])
    response = analyst_client.post(
        f"{detail(indicator)}edit",
        {
            "confidence": 85,
            "severity": Severity.HIGH,
            "tlp": TLP.GREEN,
            "tags": "Phishing, bank",
            "description": "Seen in the March campaign",
            "expires_at": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == detail(indicator)
    indicator.refresh_from_db()
    assert (indicator.confidence, indicator.severity, indicator.tlp) == (85, "high", "GREEN")
    assert indicator.tags == ["bank", "phishing"]
    entry = AuditEntry.objects.get(action="indicator.update")
    assert entry.user == analyst
    assert entry.object_id == str(indicator.pk)
    assert entry.changes["confidence"] == [50, 85]
    assert entry.changes["tags"] == [["old"], ["bank", "phishing"]]


def test_an_invalid_edit_changes_nothing(analyst_client: Client) -> None:
    indicator = make_indicator("evil.example", confidence=50)
    response = analyst_client.post(
        f"{detail(indicator)}edit", {"confidence": 150, "severity": "high", "tlp": "GREEN"}
    )
    assert response.status_code == 302
    indicator.refresh_from_db()
    assert indicator.confidence == 50
    assert not AuditEntry.objects.filter(action="indicator.update").exists()
    page = analyst_client.get(detail(indicator)).content.decode()
    assert "Not saved" in page


def test_revoking_needs_a_reason_and_writes_an_audit_entry(analyst_client: Client, analyst) -> None:
    indicator = make_indicator("evil.example")
    url = f"{detail(indicator)}status"
    analyst_client.post(url, {"status": "revoked", "reason": ""})
    indicator.refresh_from_db()
    assert indicator.status == Status.ACTIVE
    response = analyst_client.post(url, {"status": "revoked", "reason": "site cleaned"})
    assert response.status_code == 302
    indicator.refresh_from_db()
    assert indicator.status == Status.REVOKED
    entry = AuditEntry.objects.get(action="indicator.revoked")
    assert (entry.user, entry.note) == (analyst, "site cleaned")
    assert entry.changes == {"status": ["active", "revoked"]}


def test_reactivating_a_revoked_indicator_writes_an_audit_entry(analyst_client: Client) -> None:
    indicator = make_indicator("evil.example", status=Status.REVOKED)
    analyst_client.post(f"{detail(indicator)}status", {"status": "active", "reason": "back up"})
    indicator.refresh_from_db()
    assert indicator.status == Status.ACTIVE
    assert AuditEntry.objects.get(action="indicator.active").note == "back up"


def test_an_allowlisted_indicator_cannot_be_reactivated(analyst_client: Client) -> None:
    indicator = make_indicator("www.tiktok.com", status=Status.ALLOWLISTED)
    analyst_client.post(f"{detail(indicator)}status", {"status": "active", "reason": "oops"})
    indicator.refresh_from_db()
    assert indicator.status == Status.ALLOWLISTED
    assert not AuditEntry.objects.filter(action="indicator.active").exists()


def test_the_status_form_refuses_other_statuses(analyst_client: Client) -> None:
    indicator = make_indicator("evil.example")
    analyst_client.post(f"{detail(indicator)}status", {"status": "allowlisted", "reason": "x"})
    indicator.refresh_from_db()
    assert indicator.status == Status.ACTIVE


# --- add and detect ---------------------------------------------------------------------------


def form_data(**overrides: object) -> dict:
    data = {"value": "evil.example", "type": "", "confidence": 70, "severity": "medium"}
    data.update(tlp="AMBER", tags="", source="", ttl_days="", description="")
    data.update(overrides)
    return data


def test_the_add_page_renders_the_form(analyst_client: Client) -> None:
    response = analyst_client.get(ADD)
    assert response.status_code == 200
    assert 'hx-get="/intel/indicators/detect"' in response.content.decode()


def test_adding_an_indicator_stores_it_and_redirects_to_it(analyst_client: Client, analyst) -> None:
    response = analyst_client.post(
        ADD, form_data(value="hxxps://Login.Evil[.]example/x", tags="Phish", source="Ticket 42")
    )
    indicator = Indicator.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(indicator)
    assert (indicator.type, indicator.value) == ("url", "https://login.evil.example/x")
    assert (indicator.confidence, indicator.tags) == (70, ["phish"])
    assert indicator.provenance.get().source.name == "Ticket 42"
    assert AuditEntry.objects.get(action="indicator.create").user == analyst


def test_adding_over_htmx_answers_with_a_client_redirect(analyst_client: Client) -> None:
    response = analyst_client.post(ADD, form_data(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail(Indicator.objects.get())


def test_adding_an_invalid_value_shows_the_reason(analyst_client: Client) -> None:
    response = analyst_client.post(ADD, form_data(value="010.0.0.1"))
    assert response.status_code == 200
    assert "leading zero" in response.content.decode()
    assert Indicator.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "stored"),
    [("192.0.2.1", "ipv4"), ("10.0.0.1", "ipv4"), ("c2.example", "domain")],
)
def test_adding_reserved_and_example_values_works(
    analyst_client: Client, value: str, stored: str
) -> None:
    analyst_client.post(ADD, form_data(value=value))
    assert list(Indicator.objects.values_list("type", "value")) == [(stored, value)]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("hxxp://evil[.]example/x", "Detected <strong>url</strong>: "),
        ("192.0.2.1", "Detected <strong>ipv4</strong>: "),
        ("10.0.0.1", "Detected <strong>ipv4</strong>: "),
        ("EVIL.example.", "Detected <strong>domain</strong>: "),
    ],
)
def test_detect_shows_the_type_and_normal_form(analyst_client: Client, value: str, shown) -> None:
    response = analyst_client.get(DETECT, {"value": value}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert shown in content
    assert "<html" not in content
    assert 'badge-new">new' in content


def test_detect_says_why_a_value_is_rejected(analyst_client: Client) -> None:
    content = analyst_client.get(DETECT, {"value": "999.1.1.1"}).content.decode()
    assert "Rejected: not a valid IPv4 address: octet 999 is above 255" in content


def test_detect_honours_a_chosen_type(analyst_client: Client) -> None:
    content = analyst_client.get(DETECT, {"value": "a" * 64, "type": "pdq"}).content.decode()
    assert "Detected <strong>pdq</strong>" in content
    content = analyst_client.get(DETECT, {"value": "x", "type": "bogus"}).content.decode()
    assert "Rejected: unknown indicator type" in content


def test_detect_flags_known_and_allowlisted_values(analyst_client: Client) -> None:
    known = make_indicator("evil.example")
    content = analyst_client.get(DETECT, {"value": "evil.example"}).content.decode()
    assert "already known" in content
    assert f'href="{detail(known)}"' in content
    content = analyst_client.get(DETECT, {"value": "https://www.tiktok.com/@x"}).content.decode()
    assert "allowlisted (Platform&#x27;s own domain)" in content


def test_detect_with_an_empty_value_renders_nothing(analyst_client: Client) -> None:
    response = analyst_client.get(DETECT, {"value": "  "})
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_detect_escapes_what_it_echoes(analyst_client: Client) -> None:
    content = analyst_client.get(DETECT, {"value": SCRIPT, "type": "keyword"}).content.decode()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_saving_the_rendered_edit_form_keeps_the_expiry(analyst_client: Client) -> None:
    expires = timezone.now() + timedelta(days=30)
    indicator = make_indicator("evil.example", confidence=50, expires_at=expires)
    page = analyst_client.get(detail(indicator)).content.decode()
    rendered = re.search(r'<input type="datetime-local" name="expires_at" value="([^"]*)"', page)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rendered[1])  # what browsers accept
    analyst_client.post(
        f"{detail(indicator)}edit",
        {"confidence": 60, "severity": "medium", "tlp": "AMBER", "expires_at": rendered[1]},
    )
    indicator.refresh_from_db()
    assert indicator.confidence == 60
    assert abs(indicator.expires_at - expires) < timedelta(seconds=1)


def test_keyset_pages_walk_every_indicator_once(analyst_client: Client) -> None:
    import re

    from intel.models import Indicator

    for i in range(120):
        Indicator.objects.create(type="domain", value=f"page{i}.evil.example")
    seen: list[str] = []
    url = "/intel/indicators/"
    while url:
        html = analyst_client.get(url).content.decode()
        seen += re.findall(r">(page\d+\.evil\.example)<", html)
        next_link = re.search(r'href="(\?[^"]*after=\d+[^"]*)" hx-get="[^"]*" rel="next"', html)
        url = "/intel/indicators/" + next_link.group(1).replace("&amp;", "&") if next_link else ""
    assert len(seen) == 120
    assert len(set(seen)) == 120
    assert seen[0] == "page119.evil.example"  # newest first


def test_the_detail_page_lists_the_indicators_recent_hits(analyst_client: Client) -> None:
    from detection.scan import forget_matcher, scan_events
    from tests.factories import make_content_event

    indicator = Indicator.objects.create(type="domain", value="hit-me.example")
    forget_matcher()
    scan_events([make_content_event("visit hit-me.example today")], dry_run=False)
    page = analyst_client.get(f"/intel/indicators/{indicator.pk}/").content.decode()
    assert "Known-bad intel" in page
    assert "No content has matched" not in page
