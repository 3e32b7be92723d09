"""Plain-text feed parser: one value per line, hosts files, ``IP<TAB>count`` lists and prose.

* ``#``, ``;`` and ``//`` lines are comments (plus ``ParserOptions.comment_prefix``); a
  first line that is just a column name (``url``, ``domain``...) is Skipped as a header.
* Hosts-file lines (``0.0.0.0 domain`` / ``127.0.0.1 domain``) yield the host names, never
  the sink address; ``localhost``-style entries are Skipped.
* ``IP<TAB>count`` (IPsum) yields the first token; a trailing `` # comment`` is ignored.
* Anything else with several tokens is prose: ``intel.extract.extract_indicators`` runs on it
  and each indicator found becomes a row with the line's number. A non-empty line where
  nothing is found is Rejected("no indicator found").
"""

from __future__ import annotations

from collections.abc import Iterator

from .base import ParsedRow, ParserOptions, Rejected, Skipped, header_key
from .detect import COMMENT_PREFIXES, KNOWN_HEADERS, RAW_PREVIEW, Input, iter_line_batches

#: Sink addresses that start a hosts-file line (never indicators themselves).
HOSTS_SINKS = frozenset(
    ("0.0.0.0", "127.0.0.1", "::", "::0", "::1", "0", "255.255.255.255")  # noqa: S104
)
LOCAL_HOSTNAMES = frozenset(
    (
        "localhost",
        "localhost.localdomain",
        "local",
        "broadcasthost",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
        "0.0.0.0",  # noqa: S104 - a hosts-file sink entry, not a bind address
    )
)


def _extract(text: str) -> list:
    """intel.extract.extract_indicators, imported lazily."""
    from intel.extract import extract_indicators

    return extract_indicators(text)


def _comment_prefixes(opts: ParserOptions) -> tuple[str, ...]:
    extra = (opts.comment_prefix,) if opts.comment_prefix else ()
    return tuple(dict.fromkeys((*COMMENT_PREFIXES, *extra)))


def parse_line(
    n: int, line: str, default_type: str | None
) -> Iterator[ParsedRow | Rejected | Skipped]:
    """Rows for one stripped, non-comment line of a text feed."""
    ref = f"line {n}"
    tokens = line.split()
    if len(tokens) == 1:
        yield ParsedRow(n, tokens[0], default_type, ref)
        return
    simple = tokens
    for i in range(1, len(tokens)):
        if tokens[i].startswith("#"):
            simple = tokens[:i]
            break
    if simple[0] in HOSTS_SINKS:
        if len(simple) == 1:
            yield Skipped(n, "hosts-file line without a host name")
        for host in simple[1:]:
            if host.lower() in LOCAL_HOSTNAMES:
                yield Skipped(n, f"hosts-file local entry: {host}")
            else:
                yield ParsedRow(n, host, "domain", ref)
    elif len(simple) == 1 or (len(simple) == 2 and simple[1].isdigit()):
        yield ParsedRow(n, simple[0], default_type, ref)
    else:
        found = _extract(line)
        if not found:
            yield Rejected(n, "no indicator found", line[:RAW_PREVIEW])
        for ind in found:
            yield ParsedRow(n, ind.value, ind.type, ref)


def parse_txt(inp: Input, opts: ParserOptions) -> Iterator[ParsedRow | Rejected | Skipped]:
    """Parse a text feed, streaming line by line."""
    comments = _comment_prefixes(opts)
    default_type = opts.default_type
    first = True
    for start, items in iter_line_batches(inp.chunks(), opts.max_line_bytes):
        n = start - 1
        for item in items:
            n += 1
            if item.__class__ is not str:
                yield item
                continue
            line = item.strip()
            if not line or line.startswith(comments):
                continue
            if first:
                first = False
                if header_key(line) in KNOWN_HEADERS:  # a one-column file with a header
                    yield Skipped(n, f"header row: {line[:50]}")
                    continue
            if " " not in line and "\t" not in line:
                yield ParsedRow(n, line, default_type, f"line {n}")
            else:
                yield from parse_line(n, line, default_type)
