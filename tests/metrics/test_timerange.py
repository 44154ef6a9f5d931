"""Historical ranges: ISO 8601 with an offset, ordered, at most 31 days, not in the future."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.timerange import TimeRangeError, day_bounds, parse_time_range, whole_hours

NOW = dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)


def code_of(start, end) -> str:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range(start, end, now=NOW)
    return caught.value.code


def test_a_valid_range_comes_back_as_utc_instants():
    start, end = parse_time_range("2026-03-07T00:00:00-05:00", "2026-03-08T01:30:00Z", now=NOW)
    assert start == dt.datetime(2026, 3, 7, 5, tzinfo=dt.UTC) and start.utcoffset() == dt.timedelta(
        0
    )
    assert end == dt.datetime(2026, 3, 8, 1, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, "2026-03-08T00:00:00Z"),
        ("2026-03-07T00:00:00Z", None),
        ("", "2026-03-08T00:00:00Z"),
        ("yesterday", "2026-03-08T00:00:00Z"),
        ("2026-03-07T00:00:00", "2026-03-08T00:00:00Z"),
        ("2026-03-07", "2026-03-08"),
        ("2026-02-30T00:00:00Z", "2026-03-08T00:00:00Z"),
        ("0001-01-01T00:00:00+05:00", "0001-01-02T00:00:00Z"),
        ("2026-03-07T00:00:00Z" + "0" * 80, "2026-03-08T00:00:00Z"),
    ],
)
def test_missing_unparseable_or_offsetless_times_are_invalid(start, end):
    assert code_of(start, end) == "invalid_time_range"


def test_a_plus_turned_into_a_space_by_a_query_string_is_read_as_a_plus():
    start, _ = parse_time_range("2026-03-07T00:00:00 05:00", "2026-03-08T00:00:00Z", now=NOW)
    assert start == dt.datetime(2026, 3, 6, 19, tzinfo=dt.UTC)


def test_start_must_be_before_end():
    assert code_of("2026-03-08T00:00:00Z", "2026-03-08T00:00:00Z") == "time_range_order"
    assert code_of("2026-03-08T00:00:00Z", "2026-03-07T23:00:00Z") == "time_range_order"
    # The same instant written with two offsets is still an empty range.
    assert code_of("2026-03-08T05:00:00+05:00", "2026-03-08T00:00:00Z") == "time_range_order"


def test_a_range_may_cover_31_days_and_no_more():
    parse_time_range("2026-02-05T00:00:00Z", "2026-03-08T00:00:00Z", now=NOW)
    assert code_of("2026-02-05T00:00:00Z", "2026-03-08T00:00:01Z") == "time_range_too_long"


def test_neither_end_may_be_more_than_an_hour_ahead_of_now():
    # The hour in progress may be asked for whole: NOW is 12:00, so up to 13:00.
    parse_time_range("2026-03-08T11:00:00Z", "2026-03-08T13:00:00Z", now=NOW)
    parse_time_range("2026-03-08T12:30:00Z", "2026-03-08T13:00:00Z", now=NOW)
    assert code_of("2026-03-08T11:00:00Z", "2026-03-08T13:00:01Z") == "time_range_in_future"
    assert code_of("2026-03-07T14:00:00Z", "2026-03-09T14:00:00Z") == "time_range_in_future"
    assert code_of("2026-03-08T13:00:01Z", "2026-03-08T14:00:00Z") == "time_range_in_future"


def test_a_future_end_is_refused_with_its_own_message():
    with pytest.raises(TimeRangeError, match="end is more than an hour in the future"):
        parse_time_range("2026-03-08T00:00:00Z", "2026-03-08T18:00:00Z", now=NOW)


@given(
    st.one_of(st.none(), st.text(max_size=40), st.integers(), st.lists(st.text(max_size=3))),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_any_input_is_accepted_or_refused_with_a_stable_code(start, end):
    try:
        parsed = parse_time_range(start, end, now=NOW)
    except TimeRangeError as exc:
        assert exc.code in {
            "invalid_time_range",
            "time_range_order",
            "time_range_too_long",
            "time_range_in_future",
        }
    else:
        assert parsed[0] < parsed[1]


def test_today_is_the_local_calendar_day_across_daylight_saving(settings):
    settings.TIME_ZONE = "America/New_York"
    spring = day_bounds(dt.datetime(2026, 3, 8, 4, 59, tzinfo=dt.UTC))  # still 7 March locally
    assert spring == (
        dt.datetime(2026, 3, 7, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC),
    )
    start, end = day_bounds(dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC))
    assert end - start == dt.timedelta(hours=23)
    start, end = day_bounds(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC))
    assert (start, end - start) == (
        dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC),
        dt.timedelta(hours=25),
    )


def test_whole_hours_follow_the_hospital_offset(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+05:30: local hours start at half past in UTC
    start, end = whole_hours(
        dt.datetime(2026, 3, 8, 10, 45, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 11, 30, tzinfo=dt.UTC),
    )
    assert (start, end) == (
        dt.datetime(2026, 3, 8, 10, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 11, 30, tzinfo=dt.UTC),
    )
