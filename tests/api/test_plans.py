"""/api/v1/plans end to end: a real job process plans, the API follows, cancels and accepts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.auth.tokens import issue_token
from backend.auth.users import create_user
from backend.config import load_settings
from backend.db.models import OptimizationRequest, Order, Route
from backend.runtime import runtime_of
from factories import DAY, add_other_depot, build_app, seed_small_day


@pytest.fixture
def plans_app(data_dir: Path):
    dash_app, runtime = build_app(data_dir)
    depot_id = seed_small_day(runtime.db)
    tokens = {}
    with runtime.db.session() as session:
        for name, role, depots in (
            ("disp", "dispatcher", [depot_id]),
            ("other", "dispatcher", []),
            ("boss", "manager", []),
        ):
            user = create_user(
                session, username=name, password="password-1", role=role, depot_ids=depots
            )
            tokens[name] = issue_token(session, user=user)
    dash_app.tokens, dash_app.depot_id = tokens, depot_id
    yield dash_app
    runtime.db.engine.dispose()


def _client(app, who: str):
    client = app.server.test_client()
    headers = {"Authorization": f"Bearer {app.tokens[who]}"}
    return lambda method, path, **kw: client.open(path, method=method, headers=headers, **kw)


def _wait(call, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = call("GET", f"/api/v1/plans/{job_id}").json
        if body["status"] not in ("pending", "running") and body["plan"]:
            return body
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {body}")


@pytest.mark.slow
def test_plan_job_runs_in_the_background_and_can_be_accepted(plans_app) -> None:
    call = _client(plans_app, "disp")
    started = call(
        "POST",
        "/api/v1/plans",
        json={
            "depot_id": plans_app.depot_id,
            "service_date": DAY.isoformat(),
            "time_limit_s": 2,
            "engine": "ortools",
        },
    )
    assert started.status_code == 202, started.json
    job_id = started.json["job_id"]
    done = _wait(call, job_id)
    assert done["status"] == "completed"
    plan = done["plan"]
    assert plan["summary"]["unassigned"] == 0 and plan["distance_km"] > 0
    assert sum(len(r["order_ids"]) for r in plan["routes"]) == 12
    assert call("POST", f"/api/v1/plans/{job_id}/cancel").status_code == 409
    metrics = plans_app.server.test_client().get("/metrics").get_data(as_text=True)
    assert 'solver_jobs_total{engine="ortools",outcome="completed"} 1.0' in metrics
    assert 'solver_solve_seconds_total{engine="ortools"}' in metrics
    accepted = call("POST", f"/api/v1/plans/{job_id}/accept")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    runtime = runtime_of(plans_app.server)
    with runtime.db.session() as session:
        assert {o.status for o in session.scalars(select(Order))} == {"planned"}
        assert {r.status for r in session.scalars(select(Route))} == {"active"}


@pytest.mark.slow
def test_cancel_stops_a_long_job_and_keeps_its_best_plan(plans_app) -> None:
    call = _client(plans_app, "disp")
    job_id = call(
        "POST",
        "/api/v1/plans",
        json={
            "depot_id": plans_app.depot_id,
            "service_date": DAY.isoformat(),
            "time_limit_s": 120,
            "engine": "ortools",
        },
    ).json["job_id"]
    deadline = time.monotonic() + 30
    while call("GET", f"/api/v1/plans/{job_id}").json["status"] != "running":
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.2)
    time.sleep(1.0)
    assert call("POST", f"/api/v1/plans/{job_id}/cancel").status_code == 202
    started = time.monotonic()
    done = _wait(call, job_id, timeout=30)
    assert done["status"] == "cancelled" and time.monotonic() - started < 20
    assert done["plan"]["routes"]


def test_bad_requests_name_the_field(plans_app) -> None:
    call = _client(plans_app, "disp")
    day = DAY.isoformat()
    for body, field in (
        ({"depot_id": plans_app.depot_id, "service_date": day, "engine": "magic"}, "engine"),
        ({"depot_id": plans_app.depot_id, "service_date": day, "time_limit_s": 0}, "time_limit_s"),
        ({"depot_id": plans_app.depot_id, "service_date": "yesterday"}, "service_date"),
        ({"service_date": day}, "depot_id"),
        ({"depot_id": plans_app.depot_id, "service_date": day, "colour": "red"}, "colour"),
    ):
        response = call("POST", "/api/v1/plans", json=body)
        assert response.status_code == 422, body
        assert response.json["error"]["field"] == field


def test_scope_and_roles(plans_app) -> None:
    body = {"depot_id": plans_app.depot_id, "service_date": DAY.isoformat()}
    assert _client(plans_app, "other")("POST", "/api/v1/plans", json=body).status_code == 404
    assert _client(plans_app, "boss")("POST", "/api/v1/plans", json=body).status_code == 403
    missing = _client(plans_app, "disp")("GET", "/api/v1/plans/" + "0" * 32)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert _client(plans_app, "disp")("GET", "/api/v1/plans/not-an-id").status_code == 422


def test_vehicles_of_another_depot_or_unknown_are_refused_before_any_job(plans_app) -> None:
    """The probe: depot A's dispatcher names depot B's van; it gets what an unknown id gets."""
    _, south_van = add_other_depot(runtime_of(plans_app.server).db)
    call = _client(plans_app, "disp")
    for vehicle_ids in ([south_van], [2**31 - 1]):
        response = call(
            "POST",
            "/api/v1/plans",
            json={
                "depot_id": plans_app.depot_id,
                "service_date": DAY.isoformat(),
                "vehicle_ids": vehicle_ids,
            },
        )
        assert response.status_code == 422, response.json
        assert response.json["error"]["field"] == "vehicle_ids"
        assert "SOUTH" not in response.get_data(as_text=True)
    runtime = runtime_of(plans_app.server)
    with runtime.db.session() as session:
        assert session.scalars(select(OptimizationRequest)).all() == []  # nothing pending


def test_remaining_without_an_active_plan_is_refused_up_front(plans_app) -> None:
    response = _client(plans_app, "disp")(
        "POST",
        "/api/v1/plans",
        json={"depot_id": plans_app.depot_id, "service_date": DAY.isoformat(), "mode": "remaining"},
    )
    assert response.status_code == 422 and response.json["error"]["field"] == "mode"


def test_following_a_job_changes_nothing(plans_app) -> None:
    """GET is read-only: a job silent for hours stays as it is until the reaper sees it."""
    from datetime import timedelta

    from backend.planning import PlanRequest, record_pending

    runtime = runtime_of(plans_app.server)
    long_ago = runtime.clock.now() - timedelta(hours=5)
    with runtime.db.session() as session:
        principal = _principal(session, "disp")
        record_pending(
            session,
            request_id="a" * 32,
            request=PlanRequest(depot_id=plans_app.depot_id, service_date=DAY),
            principal=principal,
            now=long_ago,
        )
    call = _client(plans_app, "disp")
    for _ in range(2):
        body = call("GET", "/api/v1/plans/" + "a" * 32).json
        assert body["status"] == "pending"
    with runtime.db.session() as session:
        row = session.get(OptimizationRequest, "a" * 32)
        assert row.status == "pending" and row.updated_at == long_ago


def _principal(session, username: str):
    from backend.auth.users import principal_for
    from backend.db.models import User

    return principal_for(session.scalars(select(User).where(User.username == username)).one())


@pytest.mark.redis
def test_a_celery_job_message_carries_the_id_and_no_secret(data_dir: Path, redis_url) -> None:
    """What reaches Redis for a job: the request id, never the settings or their secrets."""
    import redis

    from backend.cache import make_store
    from backend.db.engine import Database
    from backend.jobs import make_celery, make_runner
    from backend.jobs.control import JobControl

    broker = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: no worker listens
    client = redis.Redis.from_url(broker)
    client.delete("jobs")
    settings = load_settings(
        DATA_DIR=str(data_dir),
        REDIS_URL=broker,
        BACKGROUND_JOBS="celery",
        SECRET_KEY="top-secret-signing-key-0123456789",
        DATABASE_URL="postgresql+psycopg://fleet:db-password-42@127.0.0.1:5432/fleet",
    )
    try:
        runner = make_runner(
            settings,
            JobControl(make_store(settings)),
            database=Database(settings),
            publisher=lambda: None,
            celery=make_celery(settings),
        )
        runner.submit("planning", "b" * 32)
        messages = b"".join(client.lrange("jobs", 0, -1)).decode()
    finally:
        client.delete("jobs")
        client.close()
    assert "b" * 32 in messages
    import base64
    import json

    body = base64.b64decode(json.loads(messages)["body"]).decode()
    assert json.loads(body)[0] == ["planning", "b" * 32]  # the task's arguments: kind and id
    for secret in ("top-secret-signing-key", "db-password-42", "DATA_DIR", str(data_dir)):
        assert secret not in messages and secret not in body


def test_a_subprocess_job_gets_its_settings_from_its_environment(data_dir: Path) -> None:
    """The command line of a job process names no setting; its environment has them."""
    from backend.config import settings_environment

    settings = load_settings(DATA_DIR=str(data_dir), SECRET_KEY="k" * 40, DEMO=False)
    env = settings_environment(settings)
    assert env["DATA_DIR"] == str(data_dir) and env["SECRET_KEY"] == "k" * 40
    assert load_settings(**env) == settings  # the child reads back exactly these settings
