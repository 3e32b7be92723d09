"""Adding one indicator in a real browser: the live type preview (htmx) and the redirect."""

import re

import pytest

from intel.models import Indicator
from tests.browser.playwright_thread import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_defanged_value_is_detected_while_typing_and_lands_on_its_detail_page(
    log_in, analyst
) -> None:
    page = log_in(analyst)
    page.get_by_role("link", name="Add indicator").click()
    expect(page.get_by_role("heading", name="Add an indicator")).to_be_visible()
    page.evaluate("window.__marker = 1")

    page.get_by_label("Value").press_sequentially("hxxps://evil[.]example/login")
    detected = page.locator("#detected")
    expect(detected).to_contain_text("Detected url: https://evil.example/login")
    expect(detected.locator(".badge")).to_have_text("new")
    assert page.evaluate("window.__marker") == 1, "the preview must not reload the page"

    page.get_by_label("Tags").fill("phishing, Kit")
    page.get_by_role("button", name="Add", exact=True).click()
    indicator = Indicator.objects.get(value="https://evil.example/login")
    expect(page).to_have_url(re.compile(rf"/intel/indicators/{indicator.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("URL https://evil.example/login")
    expect(page.get_by_role("status")).to_contain_text("Added url https://evil.example/login.")
    assert indicator.tags == ["kit", "phishing"]


def test_value_that_is_no_indicator_is_rejected_live_and_on_submit(log_in, analyst) -> None:
    page = log_in(analyst)
    page.goto("/intel/indicators/add/")
    page.get_by_label("Value").fill("just some words")
    expect(page.locator("#detected")).to_contain_text("Rejected:")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="Add an indicator")).to_be_visible()
    expect(page.locator(".errorlist")).to_be_visible()
    assert not Indicator.objects.exists()
