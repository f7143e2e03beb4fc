"""A new order on a day whose plan is in force goes into a route at once, after the done stops.

Created over REST: the answer shows it planned on a vehicle, the route keeps its delivered
stop first, a request of source "new_order" is stored and accepted, and the depot hears the
accepted update. A role that may not plan, or AUTO_INSERT_NEW_ORDERS off, leaves it new.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

from sqlalchemy import select

from backend.auth.permissions import Principal, make_principal
from backend.auth.tokens import issue_token
from backend.auth.users import create_user
from backend.clock import FixedClock
from backend.db.models import (
    OptimizationRequest,
    Order,
    Route,
    RouteStop,
    VehicleState,
)
from backend.planning import PlanRequest, accept_plan, plan_in_process
from backend.planning.insert import INSERTION_SOURCE, insert_new_orders
from backend.realtime import get_realtime
from factories import DAY, at_hour, build_app, seed_small_day

ADMIN = make_principal(user_id=None, username="admin", role="admin", depot_ids=[])
NOW = at_hour(10.5)


def _world(data_dir: Path, **settings):
    dash_app, runtime = build_app(data_dir, clock=FixedClock(NOW), **settings)
    depot_id = seed_small_day(runtime.db)
    outcome = plan_in_process(
        runtime.db,
        None,
        request=PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=1, engine="ortools"),
        clock=FixedClock(at_hour(7)),
        principal=ADMIN,
    )
    with runtime.db.session() as session:
        accept_plan(session, response_id=outcome.response_id, principal=ADMIN, now=at_hour(7))
        route = session.scalars(select(Route).where(Route.status == "active")).first()
        first = next(s for s in route.stops if s.kind == "delivery")
        session.get(Order, first.order_id).status = "delivered"
        session.add(
            VehicleState(
                vehicle_id=route.vehicle_id,
                seq=1,
                recorded_at=at_hour(10),
                lat=first.lat,
                lon=first.lon,
                status="en_route",
            )
        )
        tokens = {}
        for name, role in (("disp", "dispatcher"), ("viewer", "manager")):
            user = create_user(
                session, username=name, password="password-1", role=role, depot_ids=[depot_id]
            )
            tokens[name] = issue_token(session, user=user)
    return dash_app, runtime, depot_id, tokens, first.order_id


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _create(dash_app, token: str, depot_id: int, reference: str):
    return dash_app.server.test_client().post(
        "/api/v1/orders",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "reference": reference,
            "depot_id": depot_id,
            "service_date": DAY.isoformat(),
            "customer_name": "Walk-in",
            "lat": 41.895,
            "lon": -87.655,
            "demand": {"kg": 5},
            "time_windows": [{"start": at_hour(12).isoformat(), "end": at_hour(17).isoformat()}],
        },
    )


def test_a_new_order_is_inserted_after_the_done_stops(data_dir: Path) -> None:
    dash_app, runtime, depot_id, tokens, delivered_id = _world(data_dir)
    heard: list[dict] = []
    get_realtime(runtime).bus.subscribe(lambda channel, text: heard.append(json.loads(text)))
    answer = _create(dash_app, tokens["disp"], depot_id, "O-walk-in")
    assert answer.status_code == 201, answer.json
    assert answer.json["status"] == "planned" and answer.json["vehicle_id"]
    with runtime.db.session() as session:
        stop = session.scalar(select(RouteStop).where(RouteStop.order_id == answer.json["id"]))
        route = session.get(Route, stop.route_id)
        assert route.status == "active" and route.vehicle_id == answer.json["vehicle_id"]
        deliveries = [s for s in route.stops if s.kind == "delivery"]
        if delivered_id in {s.order_id for s in deliveries}:
            order_ids = [s.order_id for s in deliveries]
            assert order_ids.index(delivered_id) < order_ids.index(answer.json["id"])
        assert _aware(stop.planned_arrival_at) >= NOW  # not planned into the past
        sources = [
            (r.meta or {}).get("source") for r in session.scalars(select(OptimizationRequest))
        ]
        assert sources.count(INSERTION_SOURCE) == 1
        # Every earlier order is still planned (or done): nothing was dropped to fit it.
        statuses = {o.reference: o.status for o in session.scalars(select(Order))}
        assert all(s in ("planned", "delivered") for s in statuses.values()), statuses
    assert any(m.get("status") == "accepted" for m in heard)


def test_with_the_setting_off_the_order_waits(data_dir: Path) -> None:
    dash_app, runtime, depot_id, tokens, _ = _world(data_dir, AUTO_INSERT_NEW_ORDERS=False)
    answer = _create(dash_app, tokens["disp"], depot_id, "O-off")
    assert answer.status_code == 201 and answer.json["status"] == "new"
    with runtime.db.session() as session:
        assert (
            session.scalar(select(RouteStop).where(RouteStop.order_id == answer.json["id"])) is None
        )


def test_a_role_that_may_not_plan_leaves_the_order_waiting(data_dir: Path) -> None:
    dash_app, runtime, depot_id, tokens, _ = _world(data_dir, AUTO_INSERT_NEW_ORDERS=False)
    answer = _create(dash_app, tokens["disp"], depot_id, "O-clerk")
    clerk = Principal(
        user_id=99,
        username="clerk",
        role="dispatcher",
        depot_ids=frozenset({depot_id}),
        permissions=frozenset({"order:write", "order:read"}),
    )
    accepted = insert_new_orders(
        runtime.db, depot_id=depot_id, service_date=DAY, principal=clerk, clock=FixedClock(NOW)
    )
    assert accepted is None
    with runtime.db.session() as session:
        assert session.get(Order, answer.json["id"]).status == "new"
        assert session.scalars(select(OptimizationRequest)).all()[-1].meta.get("source") != (
            INSERTION_SOURCE
        )
    # The same call by a dispatcher routes it.
    disp = make_principal(user_id=1, username="disp", role="dispatcher", depot_ids=[depot_id])
    assert insert_new_orders(
        runtime.db, depot_id=depot_id, service_date=DAY, principal=disp, clock=FixedClock(NOW)
    )
    with runtime.db.session() as session:
        assert session.get(Order, answer.json["id"]).status == "planned"
