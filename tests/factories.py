"""Factories: one function per model, building realistic rows with sensible defaults."""

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tdp.roles import CLEARED_GROUP

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_user(
    username: str | None = None, *, role: str | None = "analyst", cleared: bool = False
) -> Any:
    """A user with a role group (analyst, lead, admin or None) and optional TLP:RED clearance."""
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_counter)}", password=PASSWORD, is_staff=role == "admin"
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if cleared:
        user.groups.add(Group.objects.get(name=CLEARED_GROUP))
    return user


def make_source(name: str | None = None, **fields: Any) -> Any:
    """A source of intel."""
    from intel.models import Source

    return Source.objects.create(name=name or f"source {next(_counter)}", **fields)


def make_indicator(
    value: str | None = None, *, type: str = "domain", sources: tuple = (), **fields: Any
) -> Any:
    """An indicator stored directly (tests of ingestion go through `intel.ingest` instead)."""
    from intel.models import Indicator, IndicatorSource

    indicator = Indicator.objects.create(
        type=type, value=value or f"evil{next(_counter)}.example", **fields
    )
    for source in sources:
        IndicatorSource.objects.create(indicator=indicator, source=source, reference="test")
    return indicator


def make_feed(name: str | None = None, *, url: str = "", **fields: Any) -> Any:
    """A feed with its own source (tests that pull it point `url` at a LocalHTTPServer)."""
    from intel.models import Feed, Source

    name = name or f"feed {next(_counter)}"
    source = Source.objects.create(name=f"Feed: {name}", kind=Source.Kind.FEED)
    return Feed.objects.create(name=name, source=source, url=url, **fields)


def make_feed_run(feed: Any, **fields: Any) -> Any:
    """A recorded run of `feed` (finished successfully unless told otherwise)."""
    from django.utils import timezone

    from intel.models import FeedRun

    fields.setdefault("status", FeedRun.Status.SUCCESS)
    if fields["status"] != FeedRun.Status.RUNNING:
        fields.setdefault("finished_at", timezone.now())
    return FeedRun.objects.create(feed=feed, **fields)


def make_rule(name: str | None = None, *, sources: tuple = (), **fields: Any) -> Any:
    """A detection rule (enabled, live, matching everything unless told otherwise)."""
    from detection.models import Rule

    rule = Rule.objects.create(name=name or f"rule {next(_counter)}", **fields)
    rule.sources.set(sources)
    return rule


def make_content_event(
    text: str = "", *, id: str | None = None, author: str = "a1", **fields: Any
) -> dict[str, Any]:
    """A content event as the platform sends it (a dict, as scan_content reads it)."""
    return {
        "id": id or f"ev{next(_counter)}",
        "kind": "post",
        "occurred_at": "2026-11-25T12:00:00+00:00",
        "author": {"id": author, "handle": f"user_{author}"},
        "text": text,
        "urls": [],
        "hashtags": [],
        "media": [],
        "metadata": {},
        **fields,
    }


def make_case(
    *,
    author: str = "a1",
    value: str | None = None,
    events: int = 1,
    indicator: Any = None,
    **indicator_fields: Any,
) -> Any:
    """A case opened the way production opens one: an indicator, events carrying it, a scan.

    Returns the case grouping the ``events`` hits of ``author`` (the default rule groups per
    author).
    """
    from cases.models import Case
    from detection.scan import forget_matcher, scan_events

    indicator = indicator or make_indicator(value, **indicator_fields)
    forget_matcher()
    scan_events(
        [make_content_event(f"see {indicator.value} now", author=author) for _ in range(events)],
        dry_run=False,
    )
    return Case.objects.filter(hits__indicator=indicator, author_id=author).distinct().get()
