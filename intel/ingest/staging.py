"""Turning parsed rows into COPY-ready staging text: normalise, allowlist-check, escape.

Runs in the Python thread while the database merges the previous chunk, so it never touches the
database; it counts rejected and skipped rows on the result as it goes.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from intel.allowlist import AllowlistMatcher
from intel.ingest.types import IngestResult, IngestSpec
from intel.normalize import NormalizationError, normalize
from intel.parsers import ParsedRow, Rejected, Skipped
from intel.parsers.tlp import strictest


def clean_tags(tags: Iterable[Any]) -> list[str]:
    """Lower-case, trimmed, de-duplicated, sorted tags (the literal "none" is no tag)."""
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).strip().lower()[:64]
        if text and text != "none":
            seen[text] = None
    return sorted(seen)


MAX_CACHED_TAG_SETS = 50_000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def _copy_text(text: str) -> str:
    """Escape a value for COPY's text format (the common clean value is returned as is)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text or "\x00" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _array_literal(tags: list[str]) -> str:
    """A PostgreSQL text[] literal for COPY, every element quoted."""
    quoted = ('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in tags)
    return _copy_text("{" + ",".join(quoted) + "}")


def copy_chunks(
    rows: Iterable[ParsedRow | Rejected | Skipped],
    spec: IngestSpec,
    result: IngestResult,
    matcher: AllowlistMatcher,
    chunk_rows: int,
    tlp: str,
) -> Iterator[tuple[str, int]]:
    """Normalise and allowlist-check each row; yield (COPY text, rows taken) per chunk.

    A value repeated inside a chunk is staged once (its first line and reference), its repeats
    merged in as the upsert merges repeats across chunks (highest confidence, union of tags,
    strictest TLP), and still counted in "rows taken". Counts rejected and
    skipped rows on `result`. Never touches the database: it runs while another thread merges
    the previous chunk on the connection.
    """
    confidence = spec.confidence if spec.confidence is not None else spec.source.default_confidence
    base_tags = clean_tags(spec.tags)
    tag_literals: dict[tuple[str, ...], str] = {}
    literal_tags: dict[str, tuple[str, ...]] = {}
    base_literal = _tag_literal(tuple(base_tags), tag_literals, literal_tags)
    cleaned: dict[tuple[str, ...], str] = {}  # a row's raw tags -> the literal staged
    default_description = _copy_text(spec.description[:2000])
    lines: list[str] = []
    seen: dict[tuple[str, str], int] = {}  # value -> its line in this chunk
    taken = 0
    for row in rows:
        if row.__class__ is Skipped:
            result.skipped += 1
            continue
        result.received += 1
        if row.__class__ is Rejected:
            result.reject(row.line, row.reason)
            continue
        try:
            indicator_type, value = normalize(row.value, spec.type or row.type)
        except NormalizationError as exc:
            result.reject(row.line, exc.reason)
            continue
        taken += 1
        key = (indicator_type, value)
        at = seen.get(key)
        if at is not None:
            _merge_repeat(lines, at, row, tag_literals, literal_tags, base_tags, confidence, tlp)
            continue
        seen[key] = len(lines)
        tags_literal, confidence_here, description = base_literal, confidence, default_description
        tlp_here = tlp
        fields = row.fields
        if fields:
            row_tags = fields.get("tags")
            if row_tags:
                # Feeds repeat a few tag combinations over and over: clean each one once.
                raw = tuple(row_tags)
                tags_literal = cleaned.get(raw)
                if tags_literal is None:
                    if len(cleaned) > MAX_CACHED_TAG_SETS:
                        cleaned.clear()
                    tags = tuple(clean_tags([*base_tags, *raw]))
                    tags_literal = cleaned[raw] = _tag_literal(tags, tag_literals, literal_tags)
            row_confidence = fields.get("confidence")
            if isinstance(row_confidence, int) and 0 <= row_confidence <= 100:
                confidence_here = row_confidence
            if fields.get("tlp"):
                # The file's own marking can only make the row stricter, never looser.
                tlp_here = strictest((tlp, fields["tlp"])) or tlp
            if fields.get("description"):
                description = _copy_text(str(fields["description"])[:2000])
        allowlisted = "f"
        if matcher.match(indicator_type, value) is not None:
            allowlisted = "t"
            result.allowlisted += 1
        reference = _copy_text(row.reference[:1000]) if row.reference else "\\N"
        lines.append(
            f"{indicator_type}\t{_copy_text(value)}\t{row.line}\t{reference}\t{confidence_here}"
            f"\t{tags_literal}\t{allowlisted}\t{description}\t{tlp_here}\n"
        )
        if len(lines) >= chunk_rows:
            yield "".join(lines), taken
            lines, taken = [], 0
            seen.clear()
    if lines or taken:
        yield "".join(lines), taken


def _tag_literal(
    tags: tuple[str, ...],
    tag_literals: dict[tuple[str, ...], str],
    literal_tags: dict[str, tuple[str, ...]],
) -> str:
    """The COPY literal of ``tags``, cached both ways (repeats read tags back from it)."""
    literal = tag_literals.get(tags)
    if literal is None:
        literal = tag_literals[tags] = _array_literal(list(tags))
        literal_tags[literal] = tags
    return literal


def _merge_repeat(
    lines: list[str],
    at: int,
    row: ParsedRow,
    tag_literals: dict[tuple[str, ...], str],
    literal_tags: dict[str, tuple[str, ...]],
    base_tags: list[str],
    confidence: int,
    tlp: str,
) -> None:
    """Merge a repeat of a value staged at ``lines[at]`` into that line: the highest
    confidence, the union of tags, the strictest TLP (what the upsert does with a repeat in
    another chunk). Repeats are a minority: reading the line back is cheaper than keeping
    every row's marks on the side."""
    fields = row.fields or {}
    confidence_here, tlp_here = confidence, tlp
    row_confidence = fields.get("confidence")
    if isinstance(row_confidence, int) and 0 <= row_confidence <= 100:
        confidence_here = row_confidence
    if fields.get("tlp"):
        tlp_here = strictest((tlp, fields["tlp"])) or tlp
    # type, value, line, reference, confidence, tags, allowlisted, description, tlp
    parts = lines[at].split("\t")
    staged_confidence, staged_tlp = int(parts[4]), parts[8][:-1]
    merged_confidence = max(staged_confidence, confidence_here)
    merged_tlp = strictest((staged_tlp, tlp_here)) or staged_tlp
    literal = parts[5]
    if fields.get("tags"):
        tags = tuple(clean_tags([*literal_tags[literal], *base_tags, *fields["tags"]]))
        literal = _tag_literal(tags, tag_literals, literal_tags)
    if (merged_confidence, literal, merged_tlp) == (staged_confidence, parts[5], staged_tlp):
        return
    parts[4], parts[5], parts[8] = str(merged_confidence), literal, f"{merged_tlp}\n"
    lines[at] = "\t".join(parts)
