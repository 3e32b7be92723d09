"""Playbooks as files: create or update by name from JSON, export back, and the enabled
playbooks of a trigger. Every change is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from automation.models import Playbook
from automation.playbooks.runner import describe
from automation.playbooks.schema import validate_playbook
from tdp.audit import diff, record, snapshot

FIELDS = ("description", "is_enabled", "dry_run", "trigger", "conditions", "actions", "position")


@transaction.atomic
def save_playbook(data: dict[str, Any], *, actor: Any) -> tuple[Playbook, bool]:
    """Create or update the playbook named in ``data`` (validated first); (playbook, created)."""
    from automation.outbox import forget_consumers

    clean = validate_playbook(data)
    values = {
        "description": clean["description"],
        "is_enabled": clean["enabled"],
        "dry_run": clean["dry_run"],
        "trigger": clean["trigger"],
        "conditions": clean["conditions"],
        "actions": clean["actions"],
        "position": clean["position"],
    }
    playbook = Playbook.objects.select_for_update().filter(name=clean["name"]).first()
    created = playbook is None
    before = {} if created else snapshot(playbook, FIELDS)
    if created:
        playbook = Playbook.objects.create(name=clean["name"], **values)
    else:
        for name, value in values.items():
            setattr(playbook, name, value)
        playbook.save()
    changes = diff(before, snapshot(playbook, FIELDS))
    if "actions" in changes:  # the trail shows actions as the pages do: secrets masked
        old, new = changes["actions"]
        masked = [[describe(a) for a in side or []] for side in (old, new)]
        changes["actions"] = masked if masked[0] != masked[1] else ["•••", "•••"]
    if changes:
        record(
            "playbook.created" if created else "playbook.updated",
            playbook,
            actor=actor,
            changes=changes,
        )
    transaction.on_commit(forget_consumers)
    return playbook, created


def export_playbook(playbook: Playbook) -> dict[str, Any]:
    """The playbook as its file form (secrets included: exports are for version control under
    the team's own access rules; the pages never show them)."""
    return {
        "name": playbook.name,
        "description": playbook.description,
        "enabled": playbook.is_enabled,
        "dry_run": playbook.dry_run,
        "trigger": playbook.trigger,
        "position": playbook.position,
        "conditions": playbook.conditions,
        "actions": playbook.actions,
    }


def playbooks_for(trigger: str) -> list[Playbook]:
    """Enabled playbooks of ``trigger``, in their running order."""
    return list(
        Playbook.objects.filter(trigger=trigger, is_enabled=True).order_by("position", "name")
    )
