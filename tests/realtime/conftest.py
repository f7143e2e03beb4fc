"""Fixtures for the realtime tests: a small fleet, a realtime service, in-process connections."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.auth.tokens import issue_token
from backend.auth.users import create_user, principal_for
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import Depot, Order, Route, RouteStatus, RouteStop, User, Vehicle
from backend.realtime.bus import InProcessBus
from backend.realtime.hub import Connection
from backend.realtime.protocol import RealtimeConfig
from backend.realtime.service import RealtimeService, initial_rooms, initial_subscriptions
from backend.sim.city import today_in_city


@dataclass
class Fleet:
    """Ids and tokens of the seeded fleet."""

    depots: list[int] = field(default_factory=list)
    vehicles: list[int] = field(default_factory=list)
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    orders: list[int] = field(default_factory=list)
    route: int = 0  # vehicle 1's route of today (accepted, not started) with both orders
    stops: list[int] = field(default_factory=list)  # its stops: start, the two orders, end


def make_vehicle(depot_id: int, name: str) -> Vehicle:
    return Vehicle(
        name=name,
        vehicle_type="van",
        depot_id=depot_id,
        start_depot_id=depot_id,
        end_depot_id=depot_id,
        capacity={"kg": 1000},
        fuel_l_per_km=0.1,
        cost_per_km=0.5,
        cost_per_hour=20.0,
        shift_start=time(8),
        shift_end=time(18),
    )


def seed_fleet(db: Database) -> Fleet:
    """Two depots; vehicles 1-2 in the first, 3 in the second; a driver per vehicle; vehicle 1
    has today's route (planned: accepted, not started) through the two dispatched orders."""
    fleet = Fleet()
    with db.session() as session:
        north = Depot(name="North", lat=41.95, lon=-87.70)
        south = Depot(name="South", lat=41.80, lon=-87.65)
        session.add_all([north, south])
        session.flush()
        fleet.depots = [north.id, south.id]
        vehicles = [make_vehicle(north.id, "V1"), make_vehicle(north.id, "V2")]
        vehicles.append(make_vehicle(south.id, "V3"))
        session.add_all(vehicles)
        session.flush()
        fleet.vehicles = [v.id for v in vehicles]
        for index, vehicle in enumerate(vehicles, start=1):
            user = create_user(
                session,
                username=f"driver{index}",
                password="driver-pass",
                role="driver",
                depot_ids=[vehicle.depot_id],
                vehicle_id=vehicle.id,
            )
            fleet.users[user.username] = user.id
            fleet.tokens[user.username] = issue_token(session, user=user)
        for username, role, depots in (
            ("disp", "dispatcher", [north.id]),
            ("disp2", "dispatcher", [south.id]),
            ("boss", "manager", []),
            ("root", "admin", []),
        ):
            user = create_user(
                session,
                username=username,
                password=f"{username}-pass",
                role=role,
                depot_ids=depots,
            )
            fleet.users[username] = user.id
            fleet.tokens[username] = issue_token(session, user=user)
        now = datetime.now(UTC)
        for index in range(2):
            order = Order(
                reference=f"ORD-{index}",
                depot_id=north.id,
                service_date=today_in_city(),
                customer_name=f"Customer {index}",
                lat=41.9,
                lon=-87.68,
                demand={"kg": 10},
                time_windows=[],
                window_start=now,
                window_end=now + timedelta(hours=2),
                status="dispatched",
                vehicle_id=vehicles[0].id,
            )
            session.add(order)
            session.flush()
            fleet.orders.append(order.id)
        route = Route(
            vehicle_id=vehicles[0].id,
            depot_id=north.id,
            service_date=today_in_city(),
            status=RouteStatus.PLANNED.value,
            planned_start_at=now,
            planned_end_at=now + timedelta(hours=3),
        )
        stops = [(None, "start"), *((o, "delivery") for o in fleet.orders), (None, "end")]
        for sequence, (order_id, kind) in enumerate(stops):
            planned = now + timedelta(minutes=30 * sequence)
            route.stops.append(
                RouteStop(
                    order_id=order_id,
                    sequence=sequence,
                    kind=kind,
                    lat=41.9,
                    lon=-87.68,
                    planned_arrival_at=planned,
                    planned_departure_at=planned + timedelta(minutes=5),
                )
            )
        session.add(route)
        session.flush()
        fleet.route = route.id
        fleet.stops = [stop.id for stop in route.stops]
    return fleet


@pytest.fixture
def database(data_dir: Path) -> Iterator[Database]:
    """A migrated SQLite database (the PostgreSQL tests build their own)."""
    db = Database(load_settings(DATA_DIR=str(data_dir), DEMO=False))
    upgrade(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of our own, dropped with a fresh connection afterwards (the
    server may have been restarted in between, killing any pooled admin connection)."""
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    name = f"fleet_rt_{uuid.uuid4().hex[:10]}"

    def admin(statement: str) -> None:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    try:
        admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fleet(database: Database) -> Fleet:
    return seed_fleet(database)


@pytest.fixture
def clock() -> FixedClock:
    """The realtime service's clock, pinned to the moment the test starts (move it by hand)."""
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def service(database: Database, clock: FixedClock) -> Iterator[RealtimeService]:
    """A started realtime service on the in-process bus."""
    svc = RealtimeService(database.session, InProcessBus(), RealtimeConfig(), clock=clock)
    svc.start()
    yield svc
    svc.stop()


class Client:
    """An in-process connection: what the socket loop would send ends up in `received`."""

    def __init__(self, service: RealtimeService, principal: Any, depot_id: int | None) -> None:
        self.connection = Connection(
            principal=principal, config=service.config, service=service, depot_id=depot_id
        )
        self.connection.subscriptions = initial_subscriptions(self.connection)
        service.hub.register(self.connection, initial_rooms(principal, depot_id))
        self.service = service

    def frame(self, text: str | bytes) -> list[dict[str, Any]]:
        from backend.realtime.handler import handle_frame

        return handle_frame(self.connection, text)

    def received(self) -> list[Any]:
        import json

        self.service.writer.wait_idle()
        items = []
        while self.connection.outbox:
            item = self.connection.outbox.popleft()
            items.append(json.loads(item) if isinstance(item, str) else item)
        positions = self.connection.take_positions()
        if positions:
            items.append(json.loads(positions))
        return items


@pytest.fixture
def connect(service: RealtimeService, database: Database, fleet: Fleet):
    """connect(username) -> Client for that user."""

    def _connect(username: str) -> Client:
        with database.session() as session:
            user = session.get(User, fleet.users[username])
            assert user is not None
            principal = principal_for(user)
            depot = session.get(Vehicle, user.vehicle_id).depot_id if user.vehicle_id else None
        return Client(service, principal, depot)

    return _connect


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fix(seq: int, *, lat: float = 41.9, lon: float = -87.65, ago_s: float = 1.0, **extra: Any):
    """A valid position item."""
    when = datetime.now(UTC) - timedelta(seconds=ago_s)
    return {"seq": seq, "recordedAt": when.isoformat(), "lat": lat, "lon": lon, **extra}
