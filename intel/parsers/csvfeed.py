"""CSV / TSV feed parser (streaming, built on the stdlib ``csv`` module).

The delimiter (``, TAB ; |``), the header row and the value column are detected from a sample
of the first lines. A header may sit inside a ``#`` comment (abuse.ch URLhaus ships
``# id,dateadded,url,...``). Without a header the column in which most sampled cells look like
indicators wins. Reference columns (``urlhaus_link``) are never chosen while a better column
exists. Rows with the wrong number of columns or an empty value are Rejected with their line.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .base import (
    CONFIDENCE_COLUMNS,
    DESCRIPTION_COLUMNS,
    FIRST_SEEN_COLUMNS,
    LAST_SEEN_COLUMNS,
    PORT_COLUMNS,
    REFERENCE_WORDS,
    STRONG_TYPES,
    TAG_COLUMNS,
    TYPE_COLUMNS,
    VALUE_COLUMNS,
    ParsedRow,
    ParseError,
    ParserOptions,
    Rejected,
    header_key,
    ip_type,
    map_type,
    split_ip_port,
    split_tags,
    to_int,
    to_iso,
)
from .detect import KNOWN_HEADERS, Input, iter_line_batches, sniff_delimiter

SAMPLE_ROWS = 200
KNOWN_COLUMNS = KNOWN_HEADERS
_VALUE_TOKENS = frozenset(k for k in VALUE_COLUMNS if "_" not in k)
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def detect_type(value: str) -> str | None:
    """intel.normalize.detect_type, imported lazily (the parsers do not depend on Django)."""
    from intel.normalize import detect_type as _detect

    return _detect(value)


def _strong(value: str) -> bool:
    value = value.strip()
    if not value or len(value) > 2048:
        return False
    try:
        return detect_type(value) in STRONG_TYPES
    except Exception:  # a detector bug must not stop column scoring
        return False


def _best_column(rows: list[list[str]], width: int, avoid: set[int]) -> int:
    """Index of the column whose cells most often look like indicators (leftmost on ties)."""
    scores = [0] * width
    for row in rows[:SAMPLE_ROWS]:
        for i in range(min(width, len(row))):
            if _strong(row[i]):
                scores[i] += 1
    for allowed in ([i for i in range(width) if i not in avoid], range(width)):
        best = max(allowed, key=lambda i: (scores[i], -i), default=None)
        if best is not None and scores[best]:
            return best
    return next((i for i in range(width) if i not in avoid), 0)


def _resolve_column(spec: str, keys: list[str], width: int, what: str) -> int:
    spec = spec.strip()
    if spec.isdigit():
        index = int(spec)
        if index >= width:
            raise ParseError(f"{what} {index} out of range: the file has {width} columns")
        return index
    wanted = header_key(spec)
    if wanted in keys:
        return keys.index(wanted)
    shown = ", ".join(keys) if keys else "none (no header row)"
    raise ParseError(f"{what} {spec!r} not found; columns: {shown}")


def _is_reference(key: str) -> bool:
    return any(word in key for word in REFERENCE_WORDS)


def _pick_value_column(keys: list[str], rows: list[list[str]], width: int) -> int:
    for name in VALUE_COLUMNS:
        if name in keys:
            return keys.index(name)
    refs = {i for i, k in enumerate(keys) if _is_reference(k)}
    for i, key in enumerate(keys):
        if i not in refs and _VALUE_TOKENS & set(key.split("_")):
            return i
    return _best_column(rows, width, refs)


def _looks_like_header(row: list[str], following: list[list[str]]) -> bool:
    if any(header_key(cell) in KNOWN_COLUMNS for cell in row):
        return True
    if any(_strong(cell) for cell in row) or not following:
        return False
    hits = sum(1 for r in following[:50] if any(_strong(c) for c in r))
    return hits * 2 >= min(len(following), 50)


def _comment_header(banner: list[str], delim: str, width: int, comment: str) -> list[str] | None:
    """A header hidden in the comment block just above the data (URLhaus, IPsum)."""
    for line in reversed(banner[-5:]):
        text = line[len(comment) :].strip() if comment else line.strip()
        if not text:
            continue
        cells = next(csv.reader([text], delimiter=delim, skipinitialspace=True), [])
        if len(cells) == width and any(header_key(c) in KNOWN_COLUMNS for c in cells):
            return [c.strip() for c in cells]
    return None


def _field_getters(keys: list[str], skip: set[int]) -> list[tuple[int, str, Callable]]:
    """(column, field name, converter) for the extra columns that go into ParsedRow.fields."""
    getters: list[tuple[int, str, Callable]] = []
    taken: set[str] = set()
    groups = (
        (TAG_COLUMNS, "tags", split_tags),
        (CONFIDENCE_COLUMNS, "confidence", to_int),
        (FIRST_SEEN_COLUMNS, "first_seen", to_iso),
        (LAST_SEEN_COLUMNS, "last_seen", to_iso),
        (DESCRIPTION_COLUMNS, "description", lambda s: s.strip() or None),
        (PORT_COLUMNS, "port", lambda s: s.strip() if s.strip().isdigit() else None),
    )
    for names, target, conv in groups:
        for name in names:
            if name in keys and keys.index(name) not in skip and target not in taken:
                getters.append((keys.index(name), target, conv))
                taken.add(target)
    return getters


def _delimiter(opts: ParserOptions, sample: list[str]) -> str:
    if opts.delimiter:
        delim = _DELIMITER_NAMES.get(opts.delimiter.lower(), opts.delimiter)
        if len(delim) != 1:
            raise ParseError(f"delimiter must be one character, got {opts.delimiter!r}")
        return delim
    return sniff_delimiter(sample[:SAMPLE_ROWS]) or ","


def parse_csv(inp: Input, opts: ParserOptions) -> Iterator[ParsedRow | Rejected]:
    """Parse a CSV/TSV feed; yields ParsedRow / Rejected in file order."""
    comment = opts.comment_prefix or ""
    batches = iter_line_batches(inp.chunks(), opts.max_line_bytes)
    pre: list[tuple[int, list]] = []
    banner: list[str] = []
    sample: list[str] = []
    for start, items in batches:
        pre.append((start, items))
        for item in items:
            if item.__class__ is not str or not item.strip():
                continue
            if comment and item.startswith(comment):
                if not sample:
                    banner.append(item)
            elif len(sample) < SAMPLE_ROWS + 1:
                sample.append(item)
        if len(sample) > SAMPLE_ROWS:
            break
    if not sample:  # comments only
        for _start, items in pre:
            yield from (item for item in items if item.__class__ is not str)
        return

    delim = _delimiter(opts, sample)
    rows = list(csv.reader(sample, delimiter=delim, skipinitialspace=True))
    header = (
        None if opts.has_header is False else _comment_header(banner, delim, _mode(rows), comment)
    )
    header_in_data = False
    if (
        header is None
        and opts.has_header is not False
        and rows
        and (opts.has_header or _looks_like_header(rows[0], rows[1:]))
    ):
        header, header_in_data = [c.strip() for c in rows[0]], True
    data_rows = rows[1:] if header_in_data else rows
    width = len(header) if header else _mode(data_rows or rows)
    keys = [header_key(h) for h in header] if header else []

    if opts.value_column:
        vi = _resolve_column(opts.value_column, keys, width, "value column")
    elif keys:
        vi = _pick_value_column(keys, data_rows, width)
    else:
        vi = _best_column(data_rows, width, set())
    ti = None
    if opts.type_column:
        ti = _resolve_column(opts.type_column, keys, width, "type column")
    else:
        ti = next((keys.index(n) for n in TYPE_COLUMNS if n in keys and keys.index(n) != vi), None)
    name_type = VALUE_COLUMNS.get(keys[vi]) if keys else None
    getters = _field_getters(keys, {vi} if ti is None else {vi, ti})
    if opts.wanted_fields is not None:
        getters = [g for g in getters if g[1] in opts.wanted_fields]

    layout = _Layout(delim, comment, header_in_data, width, vi, ti, name_type, getters)
    yield from _rows(pre, batches, layout, opts.default_type)


def _mode(rows: list[list[str]]) -> int:
    counts = Counter(len(r) for r in rows if r)
    return counts.most_common(1)[0][0] if counts else 1


def _feed(pre: list, batches: Iterator, comment: str, state: list, pending: list) -> Iterator[str]:
    """Lines for csv.reader: comments/blank lines dropped, rejects parked in ``pending``.

    ``state[0]`` records the physical line on which the current CSV record started.
    """
    for source in (pre, batches):
        for start, items in source:
            n = start - 1
            for item in items:
                n += 1
                if item.__class__ is not str:
                    pending.append(item)
                    continue
                if state[0]:
                    # csv.reader asks for more inside one record: a quoted field spans lines.
                    yield "\n" + item
                    continue
                if not item or (comment and item.startswith(comment)):
                    continue
                state[0] = n
                yield item


@dataclass(slots=True)
class _Layout:
    """What the sample told us about the file."""

    delim: str
    comment: str
    header_in_data: bool  # the first non-comment row is the header: skip it
    width: int  # expected number of columns
    vi: int  # value column
    ti: int | None  # type column
    name_type: str | None  # type named by the value column's header ("ip" = by value)
    getters: list[tuple[int, str, Callable]]  # extra columns -> fields


def _rows(
    pre: list, batches: Iterator, layout: _Layout, default_type: str | None
) -> Iterator[ParsedRow | Rejected]:
    """The streaming loop: one ParsedRow / Rejected per CSV record, in file order."""
    delim, width, vi, ti = layout.delim, layout.width, layout.vi, layout.ti
    name_type, getters = layout.name_type, layout.getters
    state = [0]
    pending: list[Rejected] = []
    lines = _feed(pre, batches, layout.comment, state, pending)
    reader = csv.reader(lines, delimiter=delim, skipinitialspace=True)
    if layout.header_in_data:
        next(reader, None)
        state[0] = 0
    fixed = name_type if ti is None else None
    row_type = fixed or default_type
    while True:
        try:
            for row in reader:
                line = state[0]
                state[0] = 0
                if pending:
                    yield from pending
                    pending.clear()
                if len(row) != width:
                    if any(c.strip() for c in row):
                        reason = f"expected {width} columns, got {len(row)}"
                        yield Rejected(line, reason, delim.join(row)[:200])
                    continue
                value = row[vi].strip()
                if not value:
                    yield Rejected(line, "empty value", delim.join(row)[:200])
                    continue
                fields = {}
                if ti is not None:
                    label = row[ti].strip().lower()
                    mapped = map_type(label)
                    if mapped == "ip":
                        if "port" in label or "|" in value:
                            value, port = split_ip_port(value)
                            if port:
                                fields["port"] = port
                        row_type = ip_type(value)
                    else:
                        row_type = (
                            mapped
                            or (ip_type(value) if name_type == "ip" else name_type)
                            or default_type
                        )
                elif fixed == "ip":
                    row_type = ip_type(value)
                for index, name, conv in getters:
                    converted = conv(row[index])
                    if converted or converted == 0:
                        fields[name] = converted
                yield ParsedRow(line, value, row_type, f"line {line}", fields)
            break
        except csv.Error as exc:
            line, state[0] = state[0], 0
            yield Rejected(line, f"malformed CSV: {exc}")
    yield from pending
