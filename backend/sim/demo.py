"""Seed the demo: Chicago depots, fleet, users, today's orders and 90 days of history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from backend.auth.passwords import hash_password
from backend.auth.tokens import issue_token
from backend.db.models import (
    DeliveryRating,
    Depot,
    Notification,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Role,
    Route,
    RouteEvent,
    RouteStop,
    User,
    Vehicle,
    VehicleState,
    user_depot,
)
from backend.sim.city import (
    CITY_TIMEZONE,
    DEPOTS,
    at_local_minute,
    depot_index,
    today_in_city,
)
from backend.sim.context import FleetContext
from backend.sim.fleet import DIESEL_CO2_KG_PER_L, VehicleSpec, build_fleet
from backend.sim.history import day_orders, simulate_history
from backend.sim.names import driver_names
from backend.sim.records import IdAllocator, Row, order_row

# Demo passwords are printed at start-up; they are for the embedded demo only.
ADMIN = ("admin", "admin", "admin-demo-2026", "Alex Admin")
MANAGER = ("manager", "manager", "manager-demo-2026", "Morgan Manager")
DISPATCHER_PASSWORD = "dispatch-demo-2026"
DRIVER_PASSWORD = "driver-demo-2026"
SIMULATOR_TOKEN_NAME = "demo simulator"  # backend.sim.simulator revokes tokens by this name
_STREAM_FLEET = 0xF1EE7
_SERIAL_TABLES = (
    "depot",
    "vehicle",
    "app_user",
    "delivery_order",
    "route",
    "route_stop",
    "route_event",
    "notification",
    "delivery_rating",
)


class DemoAlreadySeeded(RuntimeError):
    """The database already holds depots; seeding again would mix two fleets."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What seeding produced: logins to print, row counts, history KPIs and the time taken."""

    seed: int
    today: date
    history_days: int
    # (role, username, password): admin, manager, a dispatcher and a driver per depot. Every
    # driver logs in as driver-<vehicle name, lower case> with DRIVER_PASSWORD.
    credentials: list[tuple[str, str, str]]
    depots: int
    vehicles: int
    users: int
    orders_today: int
    history_orders: int
    history_routes: int
    history_stops: int
    history_events: int
    notifications: int
    on_time_rate: float
    failed_rate: float
    utilization: float
    load_utilization: float
    elapsed_s: float


def is_seeded(session: Session) -> bool:
    """Whether the database already holds any depot (then the demo is not seeded again)."""
    return bool(session.scalar(select(func.count()).select_from(Depot)))


def seed_demo(
    session: Session, *, seed: int = 7, today: date | None = None, history_days: int = 90
) -> DemoSummary:
    """Fill an empty fleet database with the demo; same (seed, today) gives the same rows."""
    started = time.perf_counter()
    if is_seeded(session):
        raise DemoAlreadySeeded("the database already holds depots; refusing to seed the demo")
    if history_days < 0:
        raise ValueError("history_days: must be 0 or more")
    day = today if today is not None else today_in_city()
    ids = _allocator(session)
    # Everything "already existed" a month before the history starts; no wall clock inside.
    epoch = at_local_minute(day - timedelta(days=history_days + 30), 9 * 60)
    fleet = build_fleet(np.random.default_rng([seed, _STREAM_FLEET]))
    depot_rows = [_depot_row(ids.take("depot"), d, epoch) for d in range(len(DEPOTS))]
    depot_ids = tuple(r["id"] for r in depot_rows)
    vehicle_rows = [_vehicle_row(ids.take("vehicle"), v, depot_ids, epoch) for v in fleet]
    vehicle_ids = tuple(r["id"] for r in vehicle_rows)
    user_rows, link_rows, credentials = _users(seed, fleet, depot_ids, vehicle_ids, ids, epoch)
    _refuse_taken_usernames(session, [r["username"] for r in user_rows])
    by_role = {"dispatcher": [r for r in user_rows if r["role"] == "dispatcher"]}
    drivers = [r for r in user_rows if r["role"] == "driver"]
    ctx = FleetContext(
        fleet=fleet,
        depot_ids=depot_ids,
        vehicle_ids=vehicle_ids,
        driver_ids=tuple(r["id"] for r in drivers),
        dispatcher_ids=tuple(r["id"] for r in by_role["dispatcher"]),
    )
    rows, stats = simulate_history(seed, day, history_days, ctx, ids)
    todays = day_orders(seed, day, is_today=True)
    today_rows = [
        order_row(
            todays,
            i,
            order_id=ids.take("delivery_order"),
            depot_id=depot_ids[int(todays.depot[i])],
            serial=i + 1,
        )
        for i in range(len(todays))
    ]
    states = _vehicle_states(day, fleet, vehicle_ids, rows.routes)

    for model, batch in (
        (Depot, depot_rows),
        (Vehicle, vehicle_rows),
        (User, user_rows),
        (user_depot, link_rows),
        (Order, rows.orders + today_rows),
        (OptimizationRequest, rows.requests),
        (OptimizationResponse, rows.responses),
        (OptimizationEvent, rows.optimization_events),
        (Route, rows.routes),
        (RouteStop, rows.stops),
        (RouteEvent, rows.route_events),
        (Notification, rows.notifications),
        (DeliveryRating, rows.ratings),
        (VehicleState, states),
    ):
        if batch:
            session.execute(insert(model), batch)
    _sync_sequences(session)
    session.flush()
    return DemoSummary(
        seed=seed,
        today=day,
        history_days=history_days,
        credentials=credentials,
        depots=len(depot_rows),
        vehicles=len(vehicle_rows),
        users=len(user_rows),
        orders_today=len(today_rows),
        history_orders=len(rows.orders),
        history_routes=len(rows.routes),
        history_stops=len(rows.stops),
        history_events=len(rows.route_events),
        notifications=len(rows.notifications),
        on_time_rate=round(stats.on_time_rate, 4),
        failed_rate=round(stats.failed_rate, 4),
        utilization=round(stats.utilization, 4),
        load_utilization=round(stats.load_utilization, 4),
        elapsed_s=round(time.perf_counter() - started, 2),
    )


def issue_driver_tokens(session: Session) -> dict[int, str]:
    """Issue one API token per active driver (for the simulator); returns vehicle id -> secret."""
    drivers = session.scalars(
        select(User).where(User.role == Role.DRIVER.value, User.active.is_(True)).order_by(User.id)
    ).all()
    return {
        int(u.vehicle_id): issue_token(session, user=u, name=SIMULATOR_TOKEN_NAME)
        for u in drivers
        if u.vehicle_id is not None
    }


def _allocator(session: Session) -> IdAllocator:
    # Ids continue after whatever is there, so a database with users but no depots still works.
    start = {}
    for table in _SERIAL_TABLES:
        top = session.execute(text(f"SELECT MAX(id) FROM {table}")).scalar()  # noqa: S608
        start[table] = int(top or 0) + 1
    return IdAllocator(start)


def _refuse_taken_usernames(session: Session, usernames: list[str]) -> None:
    taken = session.scalars(select(User.username).where(User.username.in_(usernames))).all()
    if taken:
        raise DemoAlreadySeeded(f"demo usernames already exist: {', '.join(sorted(taken))}")


def _sync_sequences(session: Session) -> None:
    # Explicit ids do not advance PostgreSQL's serial sequences; later inserts would collide.
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _SERIAL_TABLES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
            )
        )


def _depot_row(depot_id: int, d: int, epoch: datetime) -> Row:
    site = DEPOTS[d]
    return {
        "id": depot_id,
        "name": site.name,
        "address": site.address,
        "lat": site.lat,
        "lon": site.lon,
        "timezone": CITY_TIMEZONE,
        "active": True,
        "created_at": epoch,
    }


def _vehicle_row(
    vehicle_id: int, v: VehicleSpec, depot_ids: tuple[int, ...], epoch: datetime
) -> Row:
    depot_id = depot_ids[depot_index(v.depot_key)]
    shift_minutes = int(v.shift_end_min - v.shift_start_min)
    return {
        "id": vehicle_id,
        "name": v.name,
        "vehicle_type": v.type.key,
        "plate": v.plate,
        "depot_id": depot_id,
        "start_depot_id": depot_id,
        "end_depot_id": depot_id,
        "capacity": {"kg": v.type.capacity_kg, "m3": v.type.capacity_m3},
        "fuel_l_per_km": v.type.fuel_l_per_km,
        "co2_kg_per_l": DIESEL_CO2_KG_PER_L,
        "cost_per_km": v.type.cost_per_km,
        "cost_per_hour": v.type.cost_per_hour,
        "fixed_cost": v.type.fixed_cost,
        "shift_start": v.shift_start,
        "shift_end": v.shift_end,
        "max_route_km": 250.0,
        "max_route_minutes": shift_minutes,
        "skills": list(v.skills),
        "active": True,
        "created_at": epoch,
        "updated_at": epoch,
    }


def _users(
    seed: int,
    fleet: tuple[VehicleSpec, ...],
    depot_ids: tuple[int, ...],
    vehicle_ids: tuple[int, ...],
    ids: IdAllocator,
    epoch: datetime,
) -> tuple[list[Row], list[Row], list[tuple[str, str, str]]]:
    # One scrypt hash per distinct password: hashing is the slowest part of creating users.
    hashes: dict[str, str] = {}

    def row(username: str, role: str, password: str, name: str, vehicle: int | None) -> Row:
        if password not in hashes:
            hashes[password] = hash_password(password)
        return {
            "id": ids.take("app_user"),
            "username": username,
            "display_name": name,
            "role": role,
            "password_hash": hashes[password],
            "vehicle_id": vehicle,
            "phone": "",
            "active": True,
            "created_at": epoch,
            "last_login_at": None,
        }

    users: list[Row] = []
    links: list[Row] = []
    credentials: list[tuple[str, str, str]] = []
    first_driver: dict[int, str] = {}
    for role, username, password, name in (ADMIN, MANAGER):
        users.append(row(username, role, password, name, None))
        credentials.append((role, username, password))
    for d, site in enumerate(DEPOTS):
        username = f"dispatcher-{site.key}"
        user = row(
            username, "dispatcher", DISPATCHER_PASSWORD, f"Dispatch {site.key.title()}", None
        )
        users.append(user)
        links.append({"user_id": user["id"], "depot_id": depot_ids[d]})
        credentials.append(("dispatcher", username, DISPATCHER_PASSWORD))
    names = driver_names(np.random.default_rng([seed, _STREAM_FLEET, 2]), len(fleet))
    for v, name in zip(fleet, names, strict=True):
        username = f"driver-{v.name.lower()}"
        d = depot_index(v.depot_key)
        user = row(username, "driver", DRIVER_PASSWORD, name, vehicle_ids[v.index])
        user["phone"] = f"+1 312 555 {100 + v.index:04d}"
        users.append(user)
        links.append({"user_id": user["id"], "depot_id": depot_ids[d]})
        if d not in first_driver:
            first_driver[d] = username
    # Printing 25 driver logins helps nobody: one per depot; the rest follow the same pattern
    # (driver-<vehicle name>, same password).
    credentials += [("driver", first_driver[d], DRIVER_PASSWORD) for d in sorted(first_driver)]
    return users, links, credentials


def _vehicle_states(
    day: date, fleet: tuple[VehicleSpec, ...], vehicle_ids: tuple[int, ...], routes: list[Row]
) -> list[Row]:
    # Idle at the depot since the end of its last route (or since early this morning).
    last_end: dict[int, Any] = {}
    for r in routes:
        last_end[r["vehicle_id"]] = r["actual_end_at"]
    states = []
    for v in fleet:
        site = DEPOTS[depot_index(v.depot_key)]
        vid = vehicle_ids[v.index]
        at = last_end.get(vid) or at_local_minute(day - timedelta(days=1), 18 * 60)
        states.append(
            {
                "vehicle_id": vid,
                "seq": 0,
                "recorded_at": at,
                "lat": site.lat,
                "lon": site.lon,
                "speed": 0.0,
                "heading": None,
                "status": "idle",
                "updated_at": at,
            }
        )
    return states
