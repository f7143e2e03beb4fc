"""backend.db.queries.fleet_state: the one rule for what a vehicle is shown doing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.db.queries.fleet_state import (
    SILENT_AFTER,
    VehicleActivity,
    count_on_the_road,
    vehicle_activity,
)

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
DEPOT = (41.9, -87.6)
AWAY = (41.95, -87.7)


def activity(*, age=timedelta(minutes=1), at=AWAY, speed=None, reported="idle", seen=True):
    return vehicle_activity(
        now=NOW,
        recorded_at=NOW - age if seen else None,
        lat=at[0],
        lon=at[1],
        speed=speed,
        reported=reported,
        depot_lat=DEPOT[0],
        depot_lon=DEPOT[1],
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"seen": False}, VehicleActivity.PARKED),
        ({"at": DEPOT, "speed": 0.0}, VehicleActivity.PARKED),
        # Parked overnight: still parked, not offline.
        ({"at": DEPOT, "speed": 0.0, "age": timedelta(hours=12)}, VehicleActivity.PARKED),
        ({"at": DEPOT, "speed": 6.0}, VehicleActivity.MOVING),
        # Stored "idle" (as the position writer does) but driving at speed.
        ({"speed": 9.0}, VehicleActivity.MOVING),
        ({"speed": 0.2}, VehicleActivity.STOPPED),
        # No speed in the fix: the device's own report decides.
        ({"reported": "driving"}, VehicleActivity.MOVING),
        ({"reported": "idle"}, VehicleActivity.STOPPED),
        ({"speed": 9.0, "age": SILENT_AFTER + timedelta(seconds=1)}, VehicleActivity.OFFLINE),
        ({"speed": 9.0, "reported": "offline"}, VehicleActivity.OFFLINE),
    ],
)
def test_vehicle_activity(kwargs, expected) -> None:
    assert activity(**kwargs) == expected


def test_on_the_road_is_moving_or_stopped() -> None:
    assert count_on_the_road(["moving", "stopped", "parked", "offline", "moving"]) == 3
