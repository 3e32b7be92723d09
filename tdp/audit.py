"""The one audit trail: every state change of intel, cases and settings writes an entry here.

Call `record()` inside the transaction that makes the change (service functions are decorated
with `transaction.atomic`), so the entry exists exactly when the change does. `snapshot()` and
`diff()` build the `changes` mapping `{field: [before, after]}`.
"""

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Cast

from tdp.logging import request_id_var
from tdp.models import AuditEntry


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Return the object's concrete field values (or only `fields`) as JSON-safe data.

    Fields whose name suggests a secret are never copied into the audit trail.
    """
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {
        name: _jsonable(getattr(obj, name))
        for name in names
        if not any(word in name for word in ("secret", "password", "token", "api_key"))
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return `{field: [before, after]}` for every field whose value changed."""
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        key: [before.get(key), after.get(key)] for key in keys if before.get(key) != after.get(key)
    }


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    actor: Any = None,
    changes: Mapping[str, Any] | None = None,
    note: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """Write one audit entry for `action` on `obj` by `actor` (None for the system/jobs)."""
    entry = _entry(action, obj, actor, changes, note, object_repr)
    entry.save()
    return entry


def record_many(
    action: str,
    changed: Iterable[tuple[models.Model, Mapping[str, Any]]],
    *,
    actor: Any = None,
    note: str = "",
) -> list[AuditEntry]:
    """`record` for many objects changed the same way, in one INSERT: (object, changes) pairs."""
    entries = [_entry(action, obj, actor, changes, note, "") for obj, changes in changed]
    return AuditEntry.objects.bulk_create(entries)


def _entry(
    action: str,
    obj: models.Model | None,
    actor: Any,
    changes: Mapping[str, Any] | None,
    note: str,
    object_repr: str,
) -> AuditEntry:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry(
        user=user,
        user_name=user.get_username() if user else (str(actor) if actor else "system"),
        request_id=request_id_var.get(),
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:300],
        changes=_jsonable(dict(changes or {})),
        note=note,
    )


def entries_for(obj: models.Model) -> models.QuerySet[AuditEntry]:
    """The audit history of one object, newest first."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).select_related("user")


def visible_entries(user: Any) -> models.QuerySet[AuditEntry]:
    """The audit trail as `user` may read it: entries about TLP:RED indicators need clearance.

    An entry names its object (an indicator's type and value) and carries its changes, so for
    users who are not cleared the entries of indicators that are TLP:RED now are left out.
    """
    from intel.models import TLP, Indicator  # audit is shared; intel is one of its users
    from tdp.roles import is_cleared

    entries = AuditEntry.objects.all()
    if is_cleared(user):
        return entries
    red_ids = (
        Indicator.objects.filter(tlp=TLP.RED)
        .annotate(id_text=Cast("pk", models.CharField()))
        .values("id_text")
    )
    return entries.exclude(
        content_type=ContentType.objects.get_for_model(Indicator), object_id__in=red_ids
    )
