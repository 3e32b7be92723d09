"""Feed configuration as data: validate a feed described as JSON, save it audited, export it.

`import_feeds` / `export_feeds` and the feed form all go through `apply_feed_config`, so a feed
kept in version control and one edited in the browser obey the same rules. Exports never carry
secrets; an import that omits the secret keeps the stored one.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from intel.feeds import PARSER_KEYS, next_run_after, validate_schedule
from intel.models import TLP, Feed, IndicatorType, Severity, Source
from intel.parsers import FORMATS
from tdp import audit, http

TOP_KEYS = {
    "name",
    "kind",
    "url",
    "format",
    "parser",
    "defaults",
    "mode",
    "schedule",
    "enabled",
    "auth",
}
DEFAULT_KEYS = {"type", "confidence", "severity", "tlp", "tags", "ttl_days"}
AUTH_KEYS = {"header", "token", "username", "password"}
AUDITED_FIELDS = (
    "name",
    "kind",
    "url",
    "format",
    "parser",
    "default_type",
    "confidence",
    "severity",
    "tlp",
    "tags",
    "ttl_days",
    "mode",
    "schedule",
    "enabled",
    "auth_kind",
    "auth_header",
    "auth_username",
)


class FeedConfigError(ValueError):
    """A feed description is invalid; the message names the feed and the offending key."""


def _fail(name: str, message: str) -> None:
    raise FeedConfigError(f"feed {name or '(unnamed)'}: {message}")


def clean_feed_config(data: Any) -> dict[str, Any]:
    """Validate one feed description and return it as Feed field values.

    Unknown keys are errors (a typo must not silently do nothing).
    """
    if not isinstance(data, dict):
        raise FeedConfigError("each feed must be a JSON object")
    name = str(data.get("name") or "").strip()
    if not name:
        _fail("", "'name' is required")
    unknown = set(data) - TOP_KEYS
    if unknown:
        _fail(name, f"unknown keys: {', '.join(sorted(unknown))}")
    kind = data.get("kind", Feed.Kind.HTTP)
    if kind not in Feed.Kind.values:
        _fail(name, f"'kind' must be one of {', '.join(Feed.Kind.values)}")
    url = str(data.get("url") or "").strip()
    if kind in (Feed.Kind.HTTP, Feed.Kind.TAXII):
        if not url:
            _fail(name, f"a {kind} feed needs a 'url'")
        try:
            http.check_url(url, resolve=False)
        except http.TransportError as exc:
            _fail(name, f"'url' is not allowed: {exc}")
    fmt = data.get("format", "auto")
    if fmt not in FORMATS:
        _fail(name, f"'format' must be one of {', '.join(FORMATS)}")
    parser = data.get("parser") or {}
    if not isinstance(parser, dict) or set(parser) - set(PARSER_KEYS):
        _fail(name, f"'parser' accepts only {', '.join(PARSER_KEYS)}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - DEFAULT_KEYS:
        _fail(name, f"'defaults' accepts only {', '.join(sorted(DEFAULT_KEYS))}")
    if defaults.get("type") and defaults["type"] not in IndicatorType.values:
        _fail(name, f"unknown indicator type {defaults['type']!r}")
    confidence = defaults.get("confidence", 50)
    if not isinstance(confidence, int) or not 0 <= confidence <= 100:
        _fail(name, "'defaults.confidence' must be a whole number from 0 to 100")
    tlp = str(defaults.get("tlp", TLP.AMBER)).upper().removeprefix("TLP:")
    if tlp not in TLP.values:
        _fail(name, f"'defaults.tlp' must be one of {', '.join(TLP.values)}")
    severity = defaults.get("severity", Severity.MEDIUM)
    if severity not in Severity.values:
        _fail(name, f"'defaults.severity' must be one of {', '.join(Severity.values)}")
    tags = defaults.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        _fail(name, "'defaults.tags' must be a list of strings")
    ttl = defaults.get("ttl_days")
    if ttl is not None and (not isinstance(ttl, int) or ttl < 1):
        _fail(name, "'defaults.ttl_days' must be a positive whole number")
    mode = data.get("mode", Feed.Mode.INCREMENTAL)
    if mode not in Feed.Mode.values:
        _fail(name, f"'mode' must be one of {', '.join(Feed.Mode.values)}")
    try:
        schedule = validate_schedule(str(data.get("schedule", "every 1h")))
    except ValueError as exc:
        _fail(name, str(exc))
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        _fail(name, "'enabled' must be true or false")
    auth = data.get("auth") or {}
    if not isinstance(auth, dict) or set(auth) - AUTH_KEYS:
        _fail(name, f"'auth' accepts only {', '.join(sorted(AUTH_KEYS))}")
    values: dict[str, Any] = {
        "name": name[:200],
        "kind": kind,
        "url": url,
        "format": fmt,
        "parser": parser,
        "default_type": defaults.get("type") or "",
        "confidence": confidence,
        "severity": severity,
        "tlp": tlp,
        "tags": sorted({t.strip().lower()[:64] for t in tags if t.strip()}),
        "ttl_days": ttl,
        "mode": mode,
        "schedule": schedule,
        "enabled": enabled,
        "auth_kind": Feed.AuthKind.NONE,
        "auth_header": "",
        "auth_username": "",
    }
    if "header" in auth:
        values.update(auth_kind=Feed.AuthKind.HEADER, auth_header=str(auth["header"]))
        if auth.get("token"):
            values["auth_secret"] = str(auth["token"])
    elif "username" in auth:
        values.update(auth_kind=Feed.AuthKind.BASIC, auth_username=str(auth["username"]))
        if auth.get("password"):
            values["auth_secret"] = str(auth["password"])
    return values


@transaction.atomic
def apply_feed_config(values: dict[str, Any], *, actor: Any) -> tuple[Feed, bool]:
    """Create the feed named in `values` or update it, with an audit entry; (feed, created)."""
    feed = Feed.objects.select_for_update().filter(name=values["name"]).first()
    created = feed is None
    if created:
        source, _ = Source.objects.get_or_create(
            name=f"Feed: {values['name']}"[:200], defaults={"kind": Source.Kind.FEED}
        )
        feed = Feed(source=source)
    before = {} if created else audit.snapshot(feed, AUDITED_FIELDS)
    secret_changed = "auth_secret" in values and values["auth_secret"] != feed.auth_secret
    for key, value in values.items():
        setattr(feed, key, value)
    if feed.auth_kind == Feed.AuthKind.NONE:
        secret_changed = secret_changed or bool(feed.auth_secret)
        feed.auth_secret = ""
    if created or feed.next_run_at is None:
        feed.next_run_at = timezone.now()  # a new feed is pulled at the next scheduler tick
    elif before.get("schedule") != feed.schedule:
        feed.next_run_at = next_run_after(feed.schedule, timezone.now())
    feed.source.default_confidence, feed.source.default_tlp = feed.confidence, feed.tlp
    feed.source.ttl_days = feed.ttl_days
    feed.source.save(update_fields=["default_confidence", "default_tlp", "ttl_days"])
    feed.save()
    changes = audit.diff(before, audit.snapshot(feed, AUDITED_FIELDS))
    if secret_changed:
        changes["auth_secret"] = ["(hidden)", "(changed)"]
    if created or changes:
        audit.record(
            "feed.create" if created else "feed.update", feed, actor=actor, changes=changes
        )
    return feed, created


def export_feed_config(feed: Feed) -> dict[str, Any]:
    """A feed as the JSON `import_feeds` reads; secrets are never included."""
    data: dict[str, Any] = {
        "name": feed.name,
        "kind": feed.kind,
        "url": feed.url,
        "format": feed.format,
        "parser": feed.parser,
        "defaults": {
            "confidence": feed.confidence,
            "severity": feed.severity,
            "tlp": feed.tlp,
            "tags": list(feed.tags),
        },
        "mode": feed.mode,
        "schedule": feed.schedule,
        "enabled": feed.enabled,
    }
    if feed.default_type:
        data["defaults"]["type"] = feed.default_type
    if feed.ttl_days:
        data["defaults"]["ttl_days"] = feed.ttl_days
    if feed.auth_kind == Feed.AuthKind.HEADER:
        data["auth"] = {"header": feed.auth_header}
    elif feed.auth_kind == Feed.AuthKind.BASIC:
        data["auth"] = {"username": feed.auth_username}
    return data


@transaction.atomic
def delete_feed(feed: Feed, *, actor: Any) -> None:
    """Delete a feed and its run history (its indicators and their provenance stay)."""
    audit.record("feed.delete", feed, actor=actor, changes={"name": [feed.name, None]})
    feed.delete()
