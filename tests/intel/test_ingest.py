"""intel.ingest: one row per (type, normalised value), merged re-reports, provenance, audit."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from intel.ingest import IngestSpec, ingest
from intel.models import TLP, Indicator, IndicatorSource, Status
from intel.parsers import ParsedRow, ParseError, ParserOptions, Rejected, Skipped, parse
from tdp.models import AuditEntry
from tests.factories import make_indicator, make_source

pytestmark = pytest.mark.django_db


def rows(*values: str, type: str | None = None, **fields: object) -> list[ParsedRow]:
    return [
        ParsedRow(line=n, value=v, type=type, fields=dict(fields)) for n, v in enumerate(values, 1)
    ]


def spec(source=None, **options: object) -> IngestSpec:
    return IngestSpec(source=source or make_source("Feed A"), **options)


def reported(indicator: Indicator, source, **fields: object) -> IndicatorSource:
    return IndicatorSource.objects.create(
        indicator=indicator, source=source, reference="earlier", **fields
    )


def test_a_new_value_creates_one_indicator_with_its_provenance() -> None:
    source = make_source("Feed A", default_confidence=65, default_tlp=TLP.GREEN)
    result = ingest(rows("evil.example"), spec(source))
    assert (result.received, result.created, result.updated, result.unchanged) == (1, 1, 0, 0)
    indicator = Indicator.objects.get()
    assert (indicator.type, indicator.value, indicator.status) == (
        "domain",
        "evil.example",
        "active",
    )
    assert (indicator.confidence, indicator.tlp) == (65, TLP.GREEN)
    assert indicator.expires_at > timezone.now() + timedelta(days=89)
    provenance = indicator.provenance.get()
    assert (provenance.source, provenance.reference) == (source, "line 1")


def test_spellings_of_one_value_become_one_row() -> None:
    result = ingest(rows("EVIL.example.", "evil[.]example", "evil.example"), spec())
    assert (result.received, result.created, result.unchanged) == (3, 1, 2)
    assert list(Indicator.objects.values_list("value", flat=True)) == ["evil.example"]


def test_ingesting_the_same_rows_twice_creates_nothing_the_second_time() -> None:
    source = make_source()
    ingest(rows("evil.example", "192.0.2.7"), spec(source))
    again = ingest(rows("evil.example", "192.0.2.7"), spec(source))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Indicator.objects.count() == 2
    assert IndicatorSource.objects.count() == 2


def test_a_re_report_within_the_seen_resolution_leaves_the_row_alone() -> None:
    source = make_source()
    recently = timezone.now() - timedelta(minutes=1)
    indicator = make_indicator("evil.example", last_seen_at=recently)
    reported(indicator, source, last_seen_at=recently)
    result = ingest(rows("evil.example"), spec(source, confidence=50))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    indicator.refresh_from_db()
    assert indicator.last_seen_at == recently


def test_a_re_report_after_the_seen_resolution_moves_last_seen(settings) -> None:
    source = make_source()
    long_ago = timezone.now() - settings.TDP_SEEN_RESOLUTION - timedelta(minutes=5)
    indicator = make_indicator("evil.example", first_seen_at=long_ago, last_seen_at=long_ago)
    reported(indicator, source, first_seen_at=long_ago, last_seen_at=long_ago)
    result = ingest(rows("evil.example"), spec(source, confidence=50))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    indicator.refresh_from_db()
    assert indicator.last_seen_at > long_ago
    assert indicator.first_seen_at == long_ago
    assert indicator.provenance.get().last_seen_at > long_ago
    assert Indicator.objects.count() == 1


def test_a_second_source_adds_provenance_and_counts_as_updated() -> None:
    first, second = make_source("Feed A"), make_source("Feed B")
    indicator = make_indicator("evil.example", confidence=50, sources=(first,))
    result = ingest(rows("evil.example"), spec(second, confidence=50))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert set(indicator.provenance.values_list("source__name", flat=True)) == {"Feed A", "Feed B"}
    assert Indicator.objects.count() == 1


def test_an_expired_indicator_comes_back_active_when_re_reported() -> None:
    source = make_source()
    past = timezone.now() - timedelta(days=1)
    indicator = make_indicator("evil.example", status=Status.EXPIRED, expires_at=past)
    reported(indicator, source)
    result = ingest(rows("evil.example"), spec(source, confidence=50))
    assert result.updated == 1
    indicator.refresh_from_db()
    assert indicator.status == Status.ACTIVE
    assert indicator.expires_at > timezone.now()


def test_a_revoked_indicator_stays_revoked_when_re_reported() -> None:
    source = make_source()
    indicator = make_indicator("evil.example", status=Status.REVOKED)
    ingest(rows("evil.example"), spec(source, confidence=90))
    indicator.refresh_from_db()
    assert indicator.status == Status.REVOKED


@pytest.mark.parametrize(("reported_confidence", "kept"), [(30, 70), (90, 90)])
def test_confidence_takes_the_maximum(reported_confidence: int, kept: int) -> None:
    make_indicator("evil.example", confidence=70)
    ingest(rows("evil.example"), spec(confidence=reported_confidence))
    assert Indicator.objects.get().confidence == kept


@pytest.mark.parametrize(
    ("existing", "reported_tlp", "kept"),
    [
        (TLP.AMBER, TLP.GREEN, TLP.AMBER),
        (TLP.AMBER, TLP.RED, TLP.RED),
        (TLP.CLEAR, "AMBER+STRICT", "AMBER+STRICT"),
    ],
)
def test_tlp_takes_the_most_restrictive_label(existing: str, reported_tlp: str, kept: str) -> None:
    make_indicator("evil.example", tlp=existing)
    ingest(rows("evil.example"), spec(tlp=reported_tlp))
    assert Indicator.objects.get().tlp == kept


def test_tags_merge_and_are_cleaned() -> None:
    make_indicator("evil.example", tags=["phishing"])
    ingest(rows("evil.example", tags=["Banking ", "phishing", "None"]), spec(tags=["Campaign-7"]))
    assert Indicator.objects.get().tags == ["banking", "campaign-7", "phishing"]


def test_an_allowlisted_value_is_stored_as_allowlisted_never_active() -> None:
    # tiktok.com is a seeded platform allowlist entry (migration 0002)
    result = ingest(rows("https://www.tiktok.com/@someone", "evil.example"), spec())
    assert (result.created, result.allowlisted) == (2, 1)
    statuses = dict(Indicator.objects.values_list("value", "status"))
    assert statuses == {
        "https://www.tiktok.com/@someone": Status.ALLOWLISTED,
        "evil.example": Status.ACTIVE,
    }


def test_malformed_rows_are_rejected_with_line_and_reason_while_the_rest_lands() -> None:
    batch = [
        ParsedRow(1, "evil.example"),
        ParsedRow(2, "010.0.0.1"),
        Rejected(3, "expected 3 columns, got 2"),
        ParsedRow(4, "not an indicator"),
        Skipped(5, "to_ids is false"),
        ParsedRow(6, "192.0.2.1"),
    ]
    result = ingest(batch, spec())
    assert (result.received, result.created, result.rejected, result.skipped) == (5, 2, 3, 1)
    assert [e["line"] for e in result.errors] == [2, 3, 4]
    assert "leading zero" in result.errors[0]["reason"]
    assert result.errors[1]["reason"] == "expected 3 columns, got 2"
    assert set(Indicator.objects.values_list("value", flat=True)) == {"evil.example", "192.0.2.1"}


def test_only_twenty_error_samples_are_kept() -> None:
    result = ingest([ParsedRow(n, f"bad value {n}") for n in range(1, 26)], spec())
    assert (result.received, result.rejected, result.created) == (25, 25, 0)
    assert len(result.errors) == 20
    assert result.errors[0] == {"line": 1, "reason": result.errors[0]["reason"]}
    assert Indicator.objects.count() == 0


def test_a_batch_that_fails_half_way_lands_nothing() -> None:
    # 200,000 good lines, gzipped to a few hundred bytes; the decompressed cap stops it midway.
    import gzip

    bomb = gzip.compress(b"evil.example\n" * 200_000)
    batch = parse(io.BytesIO(bomb), ParserOptions(format="txt", max_bytes=64 * 1024 + 100))
    with pytest.raises(ParseError, match="decompressed size exceeds"):
        ingest(batch, spec())
    assert Indicator.objects.count() == 0
    assert IndicatorSource.objects.count() == 0


def test_reserved_and_documentation_values_are_valid_indicators() -> None:
    result = ingest(rows("192.0.2.1", "10.0.0.1", "login.bank.example", "2001:db8::1"), spec())
    assert (result.created, result.rejected) == (4, 0)
    assert set(Indicator.objects.values_list("type", "value")) == {
        ("ipv4", "192.0.2.1"),
        ("ipv4", "10.0.0.1"),
        ("domain", "login.bank.example"),
        ("ipv6", "2001:db8::1"),
    }


def test_html_in_values_is_stored_as_data() -> None:
    script = "<script>alert(1)</script>"
    url = 'http://evil.example/?q="><img/src=x/onerror=alert(1)>&page=2'
    result = ingest([ParsedRow(1, script, "keyword"), ParsedRow(2, url)], spec())
    assert (result.created, result.rejected) == (2, 0)
    assert Indicator.objects.get(type="keyword").value == script
    assert Indicator.objects.get(type="url").value == url


def test_the_forced_type_wins_over_detection() -> None:
    value = "f" * 64
    ingest(rows(value), spec(type="pdq"))
    assert Indicator.objects.get().type == "pdq"


def test_small_batches_write_an_audit_entry_per_new_indicator_and_a_summary(analyst) -> None:
    source = make_source("Feed A")
    ingest(rows("evil.example", "192.0.2.1", "bad value"), spec(source), actor=analyst)
    created = AuditEntry.objects.filter(action="indicator.create")
    assert created.count() == 2
    assert {e.user for e in created} == {analyst}
    summary = AuditEntry.objects.get(action="intel.ingest")
    assert summary.object_repr == "Feed A"
    assert summary.changes["created"] == 2
    assert summary.changes["rejected"] == 1


def test_collect_ids_returns_the_touched_indicators_in_row_order() -> None:
    existing = make_indicator("known.example")
    result = ingest(rows("new.example", "known.example"), spec(), collect_ids=True)
    new = Indicator.objects.get(value="new.example")
    assert result.indicator_ids == [new.pk, existing.pk]


def test_a_source_ttl_sets_the_expiry() -> None:
    source = make_source("Short lived", ttl_days=2)
    ingest(rows("evil.example"), spec(source))
    expires = Indicator.objects.get().expires_at
    assert timezone.now() + timedelta(days=1) < expires < timezone.now() + timedelta(days=3)


def test_the_longest_accepted_url_lands_and_a_longer_one_is_only_rejected() -> None:
    source = make_source("long urls")
    longest = "https://evil.example/" + "a" * (2048 - len("https://evil.example/"))
    result = ingest(
        [
            ParsedRow(line=1, value=longest, type="url"),
            ParsedRow(line=2, value=longest + "b", type="url"),
            ParsedRow(line=3, value="https://fine.example/", type="url"),
        ],
        IngestSpec(source=source),
    )
    assert (result.created, result.rejected) == (2, 1)
    assert result.errors == [{"line": 2, "reason": "value longer than 2048 characters"}]
