"""Server-side SVG charts: escaped labels, no inline style, empty data."""

from datetime import date

from metrics.charts import Series, bar_chart, line_chart, number


def test_line_chart_labels_are_escaped() -> None:
    svg = line_chart(
        [date(2026, 10, 1), date(2026, 10, 2)],
        [Series('<script>alert("x")</script>', [1, 2])],
        title="Hits & <b>labels</b>",
    )
    assert "<script>" not in svg and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert "<title>Hits &amp; &lt;b&gt;labels&lt;/b&gt;</title>" in svg
    assert "style" not in svg
    assert svg.count("<circle") == 2 and "<polyline" in svg


def test_bar_chart_labels_are_escaped() -> None:
    svg = bar_chart([("<img src=x onerror=alert(1)>", 5), ("ok", 0)], title="T")
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert svg.count("<rect") == 2 and "style" not in svg


def test_charts_without_data_say_so() -> None:
    assert "no data yet" in line_chart([], [], title="Hits")
    assert "no data yet" in bar_chart([], title="<Types>") and "&lt;Types&gt;" in bar_chart(
        [], title="<Types>"
    )


def test_a_flat_line_of_zeros_still_draws() -> None:
    svg = line_chart([date(2026, 10, 1)], [Series("Hits", [0])], title="Hits")
    assert "<polyline" in svg


def test_numbers_are_compact() -> None:
    assert [number(v) for v in (None, 3, 1234, 0.25, 12_500, 250_000)] == [
        "—",
        "3",
        "1,234",
        "0.25",
        "12.5k",
        "250k",
    ]
