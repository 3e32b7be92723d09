"""MISP event parser: the CIRCL OSINT events (counts verified by reading them) and type mapping."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from intel.parsers import (
    ParsedRow,
    ParseError,
    ParserOptions,
    Rejected,
    Skipped,
    parse,
    parse_misp_manifest,
)

CIRCL = Path(__file__).resolve().parent.parent / "data" / "feeds" / "misp" / "circl-osint"
FALLCHILL = CIRCL / "5a0d5bf4-99c8-4f15-9879-22b1950d210f.json"
QAKBOT = CIRCL / "5a0ac036-6fbc-4855-83af-422b950d210f.json"
CERBER = CIRCL / "56e12e66-f01c-41be-afea-4d9a950d210f.json"


def feed(path: Path) -> list:
    with open(path, "rb") as fh:
        return list(parse(fh, ParserOptions(), filename=path.name))


def misp(doc: object, **options: object) -> list:
    return list(parse(io.BytesIO(json.dumps(doc).encode()), ParserOptions(**options)))


def event(*attributes: dict, objects: tuple = (), **extra: object) -> dict:
    return {
        "Event": {
            "info": "test event",
            "Attribute": list(attributes),
            "Object": list(objects),
            **extra,
        }
    }


def kinds(got: list) -> dict[str, int]:
    return dict(Counter(type(i).__name__ for i in got))


def reasons(got: list) -> Counter:
    return Counter(i.reason for i in got if not isinstance(i, ParsedRow))


def test_fallchill_event() -> None:
    raw = FALLCHILL.read_bytes()
    assert b"\n" not in raw  # single line, no newline
    got = feed(FALLCHILL)
    assert len({i.line for i in got}) == 128  # 111 top-level + 17 object attributes
    assert kinds(got) == {"ParsedRow": 113, "Skipped": 15}
    assert Counter(r.type for r in got if isinstance(r, ParsedRow)) == {
        "ipv4": 93,  # 87 ip-dst + 3 ip-dst|port + 3 ip-port objects
        "md5": 16,
        "sha256": 2,
        "sha1": 2,
    }
    assert reasons(got) == {
        "to_ids is false": 11,  # link x3, port x3, float x2, size, attachment, comment
        "unsupported MISP type: filename": 2,
        "unsupported MISP type: ssdeep": 2,
    }
    values = {r.value for r in got if isinstance(r, ParsedRow)}
    assert "125.212.132.222" in values  # from "125.212.132.222|443"
    assert not any("|" in v for v in values)
    row = next(r for r in got if isinstance(r, ParsedRow))
    assert 'misp-galaxy:threat-actor="Lazarus Group"' in row.fields["tags"]
    assert row.fields["description"].startswith("OSINT - HIDDEN COBRA")
    assert row.fields["event_uuid"] == "5a0d5bf4-99c8-4f15-9879-22b1950d210f"
    assert len(row.reference) == 36  # the attribute uuid


def test_qakbot_event_reads_object_attributes() -> None:
    got = feed(QAKBOT)
    assert kinds(got) == {"ParsedRow": 58, "Skipped": 38}
    ips = [r for r in got if isinstance(r, ParsedRow) and r.type == "ipv4"]
    assert len(ips) == 43  # 19 top-level ip-dst + 24 ip-port objects
    doc = json.loads(QAKBOT.read_text())["Event"]
    object_ips = {
        a["value"]
        for o in doc["Object"]
        for a in o["Attribute"]
        if a["object_relation"] == "ip" and a["to_ids"]
    }
    assert len(object_ips) == 24
    assert object_ips <= {r.value for r in ips}
    assert reasons(got) == {
        "to_ids is false": 34,  # 24 dst-port, 6 link, 3 regkey, 1 comment
        "unsupported MISP type: filename": 4,
    }


def test_cerber_event_to_ids_false_and_composites() -> None:
    got = feed(CERBER)
    assert kinds(got) == {"ParsedRow": 5, "Skipped": 8}
    rows = [r for r in got if isinstance(r, ParsedRow)]
    assert [(r.line, r.type, r.value) for r in rows] == [
        (1, "url", "decrypttozxybarc.onion"),  # typed url, no scheme: kept raw
        (5, "domain", "decrypttozxybarc.onion"),  # the same host typed hostname
        (6, "md5", "2f7059d7b1dda3080e391d99788fff18"),  # malware-sample filename|md5
        (7, "sha1", "0af6bde11eaa699604aa92cce9a6210dfce70f42"),  # filename|sha1
        (8, "sha256", "a5ff5f861bbb1ac7c6fd44f303f735fac01273ce2ae43a8acb683076192fcfcc"),
    ]
    doc = json.loads(CERBER.read_text())["Event"]
    to_ids = [a for a in doc["Attribute"] if a["to_ids"]]
    assert len(to_ids) == 5
    assert to_ids[2]["type"] == "malware-sample"
    assert to_ids[2]["value"].endswith("|2f7059d7b1dda3080e391d99788fff18")
    benign = {a["value"] for a in doc["Attribute"] if not a["to_ids"]}
    assert {"http://ipinfo.io/json", "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9"} <= benign
    assert not benign & {r.value for r in rows}
    assert reasons(got) == {"to_ids is false": 8}


def test_manifest_is_recognised_not_parsed() -> None:
    manifest = json.loads((CIRCL / "manifest.json").read_text())
    assert sorted(parse_misp_manifest(manifest)) == sorted(
        p.stem for p in CIRCL.glob("*.json") if p.name != "manifest.json"
    )
    with pytest.raises(ParseError, match="MISP feed manifest listing 3 events"):
        feed(CIRCL / "manifest.json")
    with pytest.raises(ParseError, match="not a MISP feed manifest"):
        parse_misp_manifest({"Event": {}})


def test_type_mapping() -> None:
    attrs = [
        {"type": "ip-src", "value": "2001:db8::1"},
        {"type": "ip-dst", "value": "198.51.100.0/24"},
        {"type": "ip-src|port", "value": "203.0.113.5|8080"},
        {"type": "domain|ip", "value": "a.example|203.0.113.6"},
        {"type": "hostname|port", "value": "b.example|443"},
        {"type": "email-dst", "value": "x@c.example"},
        {"type": "btc", "value": "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9"},
        {"type": "phone-number", "value": "+15555550100"},
        {"type": "filename|md5", "value": "a.exe|d41d8cd98f00b204e9800998ecf8427e"},
        {"type": "link", "value": "https://blog.example/post"},
        {"type": "regkey", "value": "HKLM\\Software\\x"},
        {"type": "x509-fingerprint-sha1", "value": "aa" * 20},
        {"type": "domain|ip", "value": "a|b|c"},
        {"type": "url", "value": "http://d.example/", "deleted": True},
        {"type": "url", "value": "http://e.example/", "to_ids": "0"},
        {"type": "url", "value": ""},
    ]
    got = misp(event(*attrs))
    assert [
        (type(i).__name__, i.line, getattr(i, "type", None), getattr(i, "value", None)) for i in got
    ] == [
        ("ParsedRow", 1, "ipv6", "2001:db8::1"),
        ("ParsedRow", 2, "cidr", "198.51.100.0/24"),
        ("ParsedRow", 3, "ipv4", "203.0.113.5"),
        ("ParsedRow", 4, "domain", "a.example"),
        ("ParsedRow", 4, "ipv4", "203.0.113.6"),
        ("ParsedRow", 5, "domain", "b.example"),
        ("ParsedRow", 6, "email", "x@c.example"),
        ("ParsedRow", 7, "crypto_wallet", "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9"),
        ("ParsedRow", 8, "phone", "+15555550100"),
        ("ParsedRow", 9, "md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("Skipped", 10, None, None),
        ("Skipped", 11, None, None),
        ("Skipped", 12, None, None),
        ("Rejected", 13, None, None),
        ("Skipped", 14, None, None),
        ("Skipped", 15, None, None),
        ("Rejected", 16, None, None),
    ]
    assert got[10] == Skipped(10, "unsupported MISP type: link")
    assert got[12] == Skipped(12, "unsupported MISP type: x509-fingerprint-sha1")
    assert got[13] == Rejected(13, "malformed domain|ip value")
    assert got[14] == Skipped(14, "deleted attribute")
    assert got[15] == Skipped(15, "to_ids is false")


def test_tags_references_and_event_forms() -> None:
    attr = {
        "type": "domain",
        "value": "a.example",
        "uuid": "11111111-2222-4333-8444-555555555555",
        "to_ids": True,
        "comment": " C2 ",
        "first_seen": "2024-01-01T00:00:00+00:00",
        "Tag": [{"name": "tlp:white"}, {"name": "kill-chain:c2"}],
    }
    doc = event(attr, Tag=[{"name": "tlp:white"}, {"name": "type:OSINT"}], uuid="ev-1")
    expected = ParsedRow(
        1,
        "a.example",
        "domain",
        "11111111-2222-4333-8444-555555555555",
        {
            "tags": ["tlp:white", "type:OSINT", "kill-chain:c2"],
            "tlp": "CLEAR",  # the tlp:white tag, as TDP names it
            "description": "test event",
            "first_seen": "2024-01-01T00:00:00+00:00",
            "comment": "C2",
            "event_uuid": "ev-1",
        },
    )
    assert misp(doc) == [expected]
    assert misp(doc["Event"], format="misp") == [expected]  # bare event
    assert misp({"response": [doc]}) == [expected]  # REST search response
    two = misp([doc, doc])  # a list of events: numbering continues
    assert [r.line for r in two] == [1, 2]


def test_object_attributes_are_numbered_after_top_level() -> None:
    obj = {
        "name": "ip-port",
        "Attribute": [{"type": "ip-dst", "value": "192.0.2.1", "to_ids": True}],
    }
    got = misp(event({"type": "md5", "value": "a" * 32, "to_ids": True}, objects=(obj,)))
    assert [(r.line, r.type) for r in got] == [(1, "md5"), (2, "ipv4")]


def test_not_misp() -> None:
    with pytest.raises(ParseError, match="no MISP event found"):
        misp({"foo": 1}, format="misp")
