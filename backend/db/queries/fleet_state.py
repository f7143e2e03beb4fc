"""What a vehicle is doing as every page shows it: one rule, its thresholds defined once.

The Fleet page, the Dispatch page's list and map all show `vehicle_activity(...)` of the same
state row. The browser receives the result with each vehicle (and `activity_rules()` for the
live fixes that arrive after the page was loaded), so nothing recomputes it differently.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any


class VehicleActivity(enum.StrEnum):
    """A vehicle's shown state, derived from its last fix; never stored."""

    MOVING = "moving"
    # Out on the road and standing: at a customer, at a light, in a jam.
    STOPPED = "stopped"
    # At its depot and not moving, or never seen (it starts its day there).
    PARKED = "parked"
    # Away from its depot and silent for longer than SILENT_AFTER.
    OFFLINE = "offline"


ON_THE_ROAD = frozenset({VehicleActivity.MOVING, VehicleActivity.STOPPED})

# Faster than this (m/s, about 2 km/h) a vehicle is moving; GPS jitter stays below it.
MOVING_SPEED_MPS = 0.5
# About 100 m around the depot (degrees of latitude; longitude degrees are shorter at 42° N).
PARKED_LAT_DEGREES = 0.001
PARKED_LON_DEGREES = 0.0014
# Phones report every few seconds; a quarter of an hour without a fix means no signal.
SILENT_AFTER = timedelta(minutes=15)
# Device-reported statuses that mean "moving" when a fix carries no speed.
MOVING_REPORTS = frozenset({"driving", "moving"})
OFFLINE_REPORTS = frozenset({"offline"})


def at_depot(lat: float, lon: float, depot_lat: float | None, depot_lon: float | None) -> bool:
    """Whether a position is within the parking distance of its depot."""
    if depot_lat is None or depot_lon is None:
        return False
    return abs(lat - depot_lat) < PARKED_LAT_DEGREES and abs(lon - depot_lon) < PARKED_LON_DEGREES


def vehicle_activity(
    *,
    now: datetime,
    recorded_at: datetime | None,
    lat: float,
    lon: float,
    speed: float | None,
    reported: str | None,
    depot_lat: float | None,
    depot_lon: float | None,
) -> VehicleActivity:
    """The shown state of a vehicle from its last fix (None: never seen) at `now`."""
    if recorded_at is None:
        return VehicleActivity.PARKED
    moving = speed > MOVING_SPEED_MPS if speed is not None else reported in MOVING_REPORTS
    if not moving and at_depot(lat, lon, depot_lat, depot_lon):
        return VehicleActivity.PARKED
    if reported in OFFLINE_REPORTS or now - recorded_at > SILENT_AFTER:
        return VehicleActivity.OFFLINE
    return VehicleActivity.MOVING if moving else VehicleActivity.STOPPED


def count_on_the_road(activities: Iterable[str]) -> int:
    """How many of these vehicles are on the road (moving or stopped away from the depot)."""
    return sum(1 for activity in activities if activity in ON_THE_ROAD)


def activity_rules() -> dict[str, Any]:
    """The thresholds for fixes that reach the browser live, as the map's JS reads them."""
    return {
        "movingSpeed": MOVING_SPEED_MPS,
        "parkedLat": PARKED_LAT_DEGREES,
        "parkedLon": PARKED_LON_DEGREES,
        "moving": VehicleActivity.MOVING.value,
        "stopped": VehicleActivity.STOPPED.value,
        "parked": VehicleActivity.PARKED.value,
    }
