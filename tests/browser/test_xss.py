"""Hostile intel renders as text: markup in values, descriptions and searches never runs."""

import re

import pytest

from tests.browser.playwright_thread import expect
from tests.factories import make_indicator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_markup_in_intel_is_shown_as_text_and_never_runs(log_in, analyst, page_log) -> None:
    indicator = make_indicator(
        f"https://evil.example/{PAYLOAD}",
        type="url",
        description=f"{PAYLOAD}\n<script>alert(2)</script>",
        tags=[PAYLOAD],
    )
    page = log_in(analyst)
    row = page.locator("#indicator-results tbody tr").first
    expect(row.locator("td.value")).to_have_text(indicator.value)
    expect(row.locator(".badge")).to_have_text(PAYLOAD)

    page.get_by_label("Value contains").fill(PAYLOAD)
    expect(page).to_have_url(re.compile(r"[?&]q=%3Cimg"))
    expect(page.locator("#indicator-results tbody tr")).to_have_count(1)

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(indicator.value)
    description = page.locator("dt:text-is('Description') + dd")
    expect(description).to_contain_text(PAYLOAD)
    expect(description).to_contain_text("<script>alert(2)</script>")
    expect(page.get_by_label("Description")).to_have_value(indicator.description)

    assert page.locator("main img, main script").count() == 0
    assert page_log.dialogs == []
    assert page_log.csp_violations == []  # an injected handler would be refused, and logged
