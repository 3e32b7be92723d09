"""Feed parsers: turn the bytes of a threat-intel feed into candidate indicator rows.

Usage::

    from intel.parsers import ParserOptions, ParsedRow, parse

    with open(path, "rb") as fh:
        for item in parse(fh, ParserOptions(format="auto"), filename=path):
            ...  # ParsedRow | Rejected | Skipped

``parse`` streams: CSV, text and JSON-lines files are read in bounded chunks whatever their
size; single JSON documents (generic, STIX, MISP) are read whole up to 256 MiB. Gzip, bzip2
and xz input is decompressed transparently (detected by magic bytes) and capped at
``ParserOptions.max_bytes``. A file that cannot be read at all raises :class:`ParseError`
(raised while iterating, before the first row).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .base import FORMATS, ParsedRow, ParseError, ParserOptions, Rejected, Skipped
from .csvfeed import parse_csv
from .detect import Input, open_input, sniff_format
from .jsonfeed import ConcatenatedJSON, iter_generic, load_document, parse_jsonl
from .misp import is_misp_document, iter_misp, parse_misp_manifest
from .stix import iter_stix
from .text import parse_txt

__all__ = [
    "FORMATS",
    "ParseError",
    "ParsedRow",
    "ParserOptions",
    "Rejected",
    "Skipped",
    "parse",
    "parse_misp_manifest",
    "sniff_format",
]


def _is_stix_document(doc: object) -> bool:
    if isinstance(doc, dict):
        if doc.get("type") == "bundle":
            return True
        objects = doc.get("objects")
        sample = objects[:5] if isinstance(objects, list) else []
    elif isinstance(doc, list):
        sample = doc[:5]
    else:
        return False
    return bool(sample) and all(
        isinstance(o, dict) and isinstance(o.get("type"), str) and "--" in str(o.get("id", ""))
        for o in sample
    )


def _parse_json(inp: Input, opts: ParserOptions, fmt: str, auto: bool) -> Iterator:
    try:
        doc = load_document(inp, opts)
    except ConcatenatedJSON as exc:
        if not (auto and fmt == "json"):
            raise
        # Several JSON values one after another: read them as JSON lines.
        yield from parse_jsonl(Input.from_bytes(exc.data), opts)
        return
    kind = fmt
    if auto and not opts.json_list_path:
        # content wins: the parsed document decides, the sniffed head only breaks ties
        if _is_stix_document(doc):
            kind = "stix"
        elif is_misp_document(doc):
            kind = "misp"
    if kind == "stix":
        yield from iter_stix(doc)
    elif kind == "misp":
        yield from iter_misp(doc)
    else:
        yield from iter_generic(doc, opts)


def parse(
    stream: BinaryIO, options: ParserOptions | None = None, filename: str = ""
) -> Iterator[ParsedRow | Rejected | Skipped]:
    """Parse a feed from a binary stream, yielding ParsedRow / Rejected / Skipped items.

    ``options.format`` "auto" sniffs the content (the file name is only a tie-breaker).
    Raises ParseError (during iteration) when the file cannot be read at all.
    """
    opts = options or ParserOptions()
    fmt = (opts.format or "auto").lower()
    if fmt not in FORMATS:
        raise ParseError(f"unknown format {opts.format!r}; expected one of {', '.join(FORMATS)}")
    inp = open_input(stream, opts.max_bytes)
    auto = fmt == "auto"
    if auto:
        fmt = sniff_format(inp.head, filename)
        if fmt == "txt" and (opts.value_column or opts.type_column or opts.delimiter):
            fmt = "csv"  # column options only make sense for CSV (e.g. a one-column CSV)
    if fmt == "csv":
        yield from parse_csv(inp, opts)
    elif fmt == "txt":
        yield from parse_txt(inp, opts)
    elif fmt == "jsonl":
        yield from parse_jsonl(inp, opts)
    else:
        yield from _parse_json(inp, opts, fmt, auto)
