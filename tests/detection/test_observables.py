"""Unit tests for detection.observables: what is extracted from content events, and where."""

from detection.observables import (
    Observable,
    canonical,
    extract_observables,
    text_observables,
    url_host,
)
from intel.normalize import NormalizationError, normalize


def found(text: str) -> list[tuple[str, str]]:
    return [(o.type, o.value) for o in text_observables(text)]


def direct(text: str) -> list[tuple[str, str]]:
    """Observables written in the text themselves (no derived hosts)."""
    return [(o.type, o.value) for o in text_observables(text) if not o.is_derived]


# --- URLs -----------------------------------------------------------------------------------


def test_finds_a_url_in_text_with_its_offsets():
    text = "go to https://Evil.Example/login?x=1 now"
    url = text_observables(text)[0]
    assert url == Observable(
        "url", "https://evil.example/login?x=1", "text", 6, 36, "https://Evil.Example/login?x=1"
    )
    assert text[url.start : url.end] == url.raw


def test_a_url_implies_its_host_as_a_derived_domain():
    host = text_observables("see http://cdn.evil.example/a")[1]
    assert (host.type, host.value) == ("domain", "cdn.evil.example")
    assert host.derived_from == "http://cdn.evil.example/a"
    assert host.is_derived
    assert (host.start, host.end) == (4, 29)


def test_a_url_with_an_ip_host_implies_the_address():
    assert found("http://203.0.113.7:8080/x and http://[2001:DB8::1]/y") == [
        ("url", "http://203.0.113.7:8080/x"),
        ("ipv4", "203.0.113.7"),
        ("url", "http://[2001:db8::1]/y"),
        ("ipv6", "2001:db8::1"),
    ]


def test_refangs_hxxp_and_bracketed_dots_keeping_original_offsets():
    text = "lure: hxxps://login.evil-invoices[.]com/auth?s=1 ok"
    url = text_observables(text)[0]
    assert url.value == "https://login.evil-invoices.com/auth?s=1"
    assert url.raw == "hxxps://login.evil-invoices[.]com/auth?s=1"
    assert text[url.start : url.end] == url.raw


def test_refangs_dot_and_at_words_and_spaced_brackets():
    text = "mail prizes[at]gift(dot)example or visit evil [.] com, and hxxp[:]//a(.)example/x"
    assert direct(text) == [
        ("email", "prizes@gift.example"),
        ("domain", "evil.com"),
        ("url", "http://a.example/x"),
    ]
    for obs in text_observables(text):
        assert text[obs.start : obs.end] == obs.raw
    assert [o.raw for o in text_observables(text) if not o.is_derived] == [
        "prizes[at]gift(dot)example",
        "evil [.] com",
        "hxxp[:]//a(.)example/x",
    ]


def test_offsets_map_back_after_many_replacements():
    text = "a[.]b[.]c x 1[.]2[.]3[.]4 y evil[.]example[.]org z"
    for obs in text_observables(text):
        assert text[obs.start : obs.end] == obs.raw
    assert direct(text) == [("ipv4", "1.2.3.4"), ("domain", "evil.example.org")]


def test_trims_trailing_punctuation_and_unbalanced_brackets_from_urls():
    assert direct("(see https://evil.example/a).") == [("url", "https://evil.example/a")]
    assert direct("https://evil.example/b!!, then") == [("url", "https://evil.example/b")]
    assert direct("https://en.wikipedia.org/wiki/Foo_(bar)") == [
        ("url", "https://en.wikipedia.org/wiki/Foo_(bar)")
    ]


def test_a_www_link_without_a_scheme_becomes_an_http_url():
    assert found("try www.Evil.com/login.") == [
        ("url", "http://www.evil.com/login"),
        ("domain", "www.evil.com"),
    ]


def test_unknown_schemes_and_schemes_glued_to_words_give_nothing():
    assert found("javascript://x.example/a xhttps://y.example/") == []


# --- Domains, emails, IPs -------------------------------------------------------------------


def test_a_bare_domain_needs_a_known_tld_in_one_case():
    assert direct("evil.com and EVIL.COM, not file.txt, System.Net or e.g. this") == [
        ("domain", "evil.com"),
        ("domain", "evil.com"),
    ]


def test_a_domain_glued_to_other_letters_or_a_path_is_not_a_domain():
    assert direct("übel.example /srv/app.com x") == []


def test_an_email_yields_the_address_and_its_domain():
    [email, domain] = text_observables("write to First.Last+tag@Evil.Example today")
    assert (email.type, email.value) == ("email", "first.last+tag@evil.example")
    assert (domain.type, domain.value, domain.derived_from) == (
        "domain",
        "evil.example",
        "first.last+tag@evil.example",
    )


def test_ipv4_addresses_but_not_versions_prices_or_octal():
    assert direct("10.1.2.3, v1.2.3, $12.50, 3.14 and 010.1.1.1") == [("ipv4", "10.1.2.3")]


def test_ipv6_addresses_but_not_times_or_prose():
    assert direct("at 10:30:12 dead::beef hit 2001:db8::1 and ::1.") == [
        ("ipv6", "2001:db8::1"),
        ("ipv6", "::1"),
    ]


# --- Accounts, hashtags, phones, hashes, wallets --------------------------------------------


def test_mentions_become_accounts_but_email_local_parts_do_not():
    assert direct("ping @Bob_01, mail bob@evil.example, not x@y or a/@c") == [
        ("account", "@bob_01"),
        ("email", "bob@evil.example"),
    ]


def test_hashtags_in_any_script():
    assert direct("#FreeGift #नमस्ते_दुनिया! #Café, not a#b or #123") == [
        ("hashtag", "#freegift"),
        ("hashtag", "#नमस्ते_दुनिया"),
        ("hashtag", "#café"),
    ]


def test_international_phone_numbers():
    assert direct("call +44 20 7946 0958 or +1 (415) 555-0100, not +12") == [
        ("phone", "+442079460958"),
        ("phone", "+14155550100"),
    ]


def test_hex_hashes_by_length_but_not_numeric_ids():
    md5, sha1 = "D41D8CD98F00B204E9800998ECF8427E", "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    sha256 = "9f" * 32
    text = f"{md5} {sha1} {sha256} order 12345678901234567890123456789012"
    assert direct(text) == [
        ("md5", md5.lower()),
        ("sha1", sha1),
        ("sha256", sha256),
    ]


def test_crypto_wallets():
    text = (
        "pay 0x52908400098527886E0F7030069857D2E4169EE7 or "
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq or 1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9"
    )
    assert direct(text) == [
        ("crypto_wallet", "0x52908400098527886e0f7030069857d2e4169ee7"),
        ("crypto_wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("crypto_wallet", "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9"),
    ]


def test_every_value_is_in_intels_canonical_form():
    text = (
        "HXXPS://Login.Evil[.]Example:443/A%2f?q=1#frag Bad[AT]Evil(.)Example @Mal.Lory "
        "#Scam 203.0.113[.]45 2001:0DB8::0001 D41D8CD98F00B204E9800998ECF8427E"
    )
    observables = text_observables(text)
    assert len(observables) == 9
    for obs in observables:
        assert normalize(obs.raw if not obs.is_derived else obs.value, obs.type)[1] == obs.value


# --- Whole events ---------------------------------------------------------------------------

EVENT = {
    "id": 7,
    "kind": "post",
    "occurred_at": "2026-01-01T00:00:00Z",
    "author": {"id": 3, "handle": "Mallory"},
    "text": "free gift at hxxps://gift[.]example/claim #Win",
    "urls": ["https://t.example/abc", "gift.example/claim"],
    "hashtags": ["Win", "#Giveaway"],
    "media": [{"sha256": "AB" * 32, "md5": "CD" * 16, "sha1": None, "pdq": "ef" * 32}],
    "metadata": {"lang": "en"},
}


def test_an_event_yields_observables_from_every_field():
    assert [(o.type, o.value, o.field) for o in extract_observables(EVENT)] == [
        ("url", "https://gift.example/claim", "text"),
        ("domain", "gift.example", "text"),
        ("hashtag", "#win", "text"),
        ("url", "https://t.example/abc", "urls"),
        ("domain", "t.example", "urls"),
        ("url", "http://gift.example/claim", "urls"),
        ("domain", "gift.example", "urls"),
        ("account", "@mallory", "author"),
        ("hashtag", "#win", "hashtags"),
        ("hashtag", "#giveaway", "hashtags"),
        ("sha256", "ab" * 32, "media"),
        ("md5", "cd" * 16, "media"),
        ("pdq", "ef" * 32, "media"),
    ]


def test_only_text_observables_have_offsets():
    for obs in extract_observables(EVENT):
        if obs.field == "text":
            assert EVENT["text"][obs.start : obs.end] == obs.raw
        else:
            assert (obs.start, obs.end) == (-1, -1)


def test_duplicates_are_dropped_per_type_value_and_field():
    event = {
        "text": "evil.example and EVIL.EXAMPLE and https://evil.example/",
        "urls": ["https://evil.example/", "HTTPS://EVIL.EXAMPLE"],
    }
    assert [(o.type, o.value, o.field, o.raw) for o in extract_observables(event)] == [
        ("domain", "evil.example", "text", "evil.example"),
        ("url", "https://evil.example/", "text", "https://evil.example/"),
        ("url", "https://evil.example/", "urls", "https://evil.example/"),
        ("domain", "evil.example", "urls", "https://evil.example/"),
    ]


def test_values_that_do_not_normalise_are_skipped():
    event = {
        "urls": ["http://exa mple.com", "mailto:x", 42],
        "hashtags": ["#", "123"],
        "author": {"handle": "not a handle!"},
        "media": [{"sha256": "xyz", "md5": "00"}, "not a dict"],
    }
    assert extract_observables(event) == []


def test_missing_or_empty_fields_are_fine():
    assert extract_observables({}) == []
    assert extract_observables({"text": "", "urls": None, "author": None, "media": []}) == []


def test_url_host_cuts_the_host_out_of_a_canonical_url():
    assert url_host("http://user:pw@evil.example:8080/a?b") == ("domain", "evil.example")
    assert url_host("https://203.0.113.9/") == ("ipv4", "203.0.113.9")
    assert url_host("https://[2001:db8::1]:8443/") == ("ipv6", "2001:db8::1")
    assert url_host("http://localhost/") is None


def test_hash_canonical_forms_agree_with_intels_normaliser():
    # canonical() takes a shortcut for exact-length hex; every answer must stay intel's.
    hexes = ["ab" * 16, "AB" * 20, "9F" * 32, "aB" * 32, "ab" * 16 + "g", "ab" * 15, ""]
    values = hexes + [f" {h} " for h in hexes] + [f"<{h}>" for h in hexes] + ["\u200b" + "cd" * 32]
    for kind in ("md5", "sha1", "sha256", "pdq"):
        for raw in values:
            try:
                expected: str | None = normalize(raw, kind)[1]
            except NormalizationError:
                expected = None
            assert canonical(raw, kind) == expected, (kind, raw)
