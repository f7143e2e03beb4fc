"""The driver simulator against the real app on a loopback port: plans from today's orders or
random drives, every fix acknowledged is stored, a dropped connection loses nothing (the
backlog is resent as a batch after reconnecting), and stop events advance the order."""

from __future__ import annotations

import asyncio
import random
import threading
import time

from sqlalchemy import select

from backend.db.models import Order, Position, RouteEvent
from backend.sim.driver import Stop
from backend.sim.simulator import Simulator, build_plan, load_plans, websocket_url
from tests.realtime.test_server import LiveServer, live  # noqa: F401  (fixture)


def _stored(server: LiveServer) -> dict[int, set[int]]:
    with server.runtime.db.session() as session:
        rows = session.execute(select(Position.vehicle_id, Position.seq)).all()
    stored: dict[int, set[int]] = {}
    for vehicle_id, seq in rows:
        stored.setdefault(vehicle_id, set()).add(seq)
    return stored


def test_plans_follow_assigned_orders_or_drive_around(live: LiveServer) -> None:  # noqa: F811
    with live.runtime.db.session() as session:
        plans = {p.vehicle_id: p for p in load_plans(session)}
    first, second = live.fleet.vehicles[:2]
    assert sorted(s.order_id for s in plans[first].stops.values()) == live.fleet.orders
    assert not plans[first].loop
    assert plans[second].stops == {} and plans[second].loop
    assert websocket_url("http://127.0.0.1:8050/") == "ws://127.0.0.1:8050/ws"


def test_a_dropped_connection_loses_no_fix(live: LiveServer) -> None:  # noqa: F811
    with live.runtime.db.session() as session:
        plans = load_plans(session)
    simulator = Simulator(live.url, plans, rate_hz=5, incidents_per_hour=0)
    first_seq = {d.plan.vehicle_id: d.seq for d in simulator.drivers}

    def cut_everyone() -> None:
        time.sleep(1.5)
        for connection in list(live.service.hub.connections):
            connection.abort()

    threading.Thread(target=cut_everyone, daemon=True).start()
    asyncio.run(simulator.run(duration=5.0))
    live.service.writer.wait_idle()
    stored = _stored(live)
    for driver in simulator.drivers:
        sent = set(range(first_seq[driver.plan.vehicle_id] + 1, driver.seq + 1))
        expected = sent - set(driver.unacked)
        assert expected <= stored[driver.plan.vehicle_id]
        assert len(driver.unacked) <= 10  # only the last second or so is still in flight
        assert len(expected) >= 15


def test_arriving_at_a_stop_reports_the_order(live: LiveServer) -> None:  # noqa: F811
    vehicle_id, order_id = live.fleet.vehicles[0], live.fleet.orders[0]
    with live.runtime.db.session() as session:
        token = {p.vehicle_id: p.token for p in load_plans(session)}[vehicle_id]
        order = session.get(Order, order_id)
        here = (order.lat, order.lon)
    plan = build_plan(
        vehicle_id,
        token,
        (here[0] + 0.0001, here[1]),
        [Stop(here[0], here[1], order_id, service_s=0.5)],
        route_id=None,
        rng=random.Random(1),
    )
    simulator = Simulator(live.url, [plan], rate_hz=5, incidents_per_hour=0)
    asyncio.run(simulator.run(duration=3.0))
    with live.runtime.db.session() as session:
        kinds = session.scalars(
            select(RouteEvent.event_type).where(RouteEvent.order_id == order_id)
        ).all()
        status = session.get(Order, order_id).status
    assert kinds[0] == "arrived" and kinds[1] in ("delivered", "failed")
    assert status == kinds[1]
