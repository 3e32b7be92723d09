"""Pasting a report in a real browser: preview with new/known badges, choose, add, see the list."""

import re

import pytest

from intel.models import Indicator, Source
from tests.browser.playwright_thread import expect
from tests.factories import make_indicator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REPORT = """Incident 4711 (defanged):
Victims were sent to hxxps://login-micros0ft[.]example/owa and the kit beaconed to evil[.]example.
Staging host 203.0.113[.]7 served the second stage.
"""


def test_paste_preview_then_add_selected_lists_them_under_their_source(
    log_in, analyst, screenshot
) -> None:
    make_indicator("evil.example", type="domain")
    page = log_in(analyst)
    page.get_by_role("link", name="Paste text").click()
    page.get_by_label("Text").fill(REPORT)
    page.get_by_role("button", name="Find indicators").click()

    preview = page.locator("#paste-commit")
    expect(preview.get_by_role("heading")).to_have_text("Found 3 indicators")
    rows = preview.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(
        rows.filter(has_text="https://login-micros0ft.example/owa").locator(".badge")
    ).to_have_text("new")
    expect(rows.filter(has_text="evil.example").locator(".badge")).to_have_text("known")
    expect(rows.filter(has_text="203.0.113.7").locator(".badge")).to_have_text("new")
    screenshot("paste-preview")

    preview.get_by_label("Add 203.0.113.7").uncheck()
    preview.get_by_label("Source").fill("Incident 4711")
    preview.get_by_role("button", name="Add selected").click()

    page.wait_for_url(re.compile(r"/intel/indicators/\?source=\d+$"))
    source = Source.objects.get(name="Incident 4711")
    assert page.url.endswith(f"?source={source.pk}")
    expect(page.get_by_role("status")).to_contain_text(
        "Added 1, updated 1, unchanged 0 (source: Incident 4711)."
    )
    expect(page.get_by_label("Source")).to_have_value(str(source.pk))
    values = page.locator("#indicator-results tbody td.value")
    expect(values).to_have_count(2)
    assert sorted(values.all_inner_texts()) == [
        "evil.example",
        "https://login-micros0ft.example/owa",
    ]
    assert not Indicator.objects.filter(value="203.0.113.7").exists()


def test_text_without_indicators_says_so(log_in, analyst) -> None:
    page = log_in(analyst)
    page.goto("/intel/paste/")
    page.get_by_label("Text").fill("Nothing to see here, just prose.")
    page.get_by_role("button", name="Find indicators").click()
    expect(page.locator("#paste-preview")).to_contain_text("No indicators found in this text.")
