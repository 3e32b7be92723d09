"""The cases API's filters (the queue's, plus P1-P4 priorities and rule names) and its
cursor paging over the full queue order."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from cases.filters import CaseFilter
from cases.models import Case, Priority
from cases.queue import after

QUEUE_ORDER = ("priority", "sla_due_at", "id")
PRIORITY_LABELS = [label for _, label in Priority.choices]


# --- Filters ----------------------------------------------------------------------------------


class PriorityField(forms.CharField):
    """A priority written as 1-4 or P1-P4 (any case), cleaned to its number."""

    def to_python(self, value: Any) -> int | None:
        text = (super().to_python(value) or "").strip().upper().removeprefix("P")
        if not text:
            return None
        if text not in {"1", "2", "3", "4"}:
            raise forms.ValidationError("Priority is 1-4 or P1-P4.", code="invalid")
        return int(text)


@extend_schema_field({"type": "string", "pattern": "^[Pp]?[1-4]$", "example": "P1"})
class PriorityFilter(django_filters.Filter):
    """Cases of one priority, given as 1-4 or P1-P4."""

    field_class = PriorityField


class CaseAPIFilter(CaseFilter):
    """The queue's filters, with the forms scripts write: `priority=P1`, `rule=<name>`."""

    priority = PriorityFilter(field_name="priority")
    rule = django_filters.CharFilter(method="filter_rule", label="Rule (id or exact name)")

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A rule id or a rule's exact name."""
        value = value.strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(Q(rule_id=int(value)) | Q(rule__name=value))
        return queryset.filter(rule__name=value)


# --- Paging -----------------------------------------------------------------------------------


class CaseCursorPagination(CursorPagination):
    """Pages in queue order (priority, SLA due time, id) with `next`/`previous` cursor links.

    DRF's cursor keeps only the first ordering field as its position and counts ties with an
    offset capped at 1,000, which breaks on a queue holding thousands of cases of one priority.
    Here the position is the whole, unique (priority, sla_due_at, id) key: a page starts
    exactly after the last case of the one before, even when cases are claimed in between.
    """

    page_size = 50
    max_page_size = 500
    page_size_query_param = "limit"
    ordering = QUEUE_ORDER

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Case] | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        position = self.cursor.position if self.cursor else None
        queryset = queryset.order_by(*(f"-{f}" if reverse else f for f in QUEUE_ORDER))
        if position is not None:
            queryset = queryset.filter(after(QUEUE_ORDER, reverse, self._key(position)))
        found = list(queryset[: self.page_size + 1])
        more = len(found) > self.page_size
        self.page = found[: self.page_size]
        if reverse:
            self.page.reverse()
        self.has_next = position is not None if reverse else more
        self.has_previous = more if reverse else position is not None
        self.display_page_controls = self.has_next or self.has_previous
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        position = self._position(self.page[-1]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    @staticmethod
    def _position(case: Case) -> str:
        return f"{case.priority}|{case.sla_due_at.isoformat()}|{case.pk}"

    def _key(self, position: str) -> list[Any]:
        """The (priority, sla_due_at, id) in a cursor; 404 for a cursor that is not ours."""
        try:
            priority, due, pk = position.split("|")
            key = [int(priority), datetime.fromisoformat(due), int(pk)]
            if key[1].tzinfo is None:
                raise ValueError("a naive time")
            return key
        except ValueError as exc:
            raise exceptions.NotFound(self.invalid_cursor_message) from exc
