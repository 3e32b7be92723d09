"""Pulling feeds: fetch (HTTP(S), TAXII 2.1 or an uploaded file), parse, ingest, record the run.

`pull(feed)` is the one entry point: the RQ job, the "Pull now" button and `pull_feed` all call
it. A pull never runs twice at once for one feed (the database allows one `running` FeedRun per
feed), skips unchanged content with a conditional GET, retries transient network errors with
backoff, and records a FeedRun whatever happens. Ingestion is one transaction, so a worker killed
mid-pull leaves nothing half-imported; the next pull marks the dead run failed and starts over.
"""

import base64
import logging
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from automation.models import Trigger
from automation.outbox import emit
from intel import taxii
from intel.ingest import IngestResult, IngestSpec, ingest
from intel.models import Feed, FeedRun, IndicatorSource
from intel.normalize import NormalizationError, normalize
from intel.parsers import ParseError, ParserOptions, Rejected, Skipped, parse
from tdp import http

logger = logging.getLogger(__name__)

PARSER_KEYS = (
    "value_column",
    "type_column",
    "delimiter",
    "comment_prefix",
    "has_header",
    "json_value_path",
    "json_type_path",
    "json_list_path",
)
PREVIEW_ROWS = 20
# "Test feed" reads at most this many records looking for rows to show, so a feed of junk (or a
# huge one) answers in a moment instead of being read to the end.
PREVIEW_SCAN_LIMIT = 10_000
# Failures a second attempt cannot cure (tdp.http reports them by reason only): a malformed or
# refused URL or redirect, a body over the size cap, a certificate that is not accepted, a bad
# header. Anything else (connection trouble, timeouts, 5xx) is retried.
_PERMANENT_MARKERS = (
    "URL ",
    "not a valid host name",
    "redirect refused",
    "too many redirects",
    "response declares",
    "response exceeds",
    "TLS certificate",
    "request header",
)
_INTERVAL = re.compile(r"^every\s+(\d+)\s*(s|m|h|d)$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class FeedBusy(Exception):
    """Another pull of this feed is running."""


def is_retryable(exc: http.TransportError) -> bool:
    """Whether another attempt might succeed (network trouble, timeouts, 5xx)."""
    if isinstance(exc, http.BlockedAddressError):
        return False
    return not any(marker in exc.reason for marker in _PERMANENT_MARKERS)


def validate_schedule(text: str) -> str:
    """Return the schedule cleaned, or raise ValueError saying what a valid one looks like."""
    text = " ".join(text.split())
    match = _INTERVAL.match(text)
    if match:
        if int(match.group(1)) * _UNITS[match.group(2).lower()] < 60:
            raise ValueError("a feed may be pulled at most once a minute")
        return text.lower()
    if croniter.is_valid(text) and len(text.split()) == 5:
        return text
    raise ValueError(
        f"{text!r} is not a schedule: use 'every 15m', 'every 6h', 'every 1d' or a 5-field cron "
        "expression such as '*/30 * * * *'"
    )


def next_run_after(schedule: str, after: datetime) -> datetime:
    """When a feed with this schedule is next due after `after`."""
    match = _INTERVAL.match(schedule)
    if match:
        return after + timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])
    return croniter(schedule, after).get_next(datetime)


def parser_options(feed: Feed) -> ParserOptions:
    """The parser options a feed's configuration asks for."""
    options = {
        key: feed.parser[key] for key in PARSER_KEYS if feed.parser.get(key) not in (None, "")
    }
    return ParserOptions(
        format=feed.format or "auto", default_type=feed.default_type or None, **options
    )


def ingest_spec(feed: Feed) -> IngestSpec:
    """The defaults a feed stamps on its indicators."""
    return IngestSpec(
        source=feed.source,
        type=feed.default_type or None,
        confidence=feed.confidence,
        tlp=feed.tlp,
        severity=feed.severity,
        tags=list(feed.tags),
        ttl_days=feed.ttl_days,
        snapshot=feed.mode == Feed.Mode.SNAPSHOT,
    )


def auth_headers(feed: Feed) -> dict[str, str]:
    """Request headers carrying the feed's credentials (never logged: tdp.http logs no headers)."""
    if feed.auth_kind == Feed.AuthKind.HEADER and feed.auth_header and feed.auth_secret:
        return {feed.auth_header: feed.auth_secret}
    if feed.auth_kind == Feed.AuthKind.BASIC and feed.auth_secret:
        token = base64.b64encode(f"{feed.auth_username}:{feed.auth_secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


class _CountingReader:
    """A read-only binary stream that counts the bytes passing through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.bytes += count or 0
        return count

    def readable(self) -> bool:
        return True


@dataclass
class Fetched:
    """What a fetch produced: a body to parse, or None when the server said it is unchanged."""

    stream: _CountingReader | None
    etag: str = ""
    last_modified: str = ""


def _open_response(feed: Feed, headers: dict[str, str]) -> tuple[ExitStack, Any]:
    """Send the GET, retrying connection failures, timeouts and 5xx answers with backoff.

    Only the request is retried: once the body is being read, a failure ends the pull (the
    next scheduled pull starts over; ingestion is idempotent).
    """
    delays = list(settings.TDP_FEED_RETRY_DELAYS)
    while True:
        stack = ExitStack()
        try:
            response = stack.enter_context(
                http.stream(
                    "GET",
                    feed.url,
                    headers=headers,
                    timeout=settings.TDP_FEED_TIMEOUT,
                    max_bytes=settings.TDP_FEED_MAX_BYTES,
                )
            )
            if response.status >= 500:
                raise http.TransportError(f"the feed server answered HTTP {response.status}")
            return stack, response
        except http.TransportError as exc:
            stack.close()
            if not delays or not is_retryable(exc):
                raise
            delay = delays.pop(0)
            logger.warning("feed %s fetch failed (%s); retrying in %ss", feed.pk, exc, delay)
            time.sleep(delay)


@contextmanager
def fetch(feed: Feed, *, force: bool = False) -> Iterator[Fetched]:
    """Open a feed's content for reading: its file, or HTTP with a conditional GET and retries."""
    if feed.kind == Feed.Kind.FILE:
        if not feed.file:
            raise ParseError("this feed has no file uploaded")
        with feed.file.open("rb") as handle:
            yield Fetched(_CountingReader(handle))
        return
    headers = auth_headers(feed)
    if not force:
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
    stack, response = _open_response(feed, headers)
    with stack:
        if response.status == 304:
            yield Fetched(None, feed.etag, feed.last_modified)
        elif response.status >= 400:
            raise http.TransportError(f"the feed server answered HTTP {response.status}")
        else:
            yield Fetched(
                _CountingReader(response.as_file()),
                response.headers.get("etag", ""),
                response.headers.get("last-modified", ""),
            )


def _start_run(feed: Feed, trigger: str, user: Any) -> FeedRun:
    """Create the `running` row, or raise FeedBusy when another pull holds it.

    A `running` row older than the job timeout belonged to a worker that died: it is closed as
    failed first, so a crashed pull never blocks the feed for good.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.TDP_FEED_JOB_TIMEOUT)
    FeedRun.objects.filter(
        feed=feed, status=FeedRun.Status.RUNNING, started_at__lt=stale_before
    ).update(
        status=FeedRun.Status.FAILED,
        finished_at=timezone.now(),
        error="the worker running this pull stopped before it finished",
    )
    try:
        with transaction.atomic():
            return FeedRun.objects.create(
                feed=feed,
                trigger=trigger,
                triggered_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:
        raise FeedBusy(f"feed {feed.name!r} is already being pulled") from exc


def _rows(feed: Feed, fetched: Fetched) -> Iterator:
    return parse(fetched.stream, parser_options(feed), filename=feed.url or feed.file.name)


def pull(
    feed: Feed, *, force: bool = False, trigger: str = FeedRun.Trigger.MANUAL, user: Any = None
) -> FeedRun:
    """Pull one feed now and return its finished FeedRun (raises FeedBusy if one is running)."""
    run = _start_run(feed, trigger, user)
    started = time.perf_counter()
    result: IngestResult | None = None
    counted: Any = None  # what read the body (TaxiiPages or _CountingReader), for run.bytes
    try:
        if feed.kind == Feed.Kind.TAXII:
            # A snapshot is the whole collection every time (what is gone expires); only an
            # incremental feed asks for the objects added since the last pull.
            full = force or feed.mode == Feed.Mode.SNAPSHOT
            counted = taxii.TaxiiPages(feed, force=full)
            result = ingest(counted.rows(), ingest_spec(feed))
            feed.taxii_added_after = counted.added_after or feed.taxii_added_after
        else:
            with fetch(feed, force=force) as fetched:
                if fetched.stream is None:
                    run.status = FeedRun.Status.UNCHANGED
                else:
                    counted = fetched.stream
                    result = ingest(_rows(feed, fetched), ingest_spec(feed))
                    feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
        if result is not None:
            run.status = FeedRun.Status.PARTIAL if result.rejected else FeedRun.Status.SUCCESS
        feed.last_success_at, feed.last_error = timezone.now(), ""
    except (http.TransportError, ParseError) as exc:
        run.status, run.error = FeedRun.Status.FAILED, str(exc)
    except JobTimeoutException:
        run.status = FeedRun.Status.FAILED
        run.error = f"the pull took longer than the job timeout ({settings.TDP_FEED_JOB_TIMEOUT} s)"
    except Exception as exc:
        logger.exception("feed %s pull %s crashed", feed.pk, run.pk)
        run.status, run.error = FeedRun.Status.FAILED, f"internal error: {type(exc).__name__}"
    except BaseException:
        # The worker is being stopped: close the run so it does not hold the feed until the
        # job timeout, then let the stop proceed.
        FeedRun.objects.filter(pk=run.pk).update(
            status=FeedRun.Status.FAILED,
            finished_at=timezone.now(),
            error="the pull was interrupted",
        )
        raise
    if counted is not None:
        run.bytes = counted.bytes
    if result is not None:
        for name in FeedRun.COUNT_FIELDS:
            setattr(run, name, getattr(result, name))
        run.errors = result.errors
    run.finished_at = timezone.now()
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.save()
    if run.status == FeedRun.Status.FAILED:
        feed.last_error = run.error
        emit(Trigger.FEED_RUN_FAILED, "feed_run", run.pk)
    elif result is not None:
        feed.indicator_count = IndicatorSource.objects.filter(source_id=feed.source_id).count()
    feed.last_run_at = run.finished_at
    feed.next_run_at = next_run_after(feed.schedule, run.finished_at)
    feed.save(
        update_fields=[
            "etag",
            "last_modified",
            "taxii_added_after",
            "last_run_at",
            "last_success_at",
            "last_error",
            "next_run_at",
            "indicator_count",
        ]
    )
    logger.info(
        "feed %s run %s %s in %sms: %s",
        feed.pk,
        run.pk,
        run.status,
        run.duration_ms,
        {name: getattr(run, name) for name in FeedRun.COUNT_FIELDS},
    )
    return run


@dataclass
class Preview:
    """The result of "Test feed": the first parsed rows and rejects, nothing saved."""

    rows: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    skipped: int
    error: str = ""


def preview(feed: Feed, limit: int = PREVIEW_ROWS) -> Preview:
    """Fetch and parse a feed and normalise its first rows, saving nothing ("Test feed")."""
    out = Preview(rows=[], rejects=[], skipped=0)
    try:
        with ExitStack() as stack:
            if feed.kind == Feed.Kind.TAXII:
                rows = taxii.TaxiiPages(feed, force=True, max_pages=1).rows()
            else:
                rows = _rows(feed, stack.enter_context(fetch(feed, force=True)))
            for examined, row in enumerate(rows, 1):
                if isinstance(row, Skipped):
                    out.skipped += 1
                elif isinstance(row, Rejected):
                    out.rejects.append({"line": row.line, "reason": row.reason, "raw": row.raw})
                else:
                    try:
                        kind, value = normalize(row.value, feed.default_type or row.type)
                        out.rows.append({"line": row.line, "type": kind, "value": value})
                    except NormalizationError as exc:
                        out.rejects.append(
                            {"line": row.line, "reason": exc.reason, "raw": row.value[:200]}
                        )
                if len(out.rows) >= limit and (len(out.rejects) >= limit or examined > 10 * limit):
                    break
                if examined >= PREVIEW_SCAN_LIMIT:
                    break
    except (http.TransportError, ParseError) as exc:
        out.error = str(exc)
    except Exception as exc:
        logger.exception("feed %s preview crashed", feed.pk)
        out.error = f"internal error: {type(exc).__name__}"
    out.rows, out.rejects = out.rows[:limit], out.rejects[:limit]
    return out


def due_feeds(now: datetime | None = None) -> list[int]:
    """Claim the enabled feeds whose pull is due and return their ids.

    The claim moves `next_run_at` forward with a conditional UPDATE, so two schedulers never
    enqueue one feed twice for the same slot.
    """
    now = now or timezone.now()
    claimed = []
    for feed in Feed.objects.filter(enabled=True, next_run_at__lte=now).only(
        "id", "schedule", "next_run_at"
    ):
        following = next_run_after(feed.schedule, now)
        if Feed.objects.filter(pk=feed.pk, next_run_at=feed.next_run_at).update(
            next_run_at=following
        ):
            claimed.append(feed.pk)
    return claimed
