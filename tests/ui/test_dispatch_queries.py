"""The Dispatch queries: the day's depots, orders, vehicles, stops, routes and ETAs inside the
scope, in a fixed number of statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sample_data import Sample
from sqlalchemy import event

from backend.db.queries.dispatch import (
    get_dispatch_day,
    get_local_today,
    get_timeline_day,
    list_depot_markers,
    list_order_markers,
    list_route_lines,
    list_vehicle_markers,
)
from backend.eta import estimate_arrivals


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


class Statements:
    """Counts the SQL statements run on a session's connection while it is open."""

    def __init__(self, session) -> None:
        self.engine = session.get_bind()
        self.count = 0

    def _count(self, *_args) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_dispatch_day_rows_scoped_and_in_a_fixed_number_of_statements(
    session, sample: Sample
) -> None:
    with Statements(session) as statements:
        day = get_dispatch_day(session, depot_ids=None, service_date=sample.today, now=NOW)
    # Six statements whatever the fleet: none per vehicle, stop or route.
    assert statements.count == 6
    van1 = next(v for v in day.vehicles if v.name == "VAN-1")
    assert van1.status == "on_route" and van1.driver_name
    assert van1.route_id == sample.route_id and van1.stops_total == 5 and van1.stops_done == 3
    assert van1.next_reference and van1.next_eta is not None and van1.delay_min is not None
    assert van1.load["kg"] > 0 and van1.capacity["kg"] == 1400
    assert van1.next_reference not in {ref for ref, _eta in van1.upcoming}
    states = [s.state for s in day.stops if s.route_id == sample.route_id]
    assert "next" in states and "delivered" in states and "failed" in states
    assert [r.id for r in day.routes] == [sample.route_id]
    assert day.kpis.stops_total == 5 and day.kpis.failed == 1
    served = {s.order_id for s in day.stops}
    assert day.unassigned and not served & {o.id for o in day.unassigned}
    # A dispatcher of the south depot sees none of the north's vehicles, stops or routes.
    south = get_dispatch_day(
        session, depot_ids={sample.south_id}, service_date=sample.today, now=NOW
    )
    assert [v.name for v in south.vehicles] == ["VAN-3"]
    assert south.stops == [] and south.routes == []
    assert {o.depot_id for o in south.unassigned} == {sample.south_id}


def test_a_silent_vehicle_is_offline_after_the_setting(session, sample: Sample) -> None:
    later = NOW + timedelta(minutes=30)
    day = get_dispatch_day(session, depot_ids=None, service_date=sample.today, now=later)
    assert next(v for v in day.vehicles if v.name == "VAN-1").status == "offline"
    generous = get_dispatch_day(
        session,
        depot_ids=None,
        service_date=sample.today,
        now=later,
        silent_after=timedelta(hours=1),
    )
    assert next(v for v in generous.vehicles if v.name == "VAN-1").status == "on_route"


def test_timeline_page_and_eta_interface(session, sample: Sample) -> None:
    page = get_timeline_day(session, depot_ids=None, service_date=sample.today, limit=40)
    assert page.rows == ["VAN-1"] and page.total == 1
    assert {s.vehicle_name for s in page.stops} == {"VAN-1"}
    assert (
        get_timeline_day(session, depot_ids={sample.south_id}, service_date=sample.today).rows == []
    )
    estimates = estimate_arrivals(session, depot_ids=None, now=NOW, service_date=sample.today)
    route = estimates.routes[sample.route_id]
    assert route.next_stop_id in estimates.stops
    assert estimate_arrivals(session, depot_ids={sample.south_id}, now=NOW).routes == {}
