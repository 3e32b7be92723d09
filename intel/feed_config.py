"""Feed configuration as data: validate a feed described as JSON, save it audited, export it.

`import_feeds` / `export_feeds` and the feed form all go through `apply_feed_config`, so a feed
kept in version control and one edited in the browser obey the same rules. Exports never carry
secrets; an import that omits the secret keeps the stored one.
"""

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
# Headers the HTTP client manages itself: a token sent in one of them would never arrive.
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
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


_SECRET_PARAM = re.compile(r"key|token|secret|passw|auth|sig", re.IGNORECASE)


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
        if "@" in urlsplit(url).netloc:
            # The URL is shown on pages and exported: credentials belong in 'auth', write-only.
            _fail(name, "'url' must not contain a user name or password; use 'auth'")
        secret_params = sorted(
            key for key, _ in parse_qsl(urlsplit(url).query) if _SECRET_PARAM.search(key)
        )
        if secret_params:
            # Same reason: the URL is not a secret store. Header auth keeps the key write-only.
            _fail(
                name,
                f"'url' carries what looks like a credential ({', '.join(secret_params)}); "
                'send it as a header with \'auth\': {"header": ..., "token": ...}',
            )
    fmt = data.get("format", "auto")
    if fmt not in FORMATS:
        _fail(name, f"'format' must be one of {', '.join(FORMATS)}")
    parser = data.get("parser") or {}
    if not isinstance(parser, dict) or set(parser) - set(PARSER_KEYS):
        _fail(name, f"'parser' accepts only {', '.join(PARSER_KEYS)}")
    parser = _clean_parser(name, parser)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - DEFAULT_KEYS:
        _fail(name, f"'defaults' accepts only {', '.join(sorted(DEFAULT_KEYS))}")
    if defaults.get("type") and defaults["type"] not in IndicatorType.values:
        _fail(name, f"unknown indicator type {defaults['type']!r}")
    confidence = defaults.get("confidence", 50)
    if not _is_whole(confidence) or not 0 <= confidence <= 100:
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
    if ttl is not None and (not _is_whole(ttl) or ttl < 1):
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
    _check_auth(name, auth)
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


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_parser(name: str, parser: dict[str, Any]) -> dict[str, Any]:
    """Check the parser options' types (a wrong one would only fail later, at pull time)."""
    cleaned: dict[str, Any] = {}
    for key, value in parser.items():
        if value is None:
            continue
        if key == "has_header":
            if not isinstance(value, bool):
                _fail(name, "'parser.has_header' must be true, false or null")
        elif key in ("value_column", "type_column") and _is_whole(value) and value >= 0:
            value = str(value)  # a 0-based column index
        elif not isinstance(value, str):
            _fail(name, f"'parser.{key}' must be a string")
        elif key == "delimiter" and len(value) != 1:
            _fail(name, "'parser.delimiter' must be a single character")
        elif len(value) > 200:
            _fail(name, f"'parser.{key}' is too long")
        cleaned[key] = value
    return cleaned


def _check_auth(name: str, auth: dict[str, Any]) -> None:
    """One kind of credentials, complete, with a header name that HTTP accepts."""
    if not auth:
        return
    if not all(isinstance(value, str) for value in auth.values()):
        _fail(name, "'auth' values must be strings")
    if "header" in auth:
        if set(auth) - {"header", "token"}:
            _fail(name, "'auth' with a 'header' takes only a 'token'")
        if not _HEADER_NAME.match(auth["header"]) or auth["header"].lower() in _RESERVED_HEADERS:
            _fail(name, f"'auth.header' is not a valid request header name: {auth['header']!r}")
    elif "username" in auth:
        if set(auth) - {"username", "password"}:
            _fail(name, "'auth' with a 'username' takes only a 'password'")
    else:
        _fail(name, "'auth' needs a 'header' or a 'username'")


@transaction.atomic
def apply_feed_config(
    values: dict[str, Any], *, actor: Any, feed: Feed | None = None
) -> tuple[Feed, bool]:
    """Create the feed named in `values` or update it, with an audit entry; (feed, created).

    Files and imports match feeds by name; the edit form passes the `feed` it edits, so a
    rename is saved (and audited) with the rest of the change.
    """
    if feed is not None:
        feed = Feed.objects.select_for_update().select_related("source").get(pk=feed.pk)
    else:
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
