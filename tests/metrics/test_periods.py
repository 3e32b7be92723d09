"""Periods (preset ranges ending today, a report's week) and the day series built on them."""

from datetime import date

from metrics.periods import Period, day_series

TODAY = date(2026, 10, 14)  # a Wednesday


def test_a_preset_range_ends_today_and_counts_whole_days() -> None:
    period = Period.recent("7d", today=TODAY)
    assert (period.first_day, period.last_day, period.days) == (date(2026, 10, 8), TODAY, 7)
    assert period.since.isoformat() == "2026-10-08T00:00:00+00:00"
    assert period.until.isoformat() == "2026-10-15T00:00:00+00:00"
    assert Period.recent("all", today=TODAY).since is None
    assert Period.week(date(2026, 10, 12)).label == "2026-10-12 to 2026-10-18"


def test_series_fill_empty_days_and_sum_weeks() -> None:
    rows = [{"day": date(2026, 10, 8), "n": 2}, {"day": date(2026, 10, 13), "n": 3}]
    labels, series = day_series(rows, Period.recent("7d", today=TODAY), ("n",))
    assert len(labels) == 7 and series["n"] == [2, 0, 0, 0, 0, 3, 0]
    weekly = Period.recent("7d", "week", today=TODAY)
    labels, series = day_series(rows, weekly, ("n",))
    assert labels == [date(2026, 10, 5), date(2026, 10, 12)] and series["n"] == [2, 3]


def test_levels_keep_the_last_day_and_gaps_stay_gaps() -> None:
    rows = [{"day": date(2026, 10, 12), "n": 5}, {"day": date(2026, 10, 13), "n": 7}]
    weekly = Period.recent("7d", "week", today=TODAY)
    _, series = day_series(rows, weekly, ("n",), reduce="last", missing=None)
    assert series["n"] == [None, 7]
