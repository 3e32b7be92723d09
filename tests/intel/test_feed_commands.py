"""The feed commands: `import_feeds`, `export_feeds` and `pull_feed` (one JSON line)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intel.models import Feed, FeedRun, Indicator
from tdp.models import AuditEntry
from tests.factories import make_feed, make_feed_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_feeds")]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "imp-4c2b9e77-token"
FEEDS = [
    {
        "name": "URLhaus recent",
        "kind": "http",
        "url": "https://urlhaus.abuse.ch/downloads/csv_recent/",
        "format": "csv",
        "parser": {"value_column": "url", "comment_prefix": "#"},
        "defaults": {
            "type": "url",
            "confidence": 70,
            "tlp": "GREEN",
            "tags": ["phishing"],
            "ttl_days": 30,
        },
        "mode": "snapshot",
        "schedule": "every 1h",
        "enabled": True,
        "auth": {"header": "Auth-Key", "token": SECRET},
    },
    {"name": "Blocklist", "url": "https://lists.example/domains.txt", "format": "txt"},
]
COUNT_KEYS = {"received", "created", "updated", "unchanged", "rejected", "expired"}


def write_json(tmp_path: Path, data: object, name: str = "feeds.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def command(name: str, *args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    options = {"stdout": out}
    if stdin is not None:
        options["stdin"] = io.StringIO(stdin)
    call_command(name, *args, **options)
    return out.getvalue()


# --- import_feeds -----------------------------------------------------------------------------


def test_import_feeds_creates_the_feeds_in_the_file(tmp_path) -> None:
    out = command("import_feeds", str(write_json(tmp_path, FEEDS)))

    assert json.loads(out) == {"feeds": 2, "created": 2, "updated": 0}
    feed = Feed.objects.get(name="URLhaus recent")
    assert (feed.mode, feed.default_type, feed.tags, feed.ttl_days) == (
        "snapshot",
        "url",
        ["phishing"],
        30,
    )
    assert (feed.auth_header, feed.auth_secret) == ("Auth-Key", SECRET)
    assert Feed.objects.get(name="Blocklist").mode == "incremental"
    assert AuditEntry.objects.filter(action="feed.create").count() == 2


def test_import_feeds_updates_by_name_and_keeps_an_omitted_secret(tmp_path) -> None:
    command("import_feeds", str(write_json(tmp_path, FEEDS)))
    changed = json.loads(json.dumps(FEEDS))
    changed[0]["schedule"] = "*/30 * * * *"
    changed[0]["auth"] = {"header": "Auth-Key"}

    out = command("import_feeds", str(write_json(tmp_path, changed)))

    assert json.loads(out) == {"feeds": 2, "created": 0, "updated": 2}
    feed = Feed.objects.get(name="URLhaus recent")
    assert (feed.schedule, feed.auth_secret) == ("*/30 * * * *", SECRET)
    assert Feed.objects.count() == 2


def test_import_feeds_reads_one_object_from_stdin() -> None:
    out = command("import_feeds", "-", stdin=json.dumps(FEEDS[1]))

    assert json.loads(out)["created"] == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda feeds: feeds[1].update(colour="red"), "feed Blocklist: unknown keys: colour"),
        (
            lambda feeds: feeds[1].update(schedule="every 5 minutes"),
            "feed Blocklist: 'every 5 minutes' is not a schedule",
        ),
        (lambda feeds: feeds[1].update(name="URLhaus recent"), "names the same feed twice"),
    ],
    ids=["unknown-key", "invalid-schedule", "duplicate-name"],
)
def test_an_invalid_feed_fails_the_whole_import_naming_it(tmp_path, mutate, message) -> None:
    feeds = json.loads(json.dumps(FEEDS))
    mutate(feeds)

    with pytest.raises(CommandError, match=message):
        command("import_feeds", str(write_json(tmp_path, feeds)))

    assert not Feed.objects.exists()  # not even the valid first feed


def test_an_invalid_feed_in_an_update_changes_nothing(tmp_path) -> None:
    command("import_feeds", str(write_json(tmp_path, FEEDS)))
    feeds = json.loads(json.dumps(FEEDS))
    feeds[0]["defaults"]["confidence"] = 10
    feeds[1]["defaults"] = {"confidence": 400}

    with pytest.raises(CommandError, match="confidence"):
        command("import_feeds", str(write_json(tmp_path, feeds)))

    assert Feed.objects.get(name="URLhaus recent").confidence == 70


def test_import_feeds_reports_unreadable_files(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")

    with pytest.raises(CommandError, match="is not valid JSON"):
        command("import_feeds", str(bad))
    with pytest.raises(CommandError, match="cannot read"):
        command("import_feeds", str(tmp_path / "missing.json"))


# --- export_feeds -----------------------------------------------------------------------------


def test_export_feeds_prints_every_feed_without_secrets(tmp_path) -> None:
    command("import_feeds", str(write_json(tmp_path, FEEDS)))
    basic = make_feed("Basic", url="https://taxii.example/c/1/", kind=Feed.Kind.TAXII)
    basic.auth_kind, basic.auth_username, basic.auth_secret = "basic", "reader", "pw-x9-secret"
    basic.save()

    out = command("export_feeds")

    assert SECRET not in out and "pw-x9-secret" not in out
    exported = json.loads(out)
    assert [feed["name"] for feed in exported] == ["Basic", "Blocklist", "URLhaus recent"]
    assert exported[0]["auth"] == {"username": "reader"}
    assert exported[2]["auth"] == {"header": "Auth-Key"}


def test_an_export_re_imports_as_a_no_op_that_keeps_secrets(tmp_path) -> None:
    command("import_feeds", str(write_json(tmp_path, FEEDS)))
    exported = command("export_feeds")

    out = command("import_feeds", str(write_json(tmp_path, json.loads(exported), "export.json")))

    assert json.loads(out) == {"feeds": 2, "created": 0, "updated": 2}
    assert not AuditEntry.objects.filter(action="feed.update").exists()
    assert Feed.objects.get(name="URLhaus recent").auth_secret == SECRET


# --- pull_feed --------------------------------------------------------------------------------


def pull_command(*args: str) -> dict:
    out = command("pull_feed", *args)
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_pull_feed_prints_the_run_as_one_json_line(feed_server, private_urls) -> None:
    feed_server.route("/list.txt", body="evil.example\n198.51.100.7\nnot_a_domain!\n", etag='"a"')
    make_feed("Blocklist", url=feed_server.url("/list.txt"), format="txt")

    first = pull_command("Blocklist")
    second = pull_command("Blocklist")
    forced = pull_command("Blocklist", "--force")

    assert COUNT_KEYS | {"status"} <= set(first)
    assert {k: first[k] for k in ["status", *sorted(COUNT_KEYS)]} == {
        "status": "partial",
        "created": 2,
        "expired": 0,
        "received": 3,
        "rejected": 1,
        "unchanged": 0,
        "updated": 0,
    }
    assert first["errors"][0]["line"] == 3
    assert (second["status"], second["received"]) == ("unchanged", 0)
    assert (forced["status"], forced["unchanged"]) == ("partial", 2)
    assert [run.trigger for run in FeedRun.objects.all()] == [FeedRun.Trigger.COMMAND] * 3


def test_pull_feed_prints_the_failed_run_and_exits_non_zero(feed_server, private_urls) -> None:
    feed_server.route("/list.txt", status=503)
    make_feed("Down", url=feed_server.url("/list.txt"))
    out = io.StringIO()

    with pytest.raises(CommandError, match="the pull failed: the feed server answered HTTP 503"):
        call_command("pull_feed", "Down", stdout=out)

    result = json.loads(out.getvalue())
    assert (result["status"], result["error"]) == ("failed", "the feed server answered HTTP 503")
    assert set(result) >= COUNT_KEYS


def test_pull_feed_of_an_unknown_feed_fails() -> None:
    with pytest.raises(CommandError, match="no feed named 'nope'"):
        command("pull_feed", "nope")


def test_pull_feed_while_a_pull_runs_fails(feed_server) -> None:
    feed = make_feed("Busy", url=feed_server.url("/list.txt"))
    make_feed_run(feed, status=FeedRun.Status.RUNNING)

    with pytest.raises(CommandError, match="already being pulled"):
        command("pull_feed", "Busy")

    assert feed_server.requests == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pull_feed_exits_non_zero_in_a_shell_when_busy(feed_server, command_env) -> None:
    feed = make_feed("Busy", url=feed_server.url("/list.txt"))
    make_feed_run(feed, status=FeedRun.Status.RUNNING)

    done = subprocess.run(
        [sys.executable, "manage.py", "pull_feed", "Busy"],
        cwd=ROOT,
        env=command_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    assert "feed 'Busy' is already being pulled" in done.stderr
    assert Indicator.objects.count() == 0
