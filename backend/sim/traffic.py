"""The hidden ground-truth traffic model of the demo city.

History is simulated against this model, and the ETA model (backend.ml) is meant to learn it
back from the recorded stops without ever importing it. Travel time between two points is::

    minutes = road_km / (FREE_FLOW_KMH * time_of_day_factor * zone_factor * weather) * 60
              + KERB_MINUTES

- road distance follows Chicago's street grid: the Manhattan distance, a little longer;
- rush hours (07:00-09:00 and 16:00-18:30 local, weekdays) are much slower; weekends and
  public holidays have no rush hours;
- the Loop and its surroundings are slower all day (lights, pedestrians, loading zones);
- `weather` is a day-level multiplier (1.0 = dry), see :func:`daily_weather`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from backend.sim.city import CITY_TZ, traffic_weekday

FREE_FLOW_KMH = 30.0
# Finding the address, parking and walking to the door: paid on every leg.
KERB_MINUTES = 1.5
# Extra length of real streets over the pure grid (diagonals missing, one-way streets).
GRID_DETOUR = 1.06
KM_PER_DEG_LAT = 111.2
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(41.88))

DOWNTOWN = (41.8830, -87.6320)
DOWNTOWN_RADIUS_KM = 1.8
DOWNTOWN_SLOWDOWN = 0.45


@dataclass(frozen=True, slots=True)
class Weather:
    """One day's weather: a speed multiplier (1.0 = dry roads) and a label."""

    factor: float
    condition: str


def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Driving distance on the street grid between two points, in km."""
    return (abs(lat2 - lat1) * KM_PER_DEG_LAT + abs(lon2 - lon1) * KM_PER_DEG_LON) * GRID_DETOUR


def time_of_day_factor(local_hour: float, weekday: int) -> float:
    """Speed multiplier for the local hour (0-24, fractional) and weekday (Monday = 0)."""
    if weekday >= 5:
        # Weekend: no commute peaks, a mild midday shopping slowdown.
        return 1.0 - 0.18 * _bump(local_hour, 13.0, 3.0)
    base = 1.0 - 0.20 * _bump(local_hour, 12.5, 5.0)
    morning = 0.42 * _plateau(local_hour, 7.0, 9.0)
    evening = 0.48 * _plateau(local_hour, 16.0, 18.5)
    return max(0.35, base - morning - evening)


def zone_factor(lat: float, lon: float) -> float:
    """Speed multiplier of the area around a point (the Loop is slowest)."""
    dy = (lat - DOWNTOWN[0]) * KM_PER_DEG_LAT
    dx = (lon - DOWNTOWN[1]) * KM_PER_DEG_LON
    return 1.0 - DOWNTOWN_SLOWDOWN * math.exp(-(dx * dx + dy * dy) / (2 * DOWNTOWN_RADIUS_KM**2))


def travel_minutes_local(
    lat1: float,
    lon1: float,
    lat2: float,
    lon2: float,
    local_hour: float,
    weekday: int,
    weather: float = 1.0,
) -> float:
    """Ground-truth minutes from one point to another leaving at a local hour (0-24)."""
    km = road_km(lat1, lon1, lat2, lon2)
    # The slower end of the trip dominates: you queue into the Loop and out of it.
    zone = min(
        zone_factor(lat1, lon1),
        zone_factor(lat2, lon2),
        zone_factor((lat1 + lat2) / 2, (lon1 + lon2) / 2),
    )
    speed = FREE_FLOW_KMH * time_of_day_factor(local_hour, weekday) * zone * weather
    return km / speed * 60.0 + KERB_MINUTES


def travel_minutes(
    a: tuple[float, float], b: tuple[float, float], depart_at: datetime, weather: float = 1.0
) -> float:
    """Ground-truth minutes from point `a` to `b` (lat, lon) leaving at an aware instant."""
    if depart_at.tzinfo is None:
        raise ValueError("depart_at must be timezone-aware")
    local = depart_at.astimezone(CITY_TZ)
    hour = local.hour + local.minute / 60 + local.second / 3600
    weekday = traffic_weekday(local.date())
    return travel_minutes_local(a[0], a[1], b[0], b[1], hour, weekday, weather)


def daily_weather(seed: int, day: date) -> Weather:
    """The weather of a day: a pure function of (seed, day), drier in summer."""
    rng = np.random.default_rng([seed, day.toordinal(), 0x3EA7])
    winter = day.month in (12, 1, 2, 3)
    draw = rng.random()
    if draw < (0.08 if winter else 0.03):
        return Weather(round(float(rng.uniform(0.62, 0.75)), 3), "snow" if winter else "storm")
    if draw < (0.30 if winter else 0.22):
        return Weather(round(float(rng.uniform(0.80, 0.92)), 3), "rain")
    return Weather(round(float(np.clip(rng.normal(1.0, 0.03), 0.92, 1.06)), 3), "dry")


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-((x - centre) ** 2) / (2 * (width / 2) ** 2))


def _plateau(x: float, start: float, end: float) -> float:
    # 1 inside [start, end], easing to 0 over half an hour on each side.
    ramp = 0.5
    if x < start - ramp or x > end + ramp:
        return 0.0
    if x < start:
        return (x - (start - ramp)) / ramp
    if x > end:
        return ((end + ramp) - x) / ramp
    return 1.0
