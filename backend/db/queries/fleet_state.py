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
# Phones report every few seconds; ten minutes without a fix means no signal (Traccar's default
# too). The Dispatch page takes VEHICLE_SILENT_AFTER_MIN from the settings instead.
SILENT_AFTER = timedelta(minutes=10)
# Standing within about 75 m of its next stop, a vehicle on its route is at that stop.
AT_STOP_LAT_DEGREES = 0.0007
AT_STOP_LON_DEGREES = 0.001
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
    silent_after: timedelta = SILENT_AFTER,
) -> VehicleActivity:
    """The shown state of a vehicle from its last fix (None: never seen) at `now`."""
    if recorded_at is None:
        return VehicleActivity.PARKED
    moving = speed > MOVING_SPEED_MPS if speed is not None else reported in MOVING_REPORTS
    if not moving and at_depot(lat, lon, depot_lat, depot_lon):
        return VehicleActivity.PARKED
    if reported in OFFLINE_REPORTS or now - recorded_at > silent_after:
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


class DispatchStatus(enum.StrEnum):
    """A vehicle's badge on the Dispatch page: its activity read against its route of the day."""

    ON_ROUTE = "on_route"
    AT_STOP = "at_stop"
    RETURNING = "returning"
    IDLE = "idle"
    OFFLINE = "offline"


def near(lat: float, lon: float, target_lat: float | None, target_lon: float | None) -> bool:
    """Whether a position is within the at-stop distance of a target."""
    if target_lat is None or target_lon is None:
        return False
    return (
        abs(lat - target_lat) < AT_STOP_LAT_DEGREES and abs(lon - target_lon) < AT_STOP_LON_DEGREES
    )


def dispatch_status(
    activity: str,
    *,
    has_route: bool,
    stops_left: int,
    lat: float,
    lon: float,
    next_lat: float | None,
    next_lon: float | None,
) -> DispatchStatus:
    """The badge of a vehicle from `vehicle_activity(...)` and its route in force.

    Offline stays offline; parked (at the depot or never seen) or without a route is idle; with
    stops left it is at a stop when standing near the next one, on route otherwise; with none
    left and away from the depot it is returning. The browser applies the same rule to live
    fixes with `status_rules()`.
    """
    if activity == VehicleActivity.OFFLINE:
        return DispatchStatus.OFFLINE
    if activity == VehicleActivity.PARKED or not has_route:
        return DispatchStatus.IDLE
    if stops_left <= 0:
        return DispatchStatus.RETURNING
    if activity == VehicleActivity.STOPPED and near(lat, lon, next_lat, next_lon):
        return DispatchStatus.AT_STOP
    return DispatchStatus.ON_ROUTE


def status_rules(silent_after: timedelta = SILENT_AFTER) -> dict[str, Any]:
    """`activity_rules()` plus what the browser needs for `dispatch_status` and silence."""
    return {
        **activity_rules(),
        "atStopLat": AT_STOP_LAT_DEGREES,
        "atStopLon": AT_STOP_LON_DEGREES,
        "silentAfterS": int(silent_after.total_seconds()),
        "statuses": {s.name.lower(): s.value for s in DispatchStatus},
    }
