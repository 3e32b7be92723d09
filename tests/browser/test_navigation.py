"""Logging in through the form, the role-gated navigation, and the 403 page, in a real browser."""

import re

import pytest

from tests.browser.playwright_thread import expect
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.mark.parametrize(
    ("role_fixture", "role", "links"),
    [
        ("analyst", "analyst", ["Queue", "Intel", "Feeds", "Rules"]),
        ("lead", "lead", ["Queue", "Intel", "Feeds", "Rules", "Health", "Automation", "Metrics"]),
        (
            "admin_user",
            "admin",
            [
                "Queue",
                "Intel",
                "Feeds",
                "Rules",
                "Health",
                "Automation",
                "Metrics",
                "Audit",
                "Jobs",
                "Admin",
            ],
        ),
    ],
)
def test_login_form_shows_the_navigation_of_the_role(
    request: pytest.FixtureRequest, log_in, role_fixture: str, role: str, links: list[str]
) -> None:
    user = request.getfixturevalue(role_fixture)
    page = log_in(user)
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(links)
    expect(page.locator(".topbar .who")).to_contain_text(f"{user.username} · {role}")


def test_wrong_password_keeps_the_user_on_the_login_page(page, analyst) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


@pytest.mark.parametrize("path", ["/audit/", "/jobs/"])
def test_analyst_gets_the_403_page_on_admin_pages(log_in, analyst, path: str) -> None:
    page = log_in(analyst)
    response = page.goto(path)
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="403 · Not allowed")).to_be_visible()
    expect(page.get_by_role("link", name="Back to TDP")).to_be_visible()


def test_anonymous_visitor_is_sent_to_the_login_form_and_back(page, analyst) -> None:
    page.goto("/intel/paste/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/intel/paste/$"))
    page.get_by_label("Username").fill(analyst.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Paste intel")).to_be_visible()


def test_admin_link_opens_the_django_admin_with_the_intel_models(log_in, admin_user) -> None:
    page = log_in(admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert page.get_by_role("link", name="Indicators").count() == 1
