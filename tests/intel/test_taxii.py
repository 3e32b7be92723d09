"""TAXII 2.1 feeds (intel.taxii) against a small fake TAXII collection on 127.0.0.1.

The fake serves a collection's objects in pages of two, filtered by `added_after`, with the
`more` / `next` envelope fields and the X-TAXII-Date-Added-First/Last headers of TAXII 2.1.
"""

import base64
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from intel.feeds import preview, pull
from intel.models import Feed, FeedRun, Indicator
from intel.taxii import MEDIA_TYPE
from tests.factories import make_feed
from tests.httpserver import Route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_feeds", "private_urls")]

COLLECTION = "/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
OBJECTS = COLLECTION + "objects/"


def indicator(pattern: str) -> dict:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-11-20T10:00:00Z",
    }


def domain(value: str) -> dict:
    return indicator(f"[domain-name:value = '{value}']")


class FakeCollection:
    """The objects endpoint of one TAXII 2.1 collection, paging `page_size` objects at a time."""

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.objects: list[tuple[str, dict]] = []  # (date added, STIX object), oldest first

    def add(self, added: str, obj: dict) -> None:
        self.objects.append((added, obj))

    def __call__(self, request) -> Route:
        query = parse_qs(urlsplit(request.path).query)
        after = query.get("added_after", [""])[0]
        start = int(query.get("next", ["0"])[0])
        matching = [item for item in self.objects if item[0] > after]
        page = matching[start : start + self.page_size]
        more = start + self.page_size < len(matching)
        envelope: dict = {"more": more}
        if page:
            envelope["objects"] = [obj for _, obj in page]
        if more:
            envelope["next"] = str(start + self.page_size)
        headers = {"Content-Type": MEDIA_TYPE}
        if page:
            headers["X-TAXII-Date-Added-First"] = page[0][0]
            headers["X-TAXII-Date-Added-Last"] = page[-1][0]
        return Route(json=envelope, headers=headers)


@pytest.fixture
def collection(feed_server) -> FakeCollection:
    fake = FakeCollection()
    fake.add("2026-11-25T10:00:01.000Z", domain("one.example"))
    fake.add(
        "2026-11-25T10:00:02.000Z", {"type": "relationship", "id": f"relationship--{uuid.uuid4()}"}
    )
    fake.add("2026-11-25T10:00:03.000Z", domain("two.example"))
    fake.add("2026-11-25T10:00:04.000Z", domain("not a domain"))
    fake.add("2026-11-25T10:00:05.000Z", indicator("[ipv4-addr:value = '198.51.100.9']"))
    feed_server.route(OBJECTS, handler=fake)
    return fake


def taxii_feed(feed_server, **fields: object) -> Feed:
    return make_feed(url=feed_server.url(COLLECTION), kind=Feed.Kind.TAXII, format="stix", **fields)


def queries(feed_server) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(r.path).query) for r in feed_server.requests]


def test_a_pull_pages_through_the_collection_with_more_and_next(feed_server, collection) -> None:
    feed = taxii_feed(feed_server)

    run = pull(feed)

    assert [q.get("next") for q in queries(feed_server)] == [None, ["2"], ["4"]]
    assert all(q["limit"] == ["1000"] and "added_after" not in q for q in queries(feed_server))
    assert all(r.path.startswith(OBJECTS) for r in feed_server.requests)
    assert all(r.headers["accept"] == MEDIA_TYPE for r in feed_server.requests)
    assert run.status == FeedRun.Status.PARTIAL
    assert (run.received, run.created, run.rejected, run.skipped) == (4, 3, 1, 1)
    assert run.errors[0]["line"] == 4  # numbered across pages: the 4th object of the collection
    assert run.bytes > 0
    assert set(Indicator.objects.values_list("value", flat=True)) == {
        "one.example",
        "two.example",
        "198.51.100.9",
    }
    feed.refresh_from_db()
    assert feed.taxii_added_after == "2026-11-25T10:00:05.000Z"


def test_the_next_pull_asks_only_for_objects_added_since(feed_server, collection) -> None:
    feed = taxii_feed(feed_server)
    pull(feed)
    collection.add("2026-11-25T11:00:00.000Z", domain("three.example"))
    feed_server.requests.clear()

    run = pull(feed)

    assert queries(feed_server) == [
        {"limit": ["1000"], "added_after": ["2026-11-25T10:00:05.000Z"]}
    ]
    assert (run.status, run.received, run.created) == (FeedRun.Status.SUCCESS, 1, 1)
    feed.refresh_from_db()
    assert feed.taxii_added_after == "2026-11-25T11:00:00.000Z"


def test_a_pull_with_nothing_new_keeps_the_bookmark(feed_server, collection) -> None:
    feed = taxii_feed(feed_server, taxii_added_after="2026-11-25T10:00:05.000Z")

    run = pull(feed)

    assert (run.status, run.received) == (FeedRun.Status.SUCCESS, 0)
    feed.refresh_from_db()
    assert feed.taxii_added_after == "2026-11-25T10:00:05.000Z"


def test_a_forced_pull_reads_the_whole_collection_again(feed_server, collection) -> None:
    feed = taxii_feed(feed_server, taxii_added_after="2026-11-25T10:00:05.000Z")

    run = pull(feed, force=True)

    assert "added_after" not in queries(feed_server)[0]
    assert run.created == 3


def test_a_snapshot_taxii_feed_reads_the_whole_collection_and_expires_what_left(
    feed_server, collection
) -> None:
    feed = taxii_feed(feed_server, mode=Feed.Mode.SNAPSHOT)
    pull(feed)
    del collection.objects[0]  # one.example is withdrawn from the collection
    feed_server.requests.clear()

    run = pull(feed)

    assert all("added_after" not in q for q in queries(feed_server))
    assert (run.created, run.unchanged, run.expired) == (0, 2, 1)
    assert Indicator.objects.get(value="one.example").status == "expired"


def test_a_server_without_next_is_paged_by_added_after(feed_server, collection) -> None:
    def without_next(request) -> Route:
        route = collection(request)
        route.json.pop("next", None)
        return route

    feed_server.route(OBJECTS, handler=without_next)
    feed = taxii_feed(feed_server)

    run = pull(feed)

    assert [q.get("added_after") for q in queries(feed_server)] == [
        None,
        ["2026-11-25T10:00:02.000Z"],
        ["2026-11-25T10:00:04.000Z"],
    ]
    assert run.created == 3


def test_a_server_repeating_its_cursor_fails_the_run_instead_of_looping(feed_server) -> None:
    page = {"more": True, "next": "same", "objects": [domain("loop.example")]}
    feed_server.route(OBJECTS, json=page, headers={"Content-Type": MEDIA_TYPE})
    feed = taxii_feed(feed_server)

    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    assert "cursor" in run.error
    assert len(feed_server.requests) <= 3
    assert Indicator.objects.count() == 0


def test_basic_auth_is_sent_and_kept_out_of_the_run(feed_server, collection) -> None:
    feed = taxii_feed(
        feed_server,
        auth_kind=Feed.AuthKind.BASIC,
        auth_username="reader",
        auth_secret="taxii-pass-93",
    )

    run = pull(feed)

    expected = "Basic " + base64.b64encode(b"reader:taxii-pass-93").decode()
    assert all(r.headers["authorization"] == expected for r in feed_server.requests)
    assert "taxii-pass-93" not in str(run.as_dict())


def test_a_page_failing_midway_lands_nothing_and_keeps_the_bookmark(
    feed_server, collection
) -> None:
    def second_page_breaks(request) -> Route:
        return Route(status=500) if "next=" in request.path else collection(request)

    feed_server.route(OBJECTS, handler=second_page_breaks)
    feed = taxii_feed(feed_server, taxii_added_after="2026-11-25T00:00:00.000Z")

    run = pull(feed)

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "the TAXII server answered HTTP 500")
    assert len(feed_server.requests) == 4  # page 1, then page 2 tried three times
    assert Indicator.objects.count() == 0
    feed.refresh_from_db()
    assert feed.taxii_added_after == "2026-11-25T00:00:00.000Z"


def test_an_answer_that_is_not_json_fails_the_run(feed_server) -> None:
    feed_server.route(OBJECTS, body="<html>login</html>", headers={"Content-Type": "text/html"})

    run = pull(taxii_feed(feed_server))

    assert (run.status, run.error) == (
        FeedRun.Status.FAILED,
        "the TAXII server did not answer with JSON",
    )


def test_an_unauthorised_answer_fails_the_run(feed_server) -> None:
    feed_server.route(OBJECTS, status=401, json={"title": "auth required"})

    run = pull(taxii_feed(feed_server))

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "the TAXII server answered HTTP 401")
    assert len(feed_server.requests) == 1


def test_preview_reads_only_the_first_page(feed_server, collection) -> None:
    result = preview(taxii_feed(feed_server))

    assert len(feed_server.requests) == 1
    assert [row["value"] for row in result.rows] == ["one.example"]
    assert Indicator.objects.count() == 0
