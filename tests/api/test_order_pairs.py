"""Pickup and delivery through the whole way: REST creates the pair, a plan serves it.

The delivery names its pickup (`pickup_order_id`); a planning job started over REST puts both
on one vehicle with the pickup first. Bad pairs are refused naming the field, and nothing
stored changes: an unknown or out-of-scope pickup, another day's, a pickup paired twice, a
delivery used as a pickup; a paired order cannot move to another day alone.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.auth.tokens import issue_token
from backend.auth.users import create_user
from backend.db.models import Order, Route, RouteStop
from factories import DAY, add_other_depot, at_hour, build_app, seed_small_day


@pytest.fixture
def pair_app(data_dir: Path):
    dash_app, runtime = build_app(data_dir)
    depot_id = seed_small_day(runtime.db, orders=6)
    with runtime.db.session() as session:
        user = create_user(
            session, username="disp", password="password-1", role="dispatcher", depot_ids=[depot_id]
        )
        token = issue_token(session, user=user)
    client = dash_app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, **kw):
        return client.open(path, method=method, headers=headers, **kw)

    yield call, runtime, depot_id
    runtime.db.engine.dispose()


def _order(depot_id: int, reference: str, lat: float, lon: float, **extra) -> dict:
    return {
        "reference": reference,
        "depot_id": depot_id,
        "service_date": DAY.isoformat(),
        "customer_name": reference,
        "lat": lat,
        "lon": lon,
        "demand": {"kg": 20},
        "time_windows": [{"start": at_hour(8).isoformat(), "end": at_hour(17).isoformat()}],
        **extra,
    }


@pytest.mark.slow
def test_a_pair_created_over_rest_is_served_by_one_vehicle_pickup_first(pair_app) -> None:
    call, runtime, depot_id = pair_app
    pickup = call("POST", "/api/v1/orders", json=_order(depot_id, "P-1", 41.93, -87.70))
    assert pickup.status_code == 201, pickup.json
    delivery = call(
        "POST",
        "/api/v1/orders",
        json=_order(depot_id, "D-1", 41.87, -87.62, pickup_order_id=pickup.json["id"]),
    )
    assert delivery.status_code == 201, delivery.json
    assert delivery.json["pickup_order_id"] == pickup.json["id"]
    assert (
        call("GET", f"/api/v1/orders/{delivery.json['id']}").json["pickup_order_id"]
        == (pickup.json["id"])
    )
    started = call(
        "POST",
        "/api/v1/plans",
        json={
            "depot_id": depot_id,
            "service_date": DAY.isoformat(),
            "time_limit_s": 2,
            "engine": "auto",
        },
    )
    assert started.status_code == 202, started.json
    deadline = time.monotonic() + 90
    while True:
        body = call("GET", f"/api/v1/plans/{started.json['job_id']}").json
        if body["status"] not in ("pending", "running") and body["plan"]:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.3)
    assert body["status"] == "completed" and body["plan"]["summary"]["unassigned"] == 0
    with runtime.db.session() as session:
        stops = {
            s.order_id: s
            for s in session.scalars(
                select(RouteStop)
                .join(Route)
                .where(
                    Route.response_id == body["plan"]["response_id"],
                    RouteStop.order_id.in_([pickup.json["id"], delivery.json["id"]]),
                )
            )
        }
        picked, dropped = stops[pickup.json["id"]], stops[delivery.json["id"]]
        assert picked.route_id == dropped.route_id
        assert picked.sequence < dropped.sequence
        assert picked.planned_departure_at <= dropped.planned_arrival_at


def test_bad_pairs_are_refused_naming_the_field(pair_app) -> None:
    call, runtime, depot_id = pair_app
    other_depot, _ = add_other_depot(runtime.db)
    with runtime.db.session() as session:
        other_order = Order(
            reference="X-other",
            depot_id=other_depot,
            service_date=DAY,
            customer_name="Elsewhere",
            lat=41.8,
            lon=-87.6,
            demand={"kg": 1},
            time_windows=[],
            window_start=at_hour(8),
            window_end=at_hour(17),
        )
        session.add(other_order)
        session.flush()
        other_id = other_order.id
    pickup = call("POST", "/api/v1/orders", json=_order(depot_id, "P-2", 41.9, -87.7)).json
    first = call(
        "POST",
        "/api/v1/orders",
        json=_order(depot_id, "D-2", 41.88, -87.64, pickup_order_id=pickup["id"]),
    ).json
    tomorrow = {**_order(depot_id, "P-3", 41.9, -87.7), "service_date": "2026-11-28"}
    tomorrow_id = call("POST", "/api/v1/orders", json=tomorrow).json["id"]
    with runtime.db.session() as session:
        count = session.scalar(select(func.count(Order.id)))
    for pickup_id, status in (
        (999_999, 422),  # unknown
        (other_id, 422),  # another depot, outside the dispatcher's scope
        (tomorrow_id, 422),  # another day
        (pickup["id"], 409),  # already the pickup of D-2
        (first["id"], 422),  # D-2 is itself a delivery
    ):
        answer = call(
            "POST",
            "/api/v1/orders",
            json=_order(depot_id, f"D-bad-{pickup_id}", 41.88, -87.64, pickup_order_id=pickup_id),
        )
        assert answer.status_code == status, (pickup_id, answer.json)
        assert answer.json["error"]["field"] == "pickup_order_id"
    with runtime.db.session() as session:
        assert session.scalar(select(func.count(Order.id))) == count  # nothing stored
    moved = call("PATCH", f"/api/v1/orders/{first['id']}", json={"service_date": "2026-11-28"})
    assert moved.status_code == 409 and moved.json["error"]["field"] == "service_date"
    moved = call("PATCH", f"/api/v1/orders/{pickup['id']}", json={"service_date": "2026-11-28"})
    assert moved.status_code == 409
    # A field that does not move the pair is fine.
    assert call("PATCH", f"/api/v1/orders/{first['id']}", json={"notes": "ring"}).status_code == 200


def test_migration_0008_matches_the_model(database) -> None:
    """delivery_order.pickup_order_id as the model declares it, on SQLite and PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.db.base import Base

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "pickup" in str(d)]
    assert diffs == []
