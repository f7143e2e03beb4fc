"""`route_optimization_request` / `_cancel` over the socket: the same planning jobs as the API.

A request is validated and recorded, acknowledged at once with its `jobId`, and run by the
job runner (a subprocess or a Celery worker). When it ends, the runner answers the asking
user's sockets with `route_optimization_response` and the depot's room with
`route_optimization_update` (see backend/planning/publish.py). A cancel names the job by `jobId`
(or `requestId`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.db.models import PLANS_FINAL, OptimizationRequest
from backend.planning import PlanningError, PlanRequest, parse_plan_request
from backend.planning.submit import submit_plan
from backend.realtime.handler import acknowledgment
from backend.realtime.hub import Connection
from backend.realtime.protocol import INVALID_MESSAGE, PERMISSION_DENIED, ProtocolError
from backend.services import ForbiddenError, NotFoundError

if TYPE_CHECKING:
    from backend.runtime import Runtime

NOT_FOUND = "not_found"


class SocketOptimizer:
    """Turns optimization messages into planning jobs on the one job runner.

    The answer comes when the job ends: the runner announces it (`route_optimization_response`
    to the asking user's sockets, `route_optimization_update` to the depot), so nothing here
    waits on a job.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one optimization message; raise ProtocolError for bad ones."""
        if message["type"] == "route_optimization_cancel":
            return self._cancel(connection, message)
        return self._request(connection, message)

    def _request(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        request = _plan_request(message)
        client_request_id = message.get("requestId")
        try:
            job_id = submit_plan(
                self.runtime.jobs,
                self.runtime.db,
                principal=connection.principal,
                request=request,
                clock=self.runtime.clock,
                source="socket",
                client_request_id=None if client_request_id is None else str(client_request_id),
            )
        except PlanningError as exc:
            # The same answers as REST: out of scope reads as not found, ids don't leak.
            if isinstance(exc, NotFoundError):
                raise ProtocolError(NOT_FOUND, exc.message, field="depotId") from None
            if isinstance(exc, ForbiddenError):
                raise ProtocolError(PERMISSION_DENIED, exc.message) from None
            raise ProtocolError(
                INVALID_MESSAGE, exc.message, field=_message_key(exc.field)
            ) from None
        return [
            acknowledgment(
                "route_optimization_request", client_request_id, jobId=job_id, status="queued"
            )
        ]

    def _cancel(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        job_id = str(message.get("jobId") or message["requestId"])
        with self.runtime.db.session() as session:
            row = session.get(OptimizationRequest, job_id)
            if row is None or not connection.principal.sees_depot(row.depot_id):
                raise ProtocolError(NOT_FOUND, f"no optimization {job_id}", field="requestId")
            status = row.status
        if status in PLANS_FINAL:
            raise ProtocolError(
                INVALID_MESSAGE, f"the optimization is already {status}", field="requestId"
            )
        self.runtime.jobs.cancel(job_id)
        return [
            acknowledgment(
                "route_optimization_cancel",
                message.get("requestId"),
                jobId=job_id,
                status="cancelling",
            )
        ]


# The message's keys for the request model's fields (the protocol is camelCase).
MESSAGE_KEYS = {
    "depot_id": "depotId",
    "service_date": "serviceDate",
    "vehicle_ids": "vehicleIds",
    "engine": "engine",
    "time_limit_s": "timeLimit",
    "mode": "mode",
    "breaks": "breaks",
    "travel_times": "travelTimes",
}


def _message_key(field_name: str) -> str:
    return MESSAGE_KEYS.get(field_name, field_name)


def _plan_request(message: dict[str, Any]) -> PlanRequest:
    """The planning request a message asks for, validated by the one request model."""
    fields = {name: message[key] for name, key in MESSAGE_KEYS.items() if key in message}
    if fields.get("vehicle_ids") is None:
        fields.pop("vehicle_ids", None)
    try:
        return parse_plan_request(fields)
    except PlanningError as exc:
        raise ProtocolError(INVALID_MESSAGE, exc.message, field=_message_key(exc.field)) from None
