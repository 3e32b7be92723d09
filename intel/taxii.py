"""A small TAXII 2.1 client: page through a collection's objects added since the last pull.

`TaxiiPages(feed).rows()` GETs `<collection URL>/objects/` with `added_after` (the previous
pull's `X-TAXII-Date-Added-Last`), follows the `next` cursor while the envelope says `more`,
and hands each page to the STIX parser, so a TAXII feed yields the same rows as a STIX file.
"""

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from intel.parsers import ParsedRow, ParseError, ParserOptions, Rejected, Skipped, parse
from tdp import http

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/taxii+json;version=2.1"
PAGE_LIMIT = 1000
MAX_PAGES = 10_000


class TaxiiPages:
    """Iterate the STIX rows of a TAXII 2.1 collection, page by page."""

    def __init__(self, feed: Any, *, force: bool = False, max_pages: int = MAX_PAGES) -> None:
        self.feed = feed
        self.added_after = "" if force else feed.taxii_added_after
        self.max_pages = max_pages
        self.bytes = 0
        self.pages = 0

    def objects_url(self, cursor: str = "") -> str:
        """The objects endpoint with the paging parameters."""
        base = self.feed.url.rstrip("/")
        if not base.endswith("/objects"):
            base += "/objects"
        params = {"limit": PAGE_LIMIT}
        if self.added_after:
            params["added_after"] = self.added_after
        if cursor:
            params["next"] = cursor
        return f"{base}/?{urlencode(params)}"

    def _get(self, url: str) -> tuple[dict, dict[str, str]]:
        """GET one page, retrying network errors, timeouts and 5xx like any feed fetch."""
        from intel.feeds import auth_headers, is_retryable

        delays = list(settings.TDP_FEED_RETRY_DELAYS)
        while True:
            try:
                response = http.request(
                    "GET",
                    url,
                    headers={"Accept": MEDIA_TYPE, **auth_headers(self.feed)},
                    timeout=settings.TDP_FEED_TIMEOUT,
                    max_bytes=settings.TDP_FEED_MAX_BYTES,
                )
                if response.status >= 500:
                    raise http.TransportError(f"the TAXII server answered HTTP {response.status}")
                break
            except http.TransportError as exc:
                if not delays or not is_retryable(exc):
                    raise
                delay = delays.pop(0)
                logger.warning(
                    "taxii feed %s page failed (%s); retrying in %ss", self.feed.pk, exc, delay
                )
                time.sleep(delay)
        if response.status == 204:
            return {}, response.headers
        if response.status >= 400:
            raise http.TransportError(f"the TAXII server answered HTTP {response.status}")
        self.bytes += len(response.body)
        try:
            envelope = json.loads(response.body)
        except ValueError as exc:
            raise ParseError("the TAXII server did not answer with JSON") from exc
        if not isinstance(envelope, dict):
            raise ParseError("the TAXII envelope is not a JSON object")
        return envelope, response.headers

    def rows(self) -> Iterator[ParsedRow | Rejected | Skipped]:
        """Yield rows from every page; `added_after` moves to the newest object seen.

        Pages follow the `next` cursor while the envelope says `more`. A server that says
        `more` without a cursor is paged by moving `added_after` to its X-TAXII-Date-Added-Last
        (TAXII 2.1 §3.4.2). A cursor or date that does not move is an error, not a loop.
        """
        cursor = ""
        newest = self.added_after
        offset = 0
        seen_cursors: set[str] = set()
        while self.pages < self.max_pages:
            envelope, headers = self._get(self.objects_url(cursor))
            self.pages += 1
            objects = envelope.get("objects") or []
            if not isinstance(objects, list):
                raise ParseError("the TAXII envelope's 'objects' is not a list")
            if objects:
                page = json.dumps({"type": "bundle", "objects": objects}).encode()
                for row in parse(io.BytesIO(page), ParserOptions(format="stix")):
                    row.line += offset  # number objects across pages
                    yield row
                offset += len(objects)
            previous = newest
            newest = headers.get("x-taxii-date-added-last", newest) or newest
            if not envelope.get("more"):
                break
            cursor = str(envelope.get("next") or "")
            if cursor:
                if cursor in seen_cursors:
                    raise ParseError("the TAXII server repeated its paging cursor")
                seen_cursors.add(cursor)
            elif newest and newest != previous:
                self.added_after = newest
            else:
                raise ParseError(
                    "the TAXII server said there is more but gave no cursor and no new date"
                )
        self.added_after = newest
        logger.info("taxii feed %s: %s pages, %s objects", self.feed.pk, self.pages, offset)
