"""Browser fixtures: Debian's Chromium, driven by Playwright, against pytest-django's live server.

One browser per session (starting Chromium is the slow part); a new context and page per test,
so cookies never leak between tests. Playwright runs on a thread of its own (see
playwright_thread.py: its sync API would otherwise split Django's database connections), so the
`page` a test gets is a proxy, and assertions use `tests.browser.playwright_thread.expect`.

The context records console messages, uncaught script errors and dialogs on every page, and a
test fails if a page broke the Content-Security-Policy, threw a script error or opened a dialog
(in this app a dialog can only come from injected script).

Every browser test module starts with the same `pytestmark`:

    pytestmark = [
        pytest.mark.browser,
        pytest.mark.xdist_group("browser"),
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
    ]

Live-server tests must be transactional (the server thread has its own connection), and
`serialized_rollback` reloads what the data migrations seed (role groups, permissions, the
platform allowlist), because the flush after each transactional test empties every table. One
xdist group keeps the browser tests on one worker, with one Chromium.
"""

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Error, WebError, sync_playwright
from playwright.sync_api import expect as playwright_expect

from tests.browser.playwright_thread import OnPlaywrightThread, PlaywrightThread
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium keeps calling Google services, which this
# closed network answers with timeouts.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5_000  # pages answer in milliseconds; fail fast instead of Playwright's 30 s
SCREENSHOTS = Path(os.environ.get("TDP_SCREENSHOTS", "/tmp/tdp-shots"))
_CSP_VIOLATION = re.compile(r"Content Security Policy", re.IGNORECASE)


@dataclass
class PageLog:
    """What the browser reported while a test ran (appended to on the Playwright thread)."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [text for text in self.console if _CSP_VIOLATION.search(text)]


@pytest.fixture(scope="session")
def browser() -> Iterator[OnPlaywrightThread]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/bootstrap.sh --browser")
    thread = PlaywrightThread()
    playwright = thread.call(lambda: sync_playwright().start())
    playwright_expect.set_options(timeout=TIMEOUT_MS)
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        thread.shutdown()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def context(browser, live_server, page_log: PageLog) -> Iterator[OnPlaywrightThread]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def on_console(message: ConsoleMessage) -> None:
        where = message.page.url if message.page else message.location.get("url", "?")
        page_log.console.append(f"{message.type} on {where}: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        page_log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_web_error(web_error: WebError) -> None:
        error: Error = web_error.error
        page_log.errors.append(str(error))

    context.on("console", on_console)
    context.on("dialog", on_dialog)
    context.on("weberror", on_web_error)
    yield context
    context.close()
    assert page_log.csp_violations == [], "a page broke the Content-Security-Policy"
    assert page_log.errors == [], "a page threw a script error"
    assert page_log.dialogs == [], "a page opened a dialog"


@pytest.fixture
def page(context) -> OnPlaywrightThread:
    return context.new_page()


@pytest.fixture
def log_in(page) -> Callable[..., OnPlaywrightThread]:
    """Log in through the real login form; returns the page, on the indicator list."""

    def log_in(user, password: str = PASSWORD) -> OnPlaywrightThread:
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/intel/indicators/")
        return page

    return log_in


@pytest.fixture
def screenshot(page) -> Callable[[str], Path]:
    """Save a full-page screenshot in /tmp/tdp-shots (or $TDP_SCREENSHOTS) for a human to see."""

    def screenshot(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return screenshot
