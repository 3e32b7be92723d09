"""Feed pages: who may see and change feeds, the write-only secret, Test feed, health and htmx."""

import logging
from datetime import timedelta

import django_rq
import pytest
from django.test import Client
from django.utils import timezone

from intel.feeds import pull
from intel.models import Feed, FeedRun, Indicator
from tests.factories import make_feed, make_feed_run
from tests.httpserver import LocalHTTPServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_feeds")]

SECRET = "pg-0b5e3a71d-secret"
LIST = "/intel/feeds/"
NEW = "/intel/feeds/new/"


@pytest.fixture
def feed() -> Feed:
    return make_feed(
        "Phish list",
        url="https://feeds.example/phish.csv",
        format="csv",
        parser={"value_column": "url"},
        auth_kind=Feed.AuthKind.HEADER,
        auth_header="Auth-Key",
        auth_secret=SECRET,
        next_run_at=timezone.now(),
    )


def form_data(**changes: object) -> dict:
    data = {
        "name": "New feed",
        "kind": "http",
        "url": "https://feeds.example/new.csv",
        "format": "csv",
        "value_column": "url",
        "comment_prefix": "#",
        "default_type": "url",
        "confidence": 70,
        "severity": "medium",
        "tlp": "GREEN",
        "tags": "phishing, Fresh",
        "ttl_days": 30,
        "mode": "snapshot",
        "schedule": "every 1h",
        "enabled": "on",
        "auth_kind": "header",
        "auth_header": "Auth-Key",
        "auth_secret": SECRET,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def paths(feed: Feed) -> dict[str, str]:
    return {
        "detail": f"/intel/feeds/{feed.pk}/",
        "edit": f"/intel/feeds/{feed.pk}/edit/",
        "delete": f"/intel/feeds/{feed.pk}/delete",
        "pull": f"/intel/feeds/{feed.pk}/pull",
        "test": f"/intel/feeds/{feed.pk}/test",
    }


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "list"),
        ("get", "new"),
        ("get", "detail"),
        ("get", "edit"),
        ("post", "pull"),
        ("post", "test"),
        ("post", "delete"),
    ],
)
def test_anonymous_users_are_sent_to_login(client: Client, feed: Feed, method, name) -> None:
    url = {"list": LIST, "new": NEW, **paths(feed)}[name]

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_users_without_a_role_cannot_read_feeds(nobody, feed: Feed) -> None:
    client = Client()
    client.force_login(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(paths(feed)["detail"]).status_code == 403


@pytest.mark.parametrize("who", ["analyst_client", "lead_client"])
def test_analysts_and_leads_read_feeds_but_change_nothing(
    request: pytest.FixtureRequest, feed: Feed, who: str
) -> None:
    client: Client = request.getfixturevalue(who)
    urls = paths(feed)

    listing = client.get(LIST)
    detail = client.get(urls["detail"])

    assert listing.status_code == 200 and "Phish list" in listing.content.decode()
    assert detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert "Add feed" not in page and "Pull now" not in page and urls["edit"] not in page
    assert client.get(NEW).status_code == 403
    assert client.get(urls["edit"]).status_code == 403
    assert client.post(NEW, form_data()).status_code == 403
    assert client.post(urls["edit"], form_data(name="Renamed")).status_code == 403
    assert client.post(urls["pull"]).status_code == 403
    assert client.post(urls["test"]).status_code == 403
    assert client.post(urls["delete"]).status_code == 403
    assert list(Feed.objects.values_list("name", flat=True)) == ["Phish list"]
    assert django_rq.get_queue("default").count == 0
    assert not FeedRun.objects.exists()


@pytest.mark.parametrize(
    ("method", "name"),
    [("post", "list"), ("get", "pull"), ("get", "test"), ("get", "delete"), ("put", "edit")],
)
def test_wrong_methods_are_refused(admin_client_: Client, feed: Feed, method, name) -> None:
    url = {"list": LIST, **paths(feed)}[name]
    assert getattr(admin_client_, method)(url).status_code == 405


# --- configure (admins) -----------------------------------------------------------------------


def test_an_admin_creates_a_feed_with_a_write_only_secret(admin_client_: Client) -> None:
    form = admin_client_.get(NEW)
    assert form.status_code == 200 and 'name="auth_secret"' in form.content.decode()

    response = admin_client_.post(NEW, form_data())

    feed = Feed.objects.get(name="New feed")
    assert response.status_code == 302 and response["Location"] == feed.get_absolute_url()
    assert (feed.auth_header, feed.auth_secret, feed.tags) == (
        "Auth-Key",
        SECRET,
        ["fresh", "phishing"],
    )
    assert (feed.mode, feed.default_type, feed.parser) == (
        "snapshot",
        "url",
        {"value_column": "url", "comment_prefix": "#"},
    )
    for url in (feed.get_absolute_url(), f"/intel/feeds/{feed.pk}/edit/", LIST):
        page = admin_client_.get(url).content.decode()
        assert SECRET not in page
    assert "stored (hidden)" in admin_client_.get(feed.get_absolute_url()).content.decode()


def test_editing_with_an_empty_secret_keeps_it(admin_client_: Client, feed: Feed) -> None:
    edit = paths(feed)["edit"]
    page = admin_client_.get(edit).content.decode()
    assert SECRET not in page and "A secret is stored." in page

    response = admin_client_.post(edit, form_data(name="Phish list", auth_secret="", confidence=90))

    assert response.status_code == 302
    feed.refresh_from_db()
    assert (feed.confidence, feed.auth_secret) == (90, SECRET)


def test_editing_with_a_new_secret_replaces_it(admin_client_: Client, feed: Feed) -> None:
    admin_client_.post(paths(feed)["edit"], form_data(name="Phish list", auth_secret="new-one-77"))

    feed.refresh_from_db()
    assert feed.auth_secret == "new-one-77"


def test_an_invalid_form_shows_the_error_and_never_the_secret(admin_client_: Client) -> None:
    response = admin_client_.post(NEW, form_data(schedule="every 10s"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "at most once a minute" in page
    assert SECRET not in page
    assert not Feed.objects.exists()


def test_an_invalid_edit_changes_nothing_not_even_the_name(
    admin_client_: Client, feed: Feed
) -> None:
    response = admin_client_.post(
        paths(feed)["edit"], form_data(name="Renamed", schedule="whenever")
    )

    assert response.status_code == 200 and "is not a schedule" in response.content.decode()
    feed.refresh_from_db()
    assert (feed.name, feed.schedule) == ("Phish list", "every 1h")


def test_renaming_a_feed_is_audited(admin_client_: Client, feed: Feed) -> None:
    from tdp.models import AuditEntry

    admin_client_.post(paths(feed)["edit"], form_data(name="Renamed", auth_secret=""))

    feed.refresh_from_db()
    assert feed.name == "Renamed"
    entry = AuditEntry.objects.get(action="feed.update")
    assert entry.changes["name"] == ["Phish list", "Renamed"]


def test_a_private_feed_url_is_refused_on_the_form_saying_why(admin_client_: Client) -> None:
    response = admin_client_.post(NEW, form_data(url="http://192.168.1.10/feed.csv"))

    assert response.status_code == 200
    assert "192.168.1.10 is a private address" in response.content.decode()
    assert not Feed.objects.exists()


def test_a_second_feed_with_the_same_name_is_refused(admin_client_: Client, feed: Feed) -> None:
    response = admin_client_.post(NEW, form_data(name="Phish list"))

    assert response.status_code == 200
    assert "A feed with this name exists already." in response.content.decode()
    assert Feed.objects.count() == 1


def test_an_admin_creates_a_file_feed_with_its_upload(
    admin_client_: Client, settings, tmp_path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    upload = SimpleUploadedFile("list.txt", b"evil.example\n198.51.100.7\n")
    data = form_data(kind="file", url="", format="txt", value_column="", auth_kind="none")

    response = admin_client_.post(NEW, {**data, "file": upload})

    feed = Feed.objects.get(name="New feed")
    assert response.status_code == 302
    assert (feed.kind, feed.auth_secret) == ("file", "")
    assert pull(feed).created == 2


def test_an_admin_deletes_a_feed(admin_client_: Client, feed: Feed) -> None:
    response = admin_client_.post(paths(feed)["delete"])

    assert response.status_code == 302 and response["Location"] == LIST
    assert not Feed.objects.exists()


def test_pull_now_queues_a_job_after_commit(
    admin_client_: Client, admin_user, feed: Feed, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(paths(feed)["pull"], {"force": "1"})

    assert response.status_code == 302 and response["Location"] == feed.get_absolute_url()
    [job] = django_rq.get_queue("default").get_jobs()
    assert job.func_name == "intel.jobs.pull_feed_job"
    assert job.args == (feed.pk, True, "manual", admin_user.pk)


# --- Test feed --------------------------------------------------------------------------------


@pytest.fixture
def served_feed(feed_server, private_urls) -> Feed:
    rows = [f"http://row{i}.example/x" if i % 4 else f"bad row {i}" for i in range(1, 41)]
    feed_server.route("/feed.csv", body="url\n" + "\n".join(rows) + "\n", etag='"t1"')
    return make_feed(
        "Served",
        url=feed_server.url("/feed.csv"),
        format="csv",
        parser={"value_column": "url"},
        default_type="url",
        auth_kind=Feed.AuthKind.HEADER,
        auth_header="Auth-Key",
        auth_secret=SECRET,
    )


def test_test_feed_shows_the_first_rows_and_the_rejects_and_saves_nothing(
    admin_client_: Client, served_feed: Feed, feed_server, caplog
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = admin_client_.post(paths(served_feed)["test"])

    page = response.content.decode()
    assert response.status_code == 200
    assert "nothing was saved" in page and "<html" in page
    assert page.count("row") >= 20
    assert "http://row1.example/x" in page and "http://row26.example/x" in page
    assert "http://row27.example/x" not in page  # only the first 20 rows
    assert "bad row 4" in page and "<td>5</td>" in page  # rejects with their line numbers
    assert SECRET not in page and SECRET not in caplog.text
    assert feed_server.requests[0].headers["auth-key"] == SECRET
    assert (Indicator.objects.count(), FeedRun.objects.count()) == (0, 0)
    served_feed.refresh_from_db()
    assert served_feed.etag == "" and served_feed.last_run_at is None


def test_test_feed_over_htmx_returns_the_fragment(admin_client_: Client, served_feed: Feed) -> None:
    response = admin_client_.post(paths(served_feed)["test"], HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and "nothing was saved" in page


def test_test_feed_shows_why_a_fetch_failed(admin_client_: Client, private_urls) -> None:
    with LocalHTTPServer() as server:
        server.redirect("/feed.csv", "http://169.254.169.254/latest/")
        feed = make_feed(url=server.url("/feed.csv"))
        page = admin_client_.post(paths(feed)["test"]).content.decode()

    assert "redirect refused: 169.254.169.254 is a cloud metadata address" in page


# --- health, history, htmx --------------------------------------------------------------------


def test_a_refused_feed_says_why_on_its_page_and_in_its_run(
    analyst_client: Client, feed_server, private_urls
) -> None:
    feed_server.redirect("/feed.csv", "http://169.254.169.254/latest/meta-data/")
    feed = make_feed("Refused", url=feed_server.url("/feed.csv"))
    run = pull(feed)

    page = analyst_client.get(paths(feed)["detail"]).content.decode()
    listing = analyst_client.get(LIST).content.decode()

    reason = "redirect refused: 169.254.169.254 is a cloud metadata address"
    assert run.error == reason
    assert page.count(reason) >= 2  # the feed's last error and the run's error
    assert reason in listing


def test_the_detail_page_shows_run_history_and_the_last_rejects(
    analyst_client: Client, feed: Feed
) -> None:
    make_feed_run(feed, received=10, created=10)
    make_feed_run(
        feed,
        status=FeedRun.Status.PARTIAL,
        received=12,
        created=9,
        rejected=3,
        errors=[{"line": 7, "reason": "not a valid URL"}, {"line": 11, "reason": "empty value"}],
    )

    page = analyst_client.get(paths(feed)["detail"]).content.decode()

    assert "Rejected rows in the last run" in page
    assert "<td>7</td><td>not a valid URL</td>" in page
    assert "<td>11</td><td>empty value</td>" in page
    assert "run-partial" in page and "run-success" in page
    assert SECRET not in page


def test_the_list_shows_health_with_a_sparkline(analyst_client: Client, feed: Feed) -> None:
    for status in ("success", "failed", "unchanged"):
        make_feed_run(feed, status=status, received=5)
    Feed.objects.filter(pk=feed.pk).update(
        last_success_at=timezone.now() - timedelta(hours=1),
        last_error="the feed server answered HTTP 503",
        indicator_count=1234,
    )

    page = analyst_client.get(LIST).content.decode()

    assert 'class="sparkline"' in page and 'aria-label="last 3 runs"' in page
    assert page.count("<rect") == 3
    assert "the feed server answered HTTP 503" in page and "1234" in page


def test_the_list_refreshes_itself_with_an_htmx_partial(analyst_client: Client, feed: Feed) -> None:
    page = analyst_client.get(LIST).content.decode()
    partial = analyst_client.get(LIST, HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 15s"' in page
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="feed-results"') and "<html" not in body
    assert "Phish list" in body
    assert "HX-Request" in partial["Vary"]
    sorted_page = analyst_client.get(LIST + "?sort=-name").content.decode()
    assert 'hx-get="/intel/feeds/?sort=-name"' in sorted_page  # a refresh keeps the sort


def test_the_list_costs_a_fixed_number_of_queries(
    analyst_client: Client, django_assert_max_num_queries
) -> None:
    for n in range(15):
        feed = make_feed(f"feed {n:02d}")
        for _ in range(25):
            make_feed_run(feed)

    with django_assert_max_num_queries(10):
        response = analyst_client.get(LIST)

    assert response.status_code == 200
    assert response.content.decode().count("<rect") == 15 * 20  # at most 20 runs per sparkline


def test_a_manual_pull_records_who_asked_for_it(admin_user, feed: Feed) -> None:
    from intel.jobs import pull_feed_job

    pull_feed_job(feed.pk, False, "manual", admin_user.pk)
    assert feed.runs.get().triggered_by == admin_user


def test_the_test_of_a_red_feed_hides_its_values_from_admins_who_are_not_cleared(
    served_feed: Feed,
) -> None:
    from tests.factories import make_user

    served_feed.tlp = "RED"
    served_feed.save()
    for cleared, visible in ((False, False), (True, True)):
        client = Client()
        client.force_login(make_user(role="admin", cleared=cleared))
        html = client.post(paths(served_feed)["test"]).content.decode()
        assert ("row1.example" in html) is visible
        assert ("only to users cleared" in html) is not visible
