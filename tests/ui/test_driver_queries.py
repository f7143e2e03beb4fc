"""The Driver and drivers queries: a vehicle's route of the day in order, else its orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sample_data import Sample

from backend.db.queries.driver import get_driver_day
from backend.db.queries.drivers import list_drivers

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def test_route_stops_in_sequence_with_orders(session, sample: Sample) -> None:
    day = get_driver_day(
        session, vehicle_id=sample.vehicle_ids["VAN-1"], service_date=sample.today, now=NOW
    )
    assert day is not None and day.has_route
    assert day.route_id == sample.route_id and day.route_status == "active"
    assert [s.sequence for s in day.stops] == [1, 2, 3, 4, 5]
    assert all(s.reference and s.address and s.window_start for s in day.stops)
    assert [s.status for s in day.stops[:2]] == ["done", "done"]
    assert day.timezone == "America/Chicago" and day.vehicle_name == "VAN-1"


def test_without_route_the_assigned_orders_come_in_window_order(session, sample: Sample) -> None:
    day = get_driver_day(
        session, vehicle_id=sample.vehicle_ids["VAN-3"], service_date=sample.today, now=NOW
    )
    assert day is not None and not day.has_route
    assert day.stops, "VAN-3 has orders assigned today"
    starts = [s.window_start for s in day.stops]
    assert starts == sorted(starts)
    assert all(s.order_status != "cancelled" for s in day.stops)


def test_no_route_and_no_orders(session, sample: Sample) -> None:
    later = sample.today + timedelta(days=30)
    day = get_driver_day(
        session, vehicle_id=sample.vehicle_ids["VAN-1"], service_date=later, now=NOW
    )
    assert day is not None and not day.has_route and day.stops == []


def test_unknown_vehicle(session, sample: Sample) -> None:
    assert get_driver_day(session, vehicle_id=99_999, service_date=sample.today, now=NOW) is None


def test_drivers_scoped_by_depot(session, sample: Sample) -> None:
    every = list_drivers(session, depot_ids=None)
    assert {d.username for d in every} == {"driver-van1", "driver-van3"}
    north = list_drivers(session, depot_ids={sample.north_id})
    assert [(d.username, d.vehicle_name, d.depot_names) for d in north] == [
        ("driver-van1", "VAN-1", ("North depot",))
    ]
