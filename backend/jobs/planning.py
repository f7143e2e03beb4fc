"""Planning jobs started from the REST API and the socket: a subprocess by default, Celery at scale.

A job carries one id. The process that runs it reads its settings from its own environment
and the request (depot, day, engine, vehicles, who asked) from the database, where the web
process stored it after checking it; the job checks the requester's scope again.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from backend.auth.permissions import Principal
from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings, load_settings, settings_environment
from backend.db.engine import Database

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
REQUEST_ID_ENV = "FLEET_JOB_REQUEST_ID"


def execute_plan_job(request_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Run one stored planning request in this process (the subprocess or Celery entry point)."""
    # OR-Tools must be loaded before anything could import TensorFlow.
    import ortools.constraint_solver.pywrapcp  # noqa: F401

    from backend.cache import make_result_cache, make_store
    from backend.jobs.control import JobControl
    from backend.planning import run_plan

    settings = settings or load_settings()
    control = JobControl(make_store(settings))
    database = Database(settings)
    try:
        outcome = run_plan(
            database,
            make_result_cache(settings),
            request_id=request_id,
            clock=SYSTEM_CLOCK,
            on_progress=lambda report: control.set_progress(request_id, report),
            cancel=control.cancel_checker(request_id),
        )
    finally:
        database.engine.dispose()
    control.set_progress(request_id, {"status": outcome.status, **outcome.summary})
    return {"status": outcome.status, "response_id": outcome.response_id, **outcome.summary}


def submit_plan_job(
    settings: Settings,
    database: Database,
    *,
    principal: Principal,
    request: Any,
    clock: Clock = SYSTEM_CLOCK,
) -> str:
    """Check the request against the caller's scope, record it as pending, start its job.

    Returns the job id (the request id). Raises PlanningError naming the bad field; an
    unknown or out-of-scope depot is PlanningError("depot_id").
    """
    from backend.planning import record_pending

    job_id = uuid.uuid4().hex
    with database.session() as session:
        record_pending(
            session, request_id=job_id, request=request, principal=principal, now=clock.now()
        )
    start_plan_job(settings, job_id)
    return job_id


def start_plan_job(settings: Settings, request_id: str) -> None:
    """Start a job: a Celery task when BACKGROUND_JOBS=celery, else a detached subprocess."""
    if settings.background_jobs == "celery":
        from backend.jobs import make_celery

        make_celery(settings).send_task("fleet.plan_routes", args=[request_id])
        return
    # A fresh interpreter, not a fork: the web process has threads and open connections.
    # Settings travel as the child's environment (not visible in its arguments).
    env = {**os.environ, **settings_environment(settings), REQUEST_ID_ENV: request_id}
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.jobs.planning"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Reap the child when it ends so finished jobs leave no zombie processes.
    threading.Thread(target=process.wait, name="plan-job-reaper", daemon=True).start()
    log.info("planning job %s started as pid %s", request_id, process.pid)


if __name__ == "__main__":
    execute_plan_job(os.environ[REQUEST_ID_ENV])
