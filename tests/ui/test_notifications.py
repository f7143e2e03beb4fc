"""Notifications: listed per user (depot scope and role audience, latest first) and
acknowledged through one service verb, from REST and from the socket alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sample_data import Sample, build_sample
from sqlalchemy import select

from backend.auth.permissions import make_principal
from backend.auth.tokens import issue_token
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import Notification, User
from backend.realtime.handler import handle_frame
from backend.realtime.hub import Connection
from backend.realtime.protocol import RealtimeConfig
from backend.runtime import EXTENSION_KEY
from backend.services.notifications import acknowledge_notifications, list_notifications

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    data_dir = tmp_path_factory.mktemp("ui-notes")
    # tests/conftest.py points DATA_DIR at a temporary folder before `app` is imported.
    import app as app_module

    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    with database.session() as session:
        sample: Sample = build_sample(session, today=TODAY)
        users = {u.username: u for u in session.scalars(select(User))}
        tokens = {name: issue_token(session, user=user) for name, user in users.items()}
        user_ids = {name: user.id for name, user in users.items()}
    dash_app = app_module.create_app(settings)
    dash_app.server.extensions[EXTENSION_KEY].clock = FixedClock(NOW)
    yield SimpleNamespace(
        app=dash_app, database=database, sample=sample, tokens=tokens, user_ids=user_ids
    )
    database.engine.dispose()


def _notify(world, depot_id: int, title: str, minutes: int, audience=None) -> int:
    with world.database.session() as session:
        note = Notification(
            depot_id=depot_id,
            kind="breakdown",
            severity="warning",
            title=title,
            body=f"{title} body",
            audience=["dispatcher", "manager"] if audience is None else audience,
            created_at=NOW - timedelta(minutes=minutes),
        )
        session.add(note)
        session.flush()
        return note.id


def _principal(world, username: str, role: str, depots=()):
    return make_principal(
        user_id=world.user_ids[username], username=username, role=role, depot_ids=depots
    )


def _clear(world) -> None:
    with world.database.session() as session:
        for note in session.scalars(select(Notification)):
            session.delete(note)


def test_listing_is_scoped_latest_first_and_acknowledging_marks_once(world) -> None:
    _clear(world)
    north, south = world.sample.north_id, world.sample.south_id
    older = _notify(world, north, "Older", 30)
    newer = _notify(world, north, "Newer", 5)
    _notify(world, south, "South only", 1)
    _notify(world, north, "Managers only", 2, audience=["manager"])
    dispatcher = _principal(world, "dispatch-north", "dispatcher", [north])
    manager = _principal(world, "manager", "manager")
    with world.database.session() as session:
        seen = list_notifications(session, principal=dispatcher, unread=True)
        assert [n.id for n in seen] == [newer, older]
        assert len(list_notifications(session, principal=manager, unread=True)) == 4
        # Another depot's notification is not the dispatcher's to acknowledge.
        marked = acknowledge_notifications(
            session, principal=dispatcher, ids=[older, 99_999, *[n.id for n in seen]], now=NOW
        )
    assert marked == sorted([older, newer])
    with world.database.session() as session:
        assert list_notifications(session, principal=dispatcher, unread=True) == []
        read = list_notifications(session, principal=dispatcher)
        assert {n.acknowledged_by for n in read} == {dispatcher.user_id}
        assert {n.acknowledged_at for n in read} == {NOW}
        later = NOW + timedelta(hours=1)
        again = acknowledge_notifications(session, principal=manager, ids=[older], now=later)
    assert again == []


def test_rest_lists_unread_and_acknowledges(world) -> None:
    _clear(world)
    north = world.sample.north_id
    first = _notify(world, north, "Breakdown <b>VAN-1</b>", 10)
    second = _notify(world, north, "Traffic jam", 3)
    client = world.app.server.test_client()
    headers = {"Authorization": f"Bearer {world.tokens['dispatch-north']}"}
    body = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert [n["id"] for n in body["items"]] == [second, first]
    assert body["items"][1]["title"] == "Breakdown <b>VAN-1</b>"
    response = client.post("/api/v1/notifications/ack", json={"ids": [first]}, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"acknowledged": [first]}
    body = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert [n["id"] for n in body["items"]] == [second]
    bad = client.post("/api/v1/notifications/ack", json={"ids": []}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_error"
    driver = {"Authorization": f"Bearer {world.tokens['driver-van1']}"}
    assert client.get("/api/v1/notifications", headers=driver).get_json()["items"] == []
    assert client.get("/api/v1/notifications").status_code == 401


def test_socket_notification_ack_uses_the_same_verb(world) -> None:
    _clear(world)
    north = world.sample.north_id
    note = _notify(world, north, "Accident", 1)
    service = SimpleNamespace(sessions=world.database.session, clock=FixedClock(NOW))
    connection = Connection(
        principal=_principal(world, "dispatch-north", "dispatcher", [north]),
        config=RealtimeConfig(),
        service=service,
    )
    frame = json.dumps({"type": "notification_ack", "ids": [note], "requestId": "a1"})
    [reply] = handle_frame(connection, frame)
    assert reply["type"] == "acknowledgment" and reply["ackType"] == "notification_ack"
    assert reply["ids"] == [note] and reply["requestId"] == "a1"
    [bad] = handle_frame(connection, json.dumps({"type": "notification_ack", "ids": ["x"]}))
    assert bad["type"] == "error" and bad["errorCode"] == "invalid_message"
    with world.database.session() as session:
        stored = session.get(Notification, note)
        assert stored is not None and stored.acknowledged_by == world.user_ids["dispatch-north"]
