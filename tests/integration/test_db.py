"""The data layer on SQLite and real PostgreSQL: schema, constraints, UTC times, queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from backend.auth.tokens import issue_token, revoke_token, user_for_token
from backend.auth.users import authenticate, create_user, principal_for
from backend.db.engine import Database
from backend.db.models import (
    Depot,
    OptimizationEvent,
    OptimizationResponse,
    Order,
    Position,
    Vehicle,
)
from backend.db.queries.optimization import (
    get_request,
    latest_response,
    request_events,
    upsert_request,
    vehicle_route_history,
)

T0 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def _depot(session, name: str = "North") -> Depot:
    depot = Depot(name=name, lat=41.9, lon=-87.67, timezone="America/Chicago")
    session.add(depot)
    session.flush()
    return depot


def _vehicle(session, depot: Depot, name: str = "VAN-01") -> Vehicle:
    vehicle = Vehicle(
        name=name,
        vehicle_type="cargo_van",
        depot_id=depot.id,
        start_depot_id=depot.id,
        end_depot_id=depot.id,
        capacity={"kg": 1200, "m3": 10},
        fuel_l_per_km=0.11,
        cost_per_km=0.55,
        cost_per_hour=28.0,
        shift_start=time(7),
        shift_end=time(17),
        skills=["liftgate"],
    )
    session.add(vehicle)
    session.flush()
    return vehicle


def _order(session, depot: Depot, ref: str = "ORD-1", **overrides) -> Order:
    values = dict(
        reference=ref,
        depot_id=depot.id,
        service_date=date(2026, 11, 27),
        customer_name="Ada",
        lat=41.88,
        lon=-87.65,
        demand={"kg": 12.5},
        service_minutes=6,
        time_windows=[{"start": T0.isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()}],
        window_start=T0,
        window_end=T0 + timedelta(hours=2),
        priority=5,
    )
    values.update(overrides)
    order = Order(**values)
    session.add(order)
    session.flush()
    return order


def test_migration_creates_every_table(database: Database) -> None:
    names = set(inspect(database.engine).get_table_names())
    assert {
        "depot",
        "vehicle",
        "app_user",
        "api_token",
        "delivery_order",
        "route_optimization_requests",
        "route_optimization_responses",
        "route_optimization_events",
        "route",
        "route_stop",
        "position",
        "vehicle_state",
        "route_event",
        "notification",
    } <= names
    index_names = {
        i["name"] for i in inspect(database.engine).get_indexes("route_optimization_requests")
    }
    for column in ("vehicle_id", "depot_id", "status", "created_at", "priority"):
        assert f"ix_route_optimization_requests_{column}" in index_names


@pytest.mark.postgres
def test_gin_indexes_on_postgres(postgres_url: str, data_dir) -> None:
    from backend.config import load_settings
    from backend.db.migrate import upgrade

    database = Database(load_settings(DATA_DIR=str(data_dir), DATABASE_URL=postgres_url))
    upgrade(database.engine)
    with database.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_gin'"
        ).all()
    assert {r[0] for r in rows} == {
        "ix_route_optimization_requests_delivery_locations_gin",
        "ix_route_optimization_responses_route_sequence_gin",
    }
    assert all("USING gin" in r[1] for r in rows)


def test_timestamps_round_trip_as_utc_and_naive_is_refused(database: Database) -> None:
    with database.session() as session:
        depot = _depot(session)
        order_id = _order(session, depot).id
    with database.session() as session:
        order = session.get(Order, order_id)
        assert order.window_start == T0 and order.window_start.tzinfo is not None
        assert order.created_at.tzinfo is not None
    with pytest.raises(StatementError, match="naive datetime"), database.session() as session:
        _order(
            session,
            session.get(Depot, depot.id),
            ref="ORD-naive",
            window_start=datetime(2026, 1, 1),
            window_end=datetime(2026, 1, 2),
        )


def test_check_constraints_refuse_bad_rows_and_keep_good_ones(database: Database) -> None:
    with database.session() as session:
        depot_id = _depot(session).id
    for bad in (
        {"lat": 91.0},
        {"priority": 11},
        {"status": "lost"},
        {"window_end": T0 - timedelta(hours=1)},
    ):
        with pytest.raises(IntegrityError), database.session() as session:
            _order(session, session.get(Depot, depot_id), ref=f"bad-{list(bad)[0]}", **bad)
    with database.session() as session:
        _order(session, session.get(Depot, depot_id), ref="ok")
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_positions_are_unique_per_vehicle_and_seq(database: Database) -> None:
    with database.session() as session:
        vehicle_id = _vehicle(session, _depot(session)).id
        session.add(Position(vehicle_id=vehicle_id, seq=1, recorded_at=T0, lat=41.9, lon=-87.6))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Position(vehicle_id=vehicle_id, seq=1, recorded_at=T0, lat=42.0, lon=-87.6))
    with database.session() as session:
        stored = session.scalars(select(Position)).all()
        assert [(p.seq, p.lat) for p in stored] == [(1, 41.9)]


def test_users_passwords_tokens_and_scope(database: Database) -> None:
    with database.session() as session:
        depot = _depot(session)
        vehicle = _vehicle(session, depot)
        driver = create_user(
            session,
            username="Dana",
            password="secret-pass",
            role="driver",
            depot_ids=[depot.id],
            vehicle_id=vehicle.id,
        )
        create_user(session, username="boss", password="secret-pass", role="manager")
        token = issue_token(session, user=driver, name="phone")
    with database.session() as session:
        assert authenticate(session, username="dana", password="secret-pass").username == "dana"
        assert authenticate(session, username="dana", password="wrong-pass") is None
        assert authenticate(session, username="nobody", password="secret-pass") is None
        user = user_for_token(session, token=token)
        principal = principal_for(user)
        assert principal.role == "driver" and principal.vehicle_id == vehicle.id
        assert principal.sees_depot(depot.id) and not principal.sees_depot(depot.id + 1)
        assert principal.can("vehicle:update_location") and not principal.can("order:write")
        manager = principal_for(authenticate(session, username="boss", password="secret-pass"))
        assert manager.depot_ids is None and manager.sees_depot(999)
        assert user_for_token(session, token=token + "x") is None
        assert revoke_token(session, prefix=token[:10]) == 1
    with database.session() as session:
        assert user_for_token(session, token=token) is None
    with pytest.raises(ValueError, match="username"), database.session() as session:
        create_user(session, username="dana", password="another-pass", role="driver")
    with pytest.raises(ValueError, match="role"), database.session() as session:
        create_user(session, username="eve", password="another-pass", role="pilot")


def test_optimization_request_upsert_and_queries(database: Database) -> None:
    with database.session() as session:
        vehicle = _vehicle(session, _depot(session))
        upsert_request(
            session,
            request_id="req-1",
            values={
                "vehicle_id": vehicle.id,
                "depot_id": vehicle.depot_id,
                "priority": 7,
                "delivery_locations": [{"lat": 41.9, "lon": -87.6}],
                "status": "pending",
            },
            now=T0,
        )
        upsert_request(
            session,
            request_id="req-1",
            values={
                "vehicle_id": vehicle.id,
                "depot_id": vehicle.depot_id,
                "priority": 9,
                "status": "completed",
                "meta": {"by": "test"},
            },
            now=T0 + timedelta(minutes=5),
        )
        for i, score in enumerate([0.8, 0.93]):
            session.add(
                OptimizationResponse(
                    response_id=f"resp-{i}",
                    request_id="req-1",
                    optimization_score=score,
                    distance=10.0 + i,
                    duration=60.0,
                    route_sequence=[1, 2, 3],
                    created_at=T0 + timedelta(minutes=i),
                )
            )
        session.add(
            OptimizationEvent(
                event_id="ev-1", request_id="req-1", event_type="completed", timestamp=T0
            )
        )
    with database.session() as session:
        request = get_request(session, request_id="req-1")
        assert request.priority == 9 and request.status == "completed"
        assert request.meta == {"by": "test"}
        assert request.delivery_locations == [{"lat": 41.9, "lon": -87.6}]
        assert latest_response(session, request_id="req-1").response_id == "resp-1"
        history = vehicle_route_history(session, vehicle_id=vehicle.id)
        assert [resp.response_id for _, resp in history] == ["resp-1", "resp-0"]
        assert [e.event_type for e in request_events(session, request_id="req-1")] == ["completed"]
        assert get_request(session, request_id="missing") is None


def test_pool_status_reports_figures(database: Database) -> None:
    with database.session() as session:
        session.execute(select(1))
    status = database.pool_status()
    assert status["dialect"] in {"sqlite", "postgresql"}
    if status["dialect"] == "postgresql":
        assert status["size"] == 5 and "checkedout" in status
