"""Parser input guards: decompression caps, decoding, line limits and format sniffing."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import tracemalloc
from pathlib import Path

import pytest

from intel.parsers import (
    ParsedRow,
    ParseError,
    ParserOptions,
    Rejected,
    Skipped,
    parse,
    sniff_format,
)
from intel.parsers.detect import iter_lines

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"


def items(data: bytes, filename: str = "", **options: object) -> list:
    """Everything parse() yields for ``data``."""
    return list(parse(io.BytesIO(data), ParserOptions(**options), filename=filename))


def rows(data: bytes, filename: str = "", **options: object) -> list[ParsedRow]:
    return [i for i in items(data, filename, **options) if isinstance(i, ParsedRow)]


def head(rel: str) -> bytes:
    return (FEEDS / rel).read_bytes()[: 64 * 1024]


# --- decompression -----------------------------------------------------------------------------


def test_gzip_detected_by_magic_not_extension() -> None:
    payload = b"# feed\nevil.example\n1.2.3.4\n"
    got = rows(gzip.compress(payload), filename="feed.txt", format="txt")
    assert [(r.line, r.value) for r in got] == [(2, "evil.example"), (3, "1.2.3.4")]
    # and a .gz name on plain text does not make it gzip
    assert len(rows(payload, filename="feed.txt.gz")) == 2


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress])
def test_bzip2_and_xz_are_decompressed_too(compress) -> None:
    assert [r.value for r in rows(compress(b"a.example\nb.example\n"))] == [
        "a.example",
        "b.example",
    ]


def test_text_starting_with_bzh_is_not_taken_for_bzip2() -> None:
    assert [r.value for r in rows(b"BZh9.example\n", format="txt")] == ["BZh9.example"]


def test_gzip_of_real_feed_sniffs_and_parses(tmp_path: Path) -> None:
    raw = (FEEDS / "abusech/feodotracker/ipblocklist.csv").read_bytes()
    packed = gzip.compress(raw)
    assert sniff_format(packed[:65536], "blocklist.bin") == "csv"
    assert len(rows(packed)) == 750


def test_gzip_bomb_stops_at_the_cap_without_inflating_everything() -> None:
    bomb = gzip.compress(b"0" * (20 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="decompressed size exceeds 1048576 bytes"):
            items(bomb, max_bytes=1024 * 1024, format="txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # never the 20 MB


def test_gzip_bomb_of_lines_also_stops() -> None:
    bomb = gzip.compress(b"1.2.3.4\n" * (3 * 1024 * 1024))
    seen = 0
    with pytest.raises(ParseError, match="decompressed size exceeds"):
        for _ in parse(io.BytesIO(bomb), ParserOptions(max_bytes=2 * 1024 * 1024)):
            seen += 1
    assert seen < 300_000  # stopped near the 2 MiB cap (2 MiB / 8 bytes = 262144 lines)


def test_plain_file_over_the_cap_is_refused() -> None:
    with pytest.raises(ParseError, match="file size exceeds 100 bytes"):
        items(b"a.example\n" * 100, max_bytes=100)


def test_truncated_gzip_is_a_parse_error() -> None:
    data = gzip.compress(b"".join(b"host-%d.example\n" % i for i in range(50_000)))
    with pytest.raises(ParseError, match="corrupt compressed data"):
        items(data[: len(data) // 2], format="txt")


# --- decoding ----------------------------------------------------------------------------------


def test_empty_file_is_an_error() -> None:
    with pytest.raises(ParseError, match="file is empty"):
        items(b"")
    with pytest.raises(ParseError, match="file is empty"):
        items(gzip.compress(b""))
    with pytest.raises(ParseError, match="file is empty"):
        items(b"\xef\xbb\xbf")


def test_comments_only_yields_nothing() -> None:
    assert items(b"# just a banner\n# nothing else\n") == []
    assert items(b"# id,url\n# nothing\n", filename="x.csv") == []


def test_utf8_bom_is_stripped() -> None:
    got = rows(b"\xef\xbb\xbfevil.example\nother.example\n", format="txt")
    assert got[0].value == "evil.example"
    got = rows(b"\xef\xbb\xbfurl,tags\nhttp://a.example/x,t1\n")
    assert got[0].value == "http://a.example/x"
    assert got[0].type == "url"


def test_invalid_utf8_rejects_only_that_line() -> None:
    data = b"good.example\nbad\xff\xfe.example\nalso-good.example\n"
    got = items(data, format="txt")
    assert [type(i).__name__ for i in got] == ["ParsedRow", "Rejected", "ParsedRow"]
    assert got[1] == Rejected(2, "invalid UTF-8", "bad\ufffd\ufffd.example")
    assert got[2].line == 3


def test_invalid_utf8_in_csv_rejects_only_that_line() -> None:
    data = b"id,url\n1,http://a.example/\n2,http://b\xc3.example/\n3,http://c.example/\n"
    got = items(data)
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 2),
        ("Rejected", 3),
        ("ParsedRow", 4),
    ]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings(newline: bytes) -> None:
    data = newline.join([b"# c", b"a.example", b"", b"b.example", b"c.example"]) + newline
    got = rows(data, format="txt")
    assert [(r.line, r.value) for r in got] == [
        (2, "a.example"),
        (4, "b.example"),
        (5, "c.example"),
    ]


def test_crlf_split_across_chunk_boundary_counts_one_line() -> None:
    chunks = [b"a\r", b"\nb\r", b"\rc"]
    assert list(iter_lines(iter(chunks), 100)) == [(1, "a"), (2, "b"), (3, ""), (4, "c")]


def test_overlong_line_is_rejected_and_parser_resyncs() -> None:
    long_line = b"x" * 5000
    data = b"a.example\n" + long_line + b"\nb.example\n"
    got = items(data, format="txt", max_line_bytes=1024)
    assert isinstance(got[1], Rejected)
    assert got[1].line == 2
    assert "longer than 1024 bytes" in got[1].reason
    assert [(r.line, r.value) for r in got if isinstance(r, ParsedRow)] == [
        (1, "a.example"),
        (3, "b.example"),
    ]


@pytest.mark.parametrize("second", [b"\nnext", b"next"])
def test_overlong_line_ending_with_cr_at_a_chunk_boundary(second: bytes) -> None:
    chunks = [b"x" * 20 + b"\r", second]
    got = list(iter_lines(iter(chunks), 10))
    assert [(n, type(i).__name__) for n, i in got] == [(1, "Rejected"), (2, "str")]
    assert got[1][1] == "next"


def test_line_splitting_matches_a_reference_under_random_chunking() -> None:
    rng = random.Random(7)
    for _ in range(300):
        parts = []
        for _ in range(rng.randrange(1, 30)):
            parts.append(b"ab\xc3\xa9"[: rng.randrange(0, 5)] * rng.randrange(0, 8))
            parts.append(rng.choice([b"\n", b"\r", b"\r\n", b"\n\n", b"\r\r\n"]))
        if rng.random() < 0.5:
            parts.pop()  # sometimes no final newline
        data = b"".join(parts)
        if not data:
            continue
        expected = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if data.endswith((b"\n", b"\r")):
            expected.pop()
        cuts = sorted(rng.sample(range(len(data) + 1), min(len(data), rng.randrange(0, 6))))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        got = list(iter_lines(iter(chunks), 12))
        assert [n for n, _ in got] == list(range(1, len(expected) + 1))
        for (_, item), raw in zip(got, expected, strict=True):
            try:
                text = raw.decode("utf-8") if len(raw) <= 12 else None
            except UnicodeDecodeError:
                text = None
            assert item == text if text is not None else isinstance(item, Rejected)


def test_overlong_line_spanning_many_chunks_is_never_held_whole() -> None:
    # 3 MiB without a newline, crossing several 1 MiB read chunks, then CRLF.
    data = b"ok.example\r\n" + b"y" * (3 * 1024 * 1024) + b"\r\nnext.example\r\n"
    tracemalloc.start()
    try:
        got = items(data, format="txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(type(i).__name__, i.line) for i in got] == [
        ("ParsedRow", 1),
        ("Rejected", 2),
        ("ParsedRow", 3),
    ]
    assert peak < 3 * 1024 * 1024 + len(data)  # the 3 MiB line itself is never accumulated


def test_binary_garbage_is_not_a_text_file() -> None:
    with pytest.raises(ParseError, match="not a text file"):
        items(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(ParseError, match="not a text file"):
        sniff_format(b"abc\x00def")


def test_zip_and_utf16_get_clear_messages() -> None:
    with pytest.raises(ParseError, match="ZIP"):
        items(b"PK\x03\x04" + b"rest of a zip")
    with pytest.raises(ParseError, match="UTF-16"):
        items("evil.example\n".encode("utf-16"))


def test_unknown_format_option() -> None:
    with pytest.raises(ParseError, match="unknown format"):
        items(b"a\n", format="xml")


def test_text_stream_is_refused() -> None:
    with pytest.raises(ParseError, match="binary stream"):
        list(parse(io.StringIO("a.example\n")))


# --- sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("abusech/urlhaus/csv_recent.csv", "csv"),
        ("abusech/feodotracker/ipblocklist.csv", "csv"),
        ("ipsum/ipsum.txt", "csv"),  # IP<TAB>count is consistently tab-separated
        ("blocklistproject/scam.txt", "txt"),
        ("disposable-email-domains/disposable_email_blocklist.conf", "txt"),
        ("pdq/haystack.txt", "txt"),
        ("pdq/PDQMD5TestData.csv", "csv"),
        ("polkadot-js-phishing/all.json", "json"),
        ("polkadot-js-phishing/address.json", "json"),
        ("misp-warninglists/rfc5735/list.json", "json"),
        ("misp/circl-osint/5a0d5bf4-99c8-4f15-9879-22b1950d210f.json", "misp"),
        ("misp/circl-osint/56e12e66-f01c-41be-afea-4d9a950d210f.json", "misp"),
        ("misp/circl-osint/manifest.json", "misp"),
        ("stix/oasis-cti-examples/apt1.json", "stix"),
        ("stix/feeds2stix/ipsum_level_8.json", "stix"),
        ("stix/mitre-attack-ics/ics-attack-18.1-subset.json", "stix"),
    ],
)
def test_sniff_real_samples(rel: str, expected: str) -> None:
    assert sniff_format(head(rel), rel) == expected


def test_content_wins_over_a_wrong_extension() -> None:
    stix = head("stix/oasis-cti-examples/indicators-for-C2-with-COA.json")
    assert sniff_format(stix, "indicators.csv") == "stix"
    got = items(stix, filename="indicators.csv")
    assert [r.value for r in got if isinstance(r, ParsedRow)] == [
        "10.0.0.0",
        "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
    ]
    assert sniff_format(b"a.example\nb.example\n", "feed.json") == "txt"


def test_sniff_jsonl_and_json() -> None:
    assert sniff_format(b'{"ioc": "a.example"}\n{"ioc": "b.example"}\n') == "jsonl"
    assert sniff_format(b'"a.example"\n"b.example"\n') == "txt"
    assert sniff_format(b'[\n  "a.example",\n  "b.example"\n]\n') == "json"
    assert sniff_format(b'{"data": [{"ioc": "x"}]}') == "json"
    assert sniff_format(b'[{"Event": {"info": "x", "Attribute": []}}]') == "misp"
    assert sniff_format(b'{"objects": [{"type": "indicator", "id": "indicator--0b1c2d3e-0000-'
                        b'4000-8000-000000000000"}]}') == "stix"  # fmt: skip


def test_sniff_gzip_head() -> None:
    packed = gzip.compress((FEEDS / "stix/oasis-cti-examples/apt1.json").read_bytes())
    assert sniff_format(packed[:4096]) == "stix"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a;b;c\n1;2;3\n4;5;6\n", "csv"),
        (b"a|b\n1|2\n", "csv"),
        (b"a\tb\n1\t2\n", "csv"),
        (b"http://a.example/?x=1,2\nhttp://b.example/\n", "txt"),
        (b"0.0.0.0 a.example\n0.0.0.0 b.example\n", "txt"),
        (b"# only comments\n", "txt"),
        (b"[2001:db8::1]:443\n[2001:db8::2]\n", "txt"),
        (b"[1, 2]", "json"),
    ],
)
def test_sniff_delimited_vs_text(data: bytes, expected: str) -> None:
    assert sniff_format(data) == expected


def test_only_comments_with_csv_name_is_csv() -> None:
    assert sniff_format(b"# id,url\n", "feed.csv") == "csv"


def test_skipped_type_is_exported() -> None:
    assert Skipped(1, "x").reason == "x"
