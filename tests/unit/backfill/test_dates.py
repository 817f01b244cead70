"""`--since`/`--until`: ISO 8601 dates and date-times, UTC unless an offset is given, a date is its midnight;
since inclusive, until exclusive, and a key that names only its day is in the window when part of that day is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devo_sqs.backfill.dates import Period, TimeWindow, parse_instant


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-01-16", utc(2024, 1, 16)),
        ("20240116", utc(2024, 1, 16)),
        ("2024-01-16T12:30", utc(2024, 1, 16, 12, 30)),
        ("2024-01-16T12", utc(2024, 1, 16, 12)),
        ("2024-01-16 12:30:15", utc(2024, 1, 16, 12, 30, 15)),
        ("2024-01-16T12:30:00Z", utc(2024, 1, 16, 12, 30)),
        ("2024-01-16T12:30+02:00", utc(2024, 1, 16, 10, 30)),
        ("2024-01-16T00:30-05:00", utc(2024, 1, 16, 5, 30)),
        ("20240116T1230Z", utc(2024, 1, 16, 12, 30)),
        ("2024-W03-2", utc(2024, 1, 16)),
        (" 2024-01-16 ", utc(2024, 1, 16)),
    ],
)
def test_iso_8601_dates_and_times_are_utc_unless_they_carry_an_offset(text: str, instant: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2024-1-6", "16/01/2024", "2024-13-01", "", "1705406400"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_instant(text)
    assert str(error.value) == (
        "expected an ISO 8601 date or date-time (2024-01-16, 2024-01-16T12:30, 2024-01-16T12:30:00Z or "
        f"2024-01-16T12:30+02:00), not {text!r}"
    )


def test_since_is_inclusive_and_until_exclusive() -> None:
    window = TimeWindow(utc(2024, 1, 2), utc(2024, 1, 4))
    assert [window.contains(moment) for moment in (utc(2024, 1, 1, 23, 59, 59), utc(2024, 1, 2))] == [False, True]
    assert [window.contains(moment) for moment in (utc(2024, 1, 3, 23, 59, 59), utc(2024, 1, 4))] == [True, False]


@pytest.mark.parametrize(
    ("period", "inside"),
    [
        (Period(utc(2024, 1, 1), utc(2024, 1, 2)), False),  # the day before since
        (Period(utc(2024, 1, 2), utc(2024, 1, 3)), True),
        (Period(utc(2024, 1, 3, 23, 59), utc(2024, 1, 4)), True),  # the last minute before until
        (Period(utc(2024, 1, 4), utc(2024, 1, 5)), False),  # the day until names
        (Period(utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)), True),  # straddles since
        (Period(utc(2024, 1, 1), utc(2025, 1, 1)), True),  # a year folder
    ],
)
def test_a_period_is_in_the_window_when_any_of_it_is(period: Period, inside: bool) -> None:
    assert TimeWindow(utc(2024, 1, 2), utc(2024, 1, 4)).overlaps(period) is inside


def test_a_day_is_in_a_window_starting_in_its_afternoon() -> None:
    window = TimeWindow(since=utc(2024, 1, 2, 12))
    assert window.overlaps(Period(utc(2024, 1, 2), utc(2024, 1, 3)))
    assert not window.overlaps(Period(utc(2024, 1, 2, 11, 59), utc(2024, 1, 2, 12)))


def test_open_ended_windows() -> None:
    assert TimeWindow().unbounded
    assert TimeWindow().describe() == "any time"
    assert TimeWindow(since=utc(2024, 1, 2)).contains(utc(2100, 1, 1))
    assert TimeWindow(until=utc(2024, 1, 2)).contains(utc(1999, 1, 1))
    assert (
        TimeWindow(since=utc(2024, 1, 2)).describe() == "from 2024-01-02T00:00:00+00:00 (inclusive) to now (exclusive)"
    )


def test_since_must_come_before_until() -> None:
    with pytest.raises(ValueError) as error:
        TimeWindow(utc(2024, 1, 4), utc(2024, 1, 4))
    assert str(error.value) == "--since (2024-01-04T00:00:00+00:00) must be before --until (2024-01-04T00:00:00+00:00)"
