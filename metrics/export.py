"""CSV and JSON exports of a detection quality table.

CSV cells that a spreadsheet would run as a formula are neutralised with the intel export's
helper. Indicator exports stream the window rows, so a table of many thousands of indicators
never sits in memory.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from intel.export import neutralize_cell

COLUMNS = (
    "key",
    "hits",
    "cases",
    "labelled",
    "true_positive",
    "false_positive",
    "precision",
    "false_positive_rate",
)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
BATCH = 2000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return neutralize_cell(str(value))


def csv_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The records as CSV text chunks: a header, then one line per record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, record in enumerate(records, 1):
        writer.writerow([_cell(record.get(column)) for column in COLUMNS])
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The records as a JSON array, in text chunks."""
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + "\n" + json.dumps({c: record.get(c) for c in COLUMNS})
    yield "\n]\n"


def window_records(windows: Any) -> Iterator[dict[str, Any]]:
    """Export records of `IndicatorWindow` rows (a queryset with the indicator selected)."""
    for row in windows.iterator(chunk_size=BATCH):
        yield {
            "key": f"{row.indicator.type}:{row.indicator.value}",
            "hits": row.hits,
            "cases": row.cases,
            "labelled": row.labelled,
            "true_positive": row.true_positive,
            "false_positive": row.false_positive,
            "precision": row.precision,
            "false_positive_rate": row.false_positive_rate,
        }


def export_chunks(records: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Stream ``records`` as ``fmt`` ("csv" or "json")."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unknown export format {fmt!r}; choose csv or json")
    return csv_chunks(records) if fmt == "csv" else json_chunks(records)
