"""`manage.py scan_content`: JSON lines or an array in, matches or hits out, one summary line."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from detection.models import ContentEvent, Hit
from tests.factories import make_content_event, make_indicator

pytestmark = pytest.mark.django_db


def write_lines(tmp_path: Path, *items: object) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(f"{json.dumps(item)}\n" for item in items), encoding="utf-8")
    return path


def scan(path: Path, *args: str) -> tuple[list[dict], str]:
    out, err = StringIO(), StringIO()
    call_command("scan_content", str(path), *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    make_indicator("evil.example")
    make_indicator("d41d8cd98f00b204e9800998ecf8427e", type="md5")
    return write_lines(
        tmp_path,
        make_content_event("go to evil.example", id="e1"),
        make_content_event("nothing here", id="e2"),
        make_content_event(id="e3", media=[{"md5": "D41D8CD98F00B204E9800998ECF8427E"}]),
    )


def test_a_dry_run_prints_each_match_then_the_counts(events_file: Path) -> None:
    lines, _ = scan(events_file, "--dry-run")
    assert lines == [
        {
            "event": "e1",
            "rule": "Known-bad intel",
            "type": "domain",
            "indicator": "evil.example",
            "field": "text",
        },
        {
            "event": "e3",
            "rule": "Known-bad intel",
            "type": "md5",
            "indicator": "d41d8cd98f00b204e9800998ecf8427e",
            "field": "media",
        },
        {"events": 3, "matches": 2, "rejected": 0},
    ]


def test_a_dry_run_writes_nothing(events_file: Path) -> None:
    scan(events_file, "--dry-run")
    assert not ContentEvent.objects.exists()
    assert not Hit.objects.exists()


def test_it_stores_events_and_hits_and_prints_the_counts(events_file: Path) -> None:
    lines, _ = scan(events_file)
    # Both hits are by the same author: the default rule groups them into one case.
    assert lines == [{"events": 3, "hits": 2, "cases": 1, "rejected": 0}]
    assert ContentEvent.objects.count() == 3
    assert set(Hit.objects.values_list("event_id", flat=True)) == {"e1", "e3"}
    assert set(Hit.objects.values_list("case__hit_count", flat=True)) == {2}


def test_scanning_the_same_file_twice_adds_no_hits(events_file: Path) -> None:
    scan(events_file)
    lines, _ = scan(events_file)
    assert lines == [{"events": 3, "hits": 0, "cases": 0, "rejected": 0}]
    assert (ContentEvent.objects.count(), Hit.objects.count()) == (3, 2)


def test_it_reads_a_json_array(tmp_path: Path) -> None:
    make_indicator("evil.example")
    path = tmp_path / "events.json"
    path.write_text(json.dumps([make_content_event("evil.example"), make_content_event()]))
    lines, _ = scan(path)
    assert lines == [{"events": 2, "hits": 1, "cases": 1, "rejected": 0}]


def test_rejected_events_are_counted_with_reasons_on_stderr(tmp_path: Path) -> None:
    make_indicator("evil.example")
    path = tmp_path / "events.jsonl"
    good = json.dumps(make_content_event("evil.example"))
    bad_kind = json.dumps(make_content_event(kind="tweet"))
    path.write_text(f"\n{good}\n{{not json\n\n{bad_kind}\n", encoding="utf-8")

    lines, err = scan(path)

    assert lines == [{"events": 1, "hits": 1, "cases": 1, "rejected": 2}]
    assert "line 3: not JSON" in err
    assert "line 5: kind must be one of" in err


def test_rejected_items_of_an_array_are_named_by_position(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([make_content_event(), {"id": "x"}]))
    lines, err = scan(path, "--dry-run")
    assert lines == [{"events": 1, "matches": 0, "rejected": 1}]
    assert err.startswith("item 2: kind must be one of")


def test_an_empty_file_scans_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert scan(path)[0] == [{"events": 0, "hits": 0, "cases": 0, "rejected": 0}]


def test_a_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot open"):
        scan(tmp_path / "nope.jsonl")


def test_a_broken_array_is_a_command_error(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("[{")
    with pytest.raises(CommandError, match="not a JSON array"):
        scan(path)
