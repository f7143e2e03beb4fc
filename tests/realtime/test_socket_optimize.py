"""Optimization over the socket: acked with a job id, planned by a real job, answered, stoppable."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from backend.auth.users import create_user, principal_for
from backend.realtime import get_realtime, handle_frame
from backend.realtime.hub import Connection
from backend.realtime.protocol import RealtimeConfig
from backend.realtime.service import initial_rooms, initial_subscriptions
from factories import DAY, add_other_depot, build_app, seed_small_day


@pytest.fixture
def socket_app(data_dir: Path):
    dash_app, runtime = build_app(data_dir)
    depot_id = seed_small_day(runtime.db)
    yield runtime, depot_id
    runtime.db.engine.dispose()


def _connection(runtime, role: str, depot_ids) -> Connection:
    # A real user: the planning job checks its requester against the database.
    with runtime.db.session() as session:
        user = create_user(
            session,
            username=f"{role}-{uuid.uuid4().hex[:8]}",
            password="pw-long-enough",
            role=role,
            depot_ids=depot_ids,
        )
        principal = principal_for(user)
    service = get_realtime(runtime)
    service.start()  # subscribes the hub to the bus, as the first real socket does
    connection = Connection(principal=principal, config=RealtimeConfig(), service=service)
    # In the hub like a real socket: the job's end is announced to the user's room.
    service.hub.register(connection, initial_rooms(principal, None))
    connection.subscriptions |= initial_subscriptions(connection)
    return connection


def _send(connection: Connection, message: dict) -> list[dict]:
    return [
        json.loads(f) if isinstance(f, str) else f
        for f in handle_frame(connection, json.dumps(message))
    ]


def _wait_for(connection: Connection, kind: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while connection.outbox:
            frame = connection.outbox.popleft()
            frame = json.loads(frame) if isinstance(frame, str) else frame
            if frame.get("type") == kind:
                return frame
        time.sleep(0.2)
    raise AssertionError(f"no {kind} frame")


@pytest.mark.slow
def test_request_is_acked_planned_and_answered(socket_app) -> None:
    runtime, depot_id = socket_app
    connection = _connection(runtime, "dispatcher", [depot_id])
    replies = _send(
        connection,
        {
            "type": "route_optimization_request",
            "requestId": "r1",
            "depotId": depot_id,
            "serviceDate": DAY.isoformat(),
            "engine": "ortools",
            "timeLimit": 1,
        },
    )
    ack = replies[0]
    assert ack["type"] == "acknowledgment" and ack["requestId"] == "r1"
    assert ack["status"] == "queued" and len(ack["jobId"]) == 32
    answer = _wait_for(connection, "route_optimization_response")
    assert answer["requestId"] == "r1" and answer["status"] == "completed"
    assert answer["plan"]["orders"] == 12 and answer["plan"]["unassigned"] == 0
    cancel_late = _send(
        connection, {"type": "route_optimization_cancel", "requestId": ack["jobId"]}
    )
    assert cancel_late[0]["type"] == "error" and cancel_late[0]["errorCode"] == "invalid_message"


@pytest.mark.slow
def test_cancel_stops_the_job_and_keeps_its_best_plan(socket_app) -> None:
    runtime, depot_id = socket_app
    connection = _connection(runtime, "dispatcher", [depot_id])
    ack = _send(
        connection,
        {
            "type": "route_optimization_request",
            "requestId": "r2",
            "depotId": depot_id,
            "serviceDate": DAY.isoformat(),
            "engine": "ortools",
            "timeLimit": 120,
        },
    )[0]
    time.sleep(3)
    cancelled = _send(
        connection, {"type": "route_optimization_cancel", "requestId": "c1", "jobId": ack["jobId"]}
    )
    assert cancelled[0]["type"] == "acknowledgment" and cancelled[0]["status"] == "cancelling"
    answer = _wait_for(connection, "route_optimization_response", timeout=40)
    assert answer["status"] == "cancelled" and answer["responseId"]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"depotId": "one", "serviceDate": "2026-11-27"}, "depotId"),
        ({"depotId": 1, "serviceDate": "tomorrow"}, "serviceDate"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "engine": "magic"}, "engine"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "timeLimit": 0}, "timeLimit"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "timeLimit": "10"}, "timeLimit"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "breaks": "yes"}, "breaks"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "mode": "partial"}, "mode"),
        ({"depotId": True, "serviceDate": "2026-11-27"}, "depotId"),
        ({"serviceDate": "2026-11-27"}, "depotId"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "timeLimit": True}, "timeLimit"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "vehicleIds": ["x"]}, "vehicleIds"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "vehicleIds": [2**31 - 1]}, "vehicleIds"),
        ({"depotId": 1, "serviceDate": "2026-11-27", "vehicleIds": [2**70]}, "vehicleIds"),
        ({"depotId": 2**70, "serviceDate": "2026-11-27"}, "depotId"),
    ],
)
def test_bad_requests_get_an_error_naming_the_field(socket_app, message, field) -> None:
    runtime, depot_id = socket_app
    connection = _connection(runtime, "dispatcher", [depot_id])
    replies = _send(connection, {"type": "route_optimization_request", **message})
    assert replies[0]["type"] == "error" and replies[0]["errorCode"] == "invalid_message"
    assert replies[0].get("field") == field, replies[0]


def test_unknown_depot_reads_as_not_found_like_rest(socket_app) -> None:
    runtime, _ = socket_app
    admin = _connection(runtime, "admin", [])
    replies = _send(
        admin, {"type": "route_optimization_request", "depotId": 99, "serviceDate": "2026-11-27"}
    )
    assert replies[0]["errorCode"] == "not_found" and replies[0]["field"] == "depotId"


def test_a_vehicle_of_another_depot_is_refused(socket_app) -> None:
    """The probe over the socket: depot A's dispatcher names depot B's van in vehicleIds."""
    from sqlalchemy import select

    from backend.db.models import OptimizationRequest

    runtime, depot_id = socket_app
    _, van_id = add_other_depot(runtime.db)
    connection = _connection(runtime, "dispatcher", [depot_id])
    replies = _send(
        connection,
        {
            "type": "route_optimization_request",
            "depotId": depot_id,
            "serviceDate": DAY.isoformat(),
            "vehicleIds": [van_id],
        },
    )
    assert replies[0]["errorCode"] == "invalid_message" and replies[0]["field"] == "vehicleIds"
    with runtime.db.session() as session:
        assert session.scalars(select(OptimizationRequest)).all() == []


def test_other_depots_and_drivers_are_refused(socket_app) -> None:
    runtime, depot_id = socket_app
    outsider = _connection(runtime, "dispatcher", [])  # a dispatcher of no depot
    replies = _send(
        outsider,
        {"type": "route_optimization_request", "depotId": depot_id, "serviceDate": DAY.isoformat()},
    )
    assert replies[0]["errorCode"] == "not_found" and replies[0]["field"] == "depotId"
    driver = _connection(runtime, "driver", [depot_id])
    replies = _send(
        driver,
        {"type": "route_optimization_request", "depotId": depot_id, "serviceDate": DAY.isoformat()},
    )
    assert replies[0]["errorCode"] == "permission_denied"
    missing = _send(
        _connection(runtime, "dispatcher", [depot_id]),
        {"type": "route_optimization_cancel", "requestId": "f" * 32},
    )
    assert missing[0]["errorCode"] == "not_found"
