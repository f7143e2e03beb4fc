"""The demo seed: deterministic per (seed, today), complete, and refusing to seed twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.tokens import user_for_token
from backend.auth.users import authenticate, create_user
from backend.db.engine import Database
from backend.db.models import Depot, Order, User, Vehicle, VehicleState
from backend.sim.demo import DemoAlreadySeeded, is_seeded, issue_driver_tokens, seed_demo
from tests.sim.seeding import TODAY, Seeded, digest, seed_into


def test_same_seed_same_rows_and_other_seed_differs(seeded: Seeded, tmp_path: Path) -> None:
    again = seed_into(tmp_path / "again.db", seed=7)
    other = seed_into(tmp_path / "other.db", seed=8)
    assert digest(again.engine) == digest(seeded.engine)
    assert digest(other.engine) != digest(seeded.engine)


def test_summary_counts(seeded: Seeded, session: Session) -> None:
    s = seeded.summary
    assert s.depots == 2 == session.scalar(select(func.count()).select_from(Depot))
    assert s.vehicles == 25 == session.scalar(select(func.count()).select_from(Vehicle))
    assert 300 <= s.orders_today <= 500
    assert s.history_orders == session.scalar(
        select(func.count()).select_from(Order).where(Order.service_date < TODAY)
    )
    assert s.elapsed_s > 0


def test_fleet_has_two_types_with_skills(session: Session) -> None:
    vehicles = session.scalars(select(Vehicle)).all()
    assert {v.vehicle_type for v in vehicles} == {"cargo_van", "box_truck"}
    skills = {s for v in vehicles for s in v.skills}
    assert {"liftgate", "refrigerated"} <= skills
    for v in vehicles:
        assert v.capacity["kg"] > 0 and v.capacity["m3"] > 0
        assert v.shift_start < v.shift_end
        assert v.co2_kg_per_l == pytest.approx(2.68)


def test_users_one_driver_per_vehicle_and_logins_work(seeded: Seeded, session: Session) -> None:
    drivers = session.scalars(select(User).where(User.role == "driver")).all()
    vehicles = {v.id: v for v in session.scalars(select(Vehicle))}
    assert sorted(d.vehicle_id for d in drivers) == sorted(vehicles)
    for d in drivers:
        assert d.vehicle_id is not None
        assert [dep.id for dep in d.depots] == [vehicles[d.vehicle_id].depot_id]
    roles = {r for r, _, _ in seeded.summary.credentials}
    assert roles == {"admin", "manager", "dispatcher", "driver"}
    for _role, username, password in seeded.summary.credentials[:4]:
        assert len(password) >= 8
        assert authenticate(session, username=username, password=password) is not None


def test_today_vehicles_idle_at_depot(session: Session) -> None:
    states = session.scalars(select(VehicleState)).all()
    depots = {d.id: d for d in session.scalars(select(Depot))}
    vehicles = {v.id: v for v in session.scalars(select(Vehicle))}
    assert len(states) == len(vehicles)
    for s in states:
        depot = depots[vehicles[s.vehicle_id].depot_id]
        assert (s.lat, s.lon, s.status) == (depot.lat, depot.lon, "idle")
        assert s.recorded_at.tzinfo is not None


def test_refuses_to_seed_twice(session: Session) -> None:
    assert is_seeded(session)
    with pytest.raises(DemoAlreadySeeded):
        seed_demo(session, today=TODAY, history_days=1)


def test_driver_tokens_resolve_to_their_driver(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        tokens = issue_driver_tokens(session)
        assert len(tokens) == 25
        vehicle_id, token = next(iter(tokens.items()))
        user = user_for_token(session, token=token)
        assert user is not None and user.vehicle_id == vehicle_id
        session.rollback()


def test_seed_on_sqlite_and_postgres_leaves_ids_usable(database: Database) -> None:
    with database.session() as session:
        summary = seed_demo(session, seed=3, today=TODAY, history_days=2)
    assert summary.history_routes > 0
    with database.session() as session:
        # Explicit ids must not break later inserts (PostgreSQL sequences are advanced).
        depot = Depot(name="Extra depot", lat=41.9, lon=-87.7, created_at=datetime.now(UTC))
        session.add(depot)
        session.flush()
        assert depot.id > summary.depots
        user = create_user(session, username="late-hire", password="late-hire-2026", role="driver")
        assert user.id > summary.users
