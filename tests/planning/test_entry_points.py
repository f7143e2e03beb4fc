"""The three ways to plan (the panel, REST, the socket) run the same job code.

Each path starts a plan of the same depot and day; each ends with the same stored request
(options, requester), the same kind of events, and the same update published by the runner.
"""

from __future__ import annotations

import json
import time

import pytest
from flask import g
from sqlalchemy import select

from backend.auth.tokens import issue_token
from backend.auth.users import create_user, principal_for
from backend.clock import FixedClock
from backend.db.models import OptimizationEvent, OptimizationRequest
from backend.realtime import get_realtime, handle_frame
from backend.realtime.hub import Connection
from backend.realtime.service import initial_rooms, initial_subscriptions
from callbacks.optimize import make_run_job, start_optimize
from factories import DAY, at_hour, build_app, seed_small_day

pytestmark = pytest.mark.slow


@pytest.fixture
def world(data_dir):
    dash_app, runtime = build_app(data_dir, clock=FixedClock(at_hour(7)))
    depot_id = seed_small_day(runtime.db)
    with runtime.db.session() as session:
        user = create_user(
            session,
            username="disp",
            password="pw-long-enough",
            role="dispatcher",
            depot_ids=[depot_id],
        )
        token = issue_token(session, user=user)
        principal = principal_for(user)
    heard: list[dict] = []
    service = get_realtime(runtime)
    service.start()
    service.bus.subscribe(lambda channel, text: heard.append(json.loads(text)))
    yield dash_app, runtime, depot_id, principal, token, heard
    runtime.db.engine.dispose()


def _by_panel(dash_app, runtime, depot_id, principal) -> str:
    context = dash_app.server.test_request_context("/")
    context.push()
    try:
        g.principal = principal
        ticket, _ = start_optimize(
            1, None, depot_id, DAY.isoformat(), "ortools", 1, [], runtime=runtime
        )
    finally:
        context.pop()
    make_run_job(runtime)(lambda figures: None, ticket)
    return ticket["request_id"]


def _by_rest(dash_app, depot_id, token) -> str:
    response = dash_app.server.test_client().post(
        "/api/v1/plans",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "depot_id": depot_id,
            "service_date": DAY.isoformat(),
            "engine": "ortools",
            "time_limit_s": 1,
        },
    )
    assert response.status_code == 202, response.json
    return response.json["job_id"]


def _by_socket(runtime, depot_id, principal) -> str:
    service = get_realtime(runtime)
    connection = Connection(principal=principal, config=service.config, service=service)
    service.hub.register(connection, initial_rooms(principal, None))
    connection.subscriptions |= initial_subscriptions(connection)
    message = {
        "type": "route_optimization_request",
        "requestId": "mine",
        "depotId": depot_id,
        "serviceDate": DAY.isoformat(),
        "engine": "ortools",
        "timeLimit": 1,
    }
    [ack] = [
        json.loads(f) if isinstance(f, str) else f
        for f in handle_frame(connection, json.dumps(message))
    ]
    return ack["jobId"]


def test_panel_rest_and_socket_run_the_same_job(world) -> None:
    dash_app, runtime, depot_id, principal, token, heard = world
    jobs = {
        "panel": _by_panel(dash_app, runtime, depot_id, principal),
        "api": _by_rest(dash_app, depot_id, token),
        "socket": _by_socket(runtime, depot_id, principal),
    }
    deadline = time.monotonic() + 90
    done = lambda: {  # noqa: E731
        m["requestId"] for m in heard if m.get("type") == "route_optimization_update"
    }
    while not set(jobs.values()) <= done():
        assert time.monotonic() < deadline, f"not announced: {set(jobs.values()) - done()}"
        time.sleep(0.1)
    with runtime.db.session() as session:
        rows = {source: session.get(OptimizationRequest, job_id) for source, job_id in jobs.items()}
        events = {
            source: set(
                session.scalars(
                    select(OptimizationEvent.event_type).where(
                        OptimizationEvent.request_id == job_id
                    )
                )
            )
            for source, job_id in jobs.items()
        }
    # The same stored request: options, depot, requester; only where it came from differs.
    options = {source: dict(row.constraints) for source, row in rows.items()}
    assert options["panel"] == options["api"] == options["socket"]
    assert {row.status for row in rows.values()} == {"completed"}
    assert {row.meta["requested_by"] for row in rows.values()} == {"disp"}
    assert {source: row.meta["source"] for source, row in rows.items()} == {
        "panel": "panel",
        "api": "api",
        "socket": "socket",
    }
    # The same life in events (the panel's job solved; the two identical requests after it
    # were answered from the result cache, so they have no solver events), and the same
    # update published for each by the runner.
    assert events["panel"] >= {"requested", "created", "started", "completed"}
    solver_only = {"started", "improved"}
    assert events["panel"] - solver_only == events["api"] == events["socket"]
    updates = {m["requestId"]: m for m in heard if m.get("type") == "route_optimization_update"}
    for job_id in jobs.values():
        assert updates[job_id]["status"] == "completed" and updates[job_id]["depotId"] == depot_id
    # Only the socket user gets the socket's answer, with its own request id.
    answers = [m for m in heard if m.get("type") == "route_optimization_response"]
    assert [(a["jobId"], a["requestId"]) for a in answers] == [(jobs["socket"], "mine")]
