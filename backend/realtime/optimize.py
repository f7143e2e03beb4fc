"""`route_optimization_request` / `_cancel` over the socket: the same planning jobs as the API.

A request is acknowledged at once with its `jobId`; the job runs in the background (a
subprocess or a Celery worker). When it ends, the asking connection gets a
`route_optimization_response` and the depot's room a `route_optimization_update` with the
status (completed, cancelled or failed). A cancel names the job by `jobId` (or `requestId`).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from typing import Any

from backend.cache import make_store
from backend.db.models import OptimizationRequest
from backend.db.queries.optimization import latest_response
from backend.jobs.control import JobControl
from backend.jobs.planning import submit_plan_job
from backend.planning import AcceptedPlan, PlanningError, PlanRequest
from backend.realtime.handler import acknowledgment
from backend.realtime.hub import Connection
from backend.realtime.protocol import INVALID_MESSAGE, PERMISSION_DENIED, ProtocolError

log = logging.getLogger("realtime.optimize")
FINAL = ("completed", "cancelled", "failed")
WATCH_EVERY_S = 0.5
# How long past its time budget a job may take before the watcher gives up on it.
WATCH_GRACE_S = 120.0
NOT_FOUND = "not_found"


class SocketOptimizer:
    """Turns optimization messages into planning jobs and reports their end to the socket."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def __call__(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one optimization message; raise ProtocolError for bad ones."""
        if message["type"] == "route_optimization_cancel":
            return self._cancel(connection, message)
        return self._request(connection, message)

    def _request(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        request = _plan_request(message)
        try:
            job_id = submit_plan_job(
                self.runtime.settings,
                self.runtime.db,
                principal=connection.principal,
                request=request,
                clock=self.runtime.clock,
            )
        except PlanningError as exc:
            # The same answers as REST: out of scope reads as not found, ids don't leak.
            if exc.field == "depot_id":
                raise ProtocolError(NOT_FOUND, exc.message, field="depotId") from None
            if exc.field == "principal":
                raise ProtocolError(PERMISSION_DENIED, exc.message) from None
            raise ProtocolError(INVALID_MESSAGE, exc.message, field=_camel(exc.field)) from None
        threading.Thread(
            target=self._watch,
            args=(connection, job_id, message.get("requestId"), request),
            name=f"plan-watch-{job_id[:8]}",
            daemon=True,
        ).start()
        return [
            acknowledgment(
                "route_optimization_request",
                message.get("requestId"),
                jobId=job_id,
                status="queued",
            )
        ]

    def _cancel(self, connection: Connection, message: dict[str, Any]) -> list[dict[str, Any]]:
        job_id = str(message.get("jobId") or message["requestId"])
        with self.runtime.db.session() as session:
            row = session.get(OptimizationRequest, job_id)
            if row is None or not connection.principal.sees_depot(row.depot_id):
                raise ProtocolError(NOT_FOUND, f"no optimization {job_id}", field="requestId")
            status = row.status
        if status in FINAL:
            raise ProtocolError(
                INVALID_MESSAGE, f"the optimization is already {status}", field="requestId"
            )
        JobControl(make_store(self.runtime.settings, self.runtime.redis)).request_cancel(job_id)
        return [
            acknowledgment(
                "route_optimization_cancel",
                message.get("requestId"),
                jobId=job_id,
                status="cancelling",
            )
        ]

    def _watch(
        self, connection: Connection, job_id: str, client_request_id: Any, request: PlanRequest
    ) -> None:
        deadline = time.monotonic() + request.time_limit_s + WATCH_GRACE_S
        while time.monotonic() < deadline:
            time.sleep(WATCH_EVERY_S)
            try:
                with self.runtime.db.session() as session:
                    row = session.get(OptimizationRequest, job_id)
                    if row is None or row.status not in FINAL:
                        continue
                    response = latest_response(session, request_id=job_id)
                    status = row.status
                    response_id = response.response_id if response else None
                    summary = dict(response.meta) if response else {}
            except Exception:  # noqa: BLE001 - a database hiccup must not end the watch
                log.warning("watching %s failed once", job_id, exc_info=True)
                continue
            self._report(
                connection, job_id, client_request_id, request, status, response_id, summary
            )
            return
        log.warning("optimization %s did not finish in time", job_id)

    def _report(
        self,
        connection: Connection,
        job_id: str,
        client_request_id: Any,
        request: PlanRequest,
        status: str,
        response_id: str | None,
        summary: dict[str, Any],
    ) -> None:
        if not connection.closed:
            connection.send(
                {
                    "type": "route_optimization_response",
                    "requestId": client_request_id,
                    "jobId": job_id,
                    "status": status,
                    "responseId": response_id,
                    "plan": summary,
                }
            )
        publish_plan_update(
            self.runtime,
            status,
            request_id=job_id,
            response_id=response_id,
            depot_id=request.depot_id,
            service_date=request.service_date.isoformat(),
        )


def publish_plan_update(
    runtime: Any,
    status: str,
    *,
    request_id: str,
    response_id: str | None,
    depot_id: int,
    service_date: str,
    **extra: Any,
) -> None:
    """Tell a depot's room (dispatchers, managers, its drivers) that a plan changed status."""
    from backend.realtime.server import get_realtime

    message = {
        "type": "route_optimization_update",
        "status": status,
        "requestId": request_id,
        "responseId": response_id,
        "depotId": depot_id,
        "serviceDate": service_date,
        **extra,
    }
    get_realtime(runtime).publish(depot_id, "routes", message)


def announce_accepted(runtime: Any, plan: AcceptedPlan) -> None:
    """Broadcast that `plan` is now the depot's active plan."""
    publish_plan_update(
        runtime,
        "accepted",
        request_id=plan.request_id,
        response_id=plan.response_id,
        depot_id=plan.depot_id,
        service_date=plan.service_date,
        routeIds=plan.route_ids,
        vehicleIds=plan.vehicle_ids,
    )


def _camel(field_name: str) -> str:
    head, *rest = field_name.split("_")
    return head + "".join(part.title() for part in rest)


def _plan_request(message: dict[str, Any]) -> PlanRequest:
    """The planning request a message asks for; ProtocolError names a bad field."""
    fields: dict[str, Any] = {}
    try:
        fields["depot_id"] = _int(message.get("depotId"), "depotId")
        fields["service_date"] = date.fromisoformat(str(message.get("serviceDate", "")))
    except ValueError:
        raise ProtocolError(
            INVALID_MESSAGE, "serviceDate must be YYYY-MM-DD", field="serviceDate"
        ) from None
    for key, name, kind in (
        ("engine", "engine", str),
        ("time_limit_s", "timeLimit", float),
        ("mode", "mode", str),
        ("breaks", "breaks", bool),
    ):
        if name in message:
            value = message[name]
            if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ProtocolError(INVALID_MESSAGE, f"{name} must be a number", field=name)
            if kind is not float and not isinstance(value, kind):
                raise ProtocolError(INVALID_MESSAGE, f"{name} has the wrong type", field=name)
            fields[key] = value
    vehicle_ids = message.get("vehicleIds") or []
    if not isinstance(vehicle_ids, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in vehicle_ids
    ):
        raise ProtocolError(INVALID_MESSAGE, "vehicleIds must be a list of ids", field="vehicleIds")
    fields["vehicle_ids"] = tuple(vehicle_ids)
    try:
        return PlanRequest(**fields)
    except PlanningError as exc:
        raise ProtocolError(INVALID_MESSAGE, exc.message, field=_camel(exc.field)) from None


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProtocolError(INVALID_MESSAGE, f"{name} must be a positive id", field=name)
    return value
