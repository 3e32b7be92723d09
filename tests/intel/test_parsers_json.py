"""Generic JSON / JSON-lines parser: lists, objects of lists, paths, allowlists, bombs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from intel.parsers import ParsedRow, ParseError, ParserOptions, Rejected, Skipped, parse

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"


def items(data: bytes | object, **options: object) -> list:
    if not isinstance(data, bytes):
        data = json.dumps(data).encode()
    return list(parse(io.BytesIO(data), ParserOptions(**options)))


def feed(rel: str, **options: object) -> list:
    with open(FEEDS / rel, "rb") as fh:
        return list(parse(fh, ParserOptions(**options), filename=rel))


def kinds(got: list) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in got:
        out[type(item).__name__] = out.get(type(item).__name__, 0) + 1
    return out


# --- real files --------------------------------------------------------------------------------


def test_polkadot_all_json_auto_skips_the_allowlist() -> None:
    got = feed("polkadot-js-phishing/all.json")
    assert kinds(got) == {"Skipped": 29, "ParsedRow": 54_863 + 2}
    values = [r.value for r in got if isinstance(r, ParsedRow)]
    assert "*.fleek.co" not in values  # allowlist entry (a wildcard) never becomes intel
    assert "twitter.com/AcalaNetworks" in values  # denySub
    assert "0xarb.xyz." in values and "0xarb.xyz" in values  # trailing-dot duplicates kept raw
    assert all(
        isinstance(s, Skipped) and "allow" in s.reason for s in got if not isinstance(s, ParsedRow)
    )
    assert all(r.fields == {} for r in got if isinstance(r, ParsedRow))


def test_polkadot_all_json_list_path_deny_only() -> None:
    got = feed("polkadot-js-phishing/all.json", json_list_path="deny")
    assert kinds(got) == {"ParsedRow": 54_863}
    assert got[0].line == 1 and got[-1].line == 54_863
    assert got[0].reference == "item 1"


def test_polkadot_address_json_labels_go_to_description() -> None:
    got = feed("polkadot-js-phishing/address.json")
    assert kinds(got) == {"ParsedRow": 279}
    assert len({r.value for r in got}) == 251
    assert len({r.fields["description"] for r in got}) == 132
    atomic = [r for r in got if r.fields["description"] == "Atomic Wallet attacker"]
    assert atomic and all(r.type is None for r in atomic)
    assert got[0].fields == {"description": "3xpool.bid"}


@pytest.mark.parametrize(
    ("rel", "count"),
    [
        ("misp-warninglists/url-shortener/list.json", 255),
        ("misp-warninglists/link-in-bio/list.json", 91),
        ("misp-warninglists/public-dns-v6/list.json", 269),
        ("misp-warninglists/rfc5735/list.json", 15),
        ("misp-warninglists/telegram-ips/list.json", 14),
    ],
)
def test_misp_warninglists_read_their_list_only(rel: str, count: int) -> None:
    got = feed(rel)
    assert kinds(got) == {"ParsedRow": count}
    name = json.loads((FEEDS / rel).read_text())["name"]
    assert {r.fields["description"] for r in got} == {name}
    assert not any(r.value in ("ip-src", "hostname") for r in got)  # matching_attributes


def test_warninglist_telegram_mixes_v4_and_v6() -> None:
    values = [r.value for r in feed("misp-warninglists/telegram-ips/list.json")]
    assert sum(1 for v in values if ":" in v) == 5


# --- generic shapes ----------------------------------------------------------------------------


def test_list_of_strings() -> None:
    got = items(["a.example", " b.example ", "", 42, None, ["x"]])
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 1),
        ("ParsedRow", 2),
        ("Rejected", 3),
        ("ParsedRow", 4),
        ("Rejected", 5),
        ("Rejected", 6),
    ]
    assert got[1].value == "b.example"
    assert got[3].value == "42"


def test_list_of_objects_with_known_keys() -> None:
    doc = [
        {"IOC": "1.2.3.4:8080", "ioc_type": "ip:port", "tags": ["c2", "qakbot"], "confidence": 80},
        {"url": "http://a.example/", "first_seen": "2024-05-01 10:00:00"},
        {"domain": "b.example", "type": "hostname"},
        {"nothing": "here"},
        {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    ]
    got = items(doc)
    assert [
        (type(i).__name__, getattr(i, "value", None), getattr(i, "type", None)) for i in got
    ] == [
        ("ParsedRow", "1.2.3.4", "ipv4"),
        ("ParsedRow", "http://a.example/", "url"),
        ("ParsedRow", "b.example", "domain"),
        ("Rejected", None, None),
        ("ParsedRow", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
    ]
    assert got[0].fields == {"port": "8080", "tags": ["c2", "qakbot"], "confidence": 80}
    assert got[1].fields == {"first_seen": "2024-05-01T10:00:00"}
    assert got[3].line == 4 and got[3].reason == "no value field in object"


def test_value_type_and_list_paths() -> None:
    doc = {"meta": {}, "data": {"items": [{"attr": {"v": "x.example", "k": "domain"}}]}}
    got = items(doc, json_list_path="data.items", json_value_path="attr.v", json_type_path="attr.k")
    assert [(r.value, r.type) for r in got] == [("x.example", "domain")]
    with pytest.raises(ParseError, match=r"json_list_path 'data\.nope' not found"):
        items(doc, json_list_path="data.nope")
    with pytest.raises(ParseError, match="is not a list"):
        items({"data": "x"}, json_list_path="data")


def test_object_of_lists_with_objects_inside() -> None:
    doc = {"indicators": [{"value": "a.example"}], "whitelist": ["good.example"]}
    got = items(doc)
    assert [type(i).__name__ for i in got] == ["ParsedRow", "Skipped"]
    assert got[0].fields == {}


def test_document_without_a_list_is_an_error() -> None:
    with pytest.raises(ParseError, match="no list of indicators"):
        items({"name": "x", "version": 3})
    with pytest.raises(ParseError, match="bare value"):
        items(b'"just a string"', format="json")
    assert [r.value for r in items({"indicator": "a.example"})] == ["a.example"]


def test_invalid_json_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match=r"invalid JSON: .*line 1"):
        items(b'{"a": [1, 2,', format="json")


def test_nesting_bomb_is_a_parse_error_not_recursion() -> None:
    bomb = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ParseError, match="JSON nesting too deep"):
        items(bomb)
    with pytest.raises(ParseError, match="JSON nesting too deep"):
        items(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, format="stix")


def test_document_over_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("intel.parsers.jsonfeed.JSON_CAP", 1000)
    with pytest.raises(ParseError, match="JSON document too large"):
        items([f"host{i}.example" for i in range(500)])


# --- JSON lines --------------------------------------------------------------------------------


def test_jsonl_mixed_lines() -> None:
    data = (
        b'{"ioc": "a.example", "type": "domain"}\n'
        b'"b.example"\n'
        b"\n"
        b"{broken\n"
        b'["a", "list"]\n'
        b'{"url": "http://c.example/", "tags": "x,y"}\n'
    )
    got = items(data)
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 1),
        ("ParsedRow", 2),
        ("Rejected", 4),
        ("Rejected", 5),
        ("ParsedRow", 6),
    ]
    assert got[0].reference == "line 1"
    assert got[2].reason.startswith("invalid JSON")
    assert got[4].fields == {"tags": ["x", "y"]}


def test_jsonl_nesting_bomb_line_is_rejected() -> None:
    data = b'"a.example"\n' + b"[" * 30_000 + b"]" * 30_000 + b'\n"b.example"\n'
    got = items(data, format="jsonl")
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 1),
        ("Rejected", 2),
        ("ParsedRow", 3),
    ]
    assert got[1].reason == "JSON nesting too deep"


def test_jsonl_with_stix_objects_and_misp_events() -> None:
    ind = {
        "type": "indicator",
        "id": "indicator--11111111-2222-4333-8444-555555555555",
        "pattern": "[domain-name:value = 'x.example']",
    }
    rel = {"type": "relationship", "id": "relationship--11111111-2222-4333-8444-555555555555"}
    event = {"Event": {"info": "e", "Attribute": [{"type": "url", "value": "http://u.example/"}]}}
    data = b"\n".join(json.dumps(o).encode() for o in (ind, rel, event))
    got = items(data)
    assert [(type(i).__name__, i.line, getattr(i, "value", "")) for i in got] == [
        ("ParsedRow", 1, "x.example"),
        ("Skipped", 2, ""),
        ("ParsedRow", 3, "http://u.example/"),
    ]
    assert got[0].reference == ind["id"]


def test_concatenated_json_documents_fall_back_to_lines() -> None:
    # the first line is too long for the sniffer to see whole, so it looks like one document
    first = json.dumps({"ioc": "a.example", "pad": "x" * 70_000}).encode()
    got = items(first + b'\n{"ioc": "b.example"}\n', max_line_bytes=100_000)
    assert [(r.line, r.value) for r in got] == [(1, "a.example"), (2, "b.example")]
    # with the default 64 KiB line cap that first line is rejected, the rest still lands
    got = items(first + b'\n{"ioc": "b.example"}\n')
    assert [(type(i).__name__, i.line) for i in got] == [("Rejected", 1), ("ParsedRow", 2)]
    with pytest.raises(ParseError, match="several JSON values"):
        items(first + b'\n{"ioc": "b.example"}\n', format="json")


def test_rejected_raw_is_bounded() -> None:
    got = items([{"no": "x" * 5000}])
    assert isinstance(got[0], Rejected)
    assert len(got[0].raw) <= 200
