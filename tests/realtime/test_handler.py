"""The message core without a socket: acks after durability, idempotent storage, permissions,
forward-only vehicle state, route events with order status and notifications, error codes."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from backend.db.models import Notification, Order, Position, RouteEvent, VehicleState
from tests.realtime.conftest import fix


def _position_count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Position))


def test_a_position_is_acknowledged_once_stored_and_reaches_the_depot_dispatcher(
    connect, fleet, database
) -> None:
    dispatcher, other = connect("disp"), connect("disp2")
    dispatcher.received(), other.received()
    driver = connect("driver1")
    message = {"type": "vehicle_location_update", "requestId": "r1", **fix(1, speed=10.0)}
    assert driver.frame(json.dumps(message)) == []
    acks = driver.received()
    assert acks == [
        {
            "type": "acknowledgment",
            "ackType": "vehicle_location_update",
            "requestId": "r1",
            "seq": 1,
        }
    ]
    assert _position_count(database) == 1
    [frame] = dispatcher.received()
    assert frame["type"] == "vehicle_location_update"
    assert [p["vehicleId"] for p in frame["positions"]] == [fleet.vehicles[0]]
    assert other.received() == []  # the South dispatcher does not see North's vehicles


def test_a_resent_batch_stores_nothing_twice_and_is_acked_again(connect, database) -> None:
    driver = connect("driver1")
    batch = {
        "type": "vehicle_location_update",
        "requestId": "b",
        "positions": [fix(s, ago_s=10 - s) for s in range(1, 6)],
    }
    driver.frame(json.dumps(batch))
    driver.frame(json.dumps(batch))
    acks = driver.received()
    assert [a["seqs"] for a in acks] == [[1, 2, 3, 4, 5]] * 2
    assert _position_count(database) == 5


def test_out_of_order_positions_are_stored_but_never_move_the_state_back(
    connect, fleet, database
) -> None:
    driver = connect("driver1")
    driver.frame(json.dumps({"type": "vehicle_location_update", **fix(10, lat=41.95, ago_s=1)}))
    driver.received()
    driver.frame(json.dumps({"type": "vehicle_location_update", **fix(9, lat=41.80, ago_s=30)}))
    assert driver.received()[0]["seq"] == 9
    with database.session() as session:
        state = session.get(VehicleState, fleet.vehicles[0])
        assert (state.seq, state.lat) == (10, 41.95)
    assert _position_count(database) == 2


def test_bad_items_are_named_and_the_good_items_of_the_batch_are_kept(connect, database) -> None:
    driver = connect("driver1")
    items = [fix(1), fix(2, lat=123.0), fix(3, ago_s=-3600), {"seq": "x"}, fix(5, speed=500.0)]
    replies = driver.frame(
        json.dumps({"type": "vehicle_location_update", "requestId": 7, "positions": items})
    )
    errors = [(r["index"], r.get("field")) for r in replies if r["type"] == "error"]
    assert errors == [(1, "lat"), (2, "recordedAt"), (3, "seq"), (4, "speed")]
    assert all(r["requestId"] == 7 for r in replies)
    [ack] = driver.received()
    assert ack["seqs"] == [1] and ack["rejected"] == 4
    assert _position_count(database) == 1


def test_a_driver_posts_only_for_its_own_vehicle(connect, fleet, database) -> None:
    driver = connect("driver1")
    message = {"type": "vehicle_location_update", "vehicleId": fleet.vehicles[1], **fix(1)}
    [error] = driver.frame(json.dumps(message))
    assert error["errorCode"] == "permission_denied"
    dispatcher = connect("disp")
    [error] = dispatcher.frame(json.dumps({"type": "vehicle_location_update", **fix(1)}))
    assert error["errorCode"] == "permission_denied"
    assert _position_count(database) == 0


def test_subscriptions_stay_inside_the_users_scope(connect, fleet) -> None:
    dispatcher = connect("disp")
    denied = dispatcher.frame(
        json.dumps(
            {"type": "vehicle_status_subscription", "subscribe": True, "depotId": fleet.depots[1]}
        )
    )
    assert denied[0]["errorCode"] == "permission_denied"
    manager = connect("boss")
    [ack, snapshot] = manager.frame(
        json.dumps(
            {
                "type": "vehicle_status_subscription",
                "subscribe": True,
                "vehicleId": fleet.vehicles[2],
                "snapshot": True,
                "requestId": "s",
            }
        )
    )
    assert ack["type"] == "acknowledgment" and f"vehicle_{fleet.vehicles[2]}" in ack["rooms"]
    assert snapshot["snapshot"] is True
    driver = connect("driver1")
    [error] = driver.frame(json.dumps({"type": "vehicle_status_subscription", "subscribe": True}))
    assert error["errorCode"] == "permission_denied"  # drivers may not watch the fleet


def test_delivered_event_updates_the_order_and_is_broadcast_to_the_depot(
    connect, fleet, database
) -> None:
    dispatcher = connect("disp")
    dispatcher.received()
    driver = connect("driver1")
    order_id = fleet.orders[0]
    driver.frame(json.dumps({"type": "route_event", "eventType": "arrived", "orderId": order_id}))
    assert [m["type"] for m in dispatcher.received()] == ["route_event", "route_update"]
    [ack] = driver.frame(
        json.dumps(
            {
                "type": "route_event",
                "requestId": "e1",
                "eventType": "delivered",
                "orderId": order_id,
                "clientEventId": "ev-1",
            }
        )
    )
    assert ack["orderStatus"] == "delivered" and ack["duplicate"] is False
    with database.session() as session:
        order = session.get(Order, order_id)
        assert order.status == "delivered" and order.arrived_at and order.delivered_at
    event, route_update = dispatcher.received()
    assert event["type"] == "route_event" and event["event"]["eventType"] == "delivered"
    assert route_update["type"] == "route_update"
    # Resent with the same client id: stored once, acked as a duplicate, not re-broadcast.
    [again] = driver.frame(
        json.dumps(
            {
                "type": "route_event",
                "eventType": "delivered",
                "orderId": order_id,
                "clientEventId": "ev-1",
            }
        )
    )
    assert again["duplicate"] is True and again["eventId"] == ack["eventId"]
    assert again["orderStatus"] == "delivered"
    assert dispatcher.received() == []
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RouteEvent)) == 2


def test_a_breakdown_notifies_dispatchers_and_managers(connect, fleet, database) -> None:
    dispatcher, manager, driver2 = connect("disp"), connect("boss"), connect("driver2")
    for client in (dispatcher, manager, driver2):
        client.received()
    driver = connect("driver1")
    driver.frame(
        json.dumps(
            {
                "type": "route_event",
                "eventType": "breakdown",
                "data": {"note": "flat tyre"},
                "lat": 41.9,
                "lon": -87.7,
            }
        )
    )
    for client in (dispatcher, manager):
        kinds = [m["type"] for m in client.received()]
        assert kinds == ["route_event", "notification"]
    assert driver2.received() == []  # other drivers don't hear the depot's incidents
    with database.session() as session:
        [note] = session.scalars(select(Notification)).all()
        assert note.kind == "breakdown" and note.audience == ["dispatcher", "manager"]


def test_an_event_for_an_order_of_another_vehicle_is_refused_and_stores_nothing(
    connect, fleet, database
) -> None:
    driver2 = connect("driver2")
    [error] = driver2.frame(
        json.dumps({"type": "route_event", "eventType": "delivered", "orderId": fleet.orders[0]})
    )
    assert error["errorCode"] == "permission_denied"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RouteEvent)) == 0
        assert session.get(Order, fleet.orders[0]).status == "dispatched"


def test_error_codes_of_malformed_frames(connect) -> None:
    driver = connect("driver1")
    cases = {
        "{not json": "invalid_json",
        "[1, 2]": "invalid_message",
        '{"type": "teleport"}': "unknown_message_type",
        '{"type": "route_optimization_request"}': "permission_denied",
        '{"type": "vehicle_location_update", "seq": 1}': "invalid_message",
        "x" * 300_000: "payload_too_large",
    }
    for text, code in cases.items():
        [reply] = driver.frame(text)
        assert reply["errorCode"] == code, text[:40]
    [binary] = driver.frame(b"\x00\x01")
    assert binary["errorCode"] == "invalid_message"
    [pong] = driver.frame('{"type": "ping", "requestId": "p"}')
    assert pong == {"type": "pong", "serverTime": pong["serverTime"], "requestId": "p"}


def test_a_flood_over_the_rate_limit_is_refused_then_recovers(connect) -> None:
    driver = connect("driver1")
    codes = [driver.frame('{"type": "ping"}')[0]["type"] for _ in range(200)]
    assert codes.count("pong") <= 61 and codes[-1] == "error"
    driver.connection._refilled -= 5  # five seconds later
    assert driver.frame('{"type": "ping"}')[0]["type"] == "pong"


def test_plan_updates_reach_the_depot_and_the_drivers_of_the_plan(connect, fleet, service) -> None:
    dispatcher, manager, driver1, driver2, driver3 = (
        connect(name) for name in ("disp", "boss", "driver1", "driver2", "driver3")
    )
    for client in (dispatcher, manager, driver1, driver2, driver3):
        client.received()
    update = {
        "type": "route_optimization_update",
        "status": "accepted",
        "vehicleIds": [fleet.vehicles[0]],
    }
    service.publish(fleet.depots[0], "routes", update)
    for client in (dispatcher, manager, driver1):
        assert [m["type"] for m in client.received()] == ["route_optimization_update"]
    assert driver2.received() == [] and driver3.received() == []
