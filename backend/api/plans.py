"""/api/v1/plans: start a planning job, follow it, cancel it, accept its plan."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.api.errors import ApiError, ErrorResponse, require
from backend.api.hooks import permission
from backend.db.models import PLANS_OPEN, OptimizationResponse, Route
from backend.db.queries.optimization import get_request, latest_response
from backend.planning import PlanningError, PlanRequest, accept_plan
from backend.planning.publish import announce_accepted
from backend.planning.submit import submit_plan
from backend.runtime import current_runtime

plans_api = APIBlueprint(
    "plans",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[Tag(name="plans", description="Route optimization jobs and their plans")],
    abp_security=[{"bearer": []}],
)

_ERRORS: dict[int | str, Any] = {401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse}


class PlanPath(BaseModel):
    """The plan job id in the URL."""

    job_id: str = Field(pattern=r"^[0-9a-f]{32}$")


class PlanJob(BaseModel):
    """A planning job: its status, progress and, when done, its plan."""

    job_id: str
    status: str
    depot_id: int | None = None
    progress: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None


def _visible_request(job_id: str) -> Any:
    principal = require("plan:read")
    with current_runtime().db.session() as session:
        request_row = get_request(session, request_id=job_id)
        if request_row is None or not principal.sees_depot(request_row.depot_id):
            raise ApiError(404, "not_found", f"plan job {job_id} not found")
        return request_row


@plans_api.post(
    "/plans",
    summary="Start planning a depot's day (async)",
    responses={202: PlanJob, 422: ErrorResponse, **_ERRORS},
)
@permission("plan:write")
def create_plan_view(body: PlanRequest):
    """Validate, start a background job and answer at once with its id."""
    principal = require("plan:write")
    runtime = current_runtime()
    # The body is the one planning request model (the panel and the socket parse through it
    # too). A refused request raises a PlanningError (a ServiceError): 404 for an unknown or
    # out-of-scope depot (ids don't leak), 403 for a role, 422 naming the field otherwise.
    job_id = submit_plan(
        runtime.jobs,
        runtime.db,
        principal=principal,
        request=body,
        clock=runtime.clock,
        source="api",
    )
    return PlanJob(job_id=job_id, status="queued", depot_id=body.depot_id).model_dump(), 202


@plans_api.get(
    "/plans/<job_id>", summary="Follow a planning job", responses={200: PlanJob, **_ERRORS}
)
@permission("plan:read")
def get_plan_view(path: PlanPath):
    """Status and progress; when done, the plan with routes and unassigned orders."""
    request_row = _visible_request(path.job_id)
    plan = None
    # Read-only: a job whose process died is failed by the reaper, never by following it.
    with current_runtime().db.session() as session:
        response = latest_response(session, request_id=path.job_id)
        if response is not None:
            plan = _plan_body(session, response)
    return PlanJob(
        job_id=path.job_id,
        status=request_row.status,
        depot_id=request_row.depot_id,
        progress=current_runtime().jobs.progress(path.job_id),
        plan=plan,
    ).model_dump()


def _plan_body(session: Any, response: OptimizationResponse) -> dict[str, Any]:
    # The stops come with the routes in one more query, not one per route.
    routes = session.scalars(
        select(Route)
        .where(Route.response_id == response.response_id)
        .options(selectinload(Route.stops))
        .order_by(Route.id)
    )
    return {
        "response_id": response.response_id,
        "optimization_score": response.optimization_score,
        "distance_km": response.distance,
        "duration_min": response.duration,
        "fuel_l": response.fuel_consumption,
        "co2_kg": response.carbon_emissions,
        "summary": response.meta,
        "routes": [
            {
                "route_id": r.id,
                "vehicle_id": r.vehicle_id,
                "status": r.status,
                "order_ids": [s.order_id for s in r.stops if s.order_id is not None],
                "planned_start_at": r.planned_start_at.isoformat(),
                "planned_end_at": r.planned_end_at.isoformat(),
                "distance_km": r.planned_distance_km,
            }
            for r in routes
        ],
    }


@plans_api.post(
    "/plans/<job_id>/cancel",
    summary="Stop a planning job, keeping its best plan",
    responses={202: PlanJob, 409: ErrorResponse, **_ERRORS},
)
@permission("plan:write")
def cancel_plan_view(path: PlanPath):
    """Ask the job to stop; it stores the best plan found so far."""
    require("plan:write")
    request_row = _visible_request(path.job_id)
    if request_row.status not in PLANS_OPEN:
        raise ApiError(409, "not_running", f"the job is already {request_row.status}")
    current_runtime().jobs.cancel(path.job_id)
    return PlanJob(
        job_id=path.job_id, status="cancelling", depot_id=request_row.depot_id
    ).model_dump(), 202


@plans_api.post(
    "/plans/<job_id>/accept",
    summary="Make the job's plan the active one",
    responses={200: PlanJob, 409: ErrorResponse, **_ERRORS},
)
@permission("plan:write")
def accept_plan_view(path: PlanPath):
    """Activate the plan's routes, assign its orders and tell the depot's dispatchers."""
    principal = require("plan:write")
    _visible_request(path.job_id)
    runtime = current_runtime()
    with runtime.db.session() as session:
        response = latest_response(session, request_id=path.job_id)
        if response is None:
            raise ApiError(409, "no_plan", "the job has no plan yet")
        try:
            accepted = accept_plan(
                session,
                response_id=response.response_id,
                principal=principal,
                now=runtime.clock.now(),
            )
        except PlanningError as exc:
            raise ApiError(409, "not_acceptable", exc.message, exc.field) from None
    announce_accepted(current_runtime().publisher(), accepted)
    return PlanJob(job_id=path.job_id, status="accepted", depot_id=accepted.depot_id).model_dump()
