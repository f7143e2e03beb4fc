"""The Celery path for real: a worker on the local Redis runs a planning job and announces it.

The web side records the request and sends the kind and id only; the worker (its own process,
its own settings from its environment) claims the request, plans, stores the plan, and
publishes `route_optimization_update` over Redis — no process polls for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.auth.users import create_user, principal_for
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.migrate import upgrade
from backend.db.models import OptimizationRequest, OptimizationResponse
from backend.planning import PlanRequest
from backend.planning.submit import submit_plan
from backend.runtime import Runtime
from factories import DAY, at_hour, seed_small_day

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _redis_db(redis_url: str, number: int) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{number}"


@pytest.fixture
def worker_env(data_dir: Path, redis_url: str):
    """Settings shared by this test and a real `celery worker` process (and that worker)."""
    import redis

    broker = _redis_db(redis_url, 9)  # a database of its own for the queue and results
    redis.Redis.from_url(broker).flushdb()
    env = {
        "DATA_DIR": str(data_dir),
        "REDIS_URL": broker,
        "BACKGROUND_JOBS": "celery",
        "DEMO": "false",
        "APP_ENV": "test",
    }
    settings = load_settings(**env)
    runtime = Runtime(settings, FixedClock(at_hour(7)))
    upgrade(runtime.db.engine)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app:celery_app",
            "worker",
            "--queues",
            "jobs",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield runtime, broker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        runtime.db.engine.dispose()
        redis.Redis.from_url(broker).flushdb()


def test_a_celery_worker_plans_the_job_and_announces_it(worker_env) -> None:
    import redis

    runtime, broker = worker_env
    depot_id = seed_small_day(runtime.db)
    with runtime.db.session() as session:
        principal = principal_for(
            create_user(
                session,
                username="disp",
                password="pw-long-enough",
                role="dispatcher",
                depot_ids=[depot_id],
            )
        )
    listener = redis.Redis.from_url(broker).pubsub()
    listener.subscribe(f"depot:{depot_id}:routes")
    job_id = submit_plan(
        runtime.jobs,
        runtime.db,
        principal=principal,
        request=PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=1, engine="ortools"),
        clock=runtime.clock,
        source="api",
    )
    deadline = time.monotonic() + 120  # the worker imports the app first
    announced = None
    while time.monotonic() < deadline and announced is None:
        message = listener.get_message(timeout=1.0)
        if message and message["type"] == "message":
            body = json.loads(message["data"])
            if body.get("requestId") == job_id:
                announced = body
    listener.close()
    assert announced is not None, "the worker never announced the job"
    assert announced["type"] == "route_optimization_update"
    assert announced["status"] == "completed" and announced["depotId"] == depot_id
    assert runtime.jobs.status(job_id) == "completed"
    with runtime.db.session() as session:
        assert session.get(OptimizationRequest, job_id).status == "completed"
        response = session.get(OptimizationResponse, announced["responseId"])
        assert response is not None and response.meta["unassigned"] == 0
