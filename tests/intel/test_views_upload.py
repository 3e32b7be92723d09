"""Upload: small files import in the request, larger ones on an RQ worker; the import page."""

import gzip
from pathlib import Path

import django_rq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from intel.models import TLP, Indicator, IntelImport
from tdp.models import AuditEntry
from tests.factories import make_source

pytestmark = pytest.mark.django_db

UPLOAD = "/intel/imports/new/"
FEED = b"# test feed\nevil.example\n192.0.2.1\nhttp://phish.example/login\n999.1.1.1\n"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, content: bytes = FEED, name: str = "feed.txt", **fields: object):
    data = {"format": "auto", "confidence": 70, "severity": "medium", "tlp": "AMBER"}
    data.update(fields)
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content), **data})


def make_import(state: str = IntelImport.State.FAILED, **fields: object) -> IntelImport:
    return IntelImport.objects.create(
        source=make_source(), filename="feed.txt", state=state, **fields
    )


def stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", UPLOAD),
        ("post", UPLOAD),
        ("get", "/intel/imports/{pk}/"),
        ("post", "/intel/imports/{pk}/retry"),
    ],
)
def test_anonymous_users_are_sent_to_login(client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path.format(pk=make_import().pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", UPLOAD), ("get", "/intel/imports/{pk}/"), ("post", "/intel/imports/{pk}/retry")],
)
def test_users_without_a_role_get_403(nobody, method: str, path: str) -> None:
    response = getattr(as_user(nobody), method)(path.format(pk=make_import().pk))
    assert response.status_code == 403


def test_users_without_a_role_cannot_upload(nobody) -> None:
    assert upload(as_user(nobody)).status_code == 403
    assert IntelImport.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("put", UPLOAD), ("post", "/intel/imports/{pk}/"), ("get", "/intel/imports/{pk}/retry")],
)
def test_wrong_methods_get_405(analyst_client: Client, method: str, path: str) -> None:
    path = path.format(pk=make_import().pk)
    assert getattr(analyst_client, method)(path).status_code == 405


# --- inline imports ---------------------------------------------------------------------------


def test_the_upload_page_renders_the_form(analyst_client: Client) -> None:
    response = analyst_client.get(UPLOAD)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_a_small_file_is_imported_in_the_request(analyst_client: Client, analyst, settings) -> None:
    response = upload(analyst_client, tags="Campaign, x", tlp="GREEN", source="Partner drop")
    record = IntelImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/intel/imports/{record.pk}/"
    assert record.state == IntelImport.State.DONE
    assert (record.created_by, record.source.name, record.filename) == (
        analyst,
        "Partner drop",
        "feed.txt",
    )
    assert record.result["received"] == 4
    assert (record.result["created"], record.result["rejected"]) == (3, 1)
    assert record.result["errors"][0]["line"] == 5
    assert {(i.value, i.tlp, tuple(i.tags)) for i in Indicator.objects.all()} == {
        ("evil.example", TLP.GREEN, ("campaign", "x")),
        ("192.0.2.1", TLP.GREEN, ("campaign", "x")),
        ("http://phish.example/login", TLP.GREEN, ("campaign", "x")),
    }
    assert stored_files(settings) == []  # the raw upload is not kept once imported
    assert AuditEntry.objects.filter(action="intel.import.create", user=analyst).exists()


def test_the_import_page_shows_the_result_and_rejected_rows(analyst_client: Client) -> None:
    upload(analyst_client)
    record = IntelImport.objects.get()
    content = analyst_client.get(f"/intel/imports/{record.pk}/").content.decode()
    assert "<dt>Created</dt><dd>3</dd>" in content
    assert "<dt>Rejected</dt><dd>1</dd>" in content
    assert "<td>5</td><td>not a valid IPv4 address: octet 999 is above 255</td>" in content
    assert 'hx-trigger="every 2s"' not in content  # finished: no more polling


def test_the_upload_options_reach_the_parser(analyst_client: Client) -> None:
    content = b"seen,observable\n2024-01-01," + b"a" * 64 + b"\n"
    upload(
        analyst_client, content, "hashes.csv", format="csv", type="pdq", value_column="observable"
    )
    assert list(Indicator.objects.values_list("type", flat=True)) == ["pdq"]


def test_a_gzipped_upload_is_read_transparently(analyst_client: Client) -> None:
    upload(analyst_client, gzip.compress(FEED), "feed.txt.gz")
    assert IntelImport.objects.get().result["created"] == 3


def test_a_file_name_with_html_is_shown_escaped(analyst_client: Client) -> None:
    upload(analyst_client, name="<img src=x onerror=alert(1)>.txt")
    record = IntelImport.objects.get()
    assert record.filename == "<img src=x onerror=alert(1)>.txt"
    content = analyst_client.get(f"/intel/imports/{record.pk}/").content.decode()
    assert "<img src=x" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in content


def test_an_unreadable_small_file_fails_with_its_reason(analyst_client: Client, settings) -> None:
    upload(analyst_client, b"\x00\x01\x02binary" * 50, "feed.bin")
    record = IntelImport.objects.get()
    assert record.state == IntelImport.State.FAILED
    assert record.error == "not a text file (binary content)"
    assert len(stored_files(settings)) == 1  # kept for a retry
    content = analyst_client.get(f"/intel/imports/{record.pk}/").content.decode()
    assert "not a text file (binary content)" in content
    assert "Retry" in content


def test_an_empty_file_is_refused_by_the_form(analyst_client: Client) -> None:
    response = upload(analyst_client, b"", "empty.txt")
    assert response.status_code == 200
    assert "The submitted file is empty." in response.content.decode()
    assert IntelImport.objects.count() == 0


def test_a_file_over_the_upload_limit_is_refused(analyst_client: Client, settings) -> None:
    settings.TDP_MAX_UPLOAD_BYTES = 10
    response = upload(analyst_client)
    assert response.status_code == 200
    assert "The file is larger than 10 bytes." in response.content.decode()
    assert IntelImport.objects.count() == 0


def test_the_upload_page_lists_only_my_recent_imports(analyst_client: Client, analyst) -> None:
    IntelImport.objects.create(source=make_source(), filename="mine.txt", created_by=analyst)
    IntelImport.objects.create(source=make_source(), filename="theirs.txt")
    content = analyst_client.get(UPLOAD).content.decode()
    assert "mine.txt" in content
    assert "theirs.txt" not in content


def test_htmx_polls_the_status_partial_until_the_import_finishes(
    analyst_client: Client, analyst
) -> None:
    record = make_import(IntelImport.State.QUEUED, created_by=analyst)
    response = analyst_client.get(f"/intel/imports/{record.pk}/", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.startswith('<section class="card" id="import-status"')
    assert 'hx-trigger="every 2s"' in content
    assert "<html" not in content


def test_a_missing_import_is_404(analyst_client: Client) -> None:
    assert analyst_client.get("/intel/imports/999999/").status_code == 404


def test_retrying_a_failed_import_queues_it_again(
    analyst_client: Client, analyst, django_capture_on_commit_callbacks
) -> None:
    record = make_import(IntelImport.State.FAILED, error="boom", created_by=analyst)
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst_client.post(f"/intel/imports/{record.pk}/retry")
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.state == IntelImport.State.QUEUED
    [job] = queue.get_jobs()
    assert (job.func_name, job.args) == ("intel.jobs.import_file_job", (record.pk,))


def test_a_finished_import_is_not_retried(
    analyst_client: Client, django_capture_on_commit_callbacks
) -> None:
    record = make_import(IntelImport.State.DONE)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        analyst_client.post(f"/intel/imports/{record.pk}/retry")
    assert callbacks == []
    record.refresh_from_db()
    assert record.state == IntelImport.State.DONE


# --- queued imports, run by a real RQ worker ---------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_larger_file_is_queued_and_a_worker_imports_it(analyst_client: Client, settings) -> None:
    settings.TDP_INLINE_IMPORT_BYTES = 16
    upload(analyst_client)
    record = IntelImport.objects.get()
    assert record.state == IntelImport.State.QUEUED
    assert Indicator.objects.count() == 0
    assert django_rq.get_worker("default").work(burst=True)
    record.refresh_from_db()
    assert record.state == IntelImport.State.DONE, record.error
    assert (record.result["created"], record.result["rejected"]) == (3, 1)
    assert Indicator.objects.count() == 3
    assert stored_files(settings) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_queued_file_that_cannot_be_read_fails_with_its_reason(
    analyst_client: Client, settings
) -> None:
    settings.TDP_INLINE_IMPORT_BYTES = 16
    upload(analyst_client, b'{"deny": ["evil.example",', "feed.json")
    assert django_rq.get_worker("default").work(burst=True)
    record = IntelImport.objects.get()
    assert record.state == IntelImport.State.FAILED
    assert record.error.startswith("invalid JSON:")
    assert Indicator.objects.count() == 0


def test_an_import_is_visible_to_its_owner_and_leads_only(analyst, lead) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from intel.imports import create_import, get_or_create_source
    from tests.factories import make_user

    record = create_import(
        SimpleUploadedFile("mine.txt", b"evil-owner.example\n"),
        source=get_or_create_source("owner test"),
        options={},
        actor=analyst,
    )
    url = f"/intel/imports/{record.pk}/"
    for user, status in ((analyst, 200), (lead, 200), (make_user("other-analyst"), 404)):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == status, user.username
