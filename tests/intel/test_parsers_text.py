"""Plain-text feed parser: one value per line, hosts files, IPsum, prose extraction."""

from __future__ import annotations

import io
from pathlib import Path

from intel.parsers import ParsedRow, ParserOptions, Rejected, Skipped, parse

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"


def items(data: bytes, **options: object) -> list:
    options.setdefault("format", "txt")
    return list(parse(io.BytesIO(data), ParserOptions(**options)))


def feed(rel: str, **options: object) -> list:
    with open(FEEDS / rel, "rb") as fh:
        return list(parse(fh, ParserOptions(**options), filename=rel))


def test_blocklistproject_hosts_file() -> None:
    got = feed("blocklistproject/scam.txt")
    assert all(isinstance(i, ParsedRow) for i in got)
    assert len(got) == 8527  # "# Entries: 8,527"
    assert len({r.value for r in got}) == 8527
    assert {r.type for r in got} == {"domain"}
    sink = "0.0.0.0"  # noqa: S104 - the hosts-file sink, never an indicator
    assert not any(r.value == sink for r in got)
    assert sum(1 for r in got if r.value.startswith("xn--")) == 4
    assert (got[0].line, got[0].value) == (14, "0-google.com")  # 12 comments + 1 blank line


def test_ipsum_in_text_mode_takes_the_first_token() -> None:
    got = feed("ipsum/ipsum.txt", format="txt")
    assert len(got) == 3000
    assert all(isinstance(r, ParsedRow) and r.type is None for r in got)
    assert (got[0].line, got[0].value) == (8, "77.90.185.20")
    assert not any(r.value.isdigit() for r in got)


def test_disposable_email_domains_no_header() -> None:
    got = feed("disposable-email-domains/disposable_email_blocklist.conf")
    assert len(got) == 8335
    assert got[0] == ParsedRow(1, "0-mail.com", None, "line 1", {})
    assert sum(1 for r in got if "xn--" in r.value) == 10


def test_pdq_haystack_with_default_type() -> None:
    got = feed("pdq/haystack.txt", default_type="pdq")
    assert len(got) == 1350
    assert {r.type for r in got} == {"pdq"}
    needles = feed("pdq/needles.txt", default_type="pdq")
    assert len(needles) == 100
    assert len({r.value for r in needles} & {r.value for r in got}) == 50


def test_comment_styles_and_inline_comments() -> None:
    data = (
        b"# hash comment\n"
        b"; semicolon comment\n"
        b"// slash comment\n"
        b"   \n"
        b"a.example\n"
        b"b.example # trailing note\n"
        b"  c.example  \n"
        b"% custom\n"
    )
    got = items(data, comment_prefix="%")
    assert [(r.line, r.value) for r in got] == [
        (5, "a.example"),
        (6, "b.example"),
        (7, "c.example"),
    ]


def test_hosts_variants() -> None:
    data = (
        b"127.0.0.1 localhost\n"
        b"::1 ip6-localhost ip6-loopback\n"
        b"0.0.0.0 0.0.0.0\n"
        b"127.0.0.1\tbad.example\n"
        b"0.0.0.0 one.example two.example # blocked\n"
        b"0.0.0.0 # nothing\n"
    )
    got = items(data)
    assert [(type(i).__name__, i.line) for i in got] == [
        ("Skipped", 1),
        ("Skipped", 2),
        ("Skipped", 2),
        ("Skipped", 3),
        ("ParsedRow", 4),
        ("ParsedRow", 5),
        ("ParsedRow", 5),
        ("Skipped", 6),
    ]
    assert [r.value for r in got if isinstance(r, ParsedRow)] == [
        "bad.example",
        "one.example",
        "two.example",
    ]
    assert got[0] == Skipped(1, "hosts-file local entry: localhost")


def test_prose_lines_are_extracted() -> None:
    data = (
        b"C2 at evil[.]example and 203.0.113.9, see report\n"
        b"nothing to see here at all\n"
        b"hxxp://bad.example/payload.exe\n"
    )
    got = items(data)
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 1),
        ("ParsedRow", 1),
        ("Rejected", 2),
        ("ParsedRow", 3),
    ]
    assert [(r.value, r.type) for r in got[:2]] == [
        ("evil.example", "domain"),
        ("203.0.113.9", "ipv4"),
    ]
    assert got[2] == Rejected(2, "no indicator found", "nothing to see here at all")
    # a single token is passed through raw: refanging/normalising is the importer's job
    assert got[3].value == "hxxp://bad.example/payload.exe"
    assert got[3].reference == "line 3"


def test_one_column_file_with_a_header_line() -> None:
    got = list(parse(io.BytesIO(b"# export\nURL\nhttp://a.example/\n")))
    assert got == [Skipped(2, "header row: URL"), ParsedRow(3, "http://a.example/", None, "line 3")]
    # with a CSV option the same file is read as a one-column CSV
    got = list(parse(io.BytesIO(b"url\nhttp://a.example/\n"), ParserOptions(value_column="url")))
    assert got == [ParsedRow(2, "http://a.example/", "url", "line 2")]


def test_final_line_without_newline_and_crlf() -> None:
    got = items(b"a.example\r\nb.example")
    assert [(r.line, r.value) for r in got] == [(1, "a.example"), (2, "b.example")]
