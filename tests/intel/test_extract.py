"""Unit tests for intel.extract: indicators found in prose, defanged or not, with offsets."""

import time

import pytest

from intel.extract import KNOWN_TLDS, Extracted, extract_indicators

REPORT = """\
Summary: on 2024-03-02 TA-999 mailed invoices from billing[at]evil-invoices[.]com. The
lure linked to hxxps://login.evil-invoices[.]com/auth?session=abc#top, which dropped
Invoice.pdf.exe (SHA256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,
md5: d41d8cd98f00b204e9800998ecf8427e). The implant beaconed to 203.0.113[.]45 on 8443/tcp
and to 2001:db8::1; staging happened in 198.51.100.0/24. Related infrastructure:
cdn-evil[.]example, update.evil-cdn.example (see also the IP 203.0.113.45 again).
Victims paid to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq and
0x52908400098527886E0F7030069857D2E4169EE7. Note: e.g. version 1.2.3 of the loader,
the file invoice.zip and README.md are not infrastructure.
"""

CHAT = """\
[09:14] <mallory> yo check this out -> hxxp://free-gift(.)example/claim?id=42 !!
[09:15] <bob> lol no. who runs it? @GiftAdmin_01 on the channel?
[09:15] <mallory> DM @GiftAdmin_01 or call +44 20 7946 0958, email prizes(at)free-gift(.)example
[09:16] <bob> #FreeGift #scam, reported. also their other site is gift-claim.test:8080/x
[09:17] <mallory> pay in USDT to 0xAbCdEf0123456789aBcDeF0123456789ABCDEF01 k thx
"""


def found(text: str, **kwargs: object) -> list[tuple[str, str]]:
    return [(e.type, e.value) for e in extract_indicators(text, **kwargs)]  # type: ignore[arg-type]


def test_extracts_a_realistic_defanged_threat_report():
    assert found(REPORT) == [
        ("email", "billing@evil-invoices.com"),
        ("url", "https://login.evil-invoices.com/auth?session=abc"),
        ("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("ipv4", "203.0.113.45"),
        ("ipv6", "2001:db8::1"),
        ("cidr", "198.51.100.0/24"),
        ("domain", "cdn-evil.example"),
        ("domain", "update.evil-cdn.example"),
        ("crypto_wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("crypto_wallet", "0x52908400098527886e0f7030069857d2e4169ee7"),
    ]


def test_extracts_a_chat_log():
    assert found(CHAT) == [
        ("url", "http://free-gift.example/claim?id=42"),
        ("account", "@giftadmin_01"),
        ("phone", "+442079460958"),
        ("email", "prizes@free-gift.example"),
        ("hashtag", "#freegift"),
        ("hashtag", "#scam"),
        ("domain", "gift-claim.test"),
        ("crypto_wallet", "0xabcdef0123456789abcdef0123456789abcdef01"),
    ]


@pytest.mark.parametrize("text", [REPORT, CHAT])
def test_offsets_point_at_the_raw_defanged_text(text):
    for item in extract_indicators(text):
        assert isinstance(item, Extracted)
        assert text[item.start : item.end] == item.raw


def test_raw_keeps_the_defanged_spelling():
    (item,) = extract_indicators("go to hxxp://evil[.]example/x now")
    assert item.raw == "hxxp://evil[.]example/x"
    assert item.value == "http://evil.example/x"
    assert (item.start, item.end) == (6, 29)


def test_results_are_frozen_dataclasses():
    (item,) = extract_indicators("evil.example")
    with pytest.raises(AttributeError):
        item.value = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- urls


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("see hxxp://evil[.]com/x today", "http://evil.com/x"),
        ("see https://a.b.example/c?d=1 today", "https://a.b.example/c?d=1"),
        ("see hXXps[:]//evil[.]example[/]path", "https://evil.example/path"),
        ("see http[://]evil[.]example", "http://evil.example/"),
        ("(see hxxp://evil.example/x).", "http://evil.example/x"),
        ("'http://evil.example/x', he said", "http://evil.example/x"),
        ("is it http://evil.example/x?", "http://evil.example/x"),
        ("wow http://evil.example/x!!!", "http://evil.example/x"),
        ("<http://evil.example/x>", "http://evil.example/x"),
        ("[link](http://evil.example/x)", "http://evil.example/x"),
        ("https://en.wikipedia.org/wiki/Foo_(bar).", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("访问http://evil.example/x。谢谢", "http://evil.example/x"),
        ("ftp://files.example/a.bin;", "ftp://files.example/a.bin"),
    ],
)
def test_finds_urls_without_trailing_punctuation(text, url):
    assert found(text) == [("url", url)]


def test_a_url_broken_by_spaces_gives_its_domain_not_a_single_label_url():
    assert found("go to hxxp://evil [.] example/x now") == [("domain", "evil.example")]
    assert found("http://[2001:db8::1]/x") == [("url", "http://[2001:db8::1]/x")]


def test_splits_urls_glued_together_by_commas():
    assert found("http://a.example/x,hxxp://b[.]example/y;https://c.example/?q=1,2") == [
        ("url", "http://a.example/x"),
        ("url", "http://b.example/y"),
        ("url", "https://c.example/?q=1,2"),
    ]


def test_does_not_emit_the_host_of_an_emitted_url_as_a_domain():
    assert found("evil.example serves http://evil.example/payload.bin") == [
        ("url", "http://evil.example/payload.bin")
    ]


def test_nothing_nested_in_a_url_is_emitted_separately():
    text = "https://files.example/d41d8cd98f00b204e9800998ecf8427e/192.0.2.1"
    assert found(text) == [("url", text)]


def test_types_limits_the_search_and_unsearched_kinds_shadow_nothing():
    text = "http://evil.example/x and bad@evil.example"
    assert found(text, types={"domain"}) == [("domain", "evil.example")]
    assert found(text, types=["url"]) == [("url", "http://evil.example/x")]
    with pytest.raises(ValueError, match="unknown indicator type"):
        extract_indicators(text, types={"fqdn"})


# --------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("contact evil[.]example now", "evil.example"),
        ("login.evil.example is bad", "login.evil.example"),
        ("EVIL.COM is bad", "evil.com"),
        ("visit evil(dot)example.", "evil.example"),
        ("visit evil [.] example", "evil.example"),
        ("hidden service expyuzz4wqqyqhjn.onion", "expyuzz4wqqyqhjn.onion"),
        ("test host.invalid", "host.invalid"),
        ("drop evil[.]zip", "evil.zip"),
        ("punycode xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("evil.example/login without scheme", "evil.example"),
    ],
)
def test_finds_bare_domains_with_a_plausible_tld(text, domain):
    assert found(text) == [("domain", domain)]


@pytest.mark.parametrize(
    "text",
    [
        "run file.exe now",
        "e.g. this, i.e. that",
        "version 1.2.3 was released",
        "the attachment invoice.zip",
        "read README.md first",
        "calls System.Net.WebClient",
        "the end.It was late",
        "ship main.py and setup.sh",
        "3.14 is pi",
    ],
)
def test_does_not_treat_file_names_abbreviations_or_versions_as_domains(text):
    assert found(text) == []


def test_known_tlds_include_special_use_names():
    assert {"com", "example", "test", "invalid", "onion", "xn--p1ai"} <= KNOWN_TLDS
    assert "exe" not in KNOWN_TLDS


# --------------------------------------------------------------------------- ips


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("beacon to 192.0.2.1:443", [("ipv4", "192.0.2.1")]),
        ("beacon to 1.2.3[.]4", [("ipv4", "1.2.3.4")]),
        ("beacon to 10[.]0[.]0[.]1.", [("ipv4", "10.0.0.1")]),
        ("range 10.1.2.3/8 and 2001:db8::/32", [("cidr", "10.0.0.0/8"), ("cidr", "2001:db8::/32")]),
        ("host /32: 192.0.2.1/32", [("ipv4", "192.0.2.1")]),
        (
            "v6 [2001:db8::1] and ::ffff:192.0.2.1",
            [("ipv6", "2001:db8::1"), ("ipv6", "::ffff:192.0.2.1")],
        ),
        ("fe80::1%eth0 is link-local", [("ipv6", "fe80::1")]),
    ],
)
def test_finds_ip_addresses_and_cidrs(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3.4 is current",
        "v1.2.3.4",
        "OID 1.2.3.4.5.6",
        "octal 010.1.1.1",
        "at 10:30:00 we met",
        "mac 00:1a:2b:3c:4d:5e",
        "C++ std::vector and dead::beef",
        "reverse 4.3.2.1.in-addr.arpa",
    ],
)
def test_does_not_mistake_versions_times_or_macs_for_ips(text):
    assert [t for t, _ in found(text) if t in ("ipv4", "ipv6", "cidr")] == []


# --------------------------------------------------------------------------- hashes, wallets


def test_finds_hashes_by_length_and_lowercases_them():
    text = (
        "md5 D41D8CD98F00B204E9800998ECF8427E sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 "
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert found(text) == [
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ]


def test_ignores_hex_runs_of_other_lengths_and_numeric_ids():
    assert found("id " + "a1" * 20 + "ff and " + "1" * 32 + " and " + "ab" * 40) == []


def test_finds_crypto_wallets_with_strict_lengths():
    text = (
        "send to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, "
        "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ or "
        "15oF4uVJwmo4TdGW7VfQxf4qtzCNGH3Ap7Dy7tB5oZ9rtqg8"
    )
    assert found(text) == [
        ("crypto_wallet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ("crypto_wallet", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        ("crypto_wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        ("crypto_wallet", "15oF4uVJwmo4TdGW7VfQxf4qtzCNGH3Ap7Dy7tB5oZ9rtqg8"),
    ]


def test_ignores_wallet_lookalikes():
    text = (
        "1234567891234567891234567891 bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5 "
        "0x1234 1AllLowercaseButNotAWalletOk"
    )
    assert found(text) == []


# --------------------------------------------------------------------------- email, phone, social


def test_finds_plain_and_defanged_emails_and_not_their_domains():
    text = "from bad.guy@evil.example, bad[at]evil[.]example and x (at) evil.example"
    assert found(text) == [
        ("email", "bad.guy@evil.example"),
        ("email", "bad@evil.example"),
        ("email", "x@evil.example"),
    ]


def test_finds_e164_phone_numbers_written_with_plus():
    text = "call +1 (415) 555-0100 or +33.1.23.45.67.89, not 415-555-0100 or +12"
    assert found(text) == [("phone", "+14155550100"), ("phone", "+33123456789")]


def test_finds_mentions_but_not_email_addresses_or_long_handles():
    text = "ping @Evil_Bot. and @some.one, mail bad@evil.example, not @" + "x" * 31
    assert found(text) == [
        ("account", "@evil_bot"),
        ("account", "@some.one"),
        ("email", "bad@evil.example"),
    ]


def test_finds_unicode_hashtags_but_not_numbers_entities_or_csharp():
    text = "#FreeMoney #ایران_آزاد #भारत, #1 C# &#39; page#anchor"
    assert found(text) == [
        ("hashtag", "#freemoney"),
        ("hashtag", "#ایران_آزاد"),
        ("hashtag", "#भारत"),
    ]


# --------------------------------------------------------------------------- ordering, dedupe


def test_deduplicates_by_type_and_value_keeping_the_first_occurrence():
    text = "evil[.]example then EVIL.example then evil.example"
    (item,) = extract_indicators(text)
    assert (item.raw, item.start) == ("evil[.]example", 0)


def test_returns_results_in_text_order():
    text = "#tag then 192.0.2.1 then evil.example then http://x.example/"
    starts = [e.start for e in extract_indicators(text)]
    assert starts == sorted(starts)
    assert len(starts) == 4


def test_empty_text_gives_nothing():
    assert extract_indicators("") == []


# --------------------------------------------------------------------------- performance


@pytest.mark.parametrize(
    "chunk",
    [
        "a.",
        "a[.]",
        "a [.] ",
        "a-",
        "@",
        "#",
        ":",
        "ff:",
        "x@",
        "a.b@",
        "a@a.",
        "@a.",
        "+1 ",
        "1.",
        "hxxp://",
        "a(dot)",
        "0",
    ],
)
def test_pathological_input_is_linear_not_catastrophic(chunk):
    text = chunk * (300_000 // len(chunk))
    started = time.perf_counter()
    extract_indicators(text)
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    "text",
    [
        "x@" + "c" * 1_000_000 + ".com",
        "c" * 1_000_000 + ".com",
        "http://" + "c" * 1_000_000 + ".com/" + ")" * 1000,
        "@" + "c" * 1_000_000,
        "#" + "c" * 1_000_000,
    ],
)
def test_one_huge_token_is_linear_not_catastrophic(text):
    started = time.perf_counter()
    extract_indicators(text)
    assert time.perf_counter() - started < 3.0


def test_handles_a_megabyte_of_realistic_text_quickly():
    text = (REPORT + CHAT) * (1_000_000 // len(REPORT + CHAT))
    started = time.perf_counter()
    result = extract_indicators(text)
    elapsed = time.perf_counter() - started
    assert len(result) == len(found(REPORT + CHAT))
    assert elapsed < 3.0


def test_finds_domains_under_idn_top_level_domains() -> None:
    found = extract_indicators("contact evil.xn--3bst00m and bad.xn--80aswg today")
    assert [(e.type, e.value) for e in found] == [
        ("domain", "evil.xn--3bst00m"),
        ("domain", "bad.xn--80aswg"),
    ]


def test_the_tld_list_holds_no_fragments() -> None:
    assert not [tld for tld in KNOWN_TLDS if tld.startswith("-") or tld.endswith("-")]
    assert "xn" not in KNOWN_TLDS
