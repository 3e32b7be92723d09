"""Enrichment: each built-in enricher's facts, the generic HTTP enricher against a real local
server (fields kept, key sent but never stored, temporary and permanent failures), caching and
forcing, the Redis rate limit shared by workers, case enrichment and the display summary.
"""

import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from automation import ratelimit
from automation.enrichers import enrichers_for
from automation.enrichers.anatomy import one_edit_apart
from automation.enrichers.history import InternalHistory
from automation.enrichers.http import build_url, pick_fields
from automation.enrichers.ipfacts import ip_facts
from automation.enrichment import (
    ERROR_TTL_SECONDS,
    EnrichmentDeferred,
    enrich_case,
    enrich_indicator,
    enrich_indicators,
    enrichment_summary,
)
from automation.models import Enrichment, HttpEnricher
from cases.models import HitLabel
from intel.models import AllowlistEntry
from tdp.health import redis_client
from tests.factories import make_case, make_indicator, make_source
from tests.httpserver import LocalHTTPServer, Route

pytestmark = pytest.mark.django_db

API_KEY = "k3y-Sup3r-s3cret-0042"


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as local:
        yield local


@pytest.fixture
def private_urls(settings) -> None:
    """Let the HTTP enricher reach the test's own server on 127.0.0.1."""
    settings.TDP_ALLOW_PRIVATE_URLS = True


def make_http_enricher(
    server: LocalHTTPServer, path: str = "/rep/{value}", **fields
) -> HttpEnricher:
    fields.setdefault("applies_to", ["domain"])
    return HttpEnricher.objects.create(
        name=fields.pop("name", "rep"),
        url_template=server.url(path),
        api_key=fields.pop("api_key", API_KEY),
        api_key_header=fields.pop("api_key_header", "x-apikey"),
        **fields,
    )


def result(indicator, provider: str) -> Enrichment:
    return Enrichment.objects.get(indicator=indicator, provider=provider)


def anatomy(type_: str, value: str) -> dict:
    indicator = make_indicator(value, type=type_)
    enrich_indicator(indicator)
    return result(indicator, "url_anatomy").data


# --- url_anatomy ------------------------------------------------------------------------------


def test_anatomy_flags_a_digit_homoglyph_of_a_listed_brand() -> None:
    data = anatomy("domain", "login.paypa1.com")
    assert data["registered_domain"] == "paypa1.com"
    assert data["subdomain_depth"] == 1
    assert data["is_lookalike"] is True
    assert {"brand": "paypal.com", "kind": "homoglyph"} in data["lookalikes"]


def test_anatomy_compares_with_allowlisted_domains() -> None:
    AllowlistEntry.objects.create(kind="domain", value="contoso-bank.com", reason="ours")
    data = anatomy("domain", "c0nt0so-bank.com")
    assert data["lookalikes"] == [{"brand": "contoso-bank.com", "kind": "homoglyph"}]


def test_anatomy_never_flags_the_brand_itself() -> None:
    for value in ("paypal.com", "www.paypal.com"):
        assert anatomy("domain", value)["is_lookalike"] is False


def test_anatomy_decodes_punycode_and_flags_the_idn_homoglyph() -> None:
    data = anatomy("domain", "xn--pypal-4ve.com")
    assert data["is_idn"] is True
    assert data["unicode_host"] == "p\u0430ypal.com"  # CYRILLIC SMALL LETTER A
    assert data["scripts"] == ["CYRILLIC", "LATIN"]
    assert {"brand": "paypal.com", "kind": "homoglyph"} in data["lookalikes"]


def test_anatomy_finds_the_registered_domain_under_a_two_label_suffix() -> None:
    data = anatomy("domain", "a.b.evil.co.uk")
    assert data["registered_domain"] == "evil.co.uk"
    assert data["public_suffix"] == "co.uk"
    assert data["is_known_suffix"] is True
    assert data["subdomain"] == "a.b"
    assert data["subdomain_depth"] == 2
    assert data["is_idn"] is False
    assert data["is_lookalike"] is False


def test_anatomy_falls_back_to_the_last_label_for_an_unlisted_suffix() -> None:
    data = anatomy("domain", "x.evil.example")
    assert (data["registered_domain"], data["public_suffix"]) == ("evil.example", "example")
    assert data["is_known_suffix"] is False


def test_anatomy_recognises_url_shorteners() -> None:
    data = anatomy("url", "https://bit.ly/3xYz")
    assert data["is_shortener"] is True
    assert data["scheme"] == "https"
    assert anatomy("domain", "t.co")["is_shortener"] is True
    assert anatomy("domain", "evil.co.uk")["is_shortener"] is False


def test_anatomy_flags_typos_brand_words_and_brands_in_subdomains() -> None:
    typo = anatomy("domain", "paypla.com")["lookalikes"]
    assert typo == [{"brand": "paypal.com", "kind": "typo"}]
    combo = anatomy("domain", "paypal-login.example")["lookalikes"]
    assert combo == [{"brand": "paypal.com", "kind": "combo"}]
    sub = anatomy("domain", "paypal.com.evil.example")["lookalikes"]
    assert sub == [{"brand": "paypal.com", "kind": "subdomain"}]


def test_anatomy_of_a_url_reports_userinfo_and_port() -> None:
    data = anatomy("url", "http://paypal.com@evil.example:8080/login")
    assert data["host"] == "evil.example"
    assert data["has_userinfo"] is True
    assert data["port"] == 8080


def test_one_edit_apart_counts_a_swap_of_neighbours_as_one_edit() -> None:
    assert one_edit_apart("paypal", "paypla")
    assert one_edit_apart("paypal", "paypall")
    assert one_edit_apart("paypal", "paypa")
    assert not one_edit_apart("paypal", "paypal")
    assert not one_edit_apart("paypal", "pyapla")


# --- ip_facts ---------------------------------------------------------------------------------


def test_ip_facts_of_a_private_address() -> None:
    facts = ip_facts("ipv4", "10.0.0.1")
    assert facts["version"] == 4
    assert facts["is_private"] is True
    assert facts["is_global"] is False
    assert facts["in_intel_cidrs"] == []


def test_ip_facts_of_ipv6_loopback() -> None:
    facts = ip_facts("ipv6", "::1")
    assert (facts["version"], facts["is_loopback"], facts["is_global"]) == (6, True, False)


def test_ip_facts_list_the_active_cidr_indicators_containing_the_address() -> None:
    make_indicator("evil.example")  # not inet: the containment test must never cast it
    make_indicator("8.8.8.0/24", type="cidr")
    make_indicator("8.8.0.0/16", type="cidr")
    make_indicator("8.0.0.0/8", type="cidr", status="revoked")
    make_indicator("9.9.9.0/24", type="cidr")
    make_indicator("2001:db8::/32", type="cidr")
    facts = ip_facts("ipv4", "8.8.8.8")
    assert facts["is_global"] is True
    assert facts["in_intel_cidrs"] == ["8.8.8.0/24", "8.8.0.0/16"]


def test_ip_facts_of_a_cidr_list_larger_blocks_but_not_itself() -> None:
    make_indicator("8.8.0.0/16", type="cidr")
    make_indicator("8.8.8.0/24", type="cidr")
    facts = ip_facts("cidr", "8.8.8.0/24")
    assert facts["in_intel_cidrs"] == ["8.8.0.0/16"]
    assert (facts["prefix_length"], facts["addresses"]) == (24, 256)
    assert "reverse_dns" not in facts


def test_ip_facts_name_the_allowlist_entry_covering_the_address() -> None:
    AllowlistEntry.objects.create(kind="ip", value="192.0.2.0/24", reason="our office")
    assert ip_facts("ipv4", "192.0.2.7")["allowlisted_by"] == "192.0.2.0/24"
    assert ip_facts("ipv4", "198.51.100.7")["allowlisted_by"] is None


def test_reverse_dns_is_off_by_default() -> None:
    facts = ip_facts("ipv4", "127.0.0.1")
    assert (facts["reverse_dns"], facts["reverse_dns_status"]) == (None, "off")


def test_reverse_dns_names_the_address_when_enabled(settings) -> None:
    try:
        expected = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError:
        pytest.skip("this machine has no name for 127.0.0.1")
    settings.TDP_ENRICH_REVERSE_DNS = True
    facts = ip_facts("ipv4", "127.0.0.1")
    assert (facts["reverse_dns"], facts["reverse_dns_status"]) == (expected, "ok")


def test_reverse_dns_gives_up_after_its_timeout(settings, monkeypatch) -> None:
    settings.TDP_ENRICH_REVERSE_DNS = True
    settings.TDP_ENRICH_DNS_TIMEOUT = 0.1

    def slow_resolver(address: str) -> tuple:
        time.sleep(1)
        return ("late.example", [], [address])

    monkeypatch.setattr(socket, "gethostbyaddr", slow_resolver)
    started = time.monotonic()
    facts = ip_facts("ipv4", "192.0.2.1")
    assert facts["reverse_dns_status"] == "timeout"
    assert time.monotonic() - started < 0.9


# --- internal_history -------------------------------------------------------------------------


def test_history_counts_hits_sources_dispositions_and_cases(analyst) -> None:
    source = make_source("Phish feed")
    case = make_case(value="evil.example", events=2, sources=(source,))
    first, second = case.hits.order_by("occurred_at", "id")
    HitLabel.objects.create(
        hit=first,
        case=case,
        disposition="false_positive",
        rule=first.rule,
        indicator=first.indicator,
        indicator_type="domain",
        indicator_value="evil.example",
        labelled_by=analyst,
    )
    data = InternalHistory().enrich("domain", "evil.example")
    assert data["hits"] == 2
    assert data["first_hit_at"] == min(first.occurred_at, second.occurred_at).isoformat()
    assert data["sources"] == ["Phish feed"]
    assert data["dispositions"] == {"false_positive": 1}
    assert data["labelled_hits"] == 1
    assert (data["cases"], data["open_cases"], data["latest_case_ids"]) == (1, 1, [case.pk])


def test_history_of_an_indicator_never_hit_is_all_zero() -> None:
    make_indicator("quiet.example")
    data = InternalHistory().enrich("domain", "quiet.example")
    assert data["hits"] == 0
    assert data["first_hit_at"] is None
    assert (data["dispositions"], data["cases"], data["latest_case_ids"]) == ({}, 0, [])


# --- running and caching ----------------------------------------------------------------------


def test_enrich_indicator_stores_one_result_per_applicable_provider() -> None:
    indicator = make_indicator("evil.example")
    before = timezone.now()
    results = enrich_indicator(indicator)
    assert sorted(r.provider for r in results) == ["internal_history", "url_anatomy"]
    assert all(r.pk for r in results)
    stored = result(indicator, "internal_history")
    assert stored.error == ""
    assert stored.fetched_at >= before
    assert stored.expires_at == stored.fetched_at + timedelta(seconds=600)
    ip = make_indicator("8.8.8.8", type="ipv4")
    assert {r.provider for r in enrich_indicator(ip)} == {"internal_history", "ip_facts"}


def test_a_fresh_result_is_not_fetched_again_but_force_fetches_it(server, private_urls) -> None:
    server.route("/rep/evil.example", json={"score": 1})
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    first = result(indicator, "http:rep").fetched_at
    enrich_indicator(indicator)
    assert len(server.requests) == 1
    assert result(indicator, "http:rep").fetched_at == first
    enrich_indicator(indicator, force=True)
    assert len(server.requests) == 2
    assert result(indicator, "http:rep").fetched_at > first


def test_an_expired_result_is_fetched_again(server, private_urls) -> None:
    server.route("/rep/evil.example", json={"score": 1})
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    Enrichment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    enrich_indicator(indicator)
    assert len(server.requests) == 2


def test_a_forced_retry_skips_providers_that_answered_since_the_request(
    server, private_urls
) -> None:
    server.route("/rep/evil.example", json={"score": 1})
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    requested_at = timezone.now()
    enrich_indicator(indicator, force=True, requested_at=requested_at)
    enrich_indicator(indicator, force=True, requested_at=requested_at)
    assert len(server.requests) == 1


def test_enrich_case_enriches_the_indicators_of_its_hits() -> None:
    case = make_case(value="evil.example", events=2)
    counts = enrich_case(case)
    assert counts == {"indicators": 1, "results": 2, "errors": 0, "deferred": 0}
    indicator = case.hits.first().indicator
    assert set(indicator.enrichments.values_list("provider", flat=True)) == {
        "internal_history",
        "url_anatomy",
    }
    assert result(indicator, "internal_history").data["cases"] == 1


def test_enrichment_summary_lists_providers_and_key_facts() -> None:
    indicator = make_indicator("login.paypa1.com")
    enrich_indicator(indicator)
    summary = {item["provider"]: item for item in enrichment_summary(indicator)}
    assert set(summary) == {"internal_history", "url_anatomy"}
    facts = dict(summary["url_anatomy"]["facts"])
    assert facts["Registered domain"] == "paypa1.com"
    assert facts["Look-alike of"] == "paypal.com (homoglyph)"
    assert summary["url_anatomy"]["is_fresh"] is True
    assert dict(summary["internal_history"]["facts"])["Hits"] == "0"


# --- the HTTP enricher ------------------------------------------------------------------------


def test_http_enricher_keeps_the_fields_and_sends_the_key_in_its_header(
    server, private_urls
) -> None:
    server.route(
        "/rep/evil.example",
        json={"data": {"id": "evil.example", "attributes": {"reputation": -7, "whois": "x" * 500}}},
    )
    make_http_enricher(
        server, fields=["data.attributes.reputation", "data.id", "data.missing"], ttl_seconds=120
    )
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    stored = result(indicator, "http:rep")
    assert stored.data == {"data": {"attributes": {"reputation": -7}, "id": "evil.example"}}
    assert stored.error == ""
    assert stored.expires_at == stored.fetched_at + timedelta(seconds=120)
    sent = server.requests[-1]
    assert sent.headers["x-apikey"] == API_KEY
    assert sent.headers["accept"] == "application/json"
    assert API_KEY not in sent.path


def test_http_enricher_never_stores_a_key_the_service_echoes(server, private_urls) -> None:
    server.route(
        "/rep/evil.example",
        handler=lambda req: Route(json={"echo": req.headers.get("x-apikey"), "ok": True}),
    )
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    stored = result(indicator, "http:rep")
    assert stored.data == {"echo": "[redacted]", "ok": True}
    assert API_KEY not in json.dumps(stored.data)


def test_http_enricher_quotes_the_value_into_the_url(server, private_urls) -> None:
    server.route("/rep", json={"ok": True})
    make_http_enricher(server, path="/rep?q={value}&t={type}", applies_to=["url"])
    indicator = make_indicator("https://evil.example/a b?x=1&y=2", type="url")
    enrich_indicator(indicator)
    assert server.requests[-1].path == (
        "/rep?q=https%3A%2F%2Fevil.example%2Fa%20b%3Fx%3D1%26y%3D2&t=url"
    )
    assert build_url("/u/{value_b64}", "url", "http://x.example/") == "/u/aHR0cDovL3guZXhhbXBsZS8"


def test_http_500_is_temporary_and_the_other_providers_still_run(server, private_urls) -> None:
    server.route("/rep/evil.example", status=500, body=b"oops")
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    with pytest.raises(EnrichmentDeferred) as raised:
        enrich_indicator(indicator)
    assert raised.value.providers == ["http:rep"]
    assert not Enrichment.objects.filter(provider="http:rep").exists()
    assert set(indicator.enrichments.values_list("provider", flat=True)) == {
        "internal_history",
        "url_anatomy",
    }


def test_http_429_is_deferred_with_the_retry_after_the_service_asked(server, private_urls) -> None:
    server.route("/rep/evil.example", status=429, headers={"Retry-After": "30"})
    make_http_enricher(server)
    with pytest.raises(EnrichmentDeferred) as raised:
        enrich_indicator(make_indicator("evil.example"))
    assert raised.value.retry_after == 30


def test_http_timeout_is_a_temporary_failure(server, private_urls) -> None:
    server.route("/rep/evil.example", json={"late": True}, delay=3)
    make_http_enricher(server, timeout_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(EnrichmentDeferred):
        enrich_indicator(make_indicator("evil.example"))
    assert time.monotonic() - started < 2


def test_http_404_is_stored_as_an_error_without_the_key(server, private_urls) -> None:
    make_http_enricher(server)  # no route: the server answers 404
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    stored = result(indicator, "http:rep")
    assert stored.data == {}
    assert "404" in stored.error
    assert API_KEY not in stored.error
    assert stored.expires_at == stored.fetched_at + timedelta(seconds=ERROR_TTL_SECONDS)


def test_an_answer_that_is_not_json_is_stored_as_an_error(server, private_urls) -> None:
    server.route("/rep/evil.example", body="<html>hello</html>")
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    assert "not JSON" in result(indicator, "http:rep").error


def test_http_enricher_refuses_private_addresses_unless_allowed(server, settings) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = False
    server.route("/rep/evil.example", json={"ok": True})
    make_http_enricher(server)
    indicator = make_indicator("evil.example")
    enrich_indicator(indicator)
    assert result(indicator, "http:rep").error.startswith("refused")
    assert server.requests == []


def test_only_enabled_http_enrichers_of_the_type_apply(server) -> None:
    make_http_enricher(server, name="rep", applies_to=["domain", "url"])
    make_http_enricher(server, name="iprep", applies_to=["ipv4"])
    make_http_enricher(server, name="off", applies_to=["domain"], is_enabled=False)
    assert [e.name for e in enrichers_for("domain")][-1:] == ["http:rep"]
    assert "http:iprep" in [e.name for e in enrichers_for("ipv4")]
    assert "http:off" not in [e.name for e in enrichers_for("domain")]
    assert API_KEY not in repr(enrichers_for("domain"))


def test_pick_fields_indexes_lists_and_skips_missing_paths() -> None:
    data = {"items": [{"v": 1}, {"v": 2}], "n": 3}
    assert pick_fields(data, ["items.1.v", "items.9.v", "n"]) == {"items": {"1": {"v": 2}}, "n": 3}
    assert pick_fields([1, 2], []) == {"response": [1, 2]}


# --- rate limits ------------------------------------------------------------------------------


def test_the_rate_limit_is_shared_across_redis_clients() -> None:
    worker_a, worker_b = redis_client(), redis_client()
    assert ratelimit.allow("provider-x", 2, client=worker_a)
    assert ratelimit.allow("provider-x", 2, client=worker_b)
    assert not ratelimit.allow("provider-x", 2, client=worker_a)
    assert not ratelimit.allow("provider-x", 2, client=worker_b)
    assert 0 < ratelimit.wait_time("provider-x", 2, client=worker_b) <= 60
    assert ratelimit.allow("provider-y", 2, client=worker_a)
    assert ratelimit.allow("provider-x", None) and ratelimit.allow("provider-x", 0)


def test_a_rate_limited_provider_is_deferred_without_being_called(server, private_urls) -> None:
    server.route("/rep/a.example", json={"ok": True})
    server.route("/rep/b.example", json={"ok": True})
    make_http_enricher(server, rate_per_minute=1)
    first, second = make_indicator("a.example"), make_indicator("b.example")
    with pytest.raises(EnrichmentDeferred) as raised:
        enrich_indicators([first.pk, second.pk])
    assert len(server.requests) == 1
    assert raised.value.providers == ["http:rep"]
    assert 0 < raised.value.retry_after <= 60
    assert raised.value.counts == {"indicators": 2, "results": 5, "errors": 0, "deferred": 1}
    assert result(first, "http:rep").data == {"ok": True}
    assert not second.enrichments.filter(provider="http:rep").exists()
    assert second.enrichments.count() == 2
