"""Live ETAs pushed to dashboards: after a position batch the watcher's pass publishes one
`eta_update` frame to each marked depot's room with every open stop's P10/P50/P90, its vehicle
and whether it runs late (the same forecasts the at-risk alerts are judged by, computed once);
a dispatcher of the other depot never gets them, a driver's socket gets none, and with Redis
a frame published by one worker reaches another worker's dashboards."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from backend.config import load_settings
from backend.db.models import Order, Route, RouteStatus, RouteStop
from backend.eta import estimate_arrivals
from backend.realtime.bus import InProcessBus, RedisBus
from backend.realtime.protocol import RealtimeConfig
from backend.realtime.service import RealtimeService
from backend.services import late_risk
from backend.services.late_risk import ETA_KIND, ETA_UPDATE
from backend.sim.city import today_in_city
from tests.realtime.conftest import Client, fix


def _start(database, fleet) -> datetime:
    with database.session() as session:
        return session.get(Route, fleet.route).planned_start_at


def _south_route(database, fleet) -> tuple[int, list[int]]:
    """Vehicle 3 (the south depot) gets a route of today: start, one delivery, end."""
    start = _start(database, fleet)
    with database.session() as session:
        order = Order(
            reference="SOUTH-1", depot_id=fleet.depots[1], service_date=today_in_city(),
            customer_name="South customer", lat=41.8, lon=-87.65, demand={"kg": 5},
            time_windows=[], window_start=start, window_end=start + timedelta(hours=2),
            status="dispatched", vehicle_id=fleet.vehicles[2],
        )  # fmt: skip
        session.add(order)
        session.flush()
        route = Route(
            vehicle_id=fleet.vehicles[2], depot_id=fleet.depots[1], service_date=today_in_city(),
            status=RouteStatus.PLANNED.value, planned_start_at=start,
            planned_end_at=start + timedelta(hours=2),
        )  # fmt: skip
        for sequence, (order_id, kind) in enumerate(
            [(None, "start"), (order.id, "delivery"), (None, "end")]
        ):
            planned = start + timedelta(minutes=20 * sequence)
            route.stops.append(
                RouteStop(
                    order_id=order_id, sequence=sequence, kind=kind, lat=41.8, lon=-87.65,
                    planned_arrival_at=planned,
                    planned_departure_at=planned + timedelta(minutes=5),
                )
            )  # fmt: skip
        session.add(route)
        session.flush()
        return route.id, [s.id for s in route.stops]


def _etas(client: Client) -> list[dict]:
    return [m for m in client.received() if m.get("type") == ETA_UPDATE]


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def test_a_position_batch_pushes_one_eta_update_to_each_depot_room(
    connect, service, database, fleet, clock
) -> None:
    service.late_risk.stop()  # no background pass: this test runs it by hand
    clock.at = _start(database, fleet)
    south_route, south_stops = _south_route(database, fleet)
    names = ("disp", "disp2", "boss", "root", "driver1", "driver3")
    clients = {name: connect(name) for name in names}
    for client in clients.values():
        client.received()
    assert service.late_risk.run_pending() is None  # nothing marked: nothing pushed
    assert all(_etas(c) == [] for c in clients.values())

    clients["driver1"].frame(json.dumps({"type": "vehicle_location_update", **fix(1)}))
    clients["driver3"].frame(json.dumps({"type": "vehicle_location_update", **fix(1)}))
    clients["driver1"].received()  # both batches durable: both depots marked
    changes = service.late_risk.run_pending()
    assert changes is not None and set(changes.etas) == set(fleet.depots)
    got = {name: _etas(c) for name, c in clients.items()}

    # One frame per depot room: its own dispatcher gets its depot's, managers and admins
    # (every depot) both, drivers none (not even their own vehicle's stops).
    assert [f["depotId"] for f in got["disp"]] == [fleet.depots[0]]
    assert [f["depotId"] for f in got["disp2"]] == [fleet.depots[1]]
    assert sorted(f["depotId"] for f in got["boss"]) == sorted(fleet.depots)
    assert sorted(f["depotId"] for f in got["root"]) == sorted(fleet.depots)
    assert got["driver1"] == [] and got["driver3"] == []

    with database.session() as session:
        plan = estimate_arrivals(session, depot_ids=[fleet.depots[0]], now=clock.at)
    [north] = got["disp"]
    assert north["at"].startswith(clock.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    assert north["source"] == "plan" and north["timezone"] == "UTC"
    assert [s["stopId"] for s in north["stops"]] == fleet.stops  # open stops, in route order
    for stop in north["stops"]:
        eta = _ms(plan.stops[stop["stopId"]].eta)
        assert (stop["p10"], stop["p50"], stop["p90"]) == (eta, eta, eta)  # the plan: one figure
        assert stop["routeId"] == fleet.route and stop["vehicleId"] == fleet.vehicles[0]
        assert stop["late"] is False
    # The vehicle's next stop says so, with its order's reference (none for the start).
    assert [s["stopId"] for s in north["stops"] if s.get("next")] == [fleet.stops[0]]
    [south] = got["disp2"]
    assert [s["stopId"] for s in south["stops"]] == south_stops
    assert {s["routeId"] for s in south["stops"]} == {south_route}
    assert not {s["stopId"] for s in south["stops"]} & set(fleet.stops)


def test_a_late_stop_is_flagged_and_a_delivered_one_leaves_the_frame(
    connect, service, database, fleet, clock
) -> None:
    service.late_risk.stop()
    clock.at = _start(database, fleet)
    with database.session() as session:
        stop = session.get(RouteStop, fleet.stops[1])
        session.get(Order, fleet.orders[0]).window_end = stop.planned_arrival_at - timedelta(
            minutes=10
        )
        # Under way: the start stop left, so the first order is next.
        session.get(RouteStop, fleet.stops[0]).actual_departure_at = clock.at
    dispatcher = connect("disp")
    dispatcher.received()
    service.late_risk.mark([fleet.depots[0]])
    changes = service.late_risk.run_pending()
    assert changes is not None and len(changes.raised) == 1  # the alert, from the same figures
    [frame] = _etas(dispatcher)
    by_id = {s["stopId"]: s for s in frame["stops"]}
    assert list(by_id) == fleet.stops[1:]
    assert by_id[fleet.stops[1]]["late"] is True and by_id[fleet.stops[2]]["late"] is False
    assert by_id[fleet.stops[1]]["next"] is True and by_id[fleet.stops[1]]["ref"] == "ORD-0"

    with database.session() as session:
        session.get(Order, fleet.orders[0]).status = "delivered"
    service.late_risk.mark([fleet.depots[0]])
    service.late_risk.run_pending()
    [frame] = _etas(dispatcher)
    assert [s["stopId"] for s in frame["stops"]] == fleet.stops[2:]
    assert frame["stops"][0]["ref"] == "ORD-1"


def test_a_depot_without_open_stops_gets_an_empty_frame(connect, service, fleet, clock) -> None:
    service.late_risk.stop()
    dispatcher = connect("disp2")
    dispatcher.received()
    service.late_risk.mark([fleet.depots[1]])
    service.late_risk.run_pending()
    [frame] = _etas(dispatcher)
    assert frame["depotId"] == fleet.depots[1] and frame["stops"] == []


def test_the_active_models_etas_are_pushed_and_computed_once_per_pass(
    database, fleet, monkeypatch
) -> None:
    """The model (stubbed: training needs TensorFlow) gives the P10/P50/P90 of the stops it
    predicts; the plan's stay for the others, marked so. One live_etas call serves both the
    alerts and the push."""
    from backend.clock import FixedClock
    from backend.ml import serving

    now = _start(database, fleet)
    with database.session() as session:
        planned = session.get(RouteStop, fleet.stops[1]).planned_arrival_at
        window_end = session.get(Order, fleet.orders[0]).window_end
    model = serving.StopEta(
        stop_id=fleet.stops[1], route_id=fleet.route, order_id=fleet.orders[0], sequence=1,
        p10=planned - timedelta(minutes=3), p50=planned, p90=window_end + timedelta(minutes=5),
        window_end=window_end, source="model", model_version=3,
    )  # fmt: skip
    calls: list[dict] = []

    def live_etas(session, settings, **kwargs):
        calls.append(kwargs)
        return [model]

    monkeypatch.setattr(serving, "active_model", lambda session, settings: (3, object()))
    monkeypatch.setattr(serving, "live_etas", live_etas)
    alerts: list[dict] = []
    pushed: list[tuple] = []
    watcher = late_risk.LateRiskWatcher(
        database.session,
        alerts.append,
        publish_depot=lambda depot_id, kind, frame: pushed.append((depot_id, kind, frame)),
        clock=FixedClock(now),
        settings=load_settings(DEMO=False),
    )
    watcher.mark([fleet.depots[0]])
    watcher.run_pending()
    assert len(calls) == 1 and calls[0]["now"] == now
    assert len(alerts) == 1  # the model's P90 is past the window
    [(depot_id, kind, frame)] = pushed
    assert (depot_id, kind, frame["source"]) == (fleet.depots[0], ETA_KIND, "model v3")
    by_id = {s["stopId"]: s for s in frame["stops"]}
    assert (by_id[fleet.stops[1]]["p10"], by_id[fleet.stops[1]]["p90"]) == (
        _ms(model.p10),
        _ms(model.p90),
    )
    assert by_id[fleet.stops[1]]["late"] is True and "source" not in by_id[fleet.stops[1]]
    assert by_id[fleet.stops[2]]["source"] == "plan"


def test_a_failed_pass_publishes_nothing_and_retries(database, fleet, monkeypatch) -> None:
    from backend.clock import FixedClock

    pushed: list = []
    watcher = late_risk.LateRiskWatcher(
        database.session,
        pushed.append,
        publish_depot=lambda *args: pushed.append(args),
        clock=FixedClock(_start(database, fleet)),
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(late_risk, "eta_frames", broken)
    watcher.mark([fleet.depots[0]])
    with pytest.raises(RuntimeError):
        watcher.run_pending()
    assert pushed == []
    monkeypatch.undo()
    assert watcher.run_pending() is not None  # marked again: the next pass pushes
    assert [args[0] for args in pushed] == [fleet.depots[0]]


@pytest.mark.redis
def test_with_redis_another_workers_dashboards_get_the_frame(
    database, fleet, redis_url, clock
) -> None:
    """Two workers on one Redis: worker A's pass reaches worker B's depot dispatcher only."""
    import redis

    from backend.auth.users import principal_for
    from backend.db.models import User

    workers = [
        RealtimeService(
            database.session,
            RedisBus(redis.Redis.from_url(redis_url)),
            RealtimeConfig(),
            clock=clock,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        for worker in workers:
            worker.start()
            worker.late_risk.stop()
            assert worker.bus.connected.wait(5)  # type: ignore[attr-defined]
        with database.session() as session:
            principals = {
                name: principal_for(session.get(User, fleet.users[name]))
                for name in ("disp", "disp2", "driver1")
            }
        depot_of_driver = fleet.depots[0]
        clients = {
            name: Client(workers[1], p, depot_of_driver if name == "driver1" else None)
            for name, p in principals.items()
        }
        frames: list[dict] = []
        deadline = time.monotonic() + 10
        while not frames and time.monotonic() < deadline:
            # The subscription is live a moment after `connected`: pass until one arrives.
            workers[0].late_risk.mark([fleet.depots[0]])
            workers[0].late_risk.run_pending()
            time.sleep(0.2)
            frames = [f for f in _etas(clients["disp"]) if f["depotId"] == fleet.depots[0]]
        assert frames and [s["stopId"] for s in frames[0]["stops"]] == fleet.stops
        assert not [f for f in _etas(clients["disp2"]) if f["depotId"] == fleet.depots[0]]
        assert _etas(clients["driver1"]) == []
    finally:
        for worker in workers:
            worker.stop()


def test_an_in_process_bus_carries_the_kind_to_route_status_subscribers(
    connect, service, fleet
) -> None:
    """A dashboard that switched route status off gets no ETAs (the `route_status` channel)."""
    service.late_risk.stop()
    dispatcher = connect("disp")
    dispatcher.frame(json.dumps({"type": "route_status_subscription", "subscribe": False}))
    dispatcher.received()
    service.late_risk.mark([fleet.depots[0]])
    service.late_risk.run_pending()
    assert _etas(dispatcher) == []
    assert isinstance(service.bus, InProcessBus)
