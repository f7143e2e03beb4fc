"""Telling the sockets about plans: status changes to the depot, the answer to whoever asked.

Called after the commit that made the change: by the job runner when a planning job ends
(`announce_finished`), and by the accept paths (`announce_accepted`).
"""

from __future__ import annotations

from typing import Any

from backend.clock import SYSTEM_CLOCK, Clock
from backend.db.engine import Database
from backend.db.models import PLANS_OPEN, OptimizationRequest, PlanStatus
from backend.db.queries.optimization import latest_response
from backend.planning.accept import AcceptedPlan
from backend.planning.store import add_event
from backend.realtime.publisher import Publisher, user_room


def publish_plan_update(
    publisher: Publisher,
    status: str,
    *,
    request_id: str,
    response_id: str | None,
    depot_id: int,
    service_date: str,
    **extra: Any,
) -> None:
    """Tell a depot's room (dispatchers, managers, its drivers) that a plan changed status."""
    message = {
        "type": "route_optimization_update",
        "status": status,
        "requestId": request_id,
        "responseId": response_id,
        "depotId": depot_id,
        "serviceDate": service_date,
        **extra,
    }
    publisher.publish(depot_id, "routes", message)


def announce_accepted(publisher: Publisher, plan: AcceptedPlan) -> None:
    """Broadcast that `plan` is now the depot's active plan."""
    publish_plan_update(
        publisher,
        "accepted",
        request_id=plan.request_id,
        response_id=plan.response_id,
        depot_id=plan.depot_id,
        service_date=plan.service_date,
        routeIds=plan.route_ids,
        vehicleIds=plan.vehicle_ids,
    )


def announce_finished(
    *,
    database: Database,
    publisher: Publisher,
    job_id: str,
    result: dict[str, Any],
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """A planning job ended: tell the depot, and answer the socket user who asked for it."""
    if result.get("status") == "skipped":
        return  # it ran nothing: the job that did run announces its own end
    with database.session() as session:
        row = session.get(OptimizationRequest, job_id)
        if row is None or row.depot_id is None:
            return
        if row.status in PLANS_OPEN:
            # The job process died before it could record its end (killed, out of memory).
            error = str(result.get("error") or "the planning job stopped without an answer")
            row.status = PlanStatus.FAILED
            add_event(session, job_id, "failed", {"error": error}, at=clock.now())
        response = latest_response(session, request_id=job_id)
        meta = dict(row.meta or {})
        status = row.status
        depot_id = row.depot_id
        service_date = str((row.constraints or {}).get("service_date", ""))
        response_id = response.response_id if response is not None else None
        summary = dict(response.meta) if response is not None else {}
    if meta.get("source") == "socket" and meta.get("requested_by_id") is not None:
        publisher.publish_room(
            user_room(int(meta["requested_by_id"])),
            "routes",
            {
                "type": "route_optimization_response",
                "requestId": meta.get("client_request_id"),
                "jobId": job_id,
                "status": status,
                "responseId": response_id,
                "plan": summary,
            },
        )
    publish_plan_update(
        publisher,
        status,
        request_id=job_id,
        response_id=response_id,
        depot_id=depot_id,
        service_date=service_date,
    )
