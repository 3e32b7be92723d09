"""Pulling feeds (intel.feeds) against real HTTP servers on 127.0.0.1.

Every failure mode of the network ends in a recorded FeedRun: timeouts, 5xx with retries,
refused redirects, oversized bodies; conditional GET skips unchanged content; a pull never runs
twice at once; snapshot feeds expire what vanished, incremental ones age out by TTL.
"""

import gzip
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
from django.db import connection
from django.utils import timezone
from rq.cron import CronScheduler
from rq.timeouts import JobTimeoutException

from intel import feeds
from intel.feeds import FeedBusy, due_feeds, next_run_after, preview, pull, validate_schedule
from intel.jobs import enqueue_due_feeds_job, enqueue_pull, pull_feed_job
from intel.lifecycle import expire_due_indicators
from intel.models import Feed, FeedRun, Indicator, IndicatorSource, Status
from tdp import http
from tests.factories import make_feed, make_feed_run, make_indicator, make_source
from tests.httpserver import ENDLESS, LocalHTTPServer, Route

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_feeds")]

ROOT = Path(__file__).resolve().parents[2]
CSV = (
    "# phishing URLs, generated 2026-11-25\n"
    "id,url,threat\n"
    "1,http://phish-one.example/login,phishing\n"
    "2,https://phish-two.example/verify,phishing\n"
    "3,not a url,phishing\n"
    "4,http://phish-three.example/a?b=c,phishing\n"
)
CSV_URLS = {
    "http://phish-one.example/login",
    "https://phish-two.example/verify",
    "http://phish-three.example/a?b=c",
}
SECRET = "tok-7f3a9c1e-very-secret"


def csv_feed(url: str, **fields: object) -> Feed:
    fields.setdefault("format", "csv")
    fields.setdefault("parser", {"value_column": "url", "comment_prefix": "#"})
    fields.setdefault("default_type", "url")
    return make_feed(url=url, **fields)


def url_values() -> set[str]:
    return set(Indicator.objects.values_list("value", flat=True))


# --- the happy path ---------------------------------------------------------------------------


def test_a_pull_ingests_the_feed_and_records_a_partial_run(feed_server, private_urls) -> None:
    feed_server.route("/feed.csv", body=CSV)
    feed = csv_feed(feed_server.url("/feed.csv"), tags=["phishing"], confidence=70, tlp="GREEN")

    run = pull(feed)

    assert run.status == FeedRun.Status.PARTIAL
    assert (run.received, run.created, run.updated, run.rejected) == (4, 3, 0, 1)
    assert run.errors == [{"line": 5, "reason": run.errors[0]["reason"]}]
    assert run.bytes == len(CSV.encode())
    assert run.finished_at >= run.started_at and run.duration_ms is not None
    assert url_values() == CSV_URLS
    indicator = Indicator.objects.get(value="http://phish-one.example/login")
    assert (indicator.confidence, indicator.tlp, indicator.tags) == (70, "GREEN", ["phishing"])
    feed.refresh_from_db()
    assert feed.indicator_count == 3 and feed.last_error == ""
    assert feed.last_success_at is not None and feed.next_run_at > timezone.now()


def test_a_clean_pull_is_a_success_and_a_repull_changes_nothing(feed_server, private_urls) -> None:
    feed_server.route("/ok.csv", body="url\nhttp://a.example/x\nhttp://b.example/y\n")
    feed = csv_feed(feed_server.url("/ok.csv"))

    first = pull(feed)
    again = pull(feed, force=True)

    assert (first.status, first.created) == (FeedRun.Status.SUCCESS, 2)
    assert (again.status, again.created, again.updated, again.unchanged) == ("success", 0, 0, 2)
    assert IndicatorSource.objects.filter(source=feed.source).count() == 2


# --- network failures -------------------------------------------------------------------------


def test_a_slow_server_times_out_and_the_run_says_so(feed_server, private_urls, settings) -> None:
    settings.TDP_FEED_TIMEOUT = 0.3
    settings.TDP_FEED_RETRY_DELAYS = []
    feed_server.route("/slow.csv", body=CSV, delay=10)
    feed = csv_feed(feed_server.url("/slow.csv"))

    started = time.monotonic()
    run = pull(feed)

    assert time.monotonic() - started < 3
    assert run.status == FeedRun.Status.FAILED
    assert "timed out after 0.3 s" in run.error
    assert Indicator.objects.count() == 0
    feed.refresh_from_db()
    assert "timed out" in feed.last_error and feed.last_success_at is None


def test_a_server_that_drips_its_body_times_out_mid_ingest(
    feed_server, private_urls, settings
) -> None:
    settings.TDP_FEED_TIMEOUT = 0.5
    feed_server.route("/drip.csv", body=CSV * 50, chunk_size=16, drip=0.05)
    feed = csv_feed(feed_server.url("/drip.csv"))

    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    assert "timed out after 0.5 s" in run.error
    assert Indicator.objects.count() == 0  # the half-read body landed nowhere


def test_a_5xx_is_retried_then_the_run_fails(feed_server, private_urls, caplog) -> None:
    feed_server.route("/boom.csv", status=500, body=b"oops")
    feed = csv_feed(feed_server.url("/boom.csv"))

    with caplog.at_level(logging.WARNING, logger="intel.feeds"):
        run = pull(feed)

    assert len(feed_server.requests) == 3  # TDP_FEED_RETRY_DELAYS = [0, 0]: two retries
    assert run.status == FeedRun.Status.FAILED
    assert "HTTP 500" in run.error
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2


def test_a_5xx_then_a_good_answer_succeeds_on_the_retry(feed_server, private_urls) -> None:
    answers = iter([Route(status=503), Route(body="url\nhttp://late.example/x\n")])
    feed_server.route("/flaky.csv", handler=lambda request: next(answers))
    feed = csv_feed(feed_server.url("/flaky.csv"))

    run = pull(feed)

    assert (run.status, run.created) == (FeedRun.Status.SUCCESS, 1)
    assert len(feed_server.requests) == 2


def test_a_404_fails_without_retrying(feed_server, private_urls) -> None:
    feed = csv_feed(feed_server.url("/missing.csv"))

    run = pull(feed)

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "the feed server answered HTTP 404")
    assert len(feed_server.requests) == 1


def test_a_refused_connection_is_retried_then_fails(private_urls) -> None:
    with LocalHTTPServer() as gone:
        url = gone.url("/feed.csv")
    feed = csv_feed(url)

    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    assert "could not connect to 127.0.0.1" in run.error


@pytest.mark.parametrize("private", [False, True], ids=["private-refused", "private-allowed"])
def test_a_redirect_to_the_metadata_address_is_refused(
    feed_server, settings, private: bool
) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = private
    feed_server.redirect("/feed.csv", "http://169.254.169.254/latest/meta-data/iam/")
    feed = csv_feed(feed_server.url("/feed.csv"))

    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    if private:
        assert run.error == "redirect refused: 169.254.169.254 is a cloud metadata address"
        assert len(feed_server.requests) == 1  # a refusal is final: no retry
    else:
        assert run.error == "127.0.0.1 is a loopback address"  # the feed URL itself is refused
        assert feed_server.requests == []
    feed.refresh_from_db()
    assert feed.last_error == run.error


def test_an_endless_body_is_cut_at_the_size_cap_quickly(
    feed_server, private_urls, settings
) -> None:
    settings.TDP_FEED_MAX_BYTES = 16 * 1024
    feed_server.route("/big.csv", stream=ENDLESS)
    feed = csv_feed(feed_server.url("/big.csv"))

    started = time.monotonic()
    run = pull(feed)

    assert time.monotonic() - started < 3
    assert run.status == FeedRun.Status.FAILED
    assert run.error == "response exceeds 16384 bytes"
    assert run.bytes <= 16384  # never more than the cap reached the parser
    assert Indicator.objects.count() == 0


def test_a_declared_2_gb_body_is_refused_before_reading(
    feed_server, private_urls, settings
) -> None:
    settings.TDP_FEED_MAX_BYTES = 1024**2
    feed_server.route("/liar.csv", stream=ENDLESS, content_length=2 * 1024**3)
    feed = csv_feed(feed_server.url("/liar.csv"))

    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    assert run.error == "response declares 2147483648 bytes, over the 1048576 byte limit"
    assert len(feed_server.requests) == 1  # the size will not shrink on a retry


def test_a_compressed_feed_over_the_cap_is_cut_and_lands_nothing(
    feed_server, private_urls, settings
) -> None:
    settings.TDP_FEED_MAX_BYTES = 200_000
    body = "url\n" + "".join(f"http://host{i}.example/p\n" for i in range(20_000))
    packed = gzip.compress(body.encode())
    assert len(packed) < 200_000 < len(body)  # declared size passes, the inflated body doesn't
    feed_server.route("/over.csv", body=packed, headers={"Content-Encoding": "gzip"})
    feed = csv_feed(feed_server.url("/over.csv"))

    run = pull(feed)

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "response exceeds 200000 bytes")
    assert Indicator.objects.count() == 0


def test_a_body_that_is_not_text_fails_with_the_parser_reason(feed_server, private_urls) -> None:
    feed_server.route("/zeros.csv", stream=4096)
    feed = csv_feed(feed_server.url("/zeros.csv"))

    run = pull(feed)

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "not a text file (binary content)")


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (http.TransportError("timed out after 5 s (feeds.example)"), True),
        (http.TransportError("could not connect to feeds.example port 443"), True),
        (http.TransportError("the feed server answered HTTP 502"), True),
        (http.BlockedAddressError("feeds.example resolves to 10.0.0.1, a private address"), False),
        (http.TransportError("URL has no host"), False),
        (http.TransportError("response exceeds 1024 bytes"), False),
        (http.TransportError("TLS certificate of feeds.example was not accepted: expired"), False),
        (http.TransportError("request header Auth-Key has an invalid value"), False),
    ],
)
def test_only_failures_a_retry_can_cure_are_retried(error, retry: bool) -> None:
    assert feeds.is_retryable(error) is retry


def test_a_token_the_client_cannot_send_fails_at_once_without_echoing_it(
    feed_server, private_urls
) -> None:
    feed = csv_feed(
        feed_server.url("/feed.csv"),
        auth_kind=Feed.AuthKind.HEADER,
        auth_header="Auth-Key",
        auth_secret="line\nbreak-secret",
    )

    run = pull(feed)

    assert (run.status, run.error) == ("failed", "request header Auth-Key has an invalid value")
    assert feed_server.requests == []


# --- conditional GET --------------------------------------------------------------------------


def test_an_unchanged_etag_skips_the_pull_and_a_changed_one_pulls_again(
    feed_server, private_urls
) -> None:
    route = feed_server.route("/feed.csv", body=CSV, etag='"v1"')
    feed = csv_feed(feed_server.url("/feed.csv"))

    first = pull(feed)
    feed.refresh_from_db()
    assert (first.status, feed.etag) == (FeedRun.Status.PARTIAL, '"v1"')

    second = pull(feed)
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
    assert second.status == FeedRun.Status.UNCHANGED
    assert (second.received, second.created, second.rejected, second.bytes) == (0, 0, 0, 0)

    route.body, route.etag = CSV + "5,http://phish-four.example/,phishing\n", '"v2"'
    third = pull(feed)
    assert (third.status, third.created, third.unchanged) == (FeedRun.Status.PARTIAL, 1, 3)
    feed.refresh_from_db()
    assert feed.etag == '"v2"' and feed.indicator_count == 4


def test_last_modified_is_sent_back_and_a_304_is_unchanged(feed_server, private_urls) -> None:
    stamp = "Wed, 25 Nov 2026 10:00:00 GMT"

    def answer(request) -> Route:
        if request.headers.get("if-modified-since") == stamp:
            return Route(status=304)
        return Route(body="url\nhttp://lm.example/x\n", headers={"Last-Modified": stamp})

    feed_server.route("/lm.csv", handler=answer)
    feed = csv_feed(feed_server.url("/lm.csv"))

    assert pull(feed).status == FeedRun.Status.SUCCESS
    assert pull(feed).status == FeedRun.Status.UNCHANGED
    assert pull(feed, force=True).status == FeedRun.Status.SUCCESS
    assert "if-modified-since" not in feed_server.requests[-1].headers


def test_an_unchanged_snapshot_expires_nothing(feed_server, private_urls) -> None:
    feed_server.route("/snap.csv", body="url\nhttp://a.example/x\n", etag='"s1"')
    feed = csv_feed(feed_server.url("/snap.csv"), mode=Feed.Mode.SNAPSHOT)
    pull(feed)

    run = pull(feed)

    assert (run.status, run.expired) == (FeedRun.Status.UNCHANGED, 0)
    assert Indicator.objects.get().status == Status.ACTIVE


def test_a_failed_pull_keeps_the_previous_etag(feed_server, private_urls) -> None:
    route = feed_server.route("/feed.csv", body=CSV, etag='"v1"')
    feed = csv_feed(feed_server.url("/feed.csv"))
    pull(feed)
    route.status, route.etag = 500, None

    pull(feed)

    feed.refresh_from_db()
    assert feed.etag == '"v1"'


# --- secrets ----------------------------------------------------------------------------------


def test_the_auth_header_reaches_the_server_but_no_run_or_log(
    feed_server, private_urls, caplog
) -> None:
    feed_server.route("/feed.csv", body=CSV)
    feed = csv_feed(
        feed_server.url("/feed.csv"),
        auth_kind=Feed.AuthKind.HEADER,
        auth_header="Auth-Key",
        auth_secret=SECRET,
    )

    with caplog.at_level(logging.DEBUG):
        run = pull(feed)

    assert feed_server.requests[0].headers["auth-key"] == SECRET
    assert SECRET not in json.dumps(run.as_dict())
    assert SECRET not in str(list(FeedRun.objects.values()))
    assert SECRET not in caplog.text
    assert caplog.records  # the pull did log


def test_a_refused_pull_with_a_secret_logs_no_secret(feed_server, private_urls, caplog) -> None:
    feed_server.route("/feed.csv", status=401, body=f"bad key {SECRET}")
    feed = csv_feed(
        feed_server.url("/feed.csv"),
        auth_kind=Feed.AuthKind.BASIC,
        auth_username="reader",
        auth_secret=SECRET,
    )

    with caplog.at_level(logging.DEBUG):
        run = pull(feed)

    assert feed_server.requests[0].headers["authorization"].startswith("Basic ")
    assert (run.status, run.error) == (FeedRun.Status.FAILED, "the feed server answered HTTP 401")
    assert SECRET not in caplog.text


def test_the_auth_header_does_not_follow_a_redirect_to_another_origin(private_urls) -> None:
    with LocalHTTPServer() as origin, LocalHTTPServer() as other:
        other.route("/feed.csv", body="url\nhttp://x.example/\n")
        origin.redirect("/feed.csv", other.url("/feed.csv"))
        feed = csv_feed(
            origin.url("/feed.csv"),
            auth_kind=Feed.AuthKind.HEADER,
            auth_header="Auth-Key",
            auth_secret=SECRET,
        )

        run = pull(feed)

    assert run.status == FeedRun.Status.SUCCESS
    assert origin.requests[0].headers["auth-key"] == SECRET
    assert "auth-key" not in other.requests[0].headers


# --- one pull at a time -----------------------------------------------------------------------


def test_a_second_pull_while_one_is_running_raises_feed_busy(feed_server, private_urls) -> None:
    feed = csv_feed(feed_server.url("/feed.csv"))
    make_feed_run(feed, status=FeedRun.Status.RUNNING)

    with pytest.raises(FeedBusy, match="already being pulled"):
        pull(feed)

    assert feed_server.requests == []
    assert FeedRun.objects.filter(feed=feed).count() == 1
    assert pull_feed_job(feed.pk) is None  # the job shrugs: the running pull does the work


def test_a_running_row_older_than_the_job_timeout_is_closed_as_failed(
    feed_server, private_urls, settings
) -> None:
    feed_server.route("/feed.csv", body="url\nhttp://x.example/\n")
    feed = csv_feed(feed_server.url("/feed.csv"))
    dead = make_feed_run(feed, status=FeedRun.Status.RUNNING)
    FeedRun.objects.filter(pk=dead.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.TDP_FEED_JOB_TIMEOUT + 5)
    )

    run = pull(feed)

    dead.refresh_from_db()
    assert dead.status == FeedRun.Status.FAILED and dead.finished_at is not None
    assert "stopped before it finished" in dead.error
    assert run.status == FeedRun.Status.SUCCESS


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_pulls_of_one_feed_run_once(feed_server, private_urls) -> None:
    body = "url\n" + "".join(f"http://x{i}.example/\n" for i in range(20))
    feed_server.route("/drip.csv", body=body, chunk_size=64, drip=0.2)
    feed = csv_feed(feed_server.url("/drip.csv"))
    outcome: list[object] = []

    def background() -> None:
        try:
            outcome.append(pull(Feed.objects.get(pk=feed.pk)))
        finally:
            connection.close()

    thread = threading.Thread(target=background)
    thread.start()
    deadline = time.monotonic() + 5
    while not feed_server.requests and time.monotonic() < deadline:
        time.sleep(0.02)

    with pytest.raises(FeedBusy):
        pull(feed)
    thread.join(10)

    assert [run.status for run in outcome] == [FeedRun.Status.SUCCESS]
    assert len(feed_server.requests) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_pull_blocks_nothing_for_good_and_leaves_no_duplicates(
    feed_server, settings, command_env
) -> None:
    settings.TDP_ALLOW_PRIVATE_URLS = True
    rows = 300
    body = "url\n" + "".join(f"http://killed{i}.example/x\n" for i in range(rows))
    route = feed_server.route("/drip.csv", body=body, chunk_size=256, drip=0.2)
    feed = csv_feed(feed_server.url("/drip.csv"))
    env = dict(command_env, TDP_ALLOW_PRIVATE_URLS="1", TDP_FEED_TIMEOUT="60")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "pull_feed", feed.name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            feed_server.requests and FeedRun.objects.filter(feed=feed, status="running").exists()
        ):
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # a few chunks into the body: the worker is inside ingest()
        assert worker.poll() is None
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.communicate()

    [stale] = FeedRun.objects.filter(feed=feed)
    assert stale.status == FeedRun.Status.RUNNING
    assert Indicator.objects.count() == 0
    with pytest.raises(FeedBusy):  # within the job timeout the row still holds the lock
        pull(feed)

    settings.TDP_FEED_JOB_TIMEOUT = 1
    time.sleep(1.1)
    route.drip = 0
    run = pull(feed)

    stale.refresh_from_db()
    assert stale.status == FeedRun.Status.FAILED and stale.finished_at is not None
    assert (run.status, run.created) == (FeedRun.Status.SUCCESS, rows)
    again = pull(feed, force=True)
    assert (again.created, again.unchanged) == (0, rows)
    assert Indicator.objects.count() == rows
    assert IndicatorSource.objects.filter(source=feed.source).count() == rows


def test_a_pull_stopped_by_the_job_timeout_says_so(feed_server, private_urls, monkeypatch) -> None:
    feed_server.route("/feed.csv", body=CSV)
    feed = csv_feed(feed_server.url("/feed.csv"))

    def too_slow(*args, **kwargs):
        raise JobTimeoutException("Task exceeded maximum timeout value (3600 seconds)")

    monkeypatch.setattr(feeds, "ingest", too_slow)
    run = pull(feed)

    assert run.status == FeedRun.Status.FAILED
    assert run.error == "the pull took longer than the job timeout (3600 s)"


def test_a_worker_stopping_mid_pull_closes_its_run(feed_server, private_urls, monkeypatch) -> None:
    feed_server.route("/feed.csv", body=CSV)
    feed = csv_feed(feed_server.url("/feed.csv"))

    def stop(*args, **kwargs):
        raise SystemExit(1)

    monkeypatch.setattr(feeds, "ingest", stop)
    with pytest.raises(SystemExit):
        pull(feed)

    [run] = FeedRun.objects.filter(feed=feed)
    assert (run.status, run.error) == (FeedRun.Status.FAILED, "the pull was interrupted")
    assert run.finished_at is not None


# --- snapshot and incremental -----------------------------------------------------------------


def _two_lists(feed_server) -> object:
    return feed_server.route(
        "/list.csv", body="url\nhttp://a.example/1\nhttp://b.example/2\nhttp://c.example/3\n"
    )


def test_a_snapshot_feed_expires_indicators_that_left_it(feed_server, private_urls) -> None:
    route = _two_lists(feed_server)
    feed = csv_feed(feed_server.url("/list.csv"), mode=Feed.Mode.SNAPSHOT)
    make_indicator("http://c.example/3", type="url", sources=(make_source(),))
    pull(feed)
    route.body = "url\nhttp://d.example/4\n"

    run = pull(feed, force=True)

    assert (run.created, run.expired) == (1, 2)
    statuses = dict(Indicator.objects.values_list("value", "status"))
    assert statuses == {
        "http://a.example/1": Status.EXPIRED,
        "http://b.example/2": Status.EXPIRED,
        "http://c.example/3": Status.ACTIVE,  # another source still reports it
        "http://d.example/4": Status.ACTIVE,
    }


def test_an_incremental_feed_leaves_missing_indicators_to_their_ttl(
    feed_server, private_urls
) -> None:
    route = _two_lists(feed_server)
    feed = csv_feed(feed_server.url("/list.csv"), mode=Feed.Mode.INCREMENTAL, ttl_days=30)
    pull(feed)
    route.body = "url\nhttp://d.example/4\n"

    run = pull(feed, force=True)

    assert (run.created, run.expired) == (1, 0)
    assert set(Indicator.objects.values_list("status", flat=True)) == {Status.ACTIVE}
    expires = Indicator.objects.get(value="http://a.example/1").expires_at
    assert abs(expires - (timezone.now() + timedelta(days=30))) < timedelta(minutes=5)
    assert expire_due_indicators(now=timezone.now() + timedelta(days=31)) == 4


def test_a_snapshot_whose_rows_are_all_rejected_expires_nothing(feed_server, private_urls) -> None:
    route = _two_lists(feed_server)
    feed = csv_feed(feed_server.url("/list.csv"), mode=Feed.Mode.SNAPSHOT)
    pull(feed)
    route.body = "url\nnot a url\nneither\n"

    run = pull(feed, force=True)

    assert (run.status, run.rejected, run.expired) == (FeedRun.Status.PARTIAL, 2, 0)
    assert set(Indicator.objects.values_list("status", flat=True)) == {Status.ACTIVE}


# --- uploaded-file feeds ----------------------------------------------------------------------


def test_a_file_feed_pulls_its_upload(settings, tmp_path) -> None:
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = str(tmp_path)
    feed = make_feed(kind=Feed.Kind.FILE, format="txt")
    feed.file.save("list.txt", ContentFile(b"evil.example\n198.51.100.7\n"))

    run = pull(feed)

    assert (run.status, run.created) == (FeedRun.Status.SUCCESS, 2)


def test_a_file_feed_without_its_file_fails_saying_so() -> None:
    run = pull(make_feed(kind=Feed.Kind.FILE))

    assert (run.status, run.error) == (FeedRun.Status.FAILED, "this feed has no file uploaded")


# --- preview ("Test feed") --------------------------------------------------------------------


def test_preview_shows_the_first_rows_and_rejects_and_saves_nothing(
    feed_server, private_urls
) -> None:
    lines = [f"http://p{i}.example/x" if i % 5 else f"bad value {i}" for i in range(1, 200)]
    feed_server.route("/feed.csv", body="url\n" + "\n".join(lines) + "\n", etag='"p1"')
    feed = csv_feed(feed_server.url("/feed.csv"))

    result = preview(feed)

    assert len(result.rows) == 20 and result.error == ""
    assert result.rows[0] == {"line": 2, "type": "url", "value": "http://p1.example/x"}
    assert [r["line"] for r in result.rejects[:2]] == [6, 11]
    assert (Indicator.objects.count(), FeedRun.objects.count()) == (0, 0)
    feed.refresh_from_db()
    assert feed.etag == ""


def test_preview_of_a_big_feed_of_junk_stops_early(feed_server, private_urls, settings) -> None:
    settings.TDP_FEED_MAX_BYTES = 3 * 1024**2  # the parser reads 1 MiB blocks
    body = "url\n" + "".join(f"junk {i}\n" for i in range(450_000))  # 5.5 MB
    packed = gzip.compress(body.encode())
    feed_server.route("/junk.csv", body=packed, headers={"Content-Encoding": "gzip"})
    feed = csv_feed(feed_server.url("/junk.csv"))

    result = preview(feed)

    assert result.error == ""  # reading it all would have passed the size cap
    assert result.rows == [] and len(result.rejects) == 20
    assert result.rejects[0]["line"] == 2


def test_preview_reports_a_network_failure(feed_server, private_urls) -> None:
    feed_server.route("/boom.csv", status=502)
    result = preview(csv_feed(feed_server.url("/boom.csv")))

    assert result.error == "the feed server answered HTTP 502"


# --- schedules and the scheduler tick ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("every 15m", "every 15m"), ("Every  6H", "every 6h"), ("*/30 * * * *", "*/30 * * * *")],
)
def test_valid_schedules_are_cleaned(text: str, expected: str) -> None:
    assert validate_schedule(text) == expected


@pytest.mark.parametrize("text", ["every 30s", "hourly", "every 1w", "* * * *", "@hourly", ""])
def test_invalid_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"schedule|once a minute"):
        validate_schedule(text)


def test_next_run_after_follows_intervals_and_cron() -> None:
    now = timezone.now().replace(minute=7, second=0, microsecond=0)
    assert next_run_after("every 6h", now) == now + timedelta(hours=6)
    assert next_run_after("*/30 * * * *", now) == now.replace(minute=30)


def test_due_feeds_claims_each_due_feed_once() -> None:
    now = timezone.now()
    due = make_feed(next_run_at=now - timedelta(minutes=1), schedule="every 1h")
    make_feed(next_run_at=now + timedelta(minutes=5))
    make_feed(next_run_at=now - timedelta(minutes=1), enabled=False)
    make_feed(next_run_at=None)

    assert due_feeds(now) == [due.pk]
    assert due_feeds(now) == []
    due.refresh_from_db()
    assert due.next_run_at == now + timedelta(hours=1)


def test_a_claim_lost_to_another_scheduler_is_skipped(monkeypatch) -> None:
    now = timezone.now()
    feed = make_feed(next_run_at=now - timedelta(minutes=1))
    real_next_run_after = feeds.next_run_after

    def racing(schedule: str, after):
        # Another scheduler claims the feed between our read and our conditional UPDATE.
        Feed.objects.filter(pk=feed.pk).update(next_run_at=after + timedelta(minutes=30))
        return real_next_run_after(schedule, after)

    monkeypatch.setattr(feeds, "next_run_after", racing)
    assert due_feeds(now) == []


def test_the_tick_queues_a_pull_of_each_due_feed_once(django_capture_on_commit_callbacks) -> None:
    due = make_feed(next_run_at=timezone.now() - timedelta(minutes=1))
    queue = django_rq.get_queue("default")

    with django_capture_on_commit_callbacks(execute=True):
        assert enqueue_due_feeds_job() == [due.pk]
        assert enqueue_due_feeds_job() == []

    [job] = queue.get_jobs()
    assert (job.func_name, job.args) == ("intel.jobs.pull_feed_job", (due.pk,))
    assert job.timeout == 3600


def test_the_cron_tick_is_registered_every_minute() -> None:
    scheduler = CronScheduler(connection=django_rq.get_connection("high"))
    scheduler.load_config_from_file("tdp/cron.py")

    [tick] = [job for job in scheduler.get_jobs() if job.func is enqueue_due_feeds_job]
    assert (tick.interval, tick.queue_name) == (60, "high")


def test_pull_now_is_queued_after_commit(django_capture_on_commit_callbacks) -> None:
    feed = make_feed()
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_pull(feed, force=True)
        assert queue.get_jobs() == []

    assert callbacks
    [job] = queue.get_jobs()
    assert job.args == (feed.pk, True, FeedRun.Trigger.MANUAL, None)


def test_the_pull_job_of_a_deleted_feed_does_nothing() -> None:
    assert pull_feed_job(987654) is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_burst_worker_runs_the_tick_and_then_the_pull(feed_server, private_urls) -> None:
    feed_server.route("/feed.csv", body=CSV)
    feed = csv_feed(feed_server.url("/feed.csv"), next_run_at=timezone.now())
    django_rq.get_queue("high").enqueue(enqueue_due_feeds_job)

    assert django_rq.get_worker("high", "default").work(burst=True)

    [run] = FeedRun.objects.filter(feed=feed)
    assert (run.status, run.trigger, run.created) == ("partial", FeedRun.Trigger.SCHEDULE, 3)
    assert url_values() == CSV_URLS
