"""Fixtures for the REST API tests: a real app on SQLite or PostgreSQL, a small fleet, users."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.runtime import runtime_of
from factories import empty_postgres

from .api_helpers import DAY_START, SERVICE_DATE

# `import app` builds the module-level app from the environment: keep it off the real var/.
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="fleet-api-test-"))
os.environ.setdefault("DEMO", "false")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The real Dash app (Flask server, guard, API) over an empty, migrated database."""
    from app import create_app
    from backend.config import load_settings
    from backend.db.migrate import upgrade

    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = load_settings(DATA_DIR=str(tmp_path), DATABASE_URL=url, DEMO=False)
    dash_app = create_app(settings)
    runtime = runtime_of(dash_app.server)
    if url:
        empty_postgres(runtime.db.engine)
    else:
        upgrade(runtime.db.engine)
    yield dash_app
    runtime.db.engine.dispose()


@pytest.fixture
def runtime(app: Any) -> Any:
    """The app's Runtime (settings and database)."""
    return runtime_of(app.server)


class Api:
    """A test client that sends one user's bearer token (or none) with every request."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request to /api/v1 + path."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)


@dataclass
class World:
    """Two depots, their vehicles and orders, and one user (with a token) per role."""

    depots: dict[str, int] = field(default_factory=dict)
    vehicles: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    """Depots north (1) and south (2), 3 vehicles, 6 orders and a user per role with a token."""
    from werkzeug.security import generate_password_hash

    import backend.auth.users
    from backend.auth.tokens import issue_token
    from backend.auth.users import create_user
    from backend.db.models import Depot, Order, Vehicle

    # scrypt is slow on purpose; five users per test need not be (login still verifies).
    monkeypatch.setattr(
        backend.auth.users,
        "hash_password",
        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"),
    )
    w = World()
    with runtime.db.session() as s:
        north = Depot(name="north", address="1 North St", lat=52.5, lon=13.4)
        south = Depot(name="south", address="2 South St", lat=48.1, lon=11.6)
        s.add_all([north, south])
        s.flush()
        w.depots = {"north": north.id, "south": south.id}

        def vehicle(name: str, depot: Depot, vtype: str, capacity: dict[str, float]) -> Vehicle:
            return Vehicle(
                name=name,
                vehicle_type=vtype,
                plate=name.upper(),
                depot_id=depot.id,
                start_depot_id=depot.id,
                end_depot_id=depot.id,
                capacity=capacity,
                fuel_l_per_km=0.1,
                cost_per_km=0.5,
                cost_per_hour=20,
                shift_start=time(7),
                shift_end=time(17),
            )

        vehicles = {
            "n-van": vehicle("n-van", north, "van", {"kg": 1000, "m3": 8}),
            "n-bike": vehicle("n-bike", north, "cargo_bike", {"kg": 80}),
            "s-truck": vehicle("s-truck", south, "truck", {"kg": 5000, "pallets": 10}),
        }
        s.add_all(vehicles.values())
        s.flush()
        w.vehicles = {name: v.id for name, v in vehicles.items()}

        specs = [
            ("N-001", north, "Alice Bakery", "3 Mill Lane", 3, 1, "n-van"),
            ("N-002", north, "Bob's Books", "9 Page Road", 8, 2, None),
            ("N-003", north, "Carla Cafe", "5 Bean Street", 5, 3, None),
            ("N-004", north, "Dora Deli", "7 Mill Lane", 10, 4, "n-van"),
            ("S-001", south, "Emil Electric", "1 Volt Way", 2, 1, "s-truck"),
            ("S-002", south, "Frida Florist", "4 Rose Road", 9, 2, None),
        ]
        for ref, depot, customer, address, priority, hour, vname in specs:
            start = DAY_START + timedelta(hours=hour)
            end = start + timedelta(hours=2)
            order = Order(
                reference=ref,
                depot_id=depot.id,
                service_date=SERVICE_DATE,
                customer_name=customer,
                address=address,
                lat=depot.lat + 0.01,
                lon=depot.lon + 0.01,
                demand={"kg": 10},
                time_windows=[{"start": start.isoformat(), "end": end.isoformat()}],
                window_start=start,
                window_end=end,
                priority=priority,
                vehicle_id=w.vehicles[vname] if vname else None,
            )
            s.add(order)
            s.flush()
            w.orders[ref] = order.id

        users = {
            "admin": create_user(s, username="admin", password="pw-admin-1", role="admin"),
            "manager": create_user(s, username="manager", password="pw-manager", role="manager"),
            "dispatcher": create_user(
                s,
                username="disp-north",
                password="pw-north",
                role="dispatcher",
                depot_ids=[north.id],
            ),
            "dispatcher_south": create_user(
                s,
                username="disp-south",
                password="pw-south",
                role="dispatcher",
                depot_ids=[south.id],
            ),
            "driver": create_user(
                s,
                username="driver",
                password="pw-driver",
                role="driver",
                depot_ids=[north.id],
                vehicle_id=w.vehicles["n-van"],
            ),
        }
        w.tokens = {role: issue_token(s, user=user) for role, user in users.items()}
    return w


@pytest.fixture
def client(app: Any) -> Any:
    """A Flask test client of the app."""
    return app.server.test_client()


@pytest.fixture
def as_role(client: Any, world: World) -> Any:
    """as_role("dispatcher") -> an Api client sending that user's token; None = anonymous."""

    def make(role: str | None) -> Api:
        return Api(client, world.tokens[role] if role else None)

    return make
