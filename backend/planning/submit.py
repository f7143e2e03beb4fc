"""Starting a planning job: validate and record the request, then hand its id to the runner."""

from __future__ import annotations

import uuid

from backend.auth.permissions import Principal
from backend.clock import Clock
from backend.db.engine import Database
from backend.jobs.runner import JobRunner
from backend.planning.request import PlanRequest
from backend.planning.store import record_pending

PLANNING_JOB = "planning"


def submit_plan(
    runner: JobRunner,
    database: Database,
    *,
    principal: Principal,
    request: PlanRequest,
    clock: Clock,
    source: str,
    client_request_id: str | None = None,
) -> str:
    """Check the request against the caller, record it pending, start its job; return the id.

    Raises PlanningError naming the bad field (an unknown or out-of-scope depot is "depot_id").
    """
    job_id = uuid.uuid4().hex
    with database.session() as session:
        record_pending(
            session,
            request_id=job_id,
            request=request,
            principal=principal,
            now=clock.now(),
            source=source,
            client_request_id=client_request_id,
        )
    return runner.submit(PLANNING_JOB, job_id)
