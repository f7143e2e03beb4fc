"""The Dispatch queries return the day's depots, orders, vehicles and routes inside the scope."""

from __future__ import annotations

from datetime import UTC, datetime

from sample_data import Sample

from backend.db.queries.dispatch import (
    get_local_today,
    list_depot_markers,
    list_order_markers,
    list_route_lines,
    list_vehicle_markers,
)


def test_local_today_uses_the_depot_time_zone(session, sample: Sample) -> None:
    # 03:00 UTC on the 28th is still the 27th in Chicago.
    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert get_local_today(session, depot_ids=None, now=now).isoformat() == "2026-11-27"


def test_depots_are_scoped(session, sample: Sample) -> None:
    assert {d.id for d in list_depot_markers(session, depot_ids=None)} == {
        sample.north_id,
        sample.south_id,
    }
    assert [d.id for d in list_depot_markers(session, depot_ids={sample.north_id})] == [
        sample.north_id
    ]


def test_orders_of_the_day_only_and_scoped(session, sample: Sample) -> None:
    everything = list_order_markers(session, depot_ids=None, service_date=sample.today)
    assert len(everything) == sample.today_orders_north + sample.today_orders_south
    north = list_order_markers(session, depot_ids={sample.north_id}, service_date=sample.today)
    assert len(north) == sample.today_orders_north
    assert {o.depot_id for o in north} == {sample.north_id}
    assigned = [o for o in north if o.vehicle_id is not None]
    assert assigned and all(o.vehicle_name for o in assigned)
    assert north == sorted(north, key=lambda o: (o.window_start, o.id))


# Five minutes after the sample's fixes (09:00 Chicago): fresh.
NOW = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)


def test_vehicles_with_state_or_depot_position_and_counts(session, sample: Sample) -> None:
    vehicles = list_vehicle_markers(session, depot_ids=None, service_date=sample.today, now=NOW)
    by_name = {v.name: v for v in vehicles}
    assert set(by_name) == {"VAN-1", "VAN-2", "TRK-1", "VAN-3"}
    assert by_name["VAN-1"].status == "driving" and by_name["VAN-1"].recorded_at is not None
    assert by_name["VAN-1"].activity == "moving"
    # VAN-3 has no state yet: it sits at its depot.
    assert by_name["VAN-3"].status == "idle" and by_name["VAN-3"].activity == "parked"
    assert (by_name["VAN-3"].lat, by_name["VAN-3"].lon) == (41.82, -87.66)
    assert sum(v.orders_total for v in vehicles) == len(
        [
            o
            for o in list_order_markers(session, depot_ids=None, service_date=sample.today)
            if o.vehicle_id
        ]
    )
    assert all(v.orders_done <= v.orders_total for v in vehicles)
    scoped = list_vehicle_markers(
        session, depot_ids={sample.south_id}, service_date=sample.today, now=NOW
    )
    assert [v.name for v in scoped] == ["VAN-3"]


def test_route_lines_of_the_day(session, sample: Sample) -> None:
    routes = list_route_lines(session, depot_ids=None, service_date=sample.today)
    assert [r.id for r in routes] == [sample.route_id]
    assert len(routes[0].points) == 7
    assert list_route_lines(session, depot_ids={sample.south_id}, service_date=sample.today) == []
