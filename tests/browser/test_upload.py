"""Uploading a file in a real browser: a small CSV imports at once and shows its counts."""

import re

import pytest

from intel.models import Indicator
from tests.browser.playwright_thread import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CSV = b"""indicator,type,description
bad-one.example,domain,phishing landing page
hxxp://bad-two[.]example/gate.php,url,defanged in the feed
198.51.100.23,ip,C2
not an indicator at all,domain,should be rejected
"""


def test_small_csv_upload_shows_the_import_result(log_in, analyst, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # the live server runs in this process and reads it
    page = log_in(analyst)
    page.get_by_role("link", name="Upload file").click()
    page.get_by_label("File").set_input_files(
        files=[{"name": "feed.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.get_by_label("Source").fill("Partner feed")
    page.get_by_role("button", name="Import").click()

    expect(page).to_have_url(re.compile(r"/intel/imports/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of feed.csv")
    status = page.locator("#import-status")
    expect(status.locator("dt:has-text('State') + dd")).to_have_text("Done")
    counts = {
        name: status.locator(f"dt:text-is('{name}') + dd").inner_text()
        for name in ("Received", "Created", "Updated", "Rejected")
    }
    assert counts == {"Received": "4", "Created": "3", "Updated": "0", "Rejected": "1"}
    expect(status.get_by_role("link", name="Partner feed")).to_be_visible()
    assert set(Indicator.objects.values_list("value", flat=True)) == {
        "bad-one.example",
        "http://bad-two.example/gate.php",
        "198.51.100.23",
    }
