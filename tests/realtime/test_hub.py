"""Rooms and channels: the fleet-wide rooms (`global`, `dispatchers`, `drivers`, `managers`)
carry what belongs to no depot, to the roles it concerns; a depot's messages stay with that
depot's dispatchers (and managers), whatever room or channel they travel by; the Redis bus
carries room channels between workers."""

from __future__ import annotations

import json
import threading

from backend.realtime.bus import RedisBus, room_channel
from backend.realtime.service import notification_rooms


def note(depot_id, audience, kind="weather_alert"):
    return {
        "type": "notification",
        "notification": {"id": 1, "depotId": depot_id, "kind": kind, "audience": audience},
    }


def test_every_role_joins_global_and_its_role_room(connect, fleet) -> None:
    clients = {name: connect(name) for name in ("driver1", "disp", "boss", "root")}
    # Every socket is also in its user's own room (answers that follow the user).
    rooms = {
        name: client.connection.rooms - {f"user_{client.connection.principal.user_id}"}
        for name, client in clients.items()
    }
    assert all(
        f"user_{c.connection.principal.user_id}" in c.connection.rooms for c in clients.values()
    )
    assert rooms["driver1"] == {"global", "drivers", f"vehicle_{fleet.vehicles[0]}"}
    assert rooms["disp"] == {"global", "dispatchers", f"depot_{fleet.depots[0]}"}
    assert rooms["boss"] == rooms["root"] == {"global", "managers", "depot_*"}


def test_fleet_wide_notifications_reach_the_roles_they_concern(connect, service) -> None:
    clients = {name: connect(name) for name in ("driver1", "driver3", "disp", "disp2", "boss")}
    for client in clients.values():
        client.received()

    def who_got_it() -> set[str]:
        return {name for name, c in clients.items() if c.received()}

    service.publish_notification(note(None, ["driver"]))
    assert who_got_it() == {"driver1", "driver3"}
    service.publish_notification(note(None, ["dispatcher"]))
    assert who_got_it() == {"disp", "disp2"}
    service.publish_notification(note(None, ["dispatcher", "manager"]))
    assert who_got_it() == {"disp", "disp2", "boss"}
    service.publish_notification(note(None, None))  # everyone: the global room
    assert who_got_it() == set(clients)
    assert (
        notification_rooms(None)
        == notification_rooms(["driver", "dispatcher", "manager", "admin"])
        == ["global"]
    )


def test_a_depots_notification_never_leaves_its_depot(connect, service, fleet) -> None:
    clients = {name: connect(name) for name in ("driver1", "disp", "disp2", "boss")}
    for client in clients.values():
        client.received()
    service.publish_notification(note(fleet.depots[1], ["dispatcher", "manager"]))
    got = {name: c.received() for name, c in clients.items()}
    assert {name for name, frames in got.items() if frames} == {"disp2", "boss"}
    service.publish_notification(note(fleet.depots[0], ["manager"]))
    assert [name for name, c in clients.items() if c.received()] == ["boss"]


def test_a_role_room_never_carries_a_depots_positions(connect, service, fleet) -> None:
    dispatcher = connect("disp2")
    dispatcher.received()
    service.bus.publish(room_channel("dispatchers", "positions"), f"{fleet.vehicles[0]}\t{{}}")
    service.publish_room("dispatchers", "routes", {"type": "fleet_notice", "text": "drill at 3"})
    assert [m["type"] for m in dispatcher.received()] == ["fleet_notice"]


def test_the_redis_bus_carries_room_channels(redis_url) -> None:
    import redis

    bus = RedisBus(redis.Redis.from_url(redis_url))
    got: list[tuple[str, str]] = []
    arrived = threading.Event()

    def handler(channel: str, payload: str) -> None:
        got.append((channel, payload))
        arrived.set()

    bus.subscribe(handler)
    try:
        assert bus.connected.wait(5)
        payload = json.dumps(note(None, ["driver"]))
        for _ in range(50):  # the subscription is live a moment after `connected`
            bus.publish(room_channel("drivers", "notifications"), payload)
            if arrived.wait(0.1):
                break
        assert got[0] == ("room:drivers:notifications", payload)
    finally:
        bus.close()
