"""Input guards shared by every parser: decompression, size caps, decoding and sniffing.

* :func:`open_input` reads the head of a binary stream, transparently decompresses gzip /
  bzip2 / xz (detected by magic bytes, never by extension), caps the decompressed size,
  strips a UTF-8 BOM and refuses binary or empty files with a clear :class:`ParseError`.
* :func:`iter_line_batches` splits the stream into decoded lines with bounded memory: LF,
  CRLF and bare CR all end a line; a line with invalid UTF-8 or longer than
  ``max_line_bytes`` becomes a :class:`Rejected` item and reading resumes at the next newline.
* :func:`sniff_format` guesses csv / txt / json / jsonl / stix / misp from the first 64 KiB.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .base import (
    CONFIDENCE_COLUMNS,
    DESCRIPTION_COLUMNS,
    FIRST_SEEN_COLUMNS,
    LAST_SEEN_COLUMNS,
    TAG_COLUMNS,
    TYPE_COLUMNS,
    VALUE_COLUMNS,
    ParseError,
    Rejected,
    header_key,
)

HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
BZ2_BLOCK_MAGIC = b"1AY&SY"  # after "BZh" and the block-size digit
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
DELIMITERS = (",", "\t", ";", "|")
COMMENT_PREFIXES = ("#", ";", "//")
RAW_PREVIEW = 200
#: Column names that make a first line a CSV header.
KNOWN_HEADERS = frozenset(
    (
        *VALUE_COLUMNS,
        *TYPE_COLUMNS,
        *TAG_COLUMNS,
        *CONFIDENCE_COLUMNS,
        *FIRST_SEEN_COLUMNS,
        *LAST_SEEN_COLUMNS,
        *DESCRIPTION_COLUMNS,
    )
)

#: ``[2001:db8::1]:443`` - a text list of bracketed IPv6 hosts, not a JSON array.
_BRACKETED_HOST_RE = re.compile(r"\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](?::\d+)?[ \t]*(?:[\r\n]|$)")
_MISP_RE = re.compile(r'^\s*(?:\[\s*)?\{\s*"(?:Event|response)"\s*:')
_MISP_ANY_RE = re.compile(r'"Event"\s*:\s*\{|"Attribute"\s*:\s*\[')
_MANIFEST_RE = re.compile(r'^\s*\{\s*"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-')
_STIX_RE = re.compile(
    r'"type"\s*:\s*"bundle"|"spec_version"\s*:\s*"2\.'
    r'|"id"\s*:\s*"[a-z][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-'
)


class _Replay:
    """A minimal reader that returns already-read ``prefix`` bytes, then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                data, self._prefix = self._prefix + _read(self._stream, -1), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return _read(self._stream, size)


class _Capped:
    """Counts bytes read through it and raises ParseError once ``limit`` is exceeded."""

    def __init__(self, inner: object, limit: int, what: str) -> None:
        self._inner = inner
        self._limit = limit
        self._what = what
        self.total = 0

    def read(self, size: int) -> bytes:
        if self._what == "file":
            data = self._inner.read(size)
        else:
            try:
                data = self._inner.read(size)
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                raise ParseError(f"corrupt compressed data: {exc}") from None
        self.total += len(data)
        if self.total > self._limit:
            raise ParseError(f"{self._what} size exceeds {self._limit} bytes")
        return data


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if isinstance(data, str):
        raise ParseError("expected a binary stream, got text")
    return data or b""


def _read_full(reader: object, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads."""
    parts, got = [], 0
    while got < size:
        data = reader.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


@dataclass
class Input:
    """A decompressed, capped byte source whose first bytes (``head``) are already read."""

    head: bytes
    reader: _Capped
    compression: str = ""

    @classmethod
    def from_bytes(cls, data: bytes) -> Input:
        """An Input over bytes already in memory."""
        return cls(head=data, reader=_Capped(_Replay(b"", io.BytesIO()), len(data), "file"))

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The whole content (head first) as byte chunks of about ``size`` bytes."""
        for offset in range(0, len(self.head), size):
            yield self.head[offset : offset + size]
        while True:
            data = self.reader.read(size)
            if not data:
                return
            yield data

    def read_all(self, cap: int, what: str = "JSON document") -> bytes:
        """Everything, but at most ``cap`` bytes, else ParseError."""
        rest = _read_full(self.reader, cap + 1 - len(self.head))
        data = self.head + rest
        if len(data) > cap:
            raise ParseError(f"{what} too large (over {cap} bytes); use JSON lines instead")
        return data


def _check_text(head: bytes) -> bytes:
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    elif head.startswith(UTF16_BOMS):
        raise ParseError("UTF-16 text is not supported; convert the file to UTF-8")
    if head.startswith(ZIP_MAGIC):
        raise ParseError("ZIP archives are not supported; extract the file first")
    if b"\x00" in head:
        raise ParseError("not a text file (binary content)")
    return head


def open_input(stream: BinaryIO, max_bytes: int) -> Input:
    """Open ``stream`` for parsing: decompress, cap at ``max_bytes``, check it is text."""
    raw_head = _read_full(_Replay(b"", stream), HEAD_BYTES)
    if not raw_head:
        raise ParseError("file is empty")
    source = _Replay(raw_head, stream)
    compression, inner, what = "", source, "file"
    if raw_head.startswith(GZIP_MAGIC):
        compression, inner = "gzip", gzip.GzipFile(fileobj=source, mode="rb")
    elif raw_head[:3] == b"BZh" and raw_head[3:4].isdigit() and raw_head[4:10] == BZ2_BLOCK_MAGIC:
        compression, inner = "bzip2", bz2.BZ2File(source, mode="rb")
    elif raw_head.startswith(XZ_MAGIC):
        compression, inner = "xz", lzma.LZMAFile(source, mode="rb")  # noqa: SIM115
    if compression:
        what = "decompressed"
    reader = _Capped(inner, max_bytes, what)
    head = _read_full(reader, HEAD_BYTES)
    if not head:
        raise ParseError("file is empty")
    head = _check_text(head)
    if not head.strip() and len(head) < HEAD_BYTES:
        raise ParseError("file is empty (whitespace only)")
    return Input(head=head, reader=reader, compression=compression)


# --- line splitting ------------------------------------------------------------------------------


def _too_long(lineno: int, raw: bytes | str, limit: int) -> Rejected:
    preview = raw[:RAW_PREVIEW]
    if isinstance(preview, bytes):
        preview = preview.decode("utf-8", "replace")
    return Rejected(lineno, f"line longer than {limit} bytes", preview)


def _decode_lines(block: bytes, lineno: int, limit: int) -> list:
    """Split an LF-normalised block of complete lines into str / Rejected items."""
    try:
        lines: list = block.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = []
        for offset, raw in enumerate(block.split(b"\n")):
            if len(raw) > limit:
                lines.append(_too_long(lineno + offset, raw, limit))
                continue
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                preview = raw[:RAW_PREVIEW].decode("utf-8", "replace")
                lines.append(Rejected(lineno + offset, "invalid UTF-8", preview))
        return lines
    if len(block) > limit and max(map(len, lines)) * 4 > limit:
        for offset, line in enumerate(lines):
            if len(line) * 4 > limit and len(line.encode("utf-8")) > limit:
                lines[offset] = _too_long(lineno + offset, line, limit)
    return lines


def _first_eol(data: bytes) -> int:
    lf, cr = data.find(b"\n"), data.find(b"\r")
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)


def iter_line_batches(chunks: Iterator[bytes], max_line_bytes: int) -> Iterator[tuple[int, list]]:
    """Yield ``(first_line_number, items)`` where items are str lines or Rejected.

    Memory stays bounded by the chunk size plus ``max_line_bytes``: an over-long line is
    rejected as soon as it passes the limit and skipped up to its newline.
    """
    lineno = 1
    carry = b""
    skipping = drop_lf = False
    for data in chunks:
        if drop_lf and data:
            drop_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if skipping:
            eol = _first_eol(data)
            if eol < 0:
                continue
            if data[eol : eol + 1] == b"\r":
                if eol + 1 == len(data):
                    drop_lf = True
                elif data[eol + 1 : eol + 2] == b"\n":
                    eol += 1
            data = data[eol + 1 :]
            skipping = False
        buf = carry + data if carry else data
        hold = b""
        if buf.endswith(b"\r"):
            buf, hold = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf + hold
        else:
            carry = buf[cut + 1 :] + hold
            items = _decode_lines(buf[:cut], lineno, max_line_bytes)
            yield lineno, items
            lineno += len(items)
        if len(carry) - len(hold) > max_line_bytes:
            yield lineno, [_too_long(lineno, carry, max_line_bytes)]
            lineno += 1
            carry = b""
            if hold:  # the long line already ended with a CR (maybe half of a CRLF)
                drop_lf = True
            else:
                skipping = True
    if carry and not skipping:
        if b"\r" in carry:
            carry = carry.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if carry.endswith(b"\n"):
            carry = carry[:-1]
        yield lineno, _decode_lines(carry, lineno, max_line_bytes)


def iter_lines(
    chunks: Iterator[bytes], max_line_bytes: int
) -> Iterator[tuple[int, str | Rejected]]:
    """Convenience wrapper: ``(line_number, str | Rejected)`` one line at a time."""
    for start, items in iter_line_batches(chunks, max_line_bytes):
        yield from enumerate(items, start)


# --- sniffing ------------------------------------------------------------------------------------


def _head_text(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, HEAD_BYTES)
        except zlib.error as exc:
            raise ParseError(f"corrupt gzip data: {exc}") from None
    return _check_text(head).decode("utf-8", "replace")


def sample_lines(
    text: str, truncated: bool, comments: tuple[str, ...] = COMMENT_PREFIXES
) -> list[str]:
    """Non-blank, non-comment lines of a head sample (a cut-off last line is dropped)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if truncated and len(lines) > 1:
        lines.pop()
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(comments)]


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter among ``, TAB ; |`` that splits the lines into a consistent >= 2 columns.

    At least 80% of the lines must have the same width, or 50% when the first line is a
    header naming a known column (``url``, ``ip``, ``tags``...).
    """
    best: tuple[float, int, str] | None = None
    for delim in DELIMITERS:
        if not any(delim in ln for ln in lines):
            continue
        parsed = list(csv.reader(lines, delimiter=delim, skipinitialspace=True))
        counts = Counter(len(r) for r in parsed)
        width, hits = counts.most_common(1)[0]
        share = hits / max(1, len(parsed))
        named = len(parsed[0]) >= 2 and any(header_key(c) in KNOWN_HEADERS for c in parsed[0])
        if width >= 2 and share >= (0.5 if named else 0.8) and (best is None or share > best[0]):
            best = (share, width, delim)
    return best[2] if best else None


def _looks_jsonl(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines()[:3] if ln.strip()]
    if len(lines) < 2 or not lines[1].startswith(("{", "[", '"')):
        return False
    try:
        json.loads(lines[0])
    except (ValueError, RecursionError):
        return False
    return True


def sniff_format(head: bytes, filename: str = "") -> str:
    """Guess the format of a feed from its first bytes; content wins over the file name.

    Returns one of ``csv``, ``txt``, ``json``, ``jsonl``, ``stix``, ``misp``.
    """
    if not head:
        raise ParseError("file is empty")
    text = _head_text(head)
    body = text.lstrip()
    name = filename.lower()
    if body.startswith(("{", "[")) and not _BRACKETED_HOST_RE.match(body):
        if _looks_jsonl(body):
            return "jsonl"
        if _MISP_RE.match(body) or (_MANIFEST_RE.match(body) and '"info"' in body):
            return "misp"
        if _MISP_ANY_RE.search(body) and '"to_ids"' in body:
            return "misp"
        if _STIX_RE.search(body):
            return "stix"
        return "json"
    lines = sample_lines(text, truncated=len(head) >= HEAD_BYTES)
    if not lines:
        if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
            return "csv"
        return "txt"
    return "csv" if sniff_delimiter(lines[:200]) else "txt"
