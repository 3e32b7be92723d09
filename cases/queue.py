"""The queue's ordering and paging: every sortable column, and keyset pages that stay fast
however deep an analyst goes.

A sort key is a column alias from the queue table (`priority`, `-created_at`...); the rows are
ordered by that column with the case id as the tie-break, and the next page starts after the
last row shown (a cursor holding its sort values) instead of at an OFFSET, so page 4,000 costs
what page 1 costs. The default order is the most urgent first: priority, SLA due time, id.
"""

import base64
import binascii
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce

DEFAULT_SORT = "priority"
COUNT_CAP = 10_000

# alias -> the fields ordered by (the id tie-break is always last)
SORTS: dict[str, tuple[str, ...]] = {
    "priority": ("priority", "sla_due_at", "id"),
    "id": ("id",),
    "title": ("author_handle", "id"),
    "policy_label": ("policy_label", "id"),
    "status": ("status", "priority", "sla_due_at", "id"),
    "assignee": ("assignee_name", "id"),
    "hit_count": ("hit_count", "id"),
    "created_at": ("created_at", "id"),
    "sla_due_at": ("sla_due_at", "id"),
}


@dataclass
class Page:
    """One page of cases and the cursor of the next one ("" on the last page)."""

    rows: list[Any]
    next_cursor: str
    sort: str


def parse_sort(value: str | None) -> tuple[str, bool]:
    """(alias, descending) for a `?sort=` value; unknown values fall back to the default."""
    value = (value or "").strip()
    alias, desc = value.removeprefix("-"), value.startswith("-")
    if alias not in SORTS:
        return DEFAULT_SORT, False
    return alias, desc


def ordered(queryset: QuerySet, sort: str | None) -> QuerySet:
    """The queryset ordered by the sort key with the id tie-break."""
    alias, desc = parse_sort(sort)
    if alias == "assignee":
        queryset = queryset.annotate(assignee_name=Coalesce("assignee__username", Value("")))
    return queryset.order_by(*[f"-{f}" if desc else f for f in SORTS[alias]])


def encode_cursor(values: list[Any]) -> str:
    """The opaque `?after=` token for a row's sort values."""
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, size: int) -> list[Any] | None:
    """The sort values in a cursor, or None when it is not one of ours (then: first page)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != size:
        return None
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
        return None
    return values


def _row_after(
    queryset: QuerySet, fields: tuple[str, ...], desc: bool, values: list[Any]
) -> QuerySet:
    """Rows after the cursor row as one SQL row comparison, which an index on ``fields`` serves
    directly. ``>=`` plus "not the cursor row" rather than ``>``: with ``>`` Postgres's estimate
    for the last rows of a sort is ~0 and it picks a far slower plan."""
    model = queryset.model
    columns, params = [], []
    for name, value in zip(fields, values, strict=True):
        field = model._meta.get_field(name)
        columns.append(f'"{model._meta.db_table}"."{field.column}"')
        params.append(field.get_db_prep_value(field.to_python(value), connection))
    op = "<=" if desc else ">="
    where = f"({', '.join(columns)}) {op} ({', '.join(['%s'] * len(params))})"
    return queryset.extra(where=[where], params=params).exclude(pk=values[-1])  # noqa: S610


def after(fields: tuple[str, ...], desc: bool, values: list[Any]) -> Q:
    """Rows strictly after `values` in the order of `fields` (a row-value comparison)."""
    op = "lt" if desc else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        equal = {fields[j]: values[j] for j in range(i)}
        condition |= Q(**equal, **{f"{name}__{op}": values[i]})
    # The redundant bound on the first column lets Postgres start its index scan there.
    first_bound = {f"{fields[0]}__{op}e": values[0]}
    return Q(**first_bound) & condition


def keyset_page(queryset: QuerySet, sort: str | None, cursor: str = "", size: int = 50) -> Page:
    """One page of the ordered queryset starting after ``cursor``."""
    alias, desc = parse_sort(sort)
    fields = SORTS[alias]
    rows = ordered(queryset, sort)
    values = decode_cursor(cursor, len(fields)) if cursor else None
    if values is not None:
        with contextlib.suppress(ValueError, TypeError, ValidationError):  # a forged cursor
            if alias == "assignee":  # an annotation, not a column
                rows = rows.filter(after(fields, desc, values))
            else:
                rows = _row_after(rows, fields, desc, values)
    found = list(rows[: size + 1])
    has_more = len(found) > size
    found = found[:size]
    next_cursor = ""
    if has_more and found:
        last = found[-1]
        next_cursor = encode_cursor([getattr(last, f) for f in fields])
    return Page(found, next_cursor, f"-{alias}" if desc else alias)


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counting at most ``cap`` (and whether there are more)."""
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap
