"""The strict Content-Security-Policy holds on every page: no inline script or style anywhere.

htmx must work without inline code: it is configured through the `htmx-config` meta tag in
templates/base.html (`includeIndicatorStyles: false`, or htmx would inject a <style> element).
The `context` fixture already fails any browser test whose pages broke the policy; these tests
make sure every page and every htmx interaction was visited at least once.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.browser.playwright_thread import expect
from tests.factories import PASSWORD, make_indicator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_our_pages_and_htmx_keep_the_content_security_policy(log_in, admin_user, page_log) -> None:
    indicator = make_indicator("csp-check.example")
    page = log_in(admin_user)
    expect(page.locator("style")).to_have_count(0)  # htmx injected no indicator styles

    page.get_by_label("Value contains").fill("csp")  # htmx swap on the list
    expect(page.locator("#indicator-results tbody tr")).to_have_count(1)
    page.get_by_role("link", name=indicator.value).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(indicator.value)

    page.goto("/intel/indicators/add/")
    page.get_by_label("Value").fill("evil[.]example")  # htmx fragment
    expect(page.locator("#detected")).to_contain_text("Detected domain")

    page.goto("/intel/paste/")
    page.get_by_label("Text").fill("evil[.]example")
    page.get_by_role("button", name="Find indicators").click()  # htmx POST
    expect(page.locator("#paste-commit")).to_be_visible()

    for path in ["/intel/imports/new/", "/intel/allowlist/", "/audit/"]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path

    assert page_log.csp_violations == []
    assert page_log.errors == []


def test_django_admin_keeps_the_content_security_policy(log_in, page_log) -> None:
    # A superuser: the admin role has no model permissions yet (see test_navigation.py).
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    indicator = make_indicator("csp-admin.example")
    page = log_in(root)
    for path in [
        "/django-admin/",
        "/django-admin/intel/indicator/?q=csp",
        f"/django-admin/intel/indicator/{indicator.pk}/change/",
        f"/django-admin/auth/user/{root.pk}/change/",
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path

    assert page_log.csp_violations == []
    assert page_log.errors == []


def test_rq_dashboard_runs_within_its_own_content_security_policy(
    log_in, admin_user, page_log
) -> None:
    page = log_in(admin_user)
    for path in ["/jobs/", "/jobs/queues/0/"]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path

    page.wait_for_load_state("networkidle")
    page.goto("/intel/indicators/")  # leave the dashboard so its scripts have all reported
    assert page_log.csp_violations == []
    # django-rq 4.2's job list calls the jQuery `actions` plugin that Django 5's admin no
    # longer ships; that is its own bug, not a policy violation, so it is not ours to fail on.
    page_log.errors[:] = [e for e in page_log.errors if ".actions is not a function" not in e]
