"""The allowlist: seeded entries, the page (leads edit it), flipping indicators, matching rules."""

import pytest
from django.test import Client

from intel.allowlist import AllowlistMatcher, add_allowlist_entry, normalize_entry
from intel.ingest import IngestSpec, ingest
from intel.models import AllowlistEntry, Indicator, Status
from intel.normalize import NormalizationError
from intel.parsers import ParsedRow
from tdp.models import AuditEntry
from tests.factories import make_indicator, make_source

pytestmark = pytest.mark.django_db

PAGE = "/intel/allowlist/"


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entry(kind: str = "domain", value: str = "corp.example") -> AllowlistEntry:
    return AllowlistEntry.objects.create(kind=kind, value=value, reason="ours")


# --- seeded entries ---------------------------------------------------------------------------


def test_the_platform_entries_are_seeded_by_migration() -> None:
    seeded = set(AllowlistEntry.objects.filter(owner=None).values_list("kind", "value"))
    assert {("domain", "tiktok.com"), ("domain", "bytedance.com"), ("account", "@tiktok")} <= seeded


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("get", PAGE), ("post", PAGE), ("post", "{remove}")])
def test_anonymous_users_are_sent_to_login(client: Client, method: str, path: str) -> None:
    path = path.format(remove=f"/intel/allowlist/{entry().pk}/remove")
    response = getattr(client, method)(
        path, {"kind": "domain", "value": "x.example", "reason": "r"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "path"), [("get", PAGE), ("post", PAGE), ("post", "{remove}")])
def test_users_without_a_role_get_403(nobody, method: str, path: str) -> None:
    path = path.format(remove=f"/intel/allowlist/{entry().pk}/remove")
    data = {"kind": "domain", "value": "x.example", "reason": "r"}
    assert getattr(as_user(nobody), method)(path, data).status_code == 403


@pytest.mark.parametrize(("method", "path"), [("put", PAGE), ("get", "{remove}")])
def test_wrong_methods_get_405(lead_client: Client, method: str, path: str) -> None:
    path = path.format(remove=f"/intel/allowlist/{entry().pk}/remove")
    assert getattr(lead_client, method)(path).status_code == 405


def test_analysts_see_the_allowlist_without_the_form(analyst_client: Client) -> None:
    response = analyst_client.get(PAGE)
    content = response.content.decode()
    assert response.status_code == 200
    assert "tiktok.com" in content
    assert "Add to allowlist" not in content
    assert "/remove" not in content


def test_analysts_get_403_when_adding(analyst_client: Client) -> None:
    data = {"kind": "domain", "value": "corp.example", "reason": "ours"}
    assert analyst_client.post(PAGE, data).status_code == 403
    assert not AllowlistEntry.objects.filter(value="corp.example").exists()


def test_analysts_get_403_when_removing(analyst_client: Client) -> None:
    target = entry()
    assert analyst_client.post(f"/intel/allowlist/{target.pk}/remove").status_code == 403
    assert AllowlistEntry.objects.filter(pk=target.pk).exists()


def test_leads_add_an_entry_with_an_audit_entry(lead_client: Client, lead) -> None:
    data = {"kind": "domain", "value": "Corp.Example.", "reason": "our own domain"}
    response = lead_client.post(PAGE, data)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    added = AllowlistEntry.objects.get(value="corp.example")
    assert (added.kind, added.owner, added.reason) == ("domain", lead, "our own domain")
    audit_entry = AuditEntry.objects.get(action="allowlist.add")
    assert (audit_entry.user, audit_entry.object_id) == (lead, str(added.pk))
    assert "Add to allowlist" in lead_client.get(PAGE).content.decode()


def test_admins_add_entries_too(admin_client_: Client) -> None:
    data = {"kind": "ip", "value": "198.51.100.0/24", "reason": "office"}
    assert admin_client_.post(PAGE, data).status_code == 302
    assert AllowlistEntry.objects.filter(kind="ip", value="198.51.100.0/24").exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "domain", "value": "not a domain", "reason": "x"}, "invalid character"),
        ({"kind": "ip", "value": "999.0.0.0/8", "reason": "x"}, "not an IP address or CIDR"),
        ({"kind": "hash", "value": "evil.example", "reason": "x"}, "not a hash"),
        ({"kind": "domain", "value": "tiktok.com", "reason": "x"}, "already allowlisted"),
        ({"kind": "domain", "value": "ok.example", "reason": ""}, "This field is required"),
    ],
)
def test_an_invalid_entry_is_shown_with_its_reason(lead_client: Client, data, error: str) -> None:
    before = AllowlistEntry.objects.count()
    response = lead_client.post(PAGE, data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert AllowlistEntry.objects.count() == before


def test_leads_remove_an_entry_with_an_audit_entry(lead_client: Client, lead) -> None:
    target = entry()
    response = lead_client.post(f"/intel/allowlist/{target.pk}/remove")
    assert response.status_code == 302
    assert not AllowlistEntry.objects.filter(pk=target.pk).exists()
    assert AuditEntry.objects.get(action="allowlist.remove").user == lead


def test_the_allowlist_filters_by_value(analyst_client: Client) -> None:
    entry("domain", "corp.example")
    content = analyst_client.get(PAGE, {"q": "corp"}).content.decode()
    assert "corp.example" in content
    assert "tiktok.com" not in content


def test_htmx_gets_only_the_allowlist_results(analyst_client: Client) -> None:
    content = analyst_client.get(PAGE, HTTP_HX_REQUEST="true").content.decode()
    assert content.lstrip().startswith('<div id="allowlist-results"')
    assert "<html" not in content


# --- flipping existing indicators --------------------------------------------------------------


def test_adding_a_domain_flips_it_its_subdomains_urls_and_emails(lead) -> None:
    covered = [
        make_indicator("corp.example"),
        make_indicator("www.corp.example"),
        make_indicator("https://login.corp.example/x", type="url"),
        make_indicator("http://user@corp.example:8080/", type="url"),
        make_indicator("ceo@corp.example", type="email"),
        make_indicator("corp.example", type="keyword", status=Status.REVOKED),
    ]
    untouched = [
        make_indicator("notcorp.example"),
        make_indicator("corp.example.evil.example"),
        make_indicator("https://evil.example/corp.example", type="url"),
    ]
    add_allowlist_entry("domain", "corp.example", reason="ours", actor=lead)
    statuses = dict(Indicator.objects.values_list("value", "status"))
    for indicator in covered[:5]:
        assert statuses[indicator.value] == Status.ALLOWLISTED, indicator.value
    for indicator in untouched:
        assert statuses[indicator.value] == Status.ACTIVE, indicator.value
    assert Indicator.objects.get(type="keyword").status == Status.REVOKED
    flips = AuditEntry.objects.filter(action="indicator.allowlist")
    assert sorted(int(e.object_id) for e in flips) == sorted(i.pk for i in covered[:5])
    assert {e.user for e in flips} == {lead}
    assert flips.filter(changes={"status": ["active", "allowlisted"]}).count() == 5


def test_adding_an_ip_range_flips_the_addresses_and_urls_inside_it(lead) -> None:
    inside = make_indicator("198.51.100.7", type="ipv4")
    url = make_indicator("http://198.51.100.9/x", type="url")
    outside = make_indicator("198.51.101.7", type="ipv4")
    add_allowlist_entry("ip", "198.51.100.0/24", reason="office", actor=lead)
    assert Indicator.objects.get(pk=inside.pk).status == Status.ALLOWLISTED
    assert Indicator.objects.get(pk=url.pk).status == Status.ALLOWLISTED
    assert Indicator.objects.get(pk=outside.pk).status == Status.ACTIVE


def test_adding_a_hash_or_an_account_flips_the_exact_value(lead) -> None:
    sha = make_indicator("a" * 64, type="sha256")
    other = make_indicator("b" * 64, type="sha256")
    handle = make_indicator("@brand", type="account")
    add_allowlist_entry("hash", "A" * 64, reason="our logo", actor=lead)
    add_allowlist_entry("account", "Brand", reason="our account", actor=lead)
    assert Indicator.objects.get(pk=sha.pk).status == Status.ALLOWLISTED
    assert Indicator.objects.get(pk=other.pk).status == Status.ACTIVE
    assert Indicator.objects.get(pk=handle.pk).status == Status.ALLOWLISTED


def test_adding_an_entry_through_the_page_flips_indicators(lead_client: Client) -> None:
    indicator = make_indicator("login.corp.example")
    lead_client.post(PAGE, {"kind": "domain", "value": "corp.example", "reason": "ours"})
    indicator.refresh_from_db()
    assert indicator.status == Status.ALLOWLISTED
    assert AuditEntry.objects.filter(action="indicator.allowlist").count() == 1


# --- matching and ingestion --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator_type", "value", "allowlisted"),
    [
        ("domain", "tiktok.com", True),
        ("domain", "www.tiktok.com", True),
        ("url", "https://m.tiktok.com/@someone/video/1", True),
        ("url", "https://evil.example/?r=tiktok.com", False),
        ("domain", "tiktok.com.evil.example", False),
        ("domain", "nottiktok.com", False),
        ("email", "support@tiktok.com", True),
        ("account", "@tiktok", True),
        ("account", "@tiktok_fan", False),
    ],
)
def test_the_matcher_covers_subdomains_and_urls_on_them(
    indicator_type: str, value: str, allowlisted: bool
) -> None:
    hit = AllowlistMatcher.load().match(indicator_type, value)
    assert (hit is not None) is allowlisted


@pytest.mark.parametrize(
    ("prefix", "covered", "not_covered"),
    [
        (
            "HTTPS://Docs.Example",
            "https://docs.example/guide",
            "https://docs.example.evil.example/",
        ),
        ("https://tiktok.com", "https://tiktok.com/@x", "https://tiktok.com.evil.example/login"),
        ("hxxps://Docs[.]Example/Guide/", "https://docs.example/Guide/x", "https://docs.example/"),
        ("https://docs.example:443/a", "https://docs.example/a/b", "https://evil.example/a"),
    ],
)
def test_url_prefix_entries_cover_only_urls_under_them(
    prefix: str, covered: str, not_covered: str
) -> None:
    matcher = AllowlistMatcher([("url_prefix", normalize_entry("url_prefix", prefix), "docs")])
    assert matcher.match("url", covered)
    assert not matcher.match("url", not_covered)


def test_adding_a_url_prefix_flips_only_the_urls_under_it(lead) -> None:
    under = make_indicator("https://docs.example/guide/1", type="url")
    lookalike = make_indicator("https://docs.example.evil.example/guide", type="url")
    add_allowlist_entry("url_prefix", "https://Docs.Example", reason="docs", actor=lead)
    assert AllowlistEntry.objects.get(kind="url_prefix").value == "https://docs.example/"
    assert Indicator.objects.get(pk=under.pk).status == Status.ALLOWLISTED
    assert Indicator.objects.get(pk=lookalike.pk).status == Status.ACTIVE


def test_entries_are_normalised_like_indicators() -> None:
    assert normalize_entry("domain", " Corp.Example. ") == "corp.example"
    assert normalize_entry("ip", "10.1.2.3/8") == "10.0.0.0/8"
    assert normalize_entry("email", "CEO@Corp.Example") == "ceo@corp.example"
    with pytest.raises(NormalizationError):
        normalize_entry("hash", "xyz")


def test_ingesting_an_allowlisted_value_stores_it_as_allowlisted() -> None:
    entry("domain", "corp.example")
    rows = [
        ParsedRow(1, "https://login.corp.example/reset"),
        ParsedRow(2, "mail.corp.example"),
        ParsedRow(3, "evil.example"),
    ]
    result = ingest(rows, IngestSpec(source=make_source()))
    assert result.allowlisted == 2
    assert dict(Indicator.objects.values_list("value", "status")) == {
        "https://login.corp.example/reset": Status.ALLOWLISTED,
        "mail.corp.example": Status.ALLOWLISTED,
        "evil.example": Status.ACTIVE,
    }


def test_re_reporting_a_newly_allowlisted_indicator_keeps_it_allowlisted() -> None:
    source = make_source()
    indicator = make_indicator("login.corp.example", sources=(source,))
    add_allowlist_entry("domain", "corp.example", reason="ours", actor=None)
    ingest([ParsedRow(1, "login.corp.example")], IngestSpec(source=source, confidence=99))
    indicator.refresh_from_db()
    assert indicator.status == Status.ALLOWLISTED
