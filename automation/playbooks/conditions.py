"""Whether a playbook's conditions hold for a trigger's context, and which values matched.

Every condition must hold. List conditions hold when any of their values matches; conditions on
indicators hold when any indicator involved satisfies them.
"""

from typing import Any

from automation.playbooks.context import lookup


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _priority(value: Any) -> str:
    text = str(value).upper()
    return text if text.startswith("P") else f"P{text}"


def evaluate(conditions: dict[str, Any], ctx: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(all conditions hold, {condition: the value that matched or failed})."""
    subject = ctx.get("case") or ctx.get("hit") or {}
    indicators = ctx.get("indicators") or []
    seen: dict[str, Any] = {}
    for key, wanted in conditions.items():
        ok, found = _check(key, wanted, subject, indicators, ctx)
        seen[key] = {"wanted": wanted, "found": found, "ok": ok}
        if not ok:
            return False, seen
    return True, seen


def _check(
    key: str, wanted: Any, subject: dict, indicators: list[dict], ctx: dict
) -> tuple[bool, Any]:
    if key == "rule":
        found = subject.get("rule")
        return found in _as_list(wanted), found
    if key == "policy":
        found = subject.get("policy")
        return found in _as_list(wanted), found
    if key == "priority":
        found = subject.get("priority")
        return found in {_priority(v) for v in _as_list(wanted)}, found
    if key == "disposition":
        found = subject.get("disposition")
        return found in _as_list(wanted), found
    if key == "feed":
        found = (ctx.get("feed") or {}).get("name")
        return found in _as_list(wanted), found
    if key == "indicator_type":
        found = sorted({i["type"] for i in indicators})
        return bool(set(found) & set(_as_list(wanted))), found
    if key == "tag":
        found = sorted({t for i in indicators for t in i["tags"]})
        return bool(set(found) & {t.lower() for t in _as_list(wanted)}), found
    if key == "source":
        found = sorted({s for i in indicators for s in i["sources"]})
        return bool(set(found) & set(_as_list(wanted))), found
    if key == "confidence_min":
        found = max((i["confidence"] for i in indicators), default=None)
        return found is not None and found >= wanted, found
    if key == "enrichment":
        for path, value in wanted.items():
            values = [lookup(i["enrichment"], path) for i in indicators]
            if value not in values:
                return False, {path: values}
        return True, wanted
    return False, None
