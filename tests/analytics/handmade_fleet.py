"""A tiny fleet whose every KPI was worked out by hand (the numbers are in the tests).

2026-03-02, depot North: VAN-1 (0.50 $/km, 30 $/h, 50 $ a day, 0.1 l/km, 2.5 kg CO2/l, 1000 kg,
shift 08:00-18:00) drives one route with driver Dana: planned 100 km / 480 min, driven 110 km,
08:00-17:00. Four deliveries (100, 200, 150, 50 kg):

| order | window end | planned | arrived | left  | outcome                      |
|-------|------------|---------|---------|-------|------------------------------|
| O1    | 10:00      | 09:00   | 09:30   | 09:40 | delivered, on time           |
| O2    | 11:00      | 10:30   | 11:10   | 11:20 | delivered, 10 min late       |
| O3    | 12:00      | 12:00   | 12:40   | 12:45 | failed (customer_not_home), 40 late |
| O4    | 15:00      | 14:00   | 14:10   | 14:25 | delivered, on time           |

O5 was cancelled (no capacity). One breakdown was reported on the route. Customers rated O1
5 stars and O2 4 stars (O4's customer did not rate). Two optimization
requests: REQ-A asked 06:00:00, accepted 06:00:45 (0.75 min, score 0.9); REQ-B a manual plan
created 05:00, completed 05:45 (45 min, score 0.7). Depot South has one route of its own that a
North dispatcher must never see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from backend.db.models import (
    DeliveryRating,
    Depot,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Position,
    Route,
    RouteEvent,
    RouteStop,
    User,
    Vehicle,
)

DAY = date(2026, 3, 2)


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    """A UTC instant on `day`."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)


@dataclass
class Handmade:
    north_id: int
    south_id: int
    vehicle_id: int
    south_vehicle_id: int
    driver_id: int
    route_id: int


def _vehicle(session, depot: Depot, name: str) -> Vehicle:
    vehicle = Vehicle(
        name=name, vehicle_type="van", depot_id=depot.id, start_depot_id=depot.id,
        end_depot_id=depot.id, capacity={"kg": 1000}, fuel_l_per_km=0.1, co2_kg_per_l=2.5,
        cost_per_km=0.5, cost_per_hour=30.0, fixed_cost=50.0, shift_start=time(8),
        shift_end=time(18),
    )  # fmt: skip
    session.add(vehicle)
    session.flush()
    return vehicle


def _order(session, depot: Depot, ref: str, kg: float, end: datetime, status: str, **kw) -> Order:
    order = Order(
        reference=ref, depot_id=depot.id, service_date=DAY, customer_name=f"Customer {ref}",
        lat=41.9, lon=-87.6, demand={"kg": kg}, time_windows=[], window_start=at(8),
        window_end=end, status=status, **kw,
    )  # fmt: skip
    session.add(order)
    session.flush()
    return order


def build(session) -> Handmade:
    """Insert the fleet of the module docstring; returns its ids."""
    north = Depot(name="North", lat=41.9, lon=-87.6)
    south = Depot(name="South", lat=41.7, lon=-87.6)
    session.add_all([north, south])
    session.flush()
    van = _vehicle(session, north, "VAN-1")
    south_van = _vehicle(session, south, "VAN-S")
    dana = User(username="dana", display_name="Dana", role="driver", password_hash="x")
    session.add(dana)
    session.flush()
    route = Route(
        vehicle_id=van.id, driver_id=dana.id, depot_id=north.id, service_date=DAY,
        status="completed", planned_start_at=at(8), planned_end_at=at(16),
        actual_start_at=at(8), actual_end_at=at(17), planned_distance_km=100.0,
        actual_distance_km=110.0, planned_duration_min=480.0,
    )  # fmt: skip
    session.add(route)
    session.flush()
    rows = (
        ("O1", 100, at(10), at(9), at(9, 30), at(9, 40), "delivered", None),
        ("O2", 200, at(11), at(10, 30), at(11, 10), at(11, 20), "delivered", None),
        ("O3", 150, at(12), at(12), at(12, 40), at(12, 45), "failed", "customer_not_home"),
        ("O4", 50, at(15), at(14), at(14, 10), at(14, 25), "delivered", None),
    )
    route.stops.append(
        RouteStop(sequence=0, kind="start", lat=41.9, lon=-87.6, planned_arrival_at=at(8),
                  planned_departure_at=at(8), actual_arrival_at=at(8), actual_departure_at=at(8))
    )  # fmt: skip
    stars = {"O1": 5, "O2": 4}
    for seq, (ref, kg, end, planned, arrived, left, status, reason) in enumerate(rows, 1):
        order = _order(session, north, ref, kg, end, status, vehicle_id=van.id,
                       failure_reason=reason)  # fmt: skip
        if ref in stars:
            session.add(DeliveryRating(order_id=order.id, rating=stars[ref], created_at=at(18)))
        route.stops.append(
            RouteStop(order_id=order.id, sequence=seq, kind="delivery", lat=41.9, lon=-87.6,
                      planned_arrival_at=planned, planned_departure_at=planned,
                      actual_arrival_at=arrived, actual_departure_at=left, status=status)
        )  # fmt: skip
    route.stops.append(
        RouteStop(sequence=9, kind="end", lat=41.9, lon=-87.6, planned_arrival_at=at(16),
                  planned_departure_at=at(16), actual_arrival_at=at(17),
                  actual_departure_at=at(17))
    )  # fmt: skip
    _order(session, north, "O5", 10, at(12), "cancelled", failure_reason="no capacity")
    session.add_all(
        [
            RouteEvent(route_id=route.id, vehicle_id=van.id, depot_id=north.id,
                       event_type="breakdown", occurred_at=at(13)),
            RouteEvent(route_id=route.id, vehicle_id=van.id, depot_id=north.id,
                       event_type="arrived", occurred_at=at(9, 30)),
        ]
    )  # fmt: skip
    for request_id, created, score, events in (
        ("REQ-A", at(6), 0.9, (("requested", at(6)), ("created", at(6, 0, 10)),
                               ("completed", at(6, 0, 30)), ("accepted", at(6, 0, 45)))),
        ("REQ-B", at(5), 0.7, (("created", at(5)), ("completed", at(5, 45)))),
    ):  # fmt: skip
        session.add(
            OptimizationRequest(request_id=request_id, vehicle_id=van.id, depot_id=north.id,
                                created_at=created, status="completed")
        )  # fmt: skip
        session.flush()
        session.add(
            OptimizationResponse(response_id=f"{request_id}-r", request_id=request_id,
                                 optimization_score=score, distance=100.0, duration=480.0,
                                 fuel_consumption=10.0, created_at=created)
        )  # fmt: skip
        for kind, when in events:
            session.add(
                OptimizationEvent(event_id=f"{request_id}-{kind}", request_id=request_id,
                                  event_type=kind, timestamp=when)
            )  # fmt: skip
    south_route = Route(
        vehicle_id=south_van.id, depot_id=south.id, service_date=DAY, status="completed",
        planned_start_at=at(8), planned_end_at=at(12), planned_distance_km=40.0,
        actual_distance_km=40.0, planned_duration_min=240.0,
    )  # fmt: skip
    session.add(south_route)
    session.flush()
    return Handmade(north.id, south.id, van.id, south_van.id, dana.id, route.id)


def add_positions(
    session, vehicle_id: int, day: date, every_s: int = 5, hours: int = 2, first_seq: int = 1
) -> int:
    """A drive of fixes every `every_s` seconds from 08:00, turning every 10 minutes."""
    rows = []
    for n in range(hours * 3600 // every_s):
        heading = 90.0 * ((n * every_s // 600) % 4)
        rows.append(
            Position(vehicle_id=vehicle_id, seq=first_seq + n,
                     recorded_at=at(8, day=day) + timedelta(seconds=n * every_s),
                     received_at=at(8, day=day), lat=41.9, lon=-87.6, speed=10.0,
                     heading=heading)
        )  # fmt: skip
    session.add_all(rows)
    return len(rows)
