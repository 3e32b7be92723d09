"""A triage session in a real browser: get next, reveal, label by keyboard, bulk-assign, conflict.

Cases are opened the way production opens them (`make_case`: an indicator, events, a real scan).
The indicator's confidence sets the priority: 95 is P2, the default P3 and 10 is P4.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, WebError

from cases.models import Case
from tests.browser.conftest import TIMEOUT_MS, PageLog
from tests.browser.playwright_thread import OnPlaywrightThread, expect
from tests.factories import PASSWORD, make_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def three_cases() -> tuple[Case, Case, Case]:
    """A P2, a P3 and a P4 case, by three authors (most urgent first)."""
    return (
        make_case(author="a1", confidence=95),
        make_case(author="a2"),
        make_case(author="a3", confidence=10),
    )


@pytest.fixture
def other_page(browser, live_server, page_log: PageLog) -> Iterator[OnPlaywrightThread]:
    """A page in a second browser context (its own cookies: another user), checked like `page`."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def on_console(message: ConsoleMessage) -> None:
        page_log.console.append(f"{message.type} (other page): {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        page_log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_web_error(web_error: WebError) -> None:
        page_log.errors.append(str(web_error.error))

    context.on("console", on_console)
    context.on("dialog", on_dialog)
    context.on("weberror", on_web_error)
    yield context.new_page()
    context.close()


def _log_in(page, user) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/intel/indicators/")


def _case_url(case: Case) -> re.Pattern[str]:
    return re.compile(rf"/cases/{case.pk}/$")


def _open_queue(page) -> None:
    """Follow the nav link; wait for the load event, so triage.js (deferred) handles keys."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    page.wait_for_url(re.compile(r"/cases/$"))
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()


def _row(page, case: Case):
    return page.locator(f"#queue-results tr[data-case='{case.pk}']")


def test_get_next_reveal_and_false_positive_by_keyboard_open_the_next_case(
    log_in, analyst, three_cases, screenshot
) -> None:
    urgent, middle, _ = three_cases
    page = log_in(analyst)
    _open_queue(page)
    expect(page.locator("#queue-results tbody tr")).to_have_count(3)
    expect(page.locator("#queue-count")).to_have_text("3")
    expect(page.locator(".queue-count")).to_contain_text("3 cases match")

    page.keyboard.press("n")
    page.wait_for_url(_case_url(urgent))
    expect(page.get_by_role("heading", name=f"Case {urgent.pk}")).to_be_visible()
    expect(page.locator("#case-assignee")).to_have_text(analyst.username)
    urgent.refresh_from_db()
    assert (urgent.assignee, urgent.status) == (analyst, Case.Status.IN_REVIEW)

    evidence = page.locator("[data-sensitive]")
    expect(evidence).to_have_count(1)
    expect(evidence).not_to_have_class(re.compile(r"\brevealed\b"))
    expect(evidence).to_have_css("filter", re.compile(r"blur\("))
    screenshot("triage-case-blurred")
    page.keyboard.press("r")
    expect(evidence).to_have_class(re.compile(r"\brevealed\b"))
    expect(evidence).to_have_css("filter", "none")
    evidence.click()
    expect(evidence).not_to_have_class(re.compile(r"\brevealed\b"))
    expect(evidence).to_have_css("filter", re.compile(r"blur\("))

    page.keyboard.press("f")
    expect(page.locator("details#fp-picker")).to_have_attribute("open", "")
    page.keyboard.press("1")
    page.wait_for_url(_case_url(middle))
    expect(page.get_by_role("status")).to_contain_text(
        f"Case {urgent.pk} resolved as false positive."
    )
    expect(page.locator("#case-assignee")).to_have_text(analyst.username)
    urgent.refresh_from_db()
    assert (urgent.status, urgent.disposition, urgent.reason) == (
        Case.Status.RESOLVED,
        "false_positive",
        "stale_indicator",
    )
    assert urgent.resolved_by == analyst
    middle.refresh_from_db()
    assert (middle.assignee, middle.status) == (analyst, Case.Status.IN_REVIEW)


def test_get_next_button_opens_the_most_urgent_case(log_in, analyst, three_cases) -> None:
    urgent = three_cases[0]
    page = log_in(analyst)
    _open_queue(page)
    page.get_by_role("button", name="Get next").click()
    expect(page).to_have_url(_case_url(urgent))
    urgent.refresh_from_db()
    assert urgent.assignee == analyst


def test_a_reason_that_needs_a_note_waits_for_the_note(log_in, analyst) -> None:
    case = make_case()
    page = log_in(analyst)
    page.goto(case.get_absolute_url())
    page.keyboard.press("f")
    page.keyboard.press("6")  # "Other (explain in a note)"
    note = page.get_by_label("Note", exact=True)
    expect(note).to_be_focused()
    expect(page.get_by_label("Other (explain in a note)")).to_be_checked()
    page.keyboard.type("Seen 3 times, a quiz")  # digits in the note pick no reason
    expect(note).to_have_value("Seen 3 times, a quiz")
    expect(page.get_by_label("Other (explain in a note)")).to_be_checked()
    case.refresh_from_db()
    assert case.status == Case.Status.NEW

    page.get_by_role("button", name="Label false positive").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Case {case.pk} resolved as false positive."
    )
    case.refresh_from_db()
    assert (case.disposition, case.reason, case.note) == (
        "false_positive",
        "other",
        "Seen 3 times, a quiz",
    )


def test_question_mark_opens_the_keyboard_help_and_escape_closes_it(
    log_in, analyst, three_cases
) -> None:
    page = log_in(analyst)
    _open_queue(page)
    help_dialog = page.locator("dialog#keys-help")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.get_by_role("heading", name="Keyboard")).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()


def test_j_and_k_move_the_selection_and_enter_opens_the_case(log_in, analyst, three_cases) -> None:
    first, second, third = three_cases
    page = log_in(analyst)
    _open_queue(page)
    selected = page.locator("#queue-results tr.selected")
    expect(selected).to_have_count(0)

    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-case", str(first.pk))
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(selected).to_have_attribute("data-case", str(third.pk))
    page.keyboard.press("j")  # stays on the last row
    expect(selected).to_have_attribute("data-case", str(third.pk))
    page.keyboard.press("k")
    expect(selected).to_have_attribute("data-case", str(second.pk))
    expect(selected).to_have_count(1)

    page.keyboard.press("Enter")
    expect(page).to_have_url(_case_url(second))
    second.refresh_from_db()
    assert second.assignee is None, "opening a case does not claim it"


def test_lead_bulk_assigns_two_cases_after_confirming(log_in, lead, analyst, three_cases) -> None:
    first, second, third = three_cases
    page = log_in(lead)
    _open_queue(page)
    _row(page, first).get_by_label("Select case").check()
    _row(page, third).get_by_label("Select case").check()
    bulk_bar = page.locator(".bulk-bar")
    bulk_bar.get_by_label("With selected").select_option(label="Assign to…")
    bulk_bar.get_by_label("Assignee").select_option(label=analyst.username)
    bulk_bar.get_by_role("button", name="Apply…").click()

    expect(page.get_by_role("heading", name="Confirm")).to_be_visible()
    expect(page.locator("#bulk-summary")).to_contain_text(
        f"This will assign 2 cases to {analyst.username}."
    )
    page.get_by_role("button", name="Yes, change 2 cases").click()

    expect(page).to_have_url(re.compile(r"/cases/\?"))
    expect(page.get_by_role("status")).to_contain_text("2 case(s) changed.")
    expect(_row(page, first)).to_contain_text(analyst.username)
    expect(_row(page, third)).to_contain_text(analyst.username)
    assignees = dict(Case.objects.values_list("pk", "assignee__username"))
    assert assignees == {first.pk: analyst.username, second.pk: None, third.pk: analyst.username}


def test_true_positive_on_a_case_escalated_meanwhile_shows_the_conflict(
    log_in, analyst, lead, other_page, screenshot
) -> None:
    case = make_case()
    page = log_in(analyst)
    page.goto(case.get_absolute_url())
    expect(page.locator("#case-status")).to_have_text("New")

    _log_in(other_page, lead)
    other_page.goto(case.get_absolute_url())
    other_page.get_by_role("button", name="Escalate").click()
    expect(other_page.get_by_role("status")).to_contain_text("Case escalated to the leads.")
    case.refresh_from_db()
    assert (case.status, case.version) == (Case.Status.ESCALATED, 2)

    posted: list[int] = []

    def on_response(response) -> None:  # runs on the Playwright thread
        if response.request.method == "POST":
            posted.append(response.status)

    page.on("response", on_response)
    page.get_by_role("button", name="True positive").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("was changed by someone else")
    expect(alert).to_contain_text("now version 2, escalated")
    expect(alert).to_contain_text("Your change was not saved")
    assert posted == [409]
    expect(page.locator("#case-status")).to_have_text("Escalated")
    expect(page.locator("form[action$='/label'] input[name=version]").first).to_have_value("2")
    screenshot("triage-conflict")
    case.refresh_from_db()
    assert (case.status, case.disposition, case.version) == (Case.Status.ESCALATED, "", 2)
    assert not case.hits.filter(label__isnull=False).exists()


def test_priority_filter_updates_the_results_without_a_reload(log_in, analyst, three_cases) -> None:
    urgent = three_cases[0]
    page = log_in(analyst)
    _open_queue(page)
    expect(page.locator("#queue-count")).to_have_text("3")
    page.evaluate("window.__marker = 1")

    page.locator("form.filters").get_by_label("Priority").select_option(label="P2")
    expect(page).to_have_url(re.compile(r"/cases/\?(.*&)?priority=2(&|$)"))
    expect(page.locator("#queue-count")).to_have_text("1")
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-case", str(urgent.pk))
    assert page.evaluate("window.__marker") == 1, "the filter must not reload the page"


def test_r_after_j_reveals_only_the_selected_event(log_in, analyst) -> None:
    case = make_case(events=2)
    page = log_in(analyst)
    page.goto(case.get_absolute_url())
    first, second = page.locator("[data-event]").all()
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("r")
    expect(first.locator("[data-sensitive]")).to_have_class(re.compile(r"\brevealed\b"))
    expect(second.locator("[data-sensitive]")).not_to_have_class(re.compile(r"\brevealed\b"))
    expect(second.locator("[data-sensitive]")).to_have_css("filter", re.compile(r"blur\("))


def test_the_periodic_refresh_keeps_the_row_selected_with_j(log_in, analyst, three_cases) -> None:
    """The queue refreshes every 30 s; a case selected with j/k stays the one Enter opens."""
    _, chosen, _ = three_cases
    page = log_in(analyst)
    page.clock.install()
    _open_queue(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    selected = page.locator("#queue-results tr.selected")
    expect(selected).to_have_attribute("data-case", str(chosen.pk))

    arrived = make_case(author="a9", confidence=95)  # P2, due after the first: second row
    page.clock.run_for(30_000)
    expect(_row(page, arrived)).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("4")
    page.clock.run_for(1_000)  # let htmx settle

    expect(selected).to_have_attribute("data-case", str(chosen.pk))
    page.keyboard.press("Enter")
    expect(page).to_have_url(_case_url(chosen))
