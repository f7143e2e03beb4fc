"""Small, named test data built through the real models (no mocks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from backend.db.engine import Database
from backend.db.models import Depot, Order, Vehicle

DAY = date(2026, 11, 27)
TZ = ZoneInfo("America/Chicago")


def at_hour(hour: float) -> datetime:
    local = datetime.combine(DAY, time(0), tzinfo=TZ) + timedelta(hours=hour)
    return local.astimezone(UTC)


def van(depot_id: int, name: str) -> Vehicle:
    """A cargo van of `depot_id` (400 kg, 4 m3, 08:00-17:00), not yet added to a session."""
    return Vehicle(
        name=name,
        vehicle_type="cargo_van",
        depot_id=depot_id,
        start_depot_id=depot_id,
        end_depot_id=depot_id,
        capacity={"kg": 400, "m3": 4},
        fuel_l_per_km=0.11,
        cost_per_km=0.5,
        cost_per_hour=25,
        fixed_cost=40,
        shift_start=time(8),
        shift_end=time(17),
        skills=[],
    )


def add_other_depot(db: Database) -> tuple[int, int]:
    """A second depot, "South", with one van of its own; returns (depot id, van id)."""
    with db.session() as session:
        south = Depot(name="South", lat=41.75, lon=-87.62, timezone="America/Chicago")
        session.add(south)
        session.flush()
        other = van(south.id, "SOUTH-VAN")
        session.add(other)
        session.flush()
        return south.id, other.id


def seed_small_day(db: Database, *, orders: int = 12, skill_for_last: str | None = None) -> int:
    """One depot, three vans and `orders` West Loop orders with morning or afternoon windows."""
    with db.session() as session:
        depot = Depot(name="North", lat=41.90, lon=-87.66, timezone="America/Chicago")
        session.add(depot)
        session.flush()
        for i in range(3):
            session.add(van(depot.id, f"VAN-{i}"))
        for i in range(orders):
            start, end = (8, 12) if i % 2 else (12, 17)
            skills = [skill_for_last] if skill_for_last and i == orders - 1 else []
            session.add(
                Order(
                    reference=f"O-{i}",
                    depot_id=depot.id,
                    service_date=DAY,
                    customer_name=f"C{i}",
                    lat=41.86 + 0.006 * (i % 6),
                    lon=-87.70 + 0.01 * (i // 6),
                    demand={"kg": 30},
                    service_minutes=5,
                    priority=5,
                    required_skills=skills,
                    time_windows=[
                        {"start": at_hour(start).isoformat(), "end": at_hour(end).isoformat()}
                    ],
                    window_start=at_hour(start),
                    window_end=at_hour(end),
                )
            )
        return depot.id


def empty_postgres(engine: object) -> None:
    """Empty every table (ids restart), so a test starts from a clean, migrated database."""
    from sqlalchemy import text

    from backend.db.base import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def build_app(data_dir: object, *, clock: object = None, **settings: object) -> tuple[Any, Any]:
    """The real app (and its runtime) on an empty, migrated SQLite database under `data_dir`."""
    from app import create_app
    from backend.clock import SYSTEM_CLOCK
    from backend.config import load_settings
    from backend.db.migrate import upgrade
    from backend.runtime import runtime_of

    dash_app = create_app(
        load_settings(DATA_DIR=str(data_dir), DEMO=False, **settings),
        clock=clock or SYSTEM_CLOCK,  # type: ignore[arg-type]
    )
    runtime = runtime_of(dash_app.server)
    upgrade(runtime.db.engine)
    return dash_app, runtime
