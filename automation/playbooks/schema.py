"""The playbook file schema, checked before anything is saved.

A playbook is a JSON object::

    {"name": "...", "description": "...", "enabled": true, "dry_run": false,
     "trigger": "case_created",
     "conditions": {"rule": "Known-bad intel", "indicator_type": ["domain"]},
     "actions": [{"type": "webhook", "url": "https://...", "secret": "...",
                  "body": {"case": "{{ case.id }}"}},
                 {"type": "set_priority", "priority": "P1"},
                 {"type": "resolve", "disposition": "false_positive", "reason": "benign_site"}]}

Unknown keys, triggers, conditions or actions are rejected with an error naming them.
"""

from typing import Any

from automation.models import Trigger

PLAYBOOK_KEYS = {
    "name",
    "description",
    "enabled",
    "dry_run",
    "trigger",
    "conditions",
    "actions",
    "position",
}
REQUIRED_KEYS = {"name", "trigger", "actions"}

# condition -> description (values: a string or a list of strings unless said otherwise)
CONDITIONS = {
    "rule": "rule name(s) of the case or hit",
    "policy": "policy label(s)",
    "priority": "priority/priorities, P1-P4",
    "indicator_type": "type(s) of an indicator involved",
    "tag": "tag(s): an indicator involved has one",
    "source": "source name(s): an indicator involved comes from one",
    "confidence_min": "an indicator involved has at least this confidence (0-100)",
    "disposition": "disposition(s) of the labelled case",
    "feed": "feed name(s) of a failed run",
    "enrichment": 'an object {"provider.field": value}: an indicator has that enrichment value',
}

COMMON_ACTION_KEYS = {"type", "rate_per_minute", "retries", "timeout"}
# action -> (required keys, optional keys)
ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "enrich": (set(), {"force"}),
    "set_priority": ({"priority"}, set()),
    "assign": (set(), {"user", "group"}),
    "tag": ({"tags"}, set()),
    "escalate": (set(), {"note"}),
    "resolve": ({"disposition"}, {"reason", "note"}),
    "add_indicator": ({"value"}, {"indicator_type", "source", "confidence", "tlp", "tags"}),
    "expire_indicator": (set(), {"note"}),
    "allowlist_indicator": (set(), {"reason"}),
    "webhook": ({"url"}, {"secret", "body", "headers"}),
    "takedown": ({"url"}, {"secret", "body", "headers", "method"}),
    "notify": ({"channel"}, {"to", "subject", "body", "url"}),
}


class PlaybookError(ValueError):
    """A playbook definition is invalid; the message names what is wrong."""


def _strings(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(v, str | int) for v in value)


def validate_playbook(data: Any, *, where: str = "playbook") -> dict[str, Any]:
    """Check one playbook definition and return it normalised; raises `PlaybookError`."""
    if not isinstance(data, dict):
        raise PlaybookError(f"{where}: a playbook is a JSON object")
    unknown = sorted(set(data) - PLAYBOOK_KEYS)
    if unknown:
        raise PlaybookError(f"{where}: unknown key(s) {', '.join(unknown)}")
    missing = sorted(REQUIRED_KEYS - set(data))
    if missing:
        raise PlaybookError(f"{where}: missing key(s) {', '.join(missing)}")
    name = data["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise PlaybookError(f"{where}: name is a non-empty string of at most 200 characters")
    where = f"playbook {name!r}"
    if data["trigger"] not in Trigger.values:
        raise PlaybookError(
            f"{where}: unknown trigger {data['trigger']!r} (one of {', '.join(Trigger.values)})"
        )
    for flag in ("enabled", "dry_run"):
        if flag in data and not isinstance(data[flag], bool):
            raise PlaybookError(f"{where}: {flag} is true or false")
    conditions = data.get("conditions") or {}
    if not isinstance(conditions, dict):
        raise PlaybookError(f"{where}: conditions is an object")
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        raise PlaybookError(
            f"{where}: unknown condition(s) {', '.join(unknown)} (known: {', '.join(CONDITIONS)})"
        )
    for key, value in conditions.items():
        if key == "confidence_min":
            if not isinstance(value, int) or not 0 <= value <= 100:
                raise PlaybookError(f"{where}: confidence_min is an integer 0-100")
        elif key == "enrichment":
            if not isinstance(value, dict) or not all("." in k for k in value):
                raise PlaybookError(f'{where}: enrichment is an object {{"provider.field": value}}')
        elif not _strings(value):
            raise PlaybookError(f"{where}: condition {key} is a string or a list of strings")
    actions = data["actions"]
    if not isinstance(actions, list) or not actions:
        raise PlaybookError(f"{where}: actions is a non-empty list")
    for index, action in enumerate(actions, 1):
        validate_action(action, where=f"{where}, action {index}")
    return {
        "name": name.strip(),
        "description": str(data.get("description", "")),
        "enabled": data.get("enabled", True),
        "dry_run": data.get("dry_run", False),
        "trigger": data["trigger"],
        "conditions": conditions,
        "actions": actions,
        "position": int(data.get("position", 100)),
    }


def validate_action(action: Any, *, where: str) -> None:
    """Check one action; raises `PlaybookError` naming unknown types or keys."""
    if not isinstance(action, dict) or "type" not in action:
        raise PlaybookError(f"{where}: an action is an object with a type")
    kind = action["type"]
    if kind not in ACTIONS:
        raise PlaybookError(f"{where}: unknown action {kind!r} (one of {', '.join(ACTIONS)})")
    required, optional = ACTIONS[kind]
    missing = sorted(required - set(action))
    if missing:
        raise PlaybookError(f"{where} ({kind}): missing key(s) {', '.join(missing)}")
    unknown = sorted(set(action) - required - optional - COMMON_ACTION_KEYS)
    if unknown:
        raise PlaybookError(f"{where} ({kind}): unknown key(s) {', '.join(unknown)}")
    if kind == "set_priority" and str(action["priority"]).upper().removeprefix("P") not in {
        "1",
        "2",
        "3",
        "4",
    }:
        raise PlaybookError(f"{where} (set_priority): priority is P1-P4")
    if kind in ("webhook", "takedown", "notify") and "url" in action:
        url = action["url"]
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise PlaybookError(f"{where} ({kind}): url is an http(s) URL")
    if kind == "notify" and action["channel"] not in ("email", "chat"):
        raise PlaybookError(f"{where} (notify): channel is email or chat")
    if kind == "notify" and action["channel"] == "chat" and "url" not in action:
        raise PlaybookError(f"{where} (notify): a chat notification needs a url")
    if kind == "notify" and action["channel"] == "email" and not action.get("to"):
        raise PlaybookError(f"{where} (notify): an email notification needs to")
    if kind == "assign" and not (action.get("user") or action.get("group")):
        raise PlaybookError(f"{where} (assign): give a user or a group (round-robin)")
    if kind == "takedown" and action.get("method", "POST") not in ("POST", "PUT", "DELETE"):
        raise PlaybookError(f"{where} (takedown): method is POST, PUT or DELETE")
    for key in ("rate_per_minute", "retries"):
        if key in action and (not isinstance(action[key], int) or action[key] < 0):
            raise PlaybookError(f"{where} ({kind}): {key} is a non-negative integer")
