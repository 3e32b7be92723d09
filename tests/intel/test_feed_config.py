"""Feed configuration as data (intel.feed_config): validation, audited apply, secret-free export."""

import copy
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from intel.feed_config import (
    FeedConfigError,
    apply_feed_config,
    clean_feed_config,
    delete_feed,
    export_feed_config,
)
from intel.models import Feed, FeedRun, Source
from tdp.models import AuditEntry
from tests.factories import make_feed_run

pytestmark = pytest.mark.django_db

SECRET = "k-81d0c7f2e5-secret"
# The example of the issue, verbatim apart from the name, URL and token.
EXAMPLE = {
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
}


def example(**changes: object) -> dict:
    data = copy.deepcopy(EXAMPLE)
    data.update(changes)
    return data


def apply(data: dict, actor=None) -> tuple[Feed, bool]:
    return apply_feed_config(clean_feed_config(data), actor=actor)


# --- validation -------------------------------------------------------------------------------


def test_the_issue_example_is_accepted_as_feed_fields() -> None:
    values = clean_feed_config(EXAMPLE)

    assert values == {
        "name": "URLhaus recent",
        "kind": "http",
        "url": "https://urlhaus.abuse.ch/downloads/csv_recent/",
        "format": "csv",
        "parser": {"value_column": "url", "comment_prefix": "#"},
        "default_type": "url",
        "confidence": 70,
        "severity": "medium",
        "tlp": "GREEN",
        "tags": ["phishing"],
        "ttl_days": 30,
        "mode": "snapshot",
        "schedule": "every 1h",
        "enabled": True,
        "auth_kind": "header",
        "auth_header": "Auth-Key",
        "auth_username": "",
        "auth_secret": SECRET,
    }


def test_a_minimal_feed_gets_the_defaults() -> None:
    values = clean_feed_config({"name": "mini", "url": "https://feeds.example/list.txt"})

    assert (values["kind"], values["format"], values["mode"], values["schedule"]) == (
        "http",
        "auto",
        "incremental",
        "every 1h",
    )
    assert (values["confidence"], values["tlp"], values["auth_kind"]) == (50, "AMBER", "none")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "unknown keys: colour"),
        ({"name": ""}, "'name' is required"),
        ({"kind": "ftp"}, "'kind' must be one of"),
        ({"url": ""}, "a http feed needs a 'url'"),
        ({"url": "ftp://feeds.example/x"}, "'url' is not allowed: URL scheme 'ftp'"),
        ({"url": "http://10.1.2.3/feed.csv"}, "10.1.2.3 is a private address"),
        ({"url": "http://169.254.169.254/latest/"}, "169.254.169.254 is a cloud metadata"),
        ({"url": "https://reader:pw-9@feeds.example/x"}, "must not contain a user name"),
        ({"format": "xlsx"}, "'format' must be one of"),
        ({"parser": {"column": "url"}}, "'parser' accepts only"),
        ({"parser": {"value_column": ["url"]}}, "'parser.value_column' must be"),
        ({"parser": {"delimiter": ";;"}}, "'parser.delimiter' must be"),
        ({"parser": {"has_header": "yes"}}, "'parser.has_header' must be"),
        ({"defaults": {"colour": "red"}}, "'defaults' accepts only"),
        ({"defaults": {"type": "hostname"}}, "unknown indicator type 'hostname'"),
        ({"defaults": {"confidence": 101}}, "'defaults.confidence' must be"),
        ({"defaults": {"confidence": "70"}}, "'defaults.confidence' must be"),
        ({"defaults": {"confidence": True}}, "'defaults.confidence' must be"),
        ({"defaults": {"tlp": "PURPLE"}}, "'defaults.tlp' must be one of"),
        ({"defaults": {"severity": "urgent"}}, "'defaults.severity' must be one of"),
        ({"defaults": {"tags": "phishing"}}, "'defaults.tags' must be a list"),
        ({"defaults": {"ttl_days": 0}}, "'defaults.ttl_days' must be"),
        ({"defaults": {"ttl_days": True}}, "'defaults.ttl_days' must be"),
        ({"mode": "mirror"}, "'mode' must be one of"),
        ({"schedule": "every 10s"}, "at most once a minute"),
        ({"schedule": "hourly"}, "'hourly' is not a schedule"),
        ({"enabled": "yes"}, "'enabled' must be true or false"),
        ({"auth": {"header": "Auth-Key", "key": "x"}}, "'auth' accepts only"),
        ({"auth": {"token": SECRET}}, "'auth' needs a 'header' or a 'username'"),
        ({"auth": {"header": "Auth Key", "token": "x"}}, "'auth.header' is not a valid"),
    ],
)
def test_invalid_configs_are_refused_naming_the_feed_and_key(changes: dict, message: str) -> None:
    with pytest.raises(FeedConfigError) as caught:
        clean_feed_config(example(**changes))

    assert message in str(caught.value)
    assert str(caught.value).startswith("feed ")
    assert SECRET not in str(caught.value) and "pw-9" not in str(caught.value)


def test_a_feed_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(FeedConfigError, match="JSON object"):
        clean_feed_config(["name", "x"])


def test_a_file_feed_needs_no_url() -> None:
    values = clean_feed_config({"name": "upload", "kind": "file", "format": "txt"})
    assert (values["kind"], values["url"]) == ("file", "")


def test_tlp_is_accepted_in_the_usual_spellings() -> None:
    for spelling in ("green", "TLP:GREEN", "Green"):
        assert clean_feed_config(example(defaults={"tlp": spelling}))["tlp"] == "GREEN"


def test_basic_auth_takes_a_username_and_password() -> None:
    values = clean_feed_config(example(auth={"username": "reader", "password": "pw-1"}))
    assert (values["auth_kind"], values["auth_username"], values["auth_secret"]) == (
        "basic",
        "reader",
        "pw-1",
    )


# --- apply ------------------------------------------------------------------------------------


def test_apply_creates_the_feed_its_source_and_an_audit_entry_without_the_secret(
    admin_user,
) -> None:
    feed, created = apply(EXAMPLE, actor=admin_user)

    assert created
    assert (feed.source.name, feed.source.kind) == ("Feed: URLhaus recent", Source.Kind.FEED)
    assert (feed.source.default_confidence, feed.source.default_tlp) == (70, "GREEN")
    assert feed.auth_secret == SECRET and feed.next_run_at <= timezone.now()
    entry = AuditEntry.objects.get(action="feed.create")
    assert entry.user == admin_user
    assert SECRET not in json.dumps(entry.changes) + entry.note


def test_apply_updates_by_name_and_audits_only_what_changed(admin_user) -> None:
    feed, _ = apply(EXAMPLE)
    changed = example(defaults={**EXAMPLE["defaults"], "confidence": 90}, schedule="every 6h")
    changed["auth"] = {"header": "Auth-Key"}  # no token: the stored one stays

    updated, created = apply(changed, actor=admin_user)

    assert not created and updated.pk == feed.pk
    assert (updated.confidence, updated.schedule, updated.auth_secret) == (90, "every 6h", SECRET)
    assert updated.next_run_at > timezone.now() + timedelta(hours=5)
    entry = AuditEntry.objects.get(action="feed.update")
    assert set(entry.changes) == {"confidence", "schedule"}


def test_apply_with_a_new_token_audits_that_it_changed_but_not_its_value() -> None:
    apply(EXAMPLE)
    apply(example(auth={"header": "Auth-Key", "token": "new-token-value"}))

    entry = AuditEntry.objects.get(action="feed.update")
    assert entry.changes == {"auth_secret": ["(hidden)", "(changed)"]}
    assert "new-token-value" not in json.dumps(entry.changes)


def test_removing_auth_forgets_the_secret() -> None:
    apply(EXAMPLE)
    data = example()
    del data["auth"]

    feed, _ = apply(data)

    assert (feed.auth_kind, feed.auth_header, feed.auth_secret) == ("none", "", "")


def test_applying_the_same_config_twice_records_no_change() -> None:
    apply(EXAMPLE)
    apply(EXAMPLE)

    assert AuditEntry.objects.filter(action="feed.update").count() == 0


def test_deleting_a_feed_keeps_its_source_and_audits() -> None:
    feed, _ = apply(EXAMPLE)
    make_feed_run(feed)

    delete_feed(feed, actor=None)

    assert not Feed.objects.exists() and not FeedRun.objects.exists()
    assert Source.objects.filter(name="Feed: URLhaus recent").exists()
    assert AuditEntry.objects.filter(action="feed.delete").count() == 1
    again, created = apply(EXAMPLE)  # the name can be configured again, on the same source
    assert created and again.source.name == "Feed: URLhaus recent"


# --- export -----------------------------------------------------------------------------------


def test_export_never_contains_the_secret_and_round_trips() -> None:
    feed, _ = apply(EXAMPLE)

    exported = export_feed_config(feed)

    assert SECRET not in json.dumps(exported)
    assert exported["auth"] == {"header": "Auth-Key"}
    assert clean_feed_config(exported) == {
        k: v for k, v in clean_feed_config(EXAMPLE).items() if k != "auth_secret"
    }


def test_export_of_basic_auth_keeps_the_username_only() -> None:
    feed, _ = apply(example(auth={"username": "reader", "password": "pw-secret-2"}))

    assert export_feed_config(feed)["auth"] == {"username": "reader"}


def test_a_url_carrying_an_api_key_in_its_query_is_refused() -> None:
    from intel.feed_config import FeedConfigError, clean_feed_config

    with pytest.raises(FeedConfigError, match="apikey"):
        clean_feed_config({"name": "Keyed", "url": "https://feeds.example/list?apikey=s3cret"})
    assert clean_feed_config({"name": "Paged", "url": "https://feeds.example/list?page=2"})
