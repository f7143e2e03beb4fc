"""The hidden traffic model: rush hours and the Loop are slower, weather is deterministic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.sim.city import at_local_minute, is_public_holiday
from backend.sim.traffic import daily_weather, travel_minutes

WICKER_PARK = (41.9088, -87.6796)
LAKEVIEW = (41.9434, -87.6543)
LOOP = (41.8819, -87.6300)
WEST_LOOP = (41.8827, -87.6500)
A_TUESDAY = date(2026, 11, 24)


def test_rush_hour_slower_than_night() -> None:
    night = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 2 * 60))
    morning = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 8 * 60))
    evening = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 17 * 60))
    midday = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 11 * 60))
    assert night < midday < morning
    assert morning > 1.5 * night and evening > 1.5 * night


def test_weekend_has_no_rush_hour() -> None:
    saturday = date(2026, 11, 28)
    weekend = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(saturday, 8 * 60))
    weekday = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 8 * 60))
    assert weekend < weekday


def test_the_loop_is_slower_per_km() -> None:
    at = at_local_minute(A_TUESDAY, 11 * 60)
    downtown = travel_minutes(LOOP, WEST_LOOP, at)
    # The same grid distance far from downtown, in Lakeview.
    uptown = travel_minutes(LAKEVIEW, (LAKEVIEW[0], LAKEVIEW[1] - 0.02), at)
    assert downtown > 1.3 * uptown


def test_weather_is_a_pure_function_and_slows_traffic() -> None:
    days = [date(2026, 9, d) for d in range(1, 31)]
    assert [daily_weather(7, d) for d in days] == [daily_weather(7, d) for d in days]
    assert {daily_weather(7, d).condition for d in days} - {"dry"}
    at = at_local_minute(A_TUESDAY, 11 * 60)
    assert travel_minutes(LOOP, LAKEVIEW, at, weather=0.7) > travel_minutes(LOOP, LAKEVIEW, at)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        travel_minutes(LOOP, LAKEVIEW, datetime(2026, 11, 24, 8, 0))
    assert travel_minutes(LOOP, LAKEVIEW, datetime(2026, 11, 24, 14, 0, tzinfo=UTC)) > 0


def test_holidays_drive_like_sundays() -> None:
    thanksgiving = date(2026, 11, 26)
    assert is_public_holiday(thanksgiving) and not is_public_holiday(A_TUESDAY)
    holiday = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(thanksgiving, 8 * 60))
    weekday = travel_minutes(WICKER_PARK, LAKEVIEW, at_local_minute(A_TUESDAY, 8 * 60))
    assert holiday < weekday
