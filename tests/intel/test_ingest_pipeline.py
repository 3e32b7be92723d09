"""intel.ingest's chunked pipeline: chunks merge on a background thread inside one transaction."""

from collections.abc import Iterator

import pytest

from intel import ingest as ingest_module
from intel.ingest import IngestSpec, ingest
from intel.models import Indicator, IndicatorSource
from intel.parsers import ParsedRow, ParseError, Rejected, Skipped
from tests.factories import make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten rows a chunk, so a few dozen rows exercise the background merges."""
    monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 10)


def domains(count: int, start: int = 0) -> Iterator[ParsedRow]:
    for i in range(start, start + count):
        yield ParsedRow(line=i + 1, value=f"host{i}.evil.example", type="domain")


def test_many_chunks_land_with_exact_counts() -> None:
    source = make_source("chunked")
    result = ingest(domains(95), IngestSpec(source=source))
    assert (result.received, result.created, result.unchanged) == (95, 95, 0)
    assert Indicator.objects.count() == 95
    assert IndicatorSource.objects.filter(source=source).count() == 95


def test_duplicates_across_chunks_are_counted_once() -> None:
    rows = [*domains(25), *domains(25)]  # the second half repeats the first, in other chunks
    result = ingest(rows, IngestSpec(source=make_source("dups")))
    assert (result.received, result.created, result.unchanged) == (50, 25, 25)
    assert Indicator.objects.count() == 25


def test_rejected_and_skipped_rows_between_chunks_are_counted() -> None:
    rows = [*domains(15), Rejected(16, "broken"), Skipped(17, "not intel"), *domains(15, 100)]
    result = ingest(rows, IngestSpec(source=make_source("mixed")))
    assert (result.received, result.created, result.rejected, result.skipped) == (31, 30, 1, 1)
    assert result.errors == [{"line": 16, "reason": "broken"}]


def test_a_file_that_fails_midway_leaves_nothing_behind() -> None:
    def rows_then_failure() -> Iterator[ParsedRow]:
        yield from domains(45)  # several chunks are merged before the failure
        raise ParseError("decompressed size exceeds the limit")

    with pytest.raises(ParseError):
        ingest(rows_then_failure(), IngestSpec(source=make_source("bomb")))
    assert Indicator.objects.count() == 0
    assert IndicatorSource.objects.count() == 0


def test_a_second_run_of_the_same_rows_creates_nothing() -> None:
    source = make_source("again")
    ingest(domains(33), IngestSpec(source=source))
    again = ingest(domains(33), IngestSpec(source=source))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 33)


def test_collect_ids_follows_input_order_across_chunks() -> None:
    result = ingest(domains(22), IngestSpec(source=make_source("ids")), collect_ids=True)
    values = dict(Indicator.objects.values_list("id", "value"))
    expected = [f"host{i}.evil.example" for i in range(22)]
    assert [values[pk] for pk in result.indicator_ids] == expected


def test_values_with_copy_special_characters_survive() -> None:
    rows = [
        ParsedRow(line=1, value="free\\tgift  robux", type="keyword"),
        ParsedRow(line=2, value="https://evil.example/a\\b?q=1", type="url", reference="tab\there"),
    ]
    result = ingest(rows, IngestSpec(source=make_source("escapes"), tags=['we"ird', "back\\slash"]))
    assert result.created == 2
    assert set(Indicator.objects.values_list("value", flat=True)) == {
        "free\\tgift robux",
        "https://evil.example/a\\b?q=1",
    }
    assert Indicator.objects.get(type="url").tags == ["back\\slash", 'we"ird']
    assert IndicatorSource.objects.get(indicator__type="url").reference == "tab\there"
