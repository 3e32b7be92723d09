"""Exports: the web download (/intel/indicators/export) and `manage.py export_intel`."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from intel.export import export_chunks
from intel.ingest import IngestSpec, ingest
from intel.models import TLP, Indicator, Status
from intel.parsers import ParsedRow, ParserOptions, Rejected, parse
from tests.factories import make_indicator, make_source

pytestmark = pytest.mark.django_db

URL = "/intel/indicators/export"


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def export_intel(*args: str) -> str:
    out = io.StringIO()
    call_command("export_intel", *args, stdout=out)
    return out.getvalue()


# --- the web export --------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_users_without_a_role_get_403(nobody) -> None:
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_export_rejects_post(analyst_client: Client) -> None:
    assert analyst_client.post(URL).status_code == 405


def test_csv_export_streams_an_attachment_with_every_column(analyst_client: Client) -> None:
    source = make_source("Feed A")
    make_indicator("evil.example", sources=(source,), tags=["phishing", "bank"], confidence=80)
    response = analyst_client.get(URL, {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="indicators-')
    assert response["Content-Disposition"].endswith('.csv"')
    [row] = csv_rows(body(response))
    assert row["type"] == "domain"
    assert row["value"] == "evil.example"
    assert (row["status"], row["confidence"], row["tlp"]) == ("active", "80", "AMBER")
    assert row["tags"] == "phishing,bank"
    assert row["sources"] == "Feed A"


def test_an_unknown_format_falls_back_to_csv(analyst_client: Client) -> None:
    make_indicator("evil.example")
    response = analyst_client.get(URL, {"format": "xlsx"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_rows(body(response))[0]["value"] == "evil.example"


def test_the_export_applies_the_list_filters(analyst_client: Client) -> None:
    make_indicator("evil.example")
    make_indicator("192.0.2.1", type="ipv4")
    make_indicator("old.example", status=Status.REVOKED)
    response = analyst_client.get(URL, {"format": "txt", "type": "domain", "status": "active"})
    assert body(response) == "evil.example\n"


def test_an_invalid_filter_is_refused_rather_than_ignored(analyst_client: Client) -> None:
    make_indicator("evil.example", tlp=TLP.AMBER)
    response = analyst_client.get(URL, {"format": "csv", "tlp": "green"})
    assert response.status_code == 400
    assert response.content.decode().startswith("Invalid filter: * tlp")
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x.example")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(
    analyst_client: Client, value: str
) -> None:
    make_indicator(value, type="keyword", tags=["=cmd|' /C calc'!A0"])
    [row] = csv_rows(body(analyst_client.get(URL, {"format": "csv"})))
    assert row["value"] == "'" + value
    assert row["tags"] == "'=cmd|' /C calc'!A0"


def test_phone_numbers_and_handles_are_neutralised_too(analyst_client: Client) -> None:
    make_indicator("+14155550100", type="phone")
    make_indicator("@scammer", type="account", sources=(make_source("=evil source"),))
    rows = {r["type"]: r for r in csv_rows(body(analyst_client.get(URL, {"format": "csv"})))}
    assert rows["phone"]["value"] == "'+14155550100"
    assert rows["account"]["value"] == "'@scammer"
    assert rows["account"]["sources"] == "'=evil source"


def test_jsonl_rows_carry_the_documented_fields(analyst_client: Client) -> None:
    make_indicator("evil.example", sources=(make_source("Feed B"), make_source("Feed A")))
    response = analyst_client.get(URL, {"format": "jsonl"})
    assert response["Content-Type"] == "application/x-ndjson"
    [record] = [json.loads(line) for line in body(response).splitlines()]
    assert record["type"] == "domain"
    assert record["value"] == "evil.example"
    assert (record["status"], record["confidence"], record["tlp"]) == ("active", 50, "AMBER")
    assert record["sources"] == ["Feed A", "Feed B"]


def test_json_export_is_one_valid_document(analyst_client: Client) -> None:
    make_indicator("a.example")
    make_indicator("b.example")
    data = json.loads(body(analyst_client.get(URL, {"format": "json"})))
    assert [r["value"] for r in data] == ["a.example", "b.example"]


def test_an_empty_export_is_still_valid(analyst_client: Client) -> None:
    assert json.loads(body(analyst_client.get(URL, {"format": "json"}))) == []
    bundle = json.loads(body(analyst_client.get(URL, {"format": "stix"})))
    assert bundle["objects"] == []
    assert csv_rows(body(analyst_client.get(URL, {"format": "csv"}))) == []


def test_a_stix_export_reads_back_through_the_stix_parser(analyst_client: Client) -> None:
    values = {
        ("domain", "evil.example"),
        ("url", "http://evil.example/it's/a\\path"),
        ("ipv4", "192.0.2.1"),
        ("ipv6", "2001:db8::1"),
        ("cidr", "198.51.100.0/24"),
        ("email", "boss@evil.example"),
        ("sha256", "a" * 64),
        ("md5", "b" * 32),
    }
    for indicator_type, value in values:
        make_indicator(value, type=indicator_type, tlp=TLP.GREEN)
    make_indicator("@scammer", type="account")  # no STIX pattern for accounts: left out
    response = analyst_client.get(URL, {"format": "stix"})
    assert response["Content-Type"] == "application/stix+json;version=2.1"
    text = body(response)
    bundle = json.loads(text)
    assert bundle["type"] == "bundle"
    assert len(bundle["objects"]) == len(values)
    first = bundle["objects"][0]
    assert first["spec_version"] == "2.1"
    assert first["object_marking_refs"] == [
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"  # TLP:GREEN
    ]
    rows = list(parse(io.BytesIO(text.encode()), ParserOptions(format="stix")))
    assert not [r for r in rows if isinstance(r, Rejected)]
    assert {(r.type, r.value) for r in rows} == values


# --- export_chunks and export_intel -----------------------------------------------------------


def test_export_chunks_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        export_chunks(Indicator.objects.all(), "xml")


def test_export_intel_writes_json_lines_by_default() -> None:
    make_indicator("evil.example", sources=(make_source("Feed A"),))
    [record] = [json.loads(line) for line in export_intel().splitlines()]
    assert {"type", "value", "status", "confidence", "tlp", "sources"} <= set(record)
    assert record["sources"] == ["Feed A"]


def test_export_intel_writes_normalised_values() -> None:
    rows = [ParsedRow(1, "HXXPS://Evil[.]Example:443/Login?"), ParsedRow(2, "EVIL.example.")]
    ingest(rows, IngestSpec(source=make_source("Feed A")))
    values = {json.loads(line)["value"] for line in export_intel("--format", "jsonl").splitlines()}
    assert values == {"https://evil.example/Login", "evil.example"}


def test_export_intel_filters_by_status_and_type() -> None:
    make_indicator("evil.example")
    make_indicator("gone.example", status=Status.EXPIRED)
    make_indicator("192.0.2.1", type="ipv4")
    assert export_intel("--format", "txt", "--status", "active", "--type", "domain") == (
        "evil.example\n"
    )
    assert export_intel("--format", "txt", "--status", "expired") == "gone.example\n"
    assert export_intel("--format", "txt", "--type", "ipv4", "--type", "domain").splitlines() == [
        "evil.example",
        "gone.example",
        "192.0.2.1",
    ]


def test_export_intel_leaves_tlp_red_out_unless_asked() -> None:
    make_indicator("evil.example")
    make_indicator("secret.example", tlp=TLP.RED)
    assert export_intel("--format", "txt") == "evil.example\n"
    assert export_intel("--format", "txt", "--include-red").splitlines() == [
        "evil.example",
        "secret.example",
    ]


def test_export_intel_writes_csv_and_stix() -> None:
    make_indicator("=evil.example", type="keyword")
    make_indicator("192.0.2.1", type="ipv4")
    rows = csv_rows(export_intel("--format", "csv"))
    assert [r["value"] for r in rows] == ["'=evil.example", "192.0.2.1"]
    bundle = json.loads(export_intel("--format", "stix"))
    assert [o["pattern"] for o in bundle["objects"]] == ["[ipv4-addr:value = '192.0.2.1']"]


def test_export_intel_refuses_an_unknown_format() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        export_intel("--format", "xml")
