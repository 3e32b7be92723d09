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


@pytest.fixture(params=["per indicator", "summary"])
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of counting: per indicator (small batches, audited) and the bulk summary."""
    if request.param == "summary":
        monkeypatch.setattr(ingest_module, "PER_INDICATOR_AUDIT_LIMIT", 0)


def tagged(values: list[int], tag: str) -> Iterator[ParsedRow]:
    for i in values:
        yield ParsedRow(
            line=i + 1, value=f"host{i}.evil.example", type="domain", fields={"tags": [tag]}
        )


@pytest.mark.usefixtures("counting")
def test_a_value_created_and_changed_in_one_batch_counts_as_created_once() -> None:
    # host0..9 are created by the first chunk and bring a new tag again in the third.
    rows = [*tagged(list(range(10)), "a"), *tagged(list(range(10, 20)), "a")]
    rows += tagged(list(range(10)), "b")
    result = ingest(rows, IngestSpec(source=make_source("retagged")))
    assert (result.created, result.updated, result.unchanged) == (20, 0, 10)
    assert Indicator.objects.get(value="host3.evil.example").tags == ["a", "b"]


@pytest.mark.usefixtures("counting")
def test_a_known_value_changed_in_two_chunks_counts_as_updated_once() -> None:
    source = make_source("twice")
    ingest(tagged([1, 2], "a"), IngestSpec(source=source))
    rows = [*tagged([1], "b"), *domains(10, 100), *tagged([1], "c"), *tagged([2], "a")]
    result = ingest(rows, IngestSpec(source=source))
    assert (result.created, result.updated, result.unchanged) == (10, 1, 2)
    assert Indicator.objects.get(value="host1.evil.example").tags == ["a", "b", "c"]


@pytest.mark.usefixtures("counting")
def test_a_value_another_transaction_inserted_after_the_look_up_is_merged_as_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The look-up misses every stored value, as if each were committed just after it ran."""
    from intel.ingest import merge

    old = make_source("first")
    ingest(tagged([1, 2], "a"), IngestSpec(source=old))
    before = dict(Indicator.objects.values_list("value", "id"))
    blind = merge._LOOK_UP.replace("i.value = c.value", "i.value = c.value AND false")
    monkeypatch.setattr(merge, "_LOOK_UP", blind)
    new = make_source("second")
    result = ingest([*tagged([1], "b"), *tagged([2], "a"), *domains(3, 50)], IngestSpec(source=new))
    # Both known values are reported by a new source (updated); host1 also gains a tag.
    assert (result.created, result.updated, result.unchanged) == (3, 2, 0)
    assert Indicator.objects.get(value="host2.evil.example").pk == before["host2.evil.example"]
    assert Indicator.objects.count() == 5
    assert Indicator.objects.get(value="host1.evil.example").tags == ["a", "b"]
    assert IndicatorSource.objects.filter(source=new).count() == 5
    assert set(
        IndicatorSource.objects.filter(source=new).values_list("indicator_id", flat=True)
    ) == set(Indicator.objects.values_list("id", flat=True))


@pytest.mark.parametrize("apart", [False, True], ids=["same chunk", "other chunks"])
def test_a_repeated_value_merges_the_same_inside_a_chunk_and_across_chunks(apart: bool) -> None:
    first = ParsedRow(
        1, "Repeat.evil.example", "domain", fields={"tags": ["a"], "confidence": 20, "tlp": "GREEN"}
    )
    second = ParsedRow(
        2, "repeat.evil.example", "domain", fields={"tags": ["b"], "confidence": 80, "tlp": "AMBER"}
    )
    filler = list(domains(12)) if apart else []  # twelve rows: the repeat lands in a later chunk
    result = ingest([first, *filler, second], IngestSpec(source=make_source("repeats")))
    assert result.received == 2 + len(filler)
    indicator = Indicator.objects.get(value="repeat.evil.example")
    assert (indicator.confidence, indicator.tags, indicator.tlp) == (80, ["a", "b"], "AMBER")
    provenance = IndicatorSource.objects.get(indicator=indicator)
    assert (provenance.confidence, provenance.reference) == (80, "line 1")
