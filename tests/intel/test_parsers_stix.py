"""STIX 2.x parser: real bundles with counts verified by reading them, and the pattern parser."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from intel.parsers import ParsedRow, ParseError, ParserOptions, Rejected, Skipped, parse
from intel.parsers.stix import PatternError, evaluate, parse_pattern

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
IND_ID = "indicator--0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"


def feed(rel: str) -> list:
    with open(FEEDS / rel, "rb") as fh:
        return list(parse(fh, ParserOptions(), filename=rel))


def stix(objects: object, **options: object) -> list:
    return list(parse(io.BytesIO(json.dumps(objects).encode()), ParserOptions(**options)))


def indicator(pattern: str, **extra: object) -> dict:
    return {"type": "indicator", "id": IND_ID, "spec_version": "2.1", "pattern": pattern, **extra}


def kinds(got: list) -> dict[str, int]:
    return dict(Counter(type(i).__name__ for i in got))


def pairs(got: list) -> list[tuple[str | None, str]]:
    return [(r.type, r.value) for r in got if isinstance(r, ParsedRow)]


# --- real bundles ------------------------------------------------------------------------------


def test_apt1_cidr_md5_and_x509_and_pattern() -> None:
    got = feed("stix/oasis-cti-examples/apt1.json")
    assert len({i.line for i in got}) == 76  # one item (or more) per object
    assert kinds(got) == {"Skipped": 64 + 2, "ParsedRow": 10}
    assert Counter(r.type for r in got if isinstance(r, ParsedRow)) == {
        "cidr": 4,
        "domain": 3,
        "md5": 3,
    }
    assert ("cidr", "223.166.0.0/15") in pairs(got)
    assert ("md5", "001dd76872d80801692ff942308c64e6") in pairs(got)
    x509 = [s for s in got if isinstance(s, Skipped) and "AND" in s.reason]
    assert len(x509) == 2
    assert "x509-certificate:issuer" in x509[0].reason
    reasons = Counter(s.reason for s in got if isinstance(s, Skipped) and "AND" not in s.reason)
    assert reasons["not an indicator: relationship"] == 30
    assert reasons["not an indicator: threat-actor"] == 5
    row = next(r for r in got if isinstance(r, ParsedRow))
    assert row.reference.startswith("indicator--")
    assert set(row.fields) <= {"first_seen", "description", "tags", "confidence", "expires_at"}
    assert "first_seen" in row.fields


def test_poisonivy_or_chains_across_types() -> None:
    got = feed("stix/oasis-cti-examples/poisonivy.json")
    doc = json.loads((FEEDS / "stix/oasis-cti-examples/poisonivy.json").read_text())
    # independent count: every "(domain-name|ipv4-addr):value = '...'" term, unique per indicator
    expected = 0
    for obj in doc["objects"]:
        if obj["type"] == "indicator":
            terms = re.findall(r"(domain-name|ipv4-addr):value = '([^']*)'", obj["pattern"])
            expected += len(set(terms))
    assert expected == 65
    assert kinds(got) == {"Skipped": 130 + 2, "ParsedRow": 65}
    assert Counter(r.type for r in got if isinstance(r, ParsedRow)) == {"ipv4": 40, "domain": 25}
    assert len({r.line for r in got if isinstance(r, ParsedRow)}) == 23  # 23 of 25 indicators
    by_line = Counter(r.line for r in got if isinstance(r, ParsedRow))
    assert max(by_line.values()) == 11  # one indicator yields 11 values
    file_name = [s for s in got if isinstance(s, Skipped) and "file:name" in s.reason]
    assert len(file_name) == 2


def test_indicators_for_c2_private_ip_and_quoted_sha256() -> None:
    got = feed("stix/oasis-cti-examples/indicators-for-C2-with-COA.json")
    assert kinds(got) == {"Skipped": 6, "ParsedRow": 2}
    assert pairs(got) == [
        ("ipv4", "10.0.0.0"),
        ("sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"),
    ]


def test_malicious_email_matches_is_skipped() -> None:
    got = feed("stix/oasis-cti-examples/malicious-email-indicator-with-attachment.json")
    assert kinds(got) == {"Skipped": 6}
    matches = [s.reason for s in got if "MATCHES" in s.reason]
    assert matches == [
        "operator MATCHES on email-message:subject",
        "operator MATCHES on email-message:body_multipart[*].body_raw_ref.name",
    ]


def test_feeds2stix_ipsum_scos_do_not_double_count() -> None:
    got = feed("stix/feeds2stix/ipsum_level_8.json")
    assert kinds(got) == {"Skipped": 62, "ParsedRow": 58}
    assert len({r.value for r in got if isinstance(r, ParsedRow)}) == 58
    assert sum(1 for s in got if getattr(s, "reason", "") == "not an indicator: ipv4-addr") == 58
    assert pairs(got)[0] == ("ipv4", "45.148.10.151")


def test_sslbl_certificate_fingerprints_are_not_file_hashes() -> None:
    got = feed("stix/feeds2stix/sslblacklist_BazarCall.json")
    assert kinds(got) == {"Skipped": 34}
    certs = [s.reason for s in got if "x509" in s.reason and "not an indicator" not in s.reason]
    assert len(certs) == 5
    assert certs[0] == (
        "unsupported path x509-certificate:hashes.'SHA-1' (certificate, not a file hash)"
    )


def test_mitre_ics_subset_has_no_indicators() -> None:
    got = feed("stix/mitre-attack-ics/ics-attack-18.1-subset.json")
    assert kinds(got) == {"Skipped": 300}
    reasons = Counter(s.reason for s in got)
    assert reasons["not an indicator: relationship"] == 161
    assert reasons["not an indicator: x-mitre-tactic"] == 12
    assert reasons["not an indicator: intrusion-set"] == 16


# --- object handling ---------------------------------------------------------------------------


def test_fields_mapping() -> None:
    ind = indicator(
        "[url:value = 'http://x.example/a']",
        name="Bad URL",
        labels=["phishing", "kit"],
        confidence=85,
        valid_from="2024-01-01T00:00:00Z",
        valid_until="2024-02-01T00:00:00.000Z",
    )
    got = stix({"type": "bundle", "id": "bundle--1", "objects": [ind]})
    assert got == [
        ParsedRow(
            1,
            "http://x.example/a",
            "url",
            IND_ID,
            {
                "confidence": 85,
                "tags": ["phishing", "kit"],
                "first_seen": "2024-01-01T00:00:00+00:00",
                "expires_at": "2024-02-01T00:00:00+00:00",
                "description": "Bad URL",
            },
        )
    ]


def test_envelope_list_and_single_object_forms() -> None:
    ind = indicator("[domain-name:value='a.example']")
    assert pairs(stix({"objects": [ind]}, format="stix")) == [("domain", "a.example")]
    assert pairs(stix([ind])) == [("domain", "a.example")]
    assert pairs(stix(ind, format="stix")) == [("domain", "a.example")]
    with pytest.raises(ParseError, match="no STIX objects"):
        stix("x", format="stix")


def test_revoked_other_pattern_types_and_missing_patterns() -> None:
    objs = [
        indicator("[domain-name:value = 'a.example']", revoked=True),
        indicator("title: x\ndetection: y", pattern_type="sigma"),
        {"type": "indicator", "id": IND_ID},
        indicator("[domain-name:value = 'unterminated]"),
        "not an object",
        {"id": "x--1"},
    ]
    got = stix(objs, format="stix")
    assert got == [
        Skipped(1, "revoked indicator"),
        Skipped(2, "unsupported pattern_type: sigma"),
        Skipped(3, "indicator has no pattern"),
        Skipped(4, "unparseable pattern: unterminated string"),
        Rejected(5, "STIX object is not a JSON object", "not an object"),
        Rejected(6, "STIX object has no type", "x--1"),
    ]


# --- pattern parser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value='1.2.3.4']", [("ipv4", "1.2.3.4")]),
        ("[ ipv4-addr:value   =   '1.2.3.4' ]", [("ipv4", "1.2.3.4")]),
        ("[ipv4-addr:value = '10.0.0.0/8']", [("cidr", "10.0.0.0/8")]),
        ("[ipv6-addr:value = '2001:db8::1']", [("ipv6", "2001:db8::1")]),
        ("[ipv6-addr:value = '2001:db8::/32']", [("cidr", "2001:db8::/32")]),
        ("[email-addr:value = 'a@b.example']", [("email", "a@b.example")]),
        ("[email-message:from_ref.value = 'a@b.example']", [("email", "a@b.example")]),
        ("[url:value = 'http://x.example/it\\'s']", [("url", "http://x.example/it's")]),
        ("[url:value = 'http://x.example/a\\\\b']", [("url", "http://x.example/a\\b")]),
        (
            "[file:hashes.md5 = 'd41d8cd98f00b204e9800998ecf8427e']",
            [("md5", "d41d8cd98f00b204e9800998ecf8427e")],
        ),
        ("[file:hashes.'SHA-1' = 'aa']", [("sha1", "aa")]),
        ("[file:hashes.'sha-256' = 'bb']", [("sha256", "bb")]),
        ("[file:hashes.SHA256 = 'cc']", [("sha256", "cc")]),
        (
            "[domain-name:value = 'a.example' OR ipv4-addr:value = '1.1.1.1']",
            [("domain", "a.example"), ("ipv4", "1.1.1.1")],
        ),
        (
            "[domain-name:value = 'a.example'] OR [url:value = 'http://b.example/']",
            [("domain", "a.example"), ("url", "http://b.example/")],
        ),
        (
            "([domain-name:value = 'a.example'] AND [ipv4-addr:value = '1.1.1.1'])",
            [("domain", "a.example"), ("ipv4", "1.1.1.1")],
        ),
        (
            "[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://b.example/'] "
            "START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            [("domain", "a.example"), ("url", "http://b.example/")],
        ),
        ("[(domain-name:value = 'a.example')]", [("domain", "a.example")]),
    ],
)
def test_supported_patterns(pattern: str, expected: list) -> None:
    rows, reasons, complete = evaluate(parse_pattern(pattern))
    assert rows == expected
    assert reasons == []
    assert complete


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[domain-name:value MATCHES '^evil']", "operator MATCHES on domain-name:value"),
        ("[domain-name:value LIKE '%.evil.example']", "operator LIKE on domain-name:value"),
        ("[ipv4-addr:value IN ('1.1.1.1', '2.2.2.2')]", "operator IN on ipv4-addr:value"),
        ("[ipv4-addr:value != '1.1.1.1']", "operator != on ipv4-addr:value"),
        ("[file:size > 1000]", "operator > on file:size"),
        ("[ipv4-addr:value NOT = '1.1.1.1']", "operator NOT = on ipv4-addr:value"),
        ("[file:name = 'x.exe']", "unsupported path file:name"),
        ("[file:hashes.'SHA-512' = 'ab']", "unsupported path file:hashes.'SHA-512'"),
        ("[ipv4-addr:value = 42]", "non-string value for ipv4-addr:value"),
        ("[ipv4-addr:value = '1.1.1.1'] REPEATS 5 TIMES", "REPEATS qualifier not supported"),
        ("[ipv4-addr:value = '1.1.1.1'] WITHIN 60 SECONDS", "WITHIN qualifier not supported"),
    ],
)
def test_unsupported_comparisons(pattern: str, reason: str) -> None:
    rows, reasons, complete = evaluate(parse_pattern(pattern))
    assert rows == []
    assert reasons == [reason]
    assert not complete


def test_and_with_an_unsupported_term_skips_the_whole_indicator() -> None:
    got = stix([indicator("[domain-name:value = 'a.example' AND file:name = 'x.exe']")])
    assert got == [
        Skipped(1, "AND with unsupported terms: unsupported path file:name"),
    ]
    got = stix([indicator("[url:value = 'http://a.example/'] AND [file:size > 10]")])
    assert kinds(got) == {"Skipped": 1}


def test_or_with_an_unsupported_term_keeps_the_rest() -> None:
    got = stix([indicator("[file:name = 'x.exe' OR file:hashes.MD5 = 'abc']")])
    assert got == [
        ParsedRow(1, "abc", "md5", IND_ID, {}),
        Skipped(1, "partly imported, skipped: unsupported path file:name"),
    ]


def test_duplicate_terms_in_one_pattern_yield_one_row() -> None:
    got = stix([indicator("[ipv4-addr:value = '1.1.1.1' OR ipv4-addr:value = '1.1.1.1']")])
    assert pairs(got) == [("ipv4", "1.1.1.1")]


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "ipv4-addr:value = '1.1.1.1'",
        "[ipv4-addr:value = '1.1.1.1'",
        "[ipv4-addr:value '1.1.1.1']",
        "[ipv4-addr:value = ]",
        "[= '1.1.1.1']",
        "[ipv4-addr:value = '1.1.1.1'] extra",
        "[ipv4-addr:value = '1.1.1.1' AND]",
        "[file:hashes[x] = 'a']",
        "[a:b = 'c'] ~",
        "(" * 5000 + "[a:b = 'c']" + ")" * 5000,
        "[" + "(" * 5000 + "a:b = 'c'" + ")" * 5000 + "]",
    ],
)
def test_malformed_patterns_raise_pattern_error_only(pattern: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(pattern)


def test_malformed_pattern_in_a_bundle_is_skipped_not_a_crash() -> None:
    got = stix([indicator("(" * 5000 + "[a:b = 'c']" + ")" * 5000)])
    assert got == [Skipped(1, "unparseable pattern: pattern nested too deeply")]
    got = stix([indicator("[url:value = '" + "x" * 70_000 + "']")])
    assert got == [Skipped(1, "unparseable pattern: pattern too long")]
