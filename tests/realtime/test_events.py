"""Route events over the socket: they stamp the route and its stops with what actually happened
(plan vs actual), follow the one order lifecycle of the REST API, stay inside the vehicle's
route in force and the caller's depots, refuse ids beyond the database's range and timestamps
far from the server's clock, and a client event id raced by two sockets is stored once with a
normal acknowledgment for both."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from backend.db.models import (
    Notification,
    Order,
    OrderStatus,
    Route,
    RouteEvent,
    RouteStop,
    VehicleState,
)
from backend.realtime import events as events_module
from backend.realtime.protocol import EVENT_MAX_AGE, EVENT_MAX_FUTURE, format_timestamp
from backend.services import ConflictError
from backend.services.orders import change_order_status
from tests.realtime.conftest import Client, fix

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def report(client: Client, kind: str, **fields: Any) -> list[dict[str, Any]]:
    return client.frame(json.dumps({"type": "route_event", "eventType": kind, **fields}))


def _count(database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_driven_route_records_its_actual_times_and_tells_the_depot_and_the_driver(
    connect, fleet, database, clock
) -> None:
    dispatcher, other, driver = connect("disp"), connect("disp2"), connect("driver1")
    for client in (dispatcher, other, driver):
        client.received()
    start = clock.now()
    first, second = fleet.orders
    steps = [
        ("departed", None, 0),  # leaves the depot: the route starts
        ("arrived", first, 10),
        ("delivered", first, 14),
        ("arrived", second, 30),
        ("failed", second, 33),
        ("returned", None, 50),  # back at the depot: the route is done
    ]
    for kind, order_id, minutes in steps:
        clock.advance(start + timedelta(minutes=minutes) - clock.now())
        fields: dict[str, Any] = {"orderId": order_id} if order_id else {}
        if kind == "failed":
            fields["data"] = {"reason": "customer_unavailable"}
        [ack] = report(driver, kind, **fields)
        assert ack["type"] == "acknowledgment", ack
    at = {minutes: start + timedelta(minutes=minutes) for _, _, minutes in steps}
    with database.session() as session:
        route = session.get(Route, fleet.route)
        assert route.status == "completed"
        assert (route.actual_start_at, route.actual_end_at) == (at[0], at[50])
        stops = session.scalars(
            select(RouteStop).where(RouteStop.route_id == route.id).order_by(RouteStop.sequence)
        ).all()
        actual = [(s.status, s.actual_arrival_at, s.actual_departure_at) for s in stops]
        assert actual == [
            ("completed", None, at[0]),
            ("delivered", at[10], at[14]),
            ("failed", at[30], at[33]),
            ("completed", at[50], None),
        ]
        orders = [session.get(Order, o) for o in fleet.orders]
        assert [o.status for o in orders] == ["delivered", "failed"]
        assert orders[1].failure_reason == "customer_unavailable"
        # The steps a phone never reports are stamped with the arrival that implied them.
        assert orders[0].en_route_at == at[10] and orders[0].arrived_at == at[10]
    updates = [m for m in dispatcher.received() if m["type"] == "route_update"]
    assert [u["status"] for u in updates] == ["active"] * 5 + ["completed"]
    assert updates[0]["actualStartAt"] == format_timestamp(at[0])
    assert updates[-1]["actualEndAt"] == format_timestamp(at[50])
    assert [m["type"] for m in driver.received()].count("route_update") == 6
    assert other.received() == []  # the South dispatcher hears nothing of North's route
    # Finished, the route is no longer in force: nothing more can be reported on it.
    [error] = report(driver, "arrived", orderId=second, routeId=fleet.route)
    assert error["errorCode"] == "permission_denied"


def test_a_first_arrival_starts_a_route_nobody_announced(connect, fleet, database, clock) -> None:
    driver = connect("driver1")
    [ack] = report(driver, "arrived", orderId=fleet.orders[0], routeId=fleet.route)
    assert ack["orderStatus"] == "arrived"
    with database.session() as session:
        route = session.get(Route, fleet.route)
        assert route.status == "active" and route.actual_start_at == clock.now()
        event = session.scalars(select(RouteEvent)).one()
        assert event.route_id == fleet.route and event.received_at == clock.now()


def test_the_socket_follows_the_same_order_lifecycle_as_the_api(connect, fleet, database) -> None:
    order_id = fleet.orders[0]
    with database.session() as session:
        session.execute(update(Order).where(Order.id == order_id).values(status="planned"))
    driver = connect("driver1")
    [error] = report(driver, "delivered", orderId=order_id, clientEventId="jump")
    assert error["errorCode"] == "invalid_transition"
    assert error["current"] == "planned" and "delivered" not in error["allowed"]
    with database.session() as session, pytest.raises(ConflictError):
        change_order_status(
            session, depot_ids=None, order_id=order_id, status=OrderStatus.DELIVERED, now=NOW
        )
    with database.session() as session:
        assert session.get(Order, order_id).status == "planned"
        assert session.get(Route, fleet.route).actual_start_at is None
    assert _count(database, RouteEvent) == 0
    # Arriving first is the way to delivered, on both paths.
    assert report(driver, "arrived", orderId=order_id)[0]["orderStatus"] == "arrived"
    [ack] = report(driver, "delivered", orderId=order_id, clientEventId="jump")
    assert ack["orderStatus"] == "delivered"
    [again] = report(driver, "failed", orderId=order_id)
    assert again["errorCode"] == "invalid_transition" and again["allowed"] == []


def test_every_id_a_message_names_is_checked_against_the_callers_scope(
    connect, fleet, database
) -> None:
    with database.session() as session:
        # An order of vehicle 1 that is not on its route, and a South order on that route.
        loose = session.get(Order, fleet.orders[0])
        extra = Order(
            reference="ORD-loose",
            depot_id=loose.depot_id,
            service_date=loose.service_date,
            customer_name="Loose",
            lat=41.9,
            lon=-87.68,
            demand={},
            time_windows=[],
            window_start=loose.window_start,
            window_end=loose.window_end,
            status="dispatched",
            vehicle_id=fleet.vehicles[0],
        )
        foreign = Order(
            **{
                c: getattr(extra, c)
                for c in ("service_date", "lat", "lon", "demand", "time_windows", "status")
            },
            reference="ORD-south",
            depot_id=fleet.depots[1],
            customer_name="South",
            window_start=loose.window_start,
            window_end=loose.window_end,
            vehicle_id=fleet.vehicles[0],
        )
        session.add_all([extra, foreign])
        session.flush()
        session.add(
            RouteStop(
                route_id=fleet.route,
                order_id=foreign.id,
                sequence=9,
                lat=41.9,
                lon=-87.68,
                planned_arrival_at=loose.window_start,
                planned_departure_at=loose.window_end,
            )
        )
        extra_id, foreign_id = extra.id, foreign.id
    driver, dispatcher, south = connect("driver1"), connect("disp"), connect("disp2")
    refused = [
        report(driver, "arrived", orderId=extra_id),  # not on the route in force
        report(connect("driver2"), "arrived", orderId=fleet.orders[0]),  # another vehicle's
        report(connect("driver2"), "breakdown", routeId=fleet.route),  # another vehicle's route
        report(south, "arrived", vehicleId=fleet.vehicles[0], orderId=fleet.orders[0]),
        report(dispatcher, "arrived", vehicleId=fleet.vehicles[0], orderId=foreign_id),
    ]
    assert [r[0]["errorCode"] for r in refused] == ["permission_denied"] * 5
    assert _count(database, RouteEvent) == 0
    [ack] = report(dispatcher, "arrived", vehicleId=fleet.vehicles[0], orderId=fleet.orders[0])
    assert ack["orderStatus"] == "arrived"


@pytest.mark.parametrize(
    ("field", "value"),
    [("vehicleId", 2**70), ("orderId", 2**70), ("routeId", 2**31), ("vehicleId", -(2**63))],
)
def test_ids_beyond_the_database_range_are_invalid_not_internal_errors(
    connect, database, field, value
) -> None:
    dispatcher = connect("disp")
    message = {"type": "route_event", "eventType": "breakdown", "vehicleId": 1, field: value}
    [error] = dispatcher.frame(json.dumps(message))
    assert (error["errorCode"], error["field"]) == ("invalid_message", field)
    position = {"type": "vehicle_location_update", **fix(1), field: value}
    subscription = {"type": "vehicle_status_subscription", "subscribe": True, field: value}
    for frame in (position, subscription):
        codes = {r.get("errorCode") for r in dispatcher.frame(json.dumps(frame))}
        assert "internal_error" not in codes
    [error] = dispatcher.frame(
        json.dumps({"type": "vehicle_status_subscription", "subscribe": True, "depotId": 2**70})
    )
    assert error["errorCode"] == "invalid_message"
    assert _count(database, RouteEvent) == 0


def test_event_times_far_from_the_servers_clock_are_refused(connect, database, clock) -> None:
    driver = connect("driver1")
    now = clock.now()
    for occurred in (
        "2099-01-01T00:00:00Z",
        "1970-01-01T00:00:01Z",
        1000,  # epoch milliseconds: 1970
        format_timestamp(now + EVENT_MAX_FUTURE + timedelta(seconds=1)),
        format_timestamp(now - EVENT_MAX_AGE - timedelta(seconds=1)),
        "9999-12-31T23:00:00-05:00",
    ):
        [error] = report(driver, "breakdown", occurredAt=occurred)
        assert error["field"] == "occurredAt", occurred
        assert error["errorCode"] in ("timestamp_out_of_range", "invalid_message"), occurred
    assert _count(database, RouteEvent) == 0 and _count(database, Notification) == 0
    for occurred in (now + EVENT_MAX_FUTURE, now - EVENT_MAX_AGE):
        [ack] = report(driver, "breakdown", occurredAt=format_timestamp(occurred))
        assert ack["type"] == "acknowledgment"
    [error] = report(driver, "breakdown", occurredAt="2099-01-01T00:00:00Z")
    assert error["errorCode"] == "timestamp_out_of_range"


def test_a_lost_race_on_a_client_event_id_is_answered_with_the_stored_ack(
    connect, fleet, database, monkeypatch
) -> None:
    driver, twin = connect("driver1"), connect("driver1")
    [first] = report(driver, "arrived", orderId=fleet.orders[0], clientEventId="same")
    # The twin checked for the id before the first one was stored: it finds nothing, inserts.
    real = events_module._stored_event
    calls = {"n": 0}

    def stale_then_real(session, event):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(session, event)

    monkeypatch.setattr(events_module, "_stored_event", stale_then_real)
    [second] = report(twin, "arrived", orderId=fleet.orders[0], clientEventId="same")
    assert second["type"] == "acknowledgment" and second["duplicate"] is True
    assert second["eventId"] == first["eventId"] and second["orderStatus"] == "arrived"
    assert _count(database, RouteEvent) == 1


def test_two_sockets_sending_the_same_event_at_once_both_get_an_ack(
    connect, fleet, database, monkeypatch
) -> None:
    clients = [connect("driver1"), connect("driver1")]
    barrier = threading.Barrier(2, timeout=10)
    real = events_module._stored_event
    seen: set[int] = set()

    def both_checked(session, event):
        found = real(session, event)
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            barrier.wait()  # both looked for the id before either stored it
        return found

    monkeypatch.setattr(events_module, "_stored_event", both_checked)
    replies: list[dict[str, Any]] = []

    def send(client: Client) -> None:
        replies.extend(report(client, "breakdown", clientEventId="twice"))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r["type"] for r in replies) == ["acknowledgment"] * 2, replies
    assert sorted(r["duplicate"] for r in replies) == [False, True]
    assert len({r["eventId"] for r in replies}) == 1
    assert _count(database, RouteEvent) == 1 and _count(database, Notification) == 1


def test_vehicle_status_changes_reach_the_depots_vehicle_watchers(connect, fleet, database) -> None:
    dispatcher, other, manager, driver = (
        connect(name) for name in ("disp", "disp2", "boss", "driver1")
    )
    driver.frame(json.dumps({"type": "vehicle_location_update", **fix(1)}))
    for client in (dispatcher, other, manager, driver):
        client.received()
    report(driver, "breakdown", data={"note": "flat tyre"})
    for client in (dispatcher, manager):
        [status] = [m for m in client.received() if m["type"] == "vehicle_status_update"]
        assert status["vehicleId"] == fleet.vehicles[0]
        assert (status["previousStatus"], status["status"]) == ("idle", "out_of_service")
    assert other.received() == []
    with database.session() as session:
        assert session.get(VehicleState, fleet.vehicles[0]).status == "out_of_service"
    # The status survives the next position and shows in a fresh snapshot.
    driver.frame(json.dumps({"type": "vehicle_location_update", **fix(2)}))
    driver.received()
    [_, snapshot] = dispatcher.frame(
        json.dumps({"type": "vehicle_status_subscription", "subscribe": True, "snapshot": True})
    )
    [mine] = [p for p in snapshot["positions"] if p["vehicleId"] == fleet.vehicles[0]]
    assert mine["status"] == "out_of_service" and mine["seq"] == 2
