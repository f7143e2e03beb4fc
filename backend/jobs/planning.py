"""Planning jobs started from the REST API: a subprocess by default, a Celery task at scale."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from backend.config import Settings, load_settings

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]


def job_payload(
    settings: Settings, *, request_id: str, request: dict[str, Any], requested_by: str
) -> dict[str, Any]:
    """Everything a job process needs, as JSON: settings, ids and the request fields."""
    return {
        "settings": settings.model_dump(mode="json", by_alias=True, exclude_none=True),
        "request_id": request_id,
        "request": request,
        "requested_by": requested_by,
    }


def execute_plan_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one planning job in this process (the subprocess or Celery worker entry point)."""
    # OR-Tools must be loaded before anything could import TensorFlow.
    import ortools.constraint_solver.pywrapcp  # noqa: F401

    from backend.cache import make_result_cache, make_store
    from backend.db.engine import Database
    from backend.jobs.control import JobControl
    from backend.services.planning import PlanRequest, run_plan

    settings = load_settings(**payload["settings"])
    fields = dict(payload["request"])
    fields["service_date"] = date.fromisoformat(fields["service_date"])
    fields["vehicle_ids"] = tuple(fields.get("vehicle_ids") or ())
    request = PlanRequest(**fields)
    control = JobControl(make_store(settings))
    job_id = payload["request_id"]
    database = Database(settings)
    try:
        outcome = run_plan(
            database,
            make_result_cache(settings),
            request_id=job_id,
            request=request,
            requested_by=payload["requested_by"],
            on_progress=lambda report: control.set_progress(job_id, report),
            cancel=control.cancel_checker(job_id),
        )
    finally:
        database.engine.dispose()
    control.set_progress(job_id, {"status": outcome.status, **outcome.summary})
    return {"status": outcome.status, "response_id": outcome.response_id, **outcome.summary}


def submit_plan_job(
    settings: Settings,
    database: Any,
    *,
    principal: Any,
    request: Any,
    request_id: str | None = None,
) -> str:
    """Check scope, record the request as pending and start its job; returns the job id.

    Raises PlanningError("depot_id") for a depot that does not exist or is out of scope.
    """
    from backend.db.models import Depot
    from backend.services.planning import PlanningError, record_pending, request_fields

    if not principal.sees_depot(request.depot_id):
        raise PlanningError("depot_id", f"depot {request.depot_id} not found")
    job_id = request_id or uuid.uuid4().hex
    with database.session() as session:
        if session.get(Depot, request.depot_id) is None:
            raise PlanningError("depot_id", f"depot {request.depot_id} not found")
        record_pending(session, request_id=job_id, request=request, requested_by=principal.username)
    fields = request_fields(request)
    start_plan_job(
        settings,
        job_payload(settings, request_id=job_id, request=fields, requested_by=principal.username),
    )
    return job_id


def start_plan_job(settings: Settings, payload: dict[str, Any]) -> None:
    """Start a job: a Celery task when BACKGROUND_JOBS=celery, else a detached subprocess."""
    if settings.background_jobs == "celery":
        from backend.jobs import make_celery

        make_celery(settings).send_task("fleet.plan_routes", args=[payload])
        return
    # A fresh interpreter, not a fork: the web process has threads and open connections.
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.jobs.planning"],
        stdin=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(payload).encode())
    process.stdin.close()
    # Reap the child when it ends so finished jobs leave no zombie processes.
    threading.Thread(target=process.wait, name="plan-job-reaper", daemon=True).start()
    log.info("planning job %s started as pid %s", payload["request_id"], process.pid)


if __name__ == "__main__":
    execute_plan_job(json.loads(sys.stdin.read()))
