"""Unit tests for detection.matching: one test per matching rule, negatives included."""

import random
from pathlib import Path

import pytest

from detection.matching import IndicatorRef, Match, Matcher
from detection.matching.pdq import PdqIndex
from detection.observables import Observable

PDQ_DATA = Path(__file__).resolve().parent.parent / "data" / "feeds" / "pdq"


def ref(type_: str, value: str, id_: int = 1) -> IndicatorRef:
    return IndicatorRef(id=id_, type=type_, value=value, confidence=70, tags=("t",))


def hits(matcher: Matcher, event: dict) -> list[tuple[int, str, str]]:
    """(indicator id, observable value, field) of every match."""
    return [(m.indicator.id, m.observable.value, m.field) for m in matcher.match_event(event)]


def matches(type_: str, value: str, event: dict, **build: int) -> bool:
    return bool(Matcher.build([ref(type_, value)], **build).match_event(event))


def flip(hex_hash: str, bits: int, seed: int = 0) -> str:
    """``hex_hash`` with ``bits`` distinct random bits flipped."""
    positions = random.Random(seed).sample(range(256), bits)
    n = int(hex_hash, 16)
    for p in positions:
        n ^= 1 << p
    return f"{n:064x}"


# --- url --------------------------------------------------------------------------------------


def test_url_matches_the_same_url_after_normalisation():
    m = Matcher.build([ref("url", "HTTPS://Evil.Example:443/login#top")])
    assert hits(m, {"text": "go to hxxps://evil[.]example/login now"}) == [
        (1, "https://evil.example/login", "text")
    ]
    assert hits(m, {"urls": ["https://EVIL.example/login"]}) == [
        (1, "https://evil.example/login", "urls")
    ]


def test_url_does_not_match_another_path_query_or_scheme():
    for text in (
        "https://evil.example/login2",
        "https://evil.example/login?x=1",
        "http://evil.example/login",
        "https://evil.example/",
        "https://cdn.evil.example/login",
    ):
        assert not matches("url", "https://evil.example/login", {"text": text}), text


# --- domain -----------------------------------------------------------------------------------


def test_domain_matches_itself_and_subdomains_in_urls_emails_and_text():
    m = Matcher.build([ref("domain", "Evil.Example")])
    event = {
        "text": "cdn.evil.example, mail bob@mx.evil.example, http://a.b.evil.example/x",
        "urls": ["https://evil.example/"],
    }
    assert hits(m, event) == [
        (1, "cdn.evil.example", "text"),
        (1, "mx.evil.example", "text"),
        (1, "a.b.evil.example", "text"),
        (1, "evil.example", "urls"),
    ]


def test_domain_never_matches_lookalikes_or_parents():
    for text in (
        "notevil.example",
        "evil.example.org",
        "evil.examples",
        "example",
        "evil-example.com",
        "http://example/",
    ):
        assert not matches("domain", "evil.example", {"text": text}), text
    assert not matches("domain", "cdn.evil.example", {"text": "evil.example"})


def test_domain_matches_defanged_mentions():
    assert matches("domain", "evil.example", {"text": "do not visit cdn[.]evil(dot)example!"})


def test_a_domain_indicator_does_not_match_an_ip_host():
    assert not matches("domain", "evil.example", {"urls": ["http://203.0.113.9/evil.example"]})


# --- ipv4 / ipv6 / cidr -----------------------------------------------------------------------


def test_ipv4_matches_the_same_address_in_text_and_as_a_url_host():
    m = Matcher.build([ref("ipv4", "203.0.113.9")])
    assert hits(m, {"text": "c2 at 203.0.113[.]9", "urls": ["http://203.0.113.9:8080/x"]}) == [
        (1, "203.0.113.9", "text"),
        (1, "203.0.113.9", "urls"),
    ]
    assert not matches("ipv4", "203.0.113.9", {"text": "203.0.113.90 and 3.0.113.9"})


def test_ipv6_matches_equal_addresses_also_as_bracketed_url_hosts():
    m = Matcher.build([ref("ipv6", "2001:0db8:0000::0001")])
    assert hits(m, {"text": "to 2001:db8::1", "urls": ["http://[2001:DB8::1]/x"]}) == [
        (1, "2001:db8::1", "text"),
        (1, "2001:db8::1", "urls"),
    ]
    assert matches("ipv6", "2001:db8::1", {"text": "see http://[2001:db8::1]:8443/x"})
    assert not matches("ipv6", "2001:db8::1", {"text": "2001:db8::2"})


def test_cidr_matches_contained_addresses_only():
    m = Matcher.build([ref("cidr", "10.1.2.3/8", 1), ref("cidr", "2001:db8::/32", 2)])
    event = {"text": "10.255.0.1 11.0.0.1 9.255.255.255 2001:db8:ffff::1 2001:db9::1"}
    assert hits(m, event) == [(1, "10.255.0.1", "text"), (2, "2001:db8:ffff::1", "text")]
    assert hits(m, {"urls": ["http://10.0.0.1/"]}) == [(1, "10.0.0.1", "urls")]


def test_cidrs_of_several_prefix_lengths_all_match_most_specific_first():
    m = Matcher.build(
        [
            ref("cidr", "0.0.0.0/0", 1),
            ref("cidr", "192.0.2.0/24", 2),
            ref("cidr", "192.0.0.0/16", 3),
            ref("cidr", "192.0.2.128/25", 4),
            ref("cidr", "192.0.2.7/32", 5),
        ]
    )
    assert [i for i, _, _ in hits(m, {"text": "192.0.2.7"})] == [5, 2, 3, 1]
    assert [i for i, _, _ in hits(m, {"text": "192.0.2.200"})] == [4, 2, 3, 1]
    assert [i for i, _, _ in hits(m, {"text": "2001:db8::1"})] == []


# --- hashes -----------------------------------------------------------------------------------


def test_hashes_match_case_insensitively_on_their_own_kind():
    md5, sha1, sha256 = "D41D8CD98F00B204E9800998ECF8427E", "da39" * 10, "9F" * 32
    m = Matcher.build([ref("md5", md5, 1), ref("sha1", sha1, 2), ref("sha256", sha256, 3)])
    event = {"media": [{"md5": md5.lower(), "sha1": sha1.upper(), "sha256": sha256.lower()}]}
    assert [i for i, _, _ in hits(m, event)] == [3, 1, 2]
    assert [i for i, _, _ in hits(m, {"text": f"dropped {sha256} and {md5}"})] == [3, 1]


def test_a_sha256_indicator_does_not_match_a_pdq_hash_with_the_same_hex():
    value = "ab" * 32
    assert not matches("sha256", value, {"media": [{"pdq": value}]})
    assert not matches("pdq", value, {"media": [{"sha256": value}]})
    assert not matches("md5", "d41d8cd98f00b204e9800998ecf8427e", {"text": "d41d8cd98f00b204"})


# --- pdq --------------------------------------------------------------------------------------

PDQ = "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"


def test_pdq_matches_within_31_bits_inclusive():
    assert matches("pdq", PDQ, {"media": [{"pdq": PDQ}]})
    assert matches("pdq", PDQ, {"media": [{"pdq": flip(PDQ, 31)}]})
    assert not matches("pdq", PDQ, {"media": [{"pdq": flip(PDQ, 32)}]})


def test_pdq_distance_is_set_at_build_and_overridden_per_call():
    near = {"media": [{"pdq": flip(PDQ, 10)}]}
    strict = Matcher.build([ref("pdq", PDQ)], pdq_distance=8)
    assert strict.match_event(near) == []
    assert len(strict.match_event(near, pdq_distance=10)) == 1
    assert Matcher.build([ref("pdq", PDQ)]).match_event(near, pdq_distance=9) == []
    with pytest.raises(ValueError):
        Matcher.build([], pdq_distance=-1)


def read_hashes(name: str) -> list[str]:
    return [line.split()[0] for line in (PDQ_DATA / name).read_text().splitlines() if line]


def test_pdq_finds_threatexchange_needles_in_the_haystack():
    haystack, needles = read_hashes("haystack.txt"), read_hashes("needles.txt")
    m = Matcher.build(ref("pdq", h, i) for i, h in enumerate(haystack))
    exact = sum(1 for n in needles if n in set(haystack))
    assert exact == 50
    for needle in needles:
        found = {x.indicator.value for x in m.match_event({"media": [{"pdq": needle}]})}
        expected = {h for h in haystack if (int(h, 16) ^ int(needle, 16)).bit_count() <= 31}
        assert found == expected
        assert found  # every needle, exact or near neighbour, is found


def test_pdq_multi_index_agrees_with_brute_force_at_every_distance():
    rng = random.Random(5)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(2000)]
    queries = [flip(hashes[rng.randrange(2000)], d, seed=d) for d in range(0, 70, 3)]
    index = PdqIndex()
    for i, h in enumerate(hashes):
        index.add(h, ref("pdq", h, i))
    index.freeze()
    for query in queries:
        for distance in (0, 15, 16, 31, 32, 47, 63):
            got = {r.value for _, r in index.search(query, distance)}
            want = {h for h in hashes if (int(h, 16) ^ int(query, 16)).bit_count() <= distance}
            assert got == want, (query, distance)


# --- exact types ------------------------------------------------------------------------------


def test_email_account_hashtag_phone_and_wallet_match_exactly_after_normalisation():
    m = Matcher.build(
        [
            ref("email", "Bad.Guy@Evil.Example", 1),
            ref("account", "Mallory", 2),
            ref("hashtag", "#FreeGift", 3),
            ref("phone", "+44 20 7946 0958", 4),
            ref("crypto_wallet", "0x52908400098527886E0F7030069857D2E4169EE7", 5),
        ]
    )
    event = {
        "author": {"handle": "@MALLORY"},
        "text": (
            "mail bad.guy@evil.example or call +442079460958 #freegift "
            "pay 0x52908400098527886e0f7030069857d2e4169ee7"
        ),
    }
    assert sorted(i for i, _, _ in hits(m, event)) == [1, 2, 3, 4, 5]
    near_misses = {
        "author": {"handle": "mallory2"},
        "text": (
            "mail bad.guy2@evil.example or good.guy@evil.example, @mallor #freegifts "
            "+442079460959 0x52908400098527886e0f7030069857d2e4169ee8"
        ),
        "hashtags": ["free_gift"],
    }
    assert hits(m, near_misses) == []


def test_accounts_match_the_author_and_mentions_with_their_field():
    m = Matcher.build([ref("account", "@mallory")])
    assert hits(m, {"author": {"handle": "Mallory"}, "text": "cc @mallory"}) == [
        (1, "@mallory", "text"),
        (1, "@mallory", "author"),
    ]


def test_hashtags_match_from_the_list_and_the_text():
    m = Matcher.build([ref("hashtag", "scam")])
    assert hits(m, {"hashtags": ["Scam"], "text": "#SCAM"}) == [
        (1, "#scam", "text"),
        (1, "#scam", "hashtags"),
    ]


# --- keyword ----------------------------------------------------------------------------------


def test_keyword_matches_a_whole_phrase_in_any_case():
    m = Matcher.build([ref("keyword", "free robux")])
    [match] = m.match_event({"text": "Get FREE Robux!! now"})
    assert match.observable == Observable("keyword", "free robux", "text", 4, 14, "FREE Robux")


def test_keyword_does_not_match_inside_a_longer_word():
    for text in ("freerobuxx", "free robuxx", "xfree robux", "free_robuxy"):
        assert not matches("keyword", "free robux", {"text": text}), text
    assert matches("keyword", "free robux", {"text": "(free robux)"})
    assert matches("keyword", "free robux", {"text": "_free robux_"})  # "_" is no letter


def test_keyword_matches_across_whitespace_runs_with_original_offsets():
    text = "you get\tFree \n\n  ROBUX\u00a0today"
    m = Matcher.build([ref("keyword", "free   robux today")])
    [match] = m.match_event({"text": text})
    assert match.observable.raw == "Free \n\n  ROBUX\u00a0today"
    assert text[match.observable.start : match.observable.end] == match.observable.raw


def test_keyword_matches_across_control_whitespace_in_ascii_text():
    # ASCII texts take their own test for control characters (tabs, newlines, form feeds).
    for text in ("get free\trobux now", "get FREE\nRobux now", "get free\x0c\x0crobux now"):
        m = Matcher.build([ref("keyword", "free robux")])
        [match] = m.match_event({"text": text})
        assert text[match.observable.start : match.observable.end] == match.observable.raw
        assert match.observable.raw.lower().startswith("free")
    assert not matches("keyword", "free robux", {"text": "get free\x07robux now"})  # a bell


def test_keyword_matching_is_unicode_aware():
    assert matches("keyword", "straße", {"text": "DIE STRASSE ist frei"})
    assert matches("keyword", "ÉTÉ", {"text": "un bel e\u0301te\u0301!"})  # decomposed accents
    assert not matches("keyword", "cafe", {"text": "un café"})
    assert not matches("keyword", "नमस्त", {"text": "नमस्ते"})  # a vowel sign continues the word
    assert matches("keyword", "免费", {"text": "领取免费礼物"})  # Chinese has no spaces
    assert matches("keyword", "Привет", {"text": "ну привет, мир"})


def test_keyword_offsets_survive_case_folding_that_changes_length():
    text = "Maße: ﬁne STRAẞE deal"
    m = Matcher.build([ref("keyword", "strasse deal")])
    [match] = m.match_event({"text": text})
    assert match.observable.raw == "STRAẞE deal"


def test_keyword_edges_that_are_not_letters_need_no_boundary():
    assert matches("keyword", "c++", {"text": "learn c++!"})
    assert matches("keyword", "c++", {"text": "c++x"})
    assert not matches("keyword", "c++", {"text": "abc++"})


def test_keywords_match_text_only():
    assert not matches("keyword", "scam", {"hashtags": ["scam"], "urls": ["http://scam.example/"]})


# --- the matcher as a whole -------------------------------------------------------------------


def test_several_indicators_with_one_value_all_match():
    m = Matcher.build([ref("domain", "evil.example", 1), ref("domain", "EVIL.example", 2)])
    assert [i for i, _, _ in hits(m, {"text": "evil.example"})] == [1, 2]


def test_invalid_indicators_are_skipped_with_a_reason():
    bad = [ref("domain", "not a domain", 1), ref("nonsense", "x", 2), ref("url", "", 3)]
    m = Matcher.build([*bad, ref("domain", "ok.example", 4)])
    assert m.size == 1
    assert [(r.id, reason) for r, reason in m.skipped] == [
        (1, "domain contains an invalid character ' '"),
        (2, "unknown indicator type 'nonsense'"),
        (3, "empty value"),
    ]


def test_match_observables_works_on_observables_alone():
    m = Matcher.build([ref("domain", "evil.example")])
    obs = Observable("domain", "a.evil.example", "urls")
    assert m.match_observables([obs]) == [Match(m.lookup("domain", "evil.example")[0], obs, "urls")]


def test_size_counts_and_memory():
    m = Matcher.build([ref("url", "http://a.example/", 1), ref("keyword", "x y", 2)])
    assert m.size == 2
    assert m.counts == {"url": 1, "keyword": 1}
    assert m.memory_bytes() > 0
    assert len(Matcher.build([]).match_event({"text": "anything http://a.example/"})) == 0


# --- why_not ----------------------------------------------------------------------------------


def test_why_not_says_when_no_observable_of_the_type_exists():
    m = Matcher.build([])
    assert m.why_not({"text": "hello"}, ref("url", "http://a.example/x")) == (
        "no observable of type url in the event"
    )
    assert m.why_not({"text": "hello"}, ref("cidr", "10.0.0.0/8")) == (
        "no IPv4 address in the event"
    )
    assert m.why_not({}, ref("keyword", "x")) == "the event has no text to look for keywords in"


def test_why_not_names_the_closest_domain():
    m = Matcher.build([ref("domain", "evil.example")])
    event = {"text": "see cdn.evil.example.org and good.test"}
    assert m.why_not(event, ref("domain", "evil.example")) == (
        "closest observable cdn.evil.example.org (text) is not evil.example or a subdomain"
    )


def test_why_not_explains_urls_cidrs_exact_values_and_pdq():
    m = Matcher.build([])
    assert m.why_not(
        {"urls": ["https://evil.example/logout"]}, ref("url", "https://evil.example/login")
    ) == (
        "closest observable https://evil.example/logout (urls) is not "
        "https://evil.example/login (URLs match only when equal after normalisation)"
    )
    assert m.why_not({"text": "11.0.0.1"}, ref("cidr", "10.0.0.0/8")) == (
        "no address inside 10.0.0.0/8: closest observable 11.0.0.1 (text) is outside it"
    )
    assert m.why_not({"text": "@mallor"}, ref("account", "@mallory")) == (
        "closest observable @mallor (text) is not @mallory"
    )
    far = flip(PDQ, 40)
    assert m.why_not({"media": [{"pdq": far}]}, ref("pdq", PDQ)) == (
        f"closest pdq hash {far} (media) is 40 bits away, above the threshold of 31"
    )


def test_why_not_explains_keywords_found_only_inside_words():
    m = Matcher.build([])
    assert m.why_not({"text": "FREE ROBUXX"}, ref("keyword", "free robux")) == (
        "'free robux' occurs only inside a longer word ('free robuxx'); keywords match whole words"
    )
    assert m.why_not({"text": "nothing"}, ref("keyword", "free robux")).startswith(
        "the text does not contain 'free robux'"
    )


def test_why_not_tells_a_match_from_an_indicator_missing_from_the_matcher():
    indicator = ref("domain", "evil.example", 5)
    event = {"urls": ["http://cdn.evil.example/"]}
    assert Matcher.build([indicator]).why_not(event, indicator) == (
        "it matches: cdn.evil.example (urls, host of http://cdn.evil.example/)"
    )
    assert Matcher.build([]).why_not(event, indicator) == (
        "it would match cdn.evil.example (urls, host of http://cdn.evil.example/), but this "
        "matcher was built without indicator #5 (inactive, expired or added after the build)"
    )


def test_why_not_reports_an_invalid_indicator():
    assert Matcher.build([]).why_not({}, ref("domain", "not a domain", 9)) == (
        "indicator #9 is not a valid domain (domain contains an invalid character ' '), "
        "so it never matches"
    )


def test_lookup_finds_indexed_indicators_of_every_kind():
    indicators = [
        ref("url", "http://a.example/x", 1),
        ref("domain", "a.example", 2),
        ref("cidr", "10.0.0.0/8", 3),
        ref("pdq", PDQ, 4),
        ref("keyword", "Free Robux", 5),
        ref("account", "@bob", 6),
    ]
    m = Matcher.build(indicators)
    assert [r.id for r in m.lookup("url", "http://a.example/x")] == [1]
    assert [r.id for r in m.lookup("domain", "a.example")] == [2]
    assert [r.id for r in m.lookup("cidr", "10.0.0.0/8")] == [3]
    assert [r.id for r in m.lookup("pdq", PDQ)] == [4]
    assert [r.id for r in m.lookup("keyword", "free robux")] == [5]
    assert [r.id for r in m.lookup("account", "@bob")] == [6]
    assert m.lookup("domain", "b.example") == ()
    assert m.lookup("cidr", "10.0.0.0/9") == ()
