"""Streaming exports of indicators: CSV, plain list, JSON lines and a STIX 2.1 bundle.

Generators yield text chunks so a million rows never sit in memory (the web view wraps them in
a StreamingHttpResponse, `export_intel` writes them to stdout). The caller applies `visible_to`
before handing the queryset over, so TLP:RED never leaves for users who are not cleared.
CSV cells that a spreadsheet would run as a formula are neutralised.
"""

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet

from intel.models import Indicator

FORMATS = ("csv", "txt", "jsonl", "json", "stix")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "stix": "application/stix+json;version=2.1",
}
EXTENSIONS = {"csv": "csv", "txt": "txt", "jsonl": "jsonl", "json": "json", "stix": "stix.json"}
CSV_COLUMNS = (
    "type",
    "value",
    "status",
    "confidence",
    "severity",
    "tlp",
    "tags",
    "sources",
    "first_seen_at",
    "last_seen_at",
    "expires_at",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STIX_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL
_STIX_PATTERNS = {
    "url": "url:value",
    "domain": "domain-name:value",
    "ipv4": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "cidr": "{ipkind}:value",
    "email": "email-addr:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
}
_STIX_TLP_MARKINGS = {  # TLP 2.0 marking-definition ids published by OASIS
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b1-5db8-4a96-9bcb-d4ed6a8d4c2e",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
BATCH = 2000


def neutralize_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with a quote."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else ""


def export_records(queryset: QuerySet[Indicator]) -> Iterator[dict[str, Any]]:
    """Yield one plain dict per indicator, with the names of the sources that reported it."""
    rows = queryset.order_by("id").prefetch_related("provenance__source")
    for indicator in rows.iterator(chunk_size=BATCH):
        yield {
            "type": indicator.type,
            "value": indicator.value,
            "status": indicator.status,
            "confidence": indicator.confidence,
            "severity": indicator.severity,
            "tlp": indicator.tlp,
            "tags": list(indicator.tags),
            "sources": sorted(p.source.name for p in indicator.provenance.all()),
            "first_seen_at": _iso(indicator.first_seen_at),
            "last_seen_at": _iso(indicator.last_seen_at),
            "expires_at": _iso(indicator.expires_at),
            "description": indicator.description,
        }


def _csv_chunks(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, record in enumerate(records, 1):
        cells = []
        for column in CSV_COLUMNS:
            value = record[column]
            if isinstance(value, list):
                value = ",".join(value)
            cells.append(neutralize_cell(str(value)))
        writer.writerow(cells)
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _stix_indicator(record: dict[str, Any]) -> dict[str, Any] | None:
    path = _STIX_PATTERNS.get(record["type"])
    if path is None:
        return None
    if record["type"] == "cidr":
        path = path.format(ipkind="ipv6-addr" if ":" in record["value"] else "ipv4-addr")
    escaped = record["value"].replace("\\", "\\\\").replace("'", "\\'")
    created = record["first_seen_at"] or _iso(datetime.now(UTC))
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(_STIX_NAMESPACE, record['type'] + ':' + record['value'])}",
        "created": created,
        "modified": record["last_seen_at"] or created,
        "name": record["value"],
        "pattern": f"[{path} = '{escaped}']",
        "pattern_type": "stix",
        "valid_from": created,
        "confidence": record["confidence"],
        "labels": record["tags"],
        "object_marking_refs": [_STIX_TLP_MARKINGS[record["tlp"]]],
    }
    if record["expires_at"]:
        indicator["valid_until"] = record["expires_at"]
    return indicator


def _stix_chunks(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield '{"type": "bundle", "id": "bundle--%s", "objects": [' % uuid.uuid4()  # noqa: UP031
    first = True
    for record in records:
        indicator = _stix_indicator(record)
        if indicator is None:
            continue  # phones, accounts, keywords… have no STIX 2.1 pattern object
        yield ("" if first else ",") + "\n" + json.dumps(indicator)
        first = False
    yield "\n]}\n"


def _json_chunks(records: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + "\n" + json.dumps(record)
    yield "\n]\n"


def export_chunks(queryset: QuerySet[Indicator], fmt: str) -> Iterator[str]:
    """Stream `queryset` in format `fmt` (one of FORMATS) as text chunks."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "txt":
        return (
            f"{value}\n"
            for value in queryset.order_by("id")
            .values_list("value", flat=True)
            .iterator(chunk_size=BATCH)
        )
    records = export_records(queryset)
    if fmt == "csv":
        return _csv_chunks(records)
    if fmt == "jsonl":
        return (json.dumps(record) + "\n" for record in records)
    if fmt == "json":
        return _json_chunks(records)
    return _stix_chunks(records)
