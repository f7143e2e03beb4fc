"""A planning request's life in the database: validated and recorded, claimed, stored, reaped."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.cache import request_hash
from backend.db.engine import Database
from backend.db.models import (
    PLANS_OPEN,
    PLANS_WITH_A_PLAN,
    Depot,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    PlanStatus,
    Route,
    RouteStatus,
    RouteStop,
)
from backend.db.queries.optimization import upsert_request
from backend.planning.problem import PlanningInput, load_vehicles
from backend.planning.request import (
    MAX_TIME_LIMIT_S,
    PlanningError,
    PlanningForbidden,
    PlanningNotFound,
    PlanOutcome,
    PlanRequest,
    request_fields,
)
from backend.solver import (
    Location,
    Plan,
)

log = logging.getLogger(__name__)


def add_event(
    session: Session, request_id: str, event_type: str, data: dict[str, Any], *, at: datetime
) -> None:
    """Record an optimization event of a request, stamped `at`."""
    session.add(
        OptimizationEvent(
            event_id=uuid.uuid4().hex,
            request_id=request_id,
            event_type=event_type,
            event_data=data,
            timestamp=at,
        )
    )


def request_values(
    planning: PlanningInput, request: PlanRequest, status: str, requested_by: Principal
) -> dict[str, Any]:
    """The original design's request columns, filled from the built problem."""
    problem = planning.problem
    return {
        "vehicle_id": request.vehicle_ids[0] if len(request.vehicle_ids) == 1 else None,
        "depot_id": request.depot_id,
        "priority": request.priority,
        "constraints": {
            "service_date": request.service_date.isoformat(),
            "engine": request.engine,
            "time_limit_s": request.time_limit_s,
            "breaks": request.breaks,
            "travel_times": request.travel_times,
            "vehicle_ids": [int(v.id) for v in problem.vehicles],
        },
        "delivery_locations": [
            {
                "order_id": int(o.id),
                "lat": o.location.lat,
                "lon": o.location.lon,
                "demand": dict(zip(problem.capacity_units, o.demand, strict=True)),
            }
            for o in problem.orders
        ],
        "time_windows": [
            {"order_id": int(o.id), "windows": [[w.start, w.end] for w in o.time_windows]}
            for o in problem.orders
        ],
        "vehicle_capacity": {
            v.id: dict(zip(problem.capacity_units, v.capacity, strict=True))
            for v in problem.vehicles
        },
        "special_requirements": sorted({s for o in problem.orders for s in o.skills}),
        "status": status,
        "meta": {
            "requested_by": requested_by.username,
            "requested_by_id": requested_by.user_id,
            "request_hash": request_hash(planning.payload),
        },
    }


def validate_request(session: Session, *, request: PlanRequest, principal: Principal) -> None:
    """Check that `principal` may plan `request`: permission, depot scope, the named vehicles.

    Every path (panel, REST, socket, the job itself) goes through here. An unknown depot and
    one outside the caller's scope raise the same PlanningError("depot_id"), so ids don't leak.
    """
    if not principal.can("plan:write"):
        raise PlanningForbidden("principal", "your role may not plan routes")
    depot = session.get(Depot, request.depot_id)
    if depot is None or not principal.sees_depot(request.depot_id):
        raise PlanningNotFound("depot_id", f"depot {request.depot_id} not found")
    if not depot.active:
        raise PlanningNotFound("depot_id", f"depot {request.depot_id} is not active")
    load_vehicles(session, depot.id, request.vehicle_ids)
    if request.mode == "remaining" and not session.scalar(
        select(func.count())
        .select_from(Route)
        .where(
            Route.depot_id == depot.id,
            Route.service_date == request.service_date,
            Route.status == RouteStatus.ACTIVE,
        )
    ):
        raise PlanningError("mode", "there is no active plan to re-optimize; optimize first")


def record_pending(
    session: Session,
    *,
    request_id: str,
    request: PlanRequest,
    principal: Principal,
    now: datetime,
    source: str = "api",
    client_request_id: str | None = None,
) -> None:
    """Validate and store a request before its job starts: the job reads it back from here.

    `source` (panel, api, socket, demo) and the socket's own `client_request_id` say whom to
    answer when the job ends.

    Every path (panel, REST, socket, in-process) starts a job here, so this is also where jobs
    whose process died are failed (see `reap_abandoned`).
    """
    validate_request(session, request=request, principal=principal)
    reap_abandoned(session, now=now)
    upsert_request(
        session,
        request_id=request_id,
        values={
            "depot_id": request.depot_id,
            "priority": request.priority,
            "constraints": request_fields(request),
            "status": PlanStatus.PENDING,
            "meta": {
                "requested_by": principal.username,
                "requested_by_id": principal.user_id,
                "source": source,
                "client_request_id": client_request_id,
            },
        },
        now=now,
    )
    add_event(session, request_id, "requested", {"by": principal.username}, at=now)


def claim_request(session: Session, *, request_id: str, now: datetime) -> OptimizationRequest:
    """Move a pending request to running, once: a second job for the same id gets an error."""
    claimed = session.execute(
        update(OptimizationRequest)
        .where(
            OptimizationRequest.request_id == request_id,
            OptimizationRequest.status == PlanStatus.PENDING,
        )
        .values(status=PlanStatus.RUNNING, updated_at=now)
    )
    row = session.get(OptimizationRequest, request_id)
    if row is None:
        raise PlanningError("request_id", "unknown optimization request")
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise PlanningError("request_id", f"the request is already {row.status}")
    return row


# A job silent this long past its time budget has died (killed worker, crashed process).
ABANDONED_AFTER_S = 300.0


def reap_abandoned(session: Session, *, now: datetime) -> list[str]:
    """Fail every pending or running request whose job went silent; return their ids.

    Run whenever a job is recorded, never by a read: following a job must not change it.
    """
    rows = session.execute(
        select(
            OptimizationRequest.request_id,
            OptimizationRequest.updated_at,
            OptimizationRequest.constraints,
        ).where(OptimizationRequest.status.in_(PLANS_OPEN))
    ).all()
    dead = [
        request_id
        for request_id, updated_at, constraints in rows
        if (now - updated_at).total_seconds()
        >= float((constraints or {}).get("time_limit_s") or MAX_TIME_LIMIT_S) + ABANDONED_AFTER_S
    ]
    if dead:
        session.execute(
            update(OptimizationRequest)
            .where(
                OptimizationRequest.request_id.in_(dead),
                OptimizationRequest.status.in_(PLANS_OPEN),
            )
            .values(status=PlanStatus.FAILED, updated_at=now)
        )
        for request_id in dead:
            add_event(
                session,
                request_id,
                "failed",
                {"error": "the planning job stopped without an answer"},
                at=now,
            )
    return dead


def fail_request(
    database: Database, request_id: str, message: str, *, now: datetime
) -> PlanOutcome:
    """End a request `failed` with `message` (its event says why)."""
    with database.session() as session:
        session.execute(
            update(OptimizationRequest)
            .where(OptimizationRequest.request_id == request_id)
            .values(status=PlanStatus.FAILED, updated_at=now)
        )
        add_event(session, request_id, "failed", {"error": message}, at=now)
    return PlanOutcome(request_id, None, "failed", error=message)


def store_plan(
    database: Database,
    planning: PlanningInput,
    request: PlanRequest,
    request_id: str,
    plan: Plan,
    started: float,
    *,
    cache_hit: bool,
    status: str,
    now: datetime,
) -> PlanOutcome:
    """Store a solved plan as a new response with its routes; end the request `status`."""
    response_id = uuid.uuid4().hex
    fuel = co2 = 0.0
    for route in plan.routes:
        vehicle = planning.vehicles[route.vehicle_id]
        litres = route.distance / 1000 * vehicle["fuel_l_per_km"]
        fuel += litres
        co2 += litres * vehicle["co2_kg_per_l"]
    planning_s = time.monotonic() - started
    units = plan.capacity_units
    summary = {
        "score": round(plan.score, 4),
        "distance_km": round(plan.distance / 1000, 2),
        "duration_min": round(plan.duration / 60, 1),
        "cost": round(plan.cost, 2),
        "fuel_l": round(fuel, 2),
        "co2_kg": round(co2, 2),
        "vehicles_used": plan.vehicles_used,
        "vehicles": len(planning.problem.vehicles),
        "orders": len(planning.problem.orders),
        "unassigned": len(plan.unassigned),
        "engine": plan.engine,
        "solve_s": round(plan.solve_time, 2),
        "planning_s": round(planning_s, 2),
        "cache_hit": cache_hit,
        # What the travel times came from (run.py sets it; a fallback says why).
        "travel_times": planning.payload.get("travel_times_used", "haversine"),
        "warnings": list(planning.payload.get("warnings", [])),
    }
    with database.session() as session:
        version = 1 + (
            session.scalar(
                select(func.count())
                .select_from(OptimizationResponse)
                .join(OptimizationRequest)
                .where(
                    OptimizationRequest.depot_id == request.depot_id,
                    OptimizationRequest.vehicle_id.is_(None),
                    OptimizationRequest.status.in_(PLANS_WITH_A_PLAN),
                    OptimizationResponse.meta["service_date"].as_string()
                    == request.service_date.isoformat(),
                )
            )
            or 0
        )
        session.add(
            OptimizationResponse(
                response_id=response_id,
                request_id=request_id,
                optimization_score=plan.score,
                distance=summary["distance_km"],
                duration=summary["duration_min"],
                route_sequence=[
                    {
                        "vehicle_id": int(r.vehicle_id),
                        "order_ids": [int(s.order_id) for s in r.stops],
                    }
                    for r in plan.routes
                    if r.stops
                ],
                vehicle_load={
                    r.vehicle_id: dict(zip(units, r.load, strict=True))
                    for r in plan.routes
                    if r.stops
                },
                fuel_consumption=summary["fuel_l"],
                carbon_emissions=summary["co2_kg"],
                meta={
                    **summary,
                    "version": version,
                    "service_date": request.service_date.isoformat(),
                    "depot_id": request.depot_id,
                    "unassigned_orders": [
                        {"order_id": int(u.order_id), "reason": str(u.reason), "detail": u.detail}
                        for u in plan.unassigned
                    ],
                },
            )
        )
        session.flush()
        _add_routes(session, planning, request, response_id, plan)
        session.execute(
            update(OptimizationRequest)
            .where(OptimizationRequest.request_id == request_id)
            .values(status=status, updated_at=now)
        )
        add_event(session, request_id, status, {**summary, "response_id": response_id}, at=now)
    return PlanOutcome(request_id, response_id, status, cache_hit, {**summary, "version": version})


def _add_routes(
    session: Session, planning: PlanningInput, request: PlanRequest, response_id: str, plan: Plan
) -> None:
    origin = planning.origin
    depots = {d.id: d.location for d in planning.problem.depots}
    units = plan.capacity_units

    def at(seconds: float) -> datetime:
        return origin + timedelta(seconds=seconds)

    for route in plan.routes:
        if not route.stops:
            continue
        vehicle = planning.vehicles[route.vehicle_id]
        start = depots[str(vehicle["start_depot_id"])]
        end = depots[str(vehicle["end_depot_id"])]
        stops = [_depot_stop("start", start, at(route.start_time))]
        events: list[tuple[float, RouteStop]] = []
        for stop in route.stops:
            order = planning.orders[stop.order_id]
            events.append(
                (
                    stop.arrival,
                    RouteStop(
                        sequence=0,
                        kind="delivery",
                        order_id=order["id"],
                        lat=order["lat"],
                        lon=order["lon"],
                        planned_arrival_at=at(stop.arrival),
                        planned_departure_at=at(stop.departure),
                        # Fixed stops of a live plan carry no load figures.
                        load_after=dict(zip(units, stop.load, strict=False)),
                    ),
                )
            )
        for brk in route.breaks:
            events.append(
                (
                    brk.start,
                    RouteStop(
                        sequence=0,
                        kind="break",
                        lat=0.0,
                        lon=0.0,
                        planned_arrival_at=at(brk.start),
                        planned_departure_at=at(brk.start + brk.duration),
                    ),
                )
            )
        events.sort(key=lambda item: item[0])
        # A break happens wherever the driver is: at the previous stop's place.
        for _, item in events:
            if item.kind == "break":
                item.lat, item.lon = stops[-1].lat, stops[-1].lon
            stops.append(item)
        stops.append(_depot_stop("end", end, at(route.end_time)))
        for sequence, stop_row in enumerate(stops):
            stop_row.sequence = sequence
        session.add(
            Route(
                response_id=response_id,
                vehicle_id=vehicle["id"],
                depot_id=request.depot_id,
                service_date=request.service_date,
                status=RouteStatus.PROPOSED,
                planned_start_at=at(route.start_time),
                planned_end_at=at(route.end_time),
                planned_distance_km=round(route.distance / 1000, 3),
                planned_duration_min=round(route.duration / 60, 2),
                geometry=_street_like([(s.lat, s.lon) for s in stops if s.kind != "break"]),
                stops=stops,
            )
        )


def _depot_stop(kind: str, where: Location, when: datetime) -> RouteStop:
    return RouteStop(
        sequence=0,
        kind=kind,
        lat=where.lat,
        lon=where.lon,
        planned_arrival_at=when,
        planned_departure_at=when,
    )


def _street_like(points: list[tuple[float, float]]) -> list[list[float]]:
    """A drawable line through the stops with a corner per leg, as on a street grid.

    The matrix is haversine x detour, so there is no road geometry; Chicago's grid makes an
    L-shaped leg a closer picture of the drive than a straight line across blocks.
    """
    line: list[list[float]] = []
    for (lat, lon), nxt in zip(points, [*points[1:], None], strict=True):
        line.append([lat, lon])
        if nxt is not None and lat != nxt[0] and lon != nxt[1]:
            line.append([lat, nxt[1]])
    return line
