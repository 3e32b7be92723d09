"""CSV feed parser: header and column detection, type columns, quirks of real abuse.ch files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from intel.parsers import ParsedRow, ParseError, ParserOptions, Rejected, parse

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"


def items(data: bytes, **options: object) -> list:
    return list(parse(io.BytesIO(data), ParserOptions(**options)))


def rows(data: bytes, **options: object) -> list[ParsedRow]:
    return [i for i in items(data, **options) if isinstance(i, ParsedRow)]


def feed(rel: str, **options: object) -> list:
    with open(FEEDS / rel, "rb") as fh:
        return list(parse(fh, ParserOptions(**options), filename=rel))


# --- real files --------------------------------------------------------------------------------


def test_urlhaus_header_in_comment_crlf_and_link_column() -> None:
    got = feed("abusech/urlhaus/csv_recent.csv")
    assert all(isinstance(i, ParsedRow) for i in got)
    assert len(got) == 3000
    assert len({r.value for r in got}) == 3000
    assert {r.type for r in got} == {"url"}
    # the urlhaus_link reference column is never imported
    assert not any(r.value.startswith("https://urlhaus.abuse.ch/url/") for r in got)
    first = got[0]
    assert first.line == 10  # 8 banner lines + the commented header
    assert first.reference == "line 10"
    assert first.value == "https://transfer.weepee.io/MvSx6/super.drx"
    assert first.fields == {
        "tags": ["ascii", "bash", "CVE-2026-1731", "sh", "ua-curl"],
        "first_seen": "2026-03-09T09:28:18",
    }
    assert got[-1].line == 3009
    # "None" tags -> no tags; empty last_online -> no last_seen (counted independently)
    with open(FEEDS / "abusech/urlhaus/csv_recent.csv", newline="") as fh:
        data = [r for r in csv.reader(ln for ln in fh if not ln.startswith("#"))]
    assert sum(1 for r in data if r[6] == "None") == 279
    assert sum(1 for r in got if "tags" not in r.fields) == 279
    assert sum(1 for r in got if "last_seen" not in r.fields) == 341
    assert sum(1 for r in got if r.value.count("/") == 2) == 2  # two URLs without a path


def test_feodo_dst_ip_column_quoted_header_and_end_trailer_without_newline() -> None:
    raw = (FEEDS / "abusech/feodotracker/ipblocklist.csv").read_bytes()
    assert raw.endswith(b"# END 750 entries")  # no final newline
    got = feed("abusech/feodotracker/ipblocklist.csv")
    assert all(isinstance(i, ParsedRow) for i in got)
    assert len(got) == 750
    assert len({r.value for r in got}) == 728
    assert {r.type for r in got} == {"ipv4"}
    assert sum(1 for r in got if r.value == "217.17.56.163") == 4
    assert got[0].line == 10
    assert got[0].fields == {
        "first_seen": "2021-01-17T07:44:46",
        "last_seen": "2021-12-20T00:00:00",
        "port": "4643",
    }
    # the same IP on several ports stays several rows, told apart by their port field
    ports = {r.fields["port"] for r in got if r.value == "217.17.56.163"}
    assert len(ports) == 4
    assert got[-1].value == "59.6.7.83"
    assert got[-1].line == 759


def test_feodo_value_column_option_gives_same_rows() -> None:
    auto = [r.value for r in feed("abusech/feodotracker/ipblocklist.csv")]
    by_name = feed("abusech/feodotracker/ipblocklist.csv", value_column="DST_IP")
    by_index = feed("abusech/feodotracker/ipblocklist.csv", value_column="1")
    assert [r.value for r in by_name] == auto == [r.value for r in by_index]


def test_ipsum_as_csv_uses_the_commented_tab_header() -> None:
    got = feed("ipsum/ipsum.txt")
    assert len(got) == 3000
    assert all(isinstance(r, ParsedRow) and r.type == "ipv4" for r in got)
    assert (got[0].line, got[0].value) == (8, "77.90.185.20")


def test_pdq_md5_csv_hash_column_mixes_types() -> None:
    got = feed("pdq/PDQMD5TestData.csv")
    assert len(got) == 18
    assert all(r.type is None for r in got)  # "Hash" does not name one type
    assert [len(r.value) for r in got[-2:]] == [32, 32]
    assert all(len(r.value) == 64 for r in got[:-2])
    assert not any(r.value.startswith("../") for r in got)


# --- header / column detection -----------------------------------------------------------------


def test_no_header_picks_the_indicator_column() -> None:
    data = (
        b"1,online,http://a.example/x\n2,offline,http://b.example/y\n3,online,http://c.example/z\n"
    )
    got = rows(data)
    assert [r.value for r in got] == [
        "http://a.example/x",
        "http://b.example/y",
        "http://c.example/z",
    ]
    assert got[0].line == 1  # no header skipped
    assert got[0].type is None


def test_header_without_known_names_detected_from_data() -> None:
    data = b"when,what,where\n2024-01-01,scan,1.2.3.4\n2024-01-02,scan,5.6.7.8\n"
    got = rows(data)
    assert [(r.line, r.value) for r in got] == [(2, "1.2.3.4"), (3, "5.6.7.8")]


def test_has_header_false_keeps_first_row() -> None:
    data = b"value\na.example\n"
    assert [r.value for r in rows(data, has_header=False, format="csv")] == ["value", "a.example"]


def test_link_and_reference_columns_lose_to_a_real_value_column() -> None:
    data = (
        b"report_link,ioc value,reference\n"
        b"https://ref.example/1,http://bad.example/a,https://ref.example/r1\n"
        b"https://ref.example/2,http://bad.example/b,https://ref.example/r2\n"
    )
    assert [r.value for r in rows(data)] == ["http://bad.example/a", "http://bad.example/b"]


def test_link_column_used_when_nothing_better_exists() -> None:
    data = b"id,link\n1,http://bad.example/a\n2,http://bad.example/b\n"
    assert [r.value for r in rows(data)] == ["http://bad.example/a", "http://bad.example/b"]


@pytest.mark.parametrize(
    ("column", "value", "expected_type"),
    [
        ("url", "http://a.example/", "url"),
        ("domain", "a.example", "domain"),
        ("hostname", "a.example", "domain"),
        ("dst_ip", "1.2.3.4", "ipv4"),
        ("ip", "2001:db8::1", "ipv6"),
        ("ip_address", "10.0.0.0/8", "cidr"),
        ("sha256", "a" * 64, "sha256"),
        ("SHA_256", "a" * 64, "sha256"),
        ("md5", "a" * 32, "md5"),
        ("email", "x@a.example", "email"),
        ("wallet", "1GCaWA685Nj2PqqG7P2ZBACYZB8ZtpQuQ9", "crypto_wallet"),
        ("indicator", "a.example", None),
        ("hash", "a" * 32, None),
    ],
)
def test_value_column_name_gives_the_type(column: str, value: str, expected_type: str) -> None:
    data = f"first_seen,{column},note\n2024-01-01,{value},x\n".encode()
    got = rows(data, format="csv")
    assert [(r.value, r.type) for r in got] == [(value, expected_type)]


def test_type_column_vocabulary() -> None:
    data = (
        b"ioc,ioc_type,tags,confidence\n"
        b"1.2.3.4:443,ip:port,botnet,75\n"
        b"5.6.7.8,ip-dst,,50\n"
        b"a.example,domain,None,\n"
        b"b.example,FQDN,x,\n"
        b"http://c.example/,url,,\n"
        b"d41d8cd98f00b204e9800998ecf8427e,md5_hash,,\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,sha256_hash,,\n"
        b"x@d.example,email-src,,\n"
        b"something,weird_type,,\n"
    )
    got = rows(data)
    assert [(r.value, r.type) for r in got] == [
        ("1.2.3.4", "ipv4"),
        ("5.6.7.8", "ipv4"),
        ("a.example", "domain"),
        ("b.example", "domain"),
        ("http://c.example/", "url"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
        ("x@d.example", "email"),
        ("something", None),
    ]
    assert got[0].fields == {"port": "443", "tags": ["botnet"], "confidence": 75}
    assert got[2].fields == {}


def test_value_and_type_column_options() -> None:
    data = b"a,b,c\nx,1.2.3.4,ip\ny,evil.example,domain\n"
    got = rows(data, value_column="b", type_column="c")
    assert [(r.value, r.type) for r in got] == [("1.2.3.4", "ipv4"), ("evil.example", "domain")]
    got = rows(b"x;1.2.3.4;ip-src\n", value_column="1", type_column="2", has_header=False)
    assert [(r.value, r.type) for r in got] == [("1.2.3.4", "ipv4")]
    with pytest.raises(ParseError, match="value column 'nope' not found; columns: a, b, c"):
        items(data, value_column="nope")
    with pytest.raises(ParseError, match="out of range"):
        items(data, value_column="7")


def test_default_type_applies_when_nothing_else_says() -> None:
    data = b"FilePath,Hash\na.jpg," + b"f" * 64 + b"\n"
    assert rows(data, default_type="pdq")[0].type == "pdq"


def test_threatfox_style_comma_space_and_commented_header() -> None:
    data = (
        b"################\n"
        b'# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type"\n'
        b'"2024-01-01 10:00:00", "1", "evil.example", "domain", "botnet_cc"\n'
        b'"2024-01-01 10:00:01", "2", "9.9.9.9:80", "ip:port", "botnet_cc"\n'
    )
    got = rows(data)
    assert [(r.line, r.value, r.type) for r in got] == [
        (3, "evil.example", "domain"),
        (4, "9.9.9.9", "ipv4"),
    ]
    assert got[0].fields["first_seen"] == "2024-01-01T10:00:00"


@pytest.mark.parametrize("delimiter", [b"\t", b";", b"|"])
def test_other_delimiters(delimiter: bytes) -> None:
    data = delimiter.join([b"url", b"tags"]) + b"\n" + delimiter.join([b"http://a.example/", b"x"])
    got = rows(data + b"\n")
    assert [(r.value, r.fields) for r in got] == [("http://a.example/", {"tags": ["x"]})]


def test_delimiter_option_names() -> None:
    assert [r.value for r in rows(b"url\tx\nhttp://a.example/\t1\n", delimiter="tab")] == [
        "http://a.example/"
    ]


# --- malformed rows ----------------------------------------------------------------------------


def test_wrong_column_count_and_empty_value_are_rejected_with_line_numbers() -> None:
    data = (
        b"id,url,status\n"
        b"1,http://a.example/,online\n"
        b"2,http://b.example/\n"
        b"3,,online\n"
        b"   \n"
        b"4,http://c.example/,online,extra\n"
        b"5,http://d.example/,online"
    )
    got = items(data)
    summary = [(type(i).__name__, i.line) for i in got]
    assert summary == [
        ("ParsedRow", 2),
        ("Rejected", 3),
        ("Rejected", 4),
        ("Rejected", 6),
        ("ParsedRow", 7),
    ]
    assert got[1].reason == "expected 3 columns, got 2"
    assert got[1].raw == "2,http://b.example/"
    assert got[2].reason == "empty value"


def test_multiline_quoted_field_keeps_numbering() -> None:
    data = b'url,description\nhttp://a.example/,"two\nlines"\nhttp://b.example/,x\n'
    got = rows(data)
    assert [(r.line, r.value) for r in got] == [(2, "http://a.example/"), (4, "http://b.example/")]
    assert got[0].fields["description"] == "two\nlines"


def test_unterminated_quote_is_bounded_and_reported() -> None:
    data = b'url,note\nhttp://a.example/,"open\n' + b"x,y\n" * 40_000 + b"http://z.example/,ok\n"
    got = items(data)
    # the open quote swallows lines up to csv's field limit, then parsing resumes
    assert got[0] == Rejected(2, "malformed CSV: field larger than field limit (131072)")
    assert (got[-1].line, got[-1].value) == (40_003, "http://z.example/")


def test_overlong_row_rejected_in_csv() -> None:
    data = b"url,note\nhttp://a.example/," + b"n" * 2000 + b"\nhttp://b.example/,ok\n"
    got = items(data, max_line_bytes=1000)
    assert [(type(i).__name__, i.line) for i in got] == [("Rejected", 2), ("ParsedRow", 3)]
