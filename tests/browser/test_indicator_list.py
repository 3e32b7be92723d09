"""The indicator list in a real browser: htmx search, sort, pages, history, and TLP:RED."""

import re

import pytest

from intel.models import TLP
from tdp.tables import DEFAULT_PER_PAGE as PER_PAGE
from tests.browser.playwright_thread import expect
from tests.factories import make_indicator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _values(page) -> list[str]:
    return page.locator("#indicator-results tbody td.value").all_inner_texts()


def test_search_sort_and_pages_update_without_reload_and_back_restores(
    log_in, analyst, screenshot
) -> None:
    phish = [f"phish-{n:02}.example" for n in range(1, PER_PAGE + 6)]  # two pages: 50 + 5
    for value in [*phish, "benign-1.example", "benign-2.example"]:
        make_indicator(value, tags=["demo"])
    page = log_in(analyst)
    screenshot("indicator-list")
    page.evaluate("window.__marker = 1")

    page.get_by_label("Value contains").fill("phish")
    expect(page).to_have_url(re.compile(r"[?&]q=phish"))
    expect(page.locator("#indicator-results tbody tr")).to_have_count(PER_PAGE)
    assert not any(value.startswith("benign") for value in _values(page))

    page.locator("#indicator-results thead").get_by_role("link", name="Value").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=value"))
    expect(page.locator("#indicator-results tbody td.value").first).to_have_text(phish[0])
    sorted_first_page = _values(page)
    assert sorted_first_page == phish[:PER_PAGE]

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"[?&]page=2"))
    expect(page.locator("#indicator-results tbody tr")).to_have_count(5)
    assert _values(page) == phish[PER_PAGE:]
    assert page.evaluate("window.__marker") == 1, "htmx swaps must not reload the page"

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"page=2"))
    expect(page.locator("#indicator-results tbody tr")).to_have_count(PER_PAGE)
    assert _values(page) == sorted_first_page
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    expect(page.get_by_label("Value contains")).to_have_value("phish")


@pytest.mark.parametrize(
    ("user_fixture", "sees_red"), [("analyst", False), ("cleared_analyst", True)]
)
def test_tlp_red_indicators_are_listed_only_for_cleared_users(
    request: pytest.FixtureRequest, log_in, user_fixture: str, sees_red: bool
) -> None:
    make_indicator("red-secret.example", tlp=TLP.RED)
    make_indicator("amber-shared.example", tlp=TLP.AMBER)
    page = log_in(request.getfixturevalue(user_fixture))

    expect(page.get_by_role("link", name="amber-shared.example")).to_be_visible()
    expect(page.get_by_role("link", name="red-secret.example")).to_have_count(int(sees_red))

    page.get_by_label("Value contains").fill("red-secret")
    expect(page).to_have_url(re.compile(r"[?&]q=red-secret"))
    expect(page.get_by_role("link", name="amber-shared.example")).to_have_count(0)
    if sees_red:
        expect(page.get_by_role("link", name="red-secret.example")).to_be_visible()
    else:
        expect(page.locator("#indicator-results")).to_contain_text(
            "No indicators match these filters."
        )


def test_tlp_badge_in_the_list_shows_the_label_once_in_its_colour(log_in, analyst) -> None:
    make_indicator("amber-shared.example", tlp=TLP.AMBER)
    page = log_in(analyst)
    badge = page.locator("#indicator-results tbody .tlp")
    assert badge.inner_text() == "TLP:AMBER"
    assert badge.get_attribute("class") == "tlp tlp-AMBER"


def test_status_in_the_list_carries_its_colour_class(log_in, analyst) -> None:
    make_indicator("active.example")
    page = log_in(analyst)
    cell = page.locator("#indicator-results tbody td.status")
    assert cell.get_attribute("class") == "status status-active"
