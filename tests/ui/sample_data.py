"""A small, deterministic fleet for the UI tests: depots, vehicles, users, orders, routes, plans.

Today has orders in every status, one route with stops for VAN-1 (the driver's vehicle) and
vehicle states; the days before hold delivered/failed orders, completed routes and plans so
that analytics and the models page have history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from backend.auth.users import create_user
from backend.db.models import (
    Depot,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    RouteStop,
    Vehicle,
    VehicleState,
)

PASSWORD = "secret-pass-1"
TZ = "America/Chicago"
TODAY_STATUSES = (
    "new",
    "new",
    "planned",
    "dispatched",
    "en_route",
    "arrived",
    "delivered",
    "delivered",
    "failed",
    "cancelled",
)


@dataclass
class Sample:
    """Ids of what was built, for assertions."""

    today: date
    north_id: int = 0
    south_id: int = 0
    vehicle_ids: dict[str, int] = field(default_factory=dict)
    today_orders_north: int = 0
    today_orders_south: int = 0
    route_id: int = 0
    history_days: int = 0


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    # Chicago is UTC-6 in winter; the samples use a fixed offset, which is all the tests need.
    return datetime.combine(day, time(hour, minute), tzinfo=UTC) + timedelta(hours=6)


def build_sample(
    session: Session, *, today: date, history_days: int = 5, orders_per_depot: int = 30
) -> Sample:
    """Fill an empty, migrated database; returns the ids the tests refer to."""
    sample = Sample(today=today, history_days=history_days)
    north = Depot(name="North depot", address="1 N Halsted St", lat=41.95, lon=-87.68, timezone=TZ)
    south = Depot(name="South depot", address="2 S Ashland Ave", lat=41.82, lon=-87.66, timezone=TZ)
    session.add_all([north, south])
    session.flush()
    sample.north_id, sample.south_id = north.id, south.id
    vehicles = []
    for name, depot, vtype, skills in (
        ("VAN-1", north, "cargo_van", []),
        ("VAN-2", north, "cargo_van", ["refrigerated"]),
        ("TRK-1", north, "box_truck", ["liftgate"]),
        ("VAN-3", south, "cargo_van", []),
    ):
        vehicle = Vehicle(
            name=name,
            vehicle_type=vtype,
            plate=f"IL {name}",
            depot_id=depot.id,
            start_depot_id=depot.id,
            end_depot_id=depot.id,
            capacity={"kg": 1400 if vtype == "cargo_van" else 2900, "m3": 11},
            fuel_l_per_km=0.13 if vtype == "cargo_van" else 0.21,
            cost_per_km=0.55,
            cost_per_hour=31.0,
            fixed_cost=55.0,
            shift_start=time(7),
            shift_end=time(17),
            skills=skills,
        )
        vehicles.append(vehicle)
    session.add_all(vehicles)
    session.flush()
    sample.vehicle_ids = {v.name: v.id for v in vehicles}
    van1 = vehicles[0]

    create_user(
        session,
        username="dispatch-north",
        password=PASSWORD,
        role="dispatcher",
        display_name="Dana North",
        depot_ids=[north.id],
    )
    create_user(
        session,
        username="manager",
        password=PASSWORD,
        role="manager",
        display_name="Morgan Manager",
    )
    create_user(session, username="admin", password=PASSWORD, role="admin")
    create_user(
        session,
        username="driver-van1",
        password=PASSWORD,
        role="driver",
        display_name="Dee Driver",
        depot_ids=[north.id],
        vehicle_id=van1.id,
    )
    create_user(
        session,
        username="driver-van3",
        password=PASSWORD,
        role="driver",
        display_name="Sam South",
        depot_ids=[south.id],
        vehicle_id=vehicles[3].id,
    )

    # Today: orders in every status; VAN-1 has a route through its first five orders.
    counter = 0
    for depot, depot_vehicles in ((north, vehicles[:3]), (south, vehicles[3:])):
        for i in range(orders_per_depot):
            counter += 1
            status = TODAY_STATUSES[i % len(TODAY_STATUSES)]
            vehicle = (
                None if status in ("new", "cancelled") else depot_vehicles[i % len(depot_vehicles)]
            )
            start = _utc(today, 8 + i % 8)
            session.add(
                Order(
                    reference=f"ORD-{today:%m%d}-{counter:04d}",
                    depot_id=depot.id,
                    service_date=today,
                    customer_name=f"Customer {counter}",
                    address=f"{100 + counter} W Test St",
                    lat=depot.lat + 0.004 * ((i % 7) - 3),
                    lon=depot.lon + 0.005 * ((i % 5) - 2),
                    demand={"kg": 20 + i},
                    time_windows=[
                        {
                            "start": start.isoformat(),
                            "end": (start + timedelta(hours=2)).isoformat(),
                        }
                    ],
                    window_start=start,
                    window_end=start + timedelta(hours=2),
                    priority=1 + i % 10,
                    status=status,
                    vehicle_id=vehicle.id if vehicle else None,
                    delivered_at=start + timedelta(minutes=45) if status == "delivered" else None,
                    failed_at=start + timedelta(minutes=50) if status == "failed" else None,
                    failure_reason="customer_unavailable" if status == "failed" else None,
                )
            )
        if depot is north:
            sample.today_orders_north = orders_per_depot
        else:
            sample.today_orders_south = orders_per_depot
    session.flush()
    van1_orders = (
        session.query(Order)
        .filter(Order.vehicle_id == van1.id, Order.service_date == today)
        .order_by(Order.window_start, Order.id)
        .limit(5)
        .all()
    )
    route = Route(
        vehicle_id=van1.id,
        driver_id=None,
        depot_id=north.id,
        service_date=today,
        status="active",
        planned_start_at=_utc(today, 7),
        planned_end_at=_utc(today, 15),
        planned_distance_km=42.0,
        planned_duration_min=480,
        geometry=[
            [north.lat, north.lon],
            *[[o.lat, o.lon] for o in van1_orders],
            [north.lat, north.lon],
        ],
    )
    for seq, order in enumerate(van1_orders, start=1):
        arrival = _utc(today, 8) + timedelta(minutes=40 * seq)
        route.stops.append(
            RouteStop(
                order_id=order.id,
                sequence=seq,
                kind="delivery",
                lat=order.lat,
                lon=order.lon,
                planned_arrival_at=arrival,
                planned_departure_at=arrival + timedelta(minutes=5),
                actual_arrival_at=arrival + timedelta(minutes=3) if seq <= 2 else None,
                status="done" if seq <= 2 else "pending",
            )
        )
    session.add(route)
    session.flush()
    sample.route_id = route.id
    for v in vehicles[:3]:
        session.add(
            VehicleState(
                vehicle_id=v.id,
                seq=1,
                recorded_at=_utc(today, 9),
                lat=north.lat + 0.01,
                lon=north.lon + 0.01 * v.id,
                speed=8.0,
                heading=90.0,
                status="driving",
            )
        )

    # History: per day and vehicle, a plan, a completed route with stops and orders.
    for back in range(1, history_days + 1):
        day = today - timedelta(days=back)
        for v in vehicles:
            depot_id = v.depot_id
            request_id = f"req-{day:%Y%m%d}-{v.id}"
            session.add(
                OptimizationRequest(
                    request_id=request_id,
                    vehicle_id=v.id,
                    depot_id=depot_id,
                    status="completed",
                    delivery_locations=[],
                    created_at=_utc(day, 6),
                    meta={"service_date": day.isoformat()},
                )
            )
            response_id = f"resp-{day:%Y%m%d}-{v.id}"
            session.add(
                OptimizationResponse(
                    response_id=response_id,
                    request_id=request_id,
                    optimization_score=0.8 + 0.01 * back,
                    distance=40.0 + back,
                    duration=400.0 + back,
                    fuel_consumption=(40.0 + back) * v.fuel_l_per_km,
                    carbon_emissions=(40.0 + back) * v.fuel_l_per_km * 2.68,
                    created_at=_utc(day, 6, 1),
                )
            )
            session.flush()
            hist = Route(
                response_id=response_id,
                vehicle_id=v.id,
                depot_id=depot_id,
                service_date=day,
                status="completed",
                planned_start_at=_utc(day, 7),
                planned_end_at=_utc(day, 15),
                actual_start_at=_utc(day, 7),
                actual_end_at=_utc(day, 15, 30),
                planned_distance_km=40.0 + back,
                actual_distance_km=42.0 + back,
                planned_duration_min=480,
            )
            for seq in range(1, 4):
                counter += 1
                start = _utc(day, 8 + seq)
                delivered = seq != 3 or back % 2 == 0
                order = Order(
                    reference=f"ORD-{day:%m%d}-{counter:04d}",
                    depot_id=depot_id,
                    service_date=day,
                    customer_name=f"Customer {counter}",
                    address=f"{counter} N Old St",
                    lat=41.9,
                    lon=-87.65,
                    demand={"kg": 10},
                    time_windows=[],
                    window_start=start,
                    window_end=start + timedelta(hours=1),
                    status="delivered" if delivered else "failed",
                    vehicle_id=v.id,
                    delivered_at=start + timedelta(minutes=30 if seq == 1 else 75)
                    if delivered
                    else None,
                    failed_at=None if delivered else start + timedelta(minutes=20),
                )
                session.add(order)
                session.flush()
                hist.stops.append(
                    RouteStop(
                        order_id=order.id,
                        sequence=seq,
                        lat=41.9,
                        lon=-87.65,
                        planned_arrival_at=start + timedelta(minutes=10),
                        planned_departure_at=start + timedelta(minutes=15),
                        actual_arrival_at=start + timedelta(minutes=14),
                        actual_departure_at=start + timedelta(minutes=20),
                        status="done" if delivered else "failed",
                    )
                )
            session.add(hist)
    session.flush()
    return sample
