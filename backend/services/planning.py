"""Planning a depot's day: load orders and vehicles, solve, store the plan, accept it.

The solve runs in a background job (a forked process or a Celery worker): it receives ids,
opens its own sessions, and reports progress through a callback. Accepting a plan is a
fast, ordinary request that makes the plan's routes the active ones.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.auth.users import get_principal
from backend.cache import ResultCache, request_hash
from backend.clock import Clock
from backend.db.engine import Database
from backend.db.models import (
    FINAL_ORDER_STATUSES,
    Depot,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    OrderStatus,
    Route,
    RouteStatus,
    RouteStop,
    Vehicle,
)
from backend.db.models import VehicleState as VehicleStateRow
from backend.db.queries.optimization import upsert_request
from backend.solver import (
    Break,
    Location,
    Plan,
    Problem,
    ProblemError,
    TimeWindow,
    solve,
)
from backend.solver import Depot as SolverDepot
from backend.solver import Order as SolverOrder
from backend.solver import Vehicle as SolverVehicle
from backend.solver.live import LiveState, reoptimize
from backend.solver.live import VehicleState as LiveVehicle
from backend.solver.model import BreakSlot, Reason, Unassigned
from backend.solver.model import Route as SolverRoute
from backend.solver.model import Stop as SolverStop

log = logging.getLogger(__name__)

ENGINES = ("auto", "ortools", "pyvrp")
MODES = ("full", "remaining")
MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S = 1, 300
MAX_ID = 2**31 - 1  # the database's integer ids
# Orders still open for planning; later statuses belong to a driver's live route.
PLANNABLE_STATUSES = (OrderStatus.NEW.value, OrderStatus.PLANNED.value)
# A 30-minute break inside the first 3.5-5.5 h of any shift longer than 6 h.
BREAK_AFTER_S, BREAK_WINDOW_S, BREAK_DURATION_S, BREAK_MIN_SHIFT_S = 12_600, 7_200, 1_800, 21_600
# Cost of leaving an order out, per priority point; far above any detour so orders are
# only dropped when they cannot be served at all.
DROP_PENALTY_BASE, DROP_PENALTY_PER_PRIORITY = 5_000.0, 1_000.0
ProgressCallback = Callable[[dict[str, Any]], None]


class PlanningError(ValueError):
    """A planning request that cannot be run; `field` names what is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: one depot's day, with which engine and time budget."""

    depot_id: int
    service_date: date
    vehicle_ids: tuple[int, ...] = ()
    engine: str = "auto"
    time_limit_s: float = 15.0
    # Off by default: OR-Tools plans with breaks are markedly longer (see the README).
    breaks: bool = False
    priority: int = 5
    seed: int = 0
    # "full" plans the open orders from scratch; "remaining" re-plans the live day.
    mode: str = "full"

    def __post_init__(self) -> None:
        # Ids outside the database's integer range are refused here for every path (REST,
        # socket, panel), before a query could overflow on them.
        if not 1 <= self.depot_id <= MAX_ID:
            raise PlanningError("depot_id", f"must be an id between 1 and {MAX_ID}")
        if any(not 1 <= v <= MAX_ID for v in self.vehicle_ids):
            raise PlanningError("vehicle_ids", f"ids must be between 1 and {MAX_ID}")
        if self.mode not in MODES:
            raise PlanningError("mode", f"must be one of {', '.join(MODES)}")
        if self.engine not in ENGINES:
            raise PlanningError("engine", f"must be one of {', '.join(ENGINES)}")
        if not MIN_TIME_LIMIT_S <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise PlanningError(
                "time_limit_s", f"must be between {MIN_TIME_LIMIT_S} and {MAX_TIME_LIMIT_S}"
            )
        if not 1 <= self.priority <= 10:
            raise PlanningError("priority", "must be between 1 and 10")


@dataclass(frozen=True)
class PlanningInput:
    """A solver problem plus what is needed to turn its answer back into rows."""

    problem: Problem
    origin: datetime  # local midnight of the service date, as aware UTC
    vehicles: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    payload: dict[str, Any]
    # Set for a "remaining" request: the active plan and where the day stands now.
    active_plan: Plan | None = None
    live_state: LiveState | None = None


@dataclass(frozen=True)
class PlanOutcome:
    """What a planning job produced."""

    request_id: str
    response_id: str | None
    status: str  # completed | cancelled | failed
    cache_hit: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _seconds(value: datetime, origin: datetime) -> float:
    return (value - origin).total_seconds()


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(timezone))


def build_problem(session: Session, *, request: PlanRequest, now: datetime) -> PlanningInput:
    """Load the depot's vehicles and orders into a solver problem (live state for "remaining")."""
    depot = session.get(Depot, request.depot_id)
    if depot is None:
        raise PlanningError("depot_id", f"unknown depot {request.depot_id}")
    origin = _local_midnight(request.service_date, depot.timezone)
    vehicles = _load_vehicles(session, depot.id, request.vehicle_ids)
    active: list[Route] = []
    if request.mode == "remaining":
        active = list(
            session.scalars(
                select(Route).where(
                    Route.depot_id == depot.id,
                    Route.service_date == request.service_date,
                    Route.status == RouteStatus.ACTIVE,
                )
            )
        )
        if not active:
            raise PlanningError("mode", "there is no active plan to re-optimize; optimize first")
        # Vehicles already driving the active plan stay in it, even if left out of the request.
        driving = {r.vehicle_id for r in active} - {v.id for v in vehicles}
        if driving:
            vehicles += session.scalars(
                select(Vehicle).where(Vehicle.id.in_(driving)).order_by(Vehicle.id)
            )
    in_plan = {s.order_id for r in active for s in r.stops if s.order_id is not None}
    order_filter: ColumnElement[bool] = Order.status.in_(PLANNABLE_STATUSES)
    if in_plan:
        order_filter = or_(order_filter, Order.id.in_(in_plan))
    orders = list(
        session.scalars(
            select(Order)
            .where(
                Order.depot_id == depot.id, Order.service_date == request.service_date, order_filter
            )
            .order_by(Order.id)
        )
    )
    depot_ids = {v.start_depot_id for v in vehicles} | {v.end_depot_id for v in vehicles}
    depots = list(session.scalars(select(Depot).where(Depot.id.in_(depot_ids))))
    units = tuple(sorted({unit for v in vehicles for unit in v.capacity}))

    solver_vehicles = tuple(_solver_vehicle(v, units, request.breaks) for v in vehicles)
    solver_orders = {str(o.id): _solver_order(o, units, origin) for o in orders}
    planned_orders = tuple(
        solver_orders[str(i)] for i in sorted(in_plan) if str(i) in solver_orders
    )
    problem = Problem(
        orders=planned_orders if active else tuple(solver_orders.values()),
        vehicles=solver_vehicles,
        depots=tuple(SolverDepot(str(d.id), Location(d.lat, d.lon)) for d in depots),
        capacity_units=units,
    )
    active_plan = live_state = None
    if active:
        active_plan = _plan_from_routes(active, origin)
        live_state = _live_state(
            session, active, orders, solver_orders, vehicles, depots, in_plan, _seconds(now, origin)
        )
    payload = {
        "depot_id": depot.id,
        "service_date": request.service_date.isoformat(),
        "engine": request.engine,
        "time_limit_s": request.time_limit_s,
        "breaks": request.breaks,
        "seed": request.seed,
        "mode": request.mode,
        "vehicle_ids": [v.id for v in vehicles],
        "priority": request.priority,
        "problem": _problem_fingerprint(problem),
    }
    return PlanningInput(
        problem=problem,
        origin=origin,
        vehicles={
            str(v.id): {
                "id": v.id,
                "name": v.name,
                "fuel_l_per_km": v.fuel_l_per_km,
                "co2_kg_per_l": v.co2_kg_per_l,
                "capacity": v.capacity,
                "start_depot_id": v.start_depot_id,
                "end_depot_id": v.end_depot_id,
            }
            for v in vehicles
        },
        orders={
            str(o.id): {"id": o.id, "lat": o.lat, "lon": o.lon, "reference": o.reference}
            for o in orders
        },
        payload=payload,
        active_plan=active_plan,
        live_state=live_state,
    )


def _load_vehicles(session: Session, depot_id: int, vehicle_ids: tuple[int, ...]) -> list[Vehicle]:
    # A depot's day is planned on that depot's own vehicles only: an id of another depot is
    # refused exactly like an unknown one, so other depots' fleets neither leak nor get used.
    query = select(Vehicle).where(Vehicle.depot_id == depot_id, Vehicle.active.is_(True))
    if vehicle_ids:
        query = query.where(Vehicle.id.in_(vehicle_ids))
    vehicles = list(session.scalars(query.order_by(Vehicle.id)))
    if vehicle_ids:
        missing = sorted(set(vehicle_ids) - {v.id for v in vehicles})
        if missing:
            raise PlanningError(
                "vehicle_ids",
                f"vehicle {missing[0]} is not an active vehicle of depot {depot_id}",
            )
    if not vehicles:
        raise PlanningError("vehicle_ids", "the depot has no active vehicles")
    return vehicles


def _plan_from_routes(routes: list[Route], origin: datetime) -> Plan:
    """The active plan as the solver sees it: each vehicle's stops in order, with times."""
    solver_routes = []
    for route in routes:
        stops = tuple(
            SolverStop(
                str(s.order_id),
                _seconds(s.planned_arrival_at, origin),
                _seconds(s.planned_arrival_at, origin),
                _seconds(s.planned_departure_at, origin),
                (),
            )
            for s in route.stops
            if s.order_id is not None
        )
        solver_routes.append(
            SolverRoute(
                vehicle_id=str(route.vehicle_id),
                stops=stops,
                start_time=_seconds(route.planned_start_at, origin),
                end_time=_seconds(route.planned_end_at, origin),
                distance=route.planned_distance_km * 1000,
                duration=route.planned_duration_min * 60,
                load=(),
                cost=0.0,
            )
        )
    return Plan(
        routes=tuple(solver_routes),
        unassigned=(),
        cost=0.0,
        distance=0.0,
        duration=0.0,
        engine="stored",
        solve_time=0.0,
        score=0.0,
    )


def _live_state(
    session: Session,
    routes: list[Route],
    orders: list[Order],
    solver_orders: dict[str, SolverOrder],
    vehicles: list[Vehicle],
    depots: list[Depot],
    in_plan: set[int],
    now_s: float,
) -> LiveState:
    """Where each vehicle is and what it has done; which orders are new or cancelled."""
    status = {o.id: o.status for o in orders}
    positions = {
        row.vehicle_id: row
        for row in session.scalars(
            select(VehicleStateRow).where(VehicleStateRow.vehicle_id.in_([v.id for v in vehicles]))
        )
    }
    depot_at = {d.id: Location(d.lat, d.lon) for d in depots}
    route_of = {r.vehicle_id: r for r in routes}
    states = []
    for v in vehicles:
        route = route_of.get(v.id)
        served = [s.order_id for s in route.stops if s.order_id is not None] if route else []
        done = tuple(
            str(o) for o in served if status.get(o) in FINAL_ORDER_STATUSES - {"cancelled"}
        )
        in_progress = next((str(o) for o in served if status.get(o) == OrderStatus.ARRIVED), None)
        seen = positions.get(v.id)
        on_road = route is not None and (done or in_progress) and seen is not None
        location = Location(seen.lat, seen.lon) if on_road and seen else depot_at[v.start_depot_id]
        shift_start = v.shift_start.hour * 3600 + v.shift_start.minute * 60
        states.append(LiveVehicle(str(v.id), location, max(now_s, shift_start), done, in_progress))
    return LiveState(
        now=now_s,
        vehicles=tuple(states),
        new_orders=tuple(o for key, o in solver_orders.items() if int(key) not in in_plan),
        cancelled=tuple(str(o) for o in sorted(in_plan) if status.get(o) == OrderStatus.CANCELLED),
    )


def _solver_vehicle(v: Vehicle, units: tuple[str, ...], breaks: bool) -> SolverVehicle:
    start = v.shift_start.hour * 3600 + v.shift_start.minute * 60
    end = v.shift_end.hour * 3600 + v.shift_end.minute * 60
    shift_breaks: tuple[Break, ...] = ()
    if breaks and end - start > BREAK_MIN_SHIFT_S:
        earliest = start + BREAK_AFTER_S
        shift_breaks = (Break(earliest, earliest + BREAK_WINDOW_S, BREAK_DURATION_S),)
    return SolverVehicle(
        id=str(v.id),
        start_depot=str(v.start_depot_id),
        end_depot=str(v.end_depot_id),
        capacity=tuple(float(v.capacity.get(u, 0)) for u in units),
        shift_start=start,
        shift_end=end,
        skills=frozenset(v.skills or ()),
        max_duration=v.max_route_minutes * 60 if v.max_route_minutes else None,
        max_distance=v.max_route_km * 1000 if v.max_route_km else None,
        breaks=shift_breaks,
        fixed_cost=v.fixed_cost,
        cost_per_km=v.cost_per_km,
        cost_per_hour=v.cost_per_hour,
    )


def _solver_order(o: Order, units: tuple[str, ...], origin: datetime) -> SolverOrder:
    windows = tuple(
        TimeWindow(
            max(0.0, _seconds(datetime.fromisoformat(w["start"]), origin)),
            max(0.0, _seconds(datetime.fromisoformat(w["end"]), origin)),
        )
        for w in o.time_windows
    )
    return SolverOrder(
        id=str(o.id),
        location=Location(o.lat, o.lon),
        demand=tuple(float(o.demand.get(u, 0)) for u in units),
        time_windows=windows,
        service_time=o.service_minutes * 60,
        skills=frozenset(o.required_skills or ()),
        priority=o.priority,
        drop_penalty=DROP_PENALTY_BASE + DROP_PENALTY_PER_PRIORITY * o.priority,
    )


def _problem_fingerprint(problem: Problem) -> dict[str, Any]:
    # Everything that changes the answer, so the cache key changes with it.
    return {
        "units": list(problem.capacity_units),
        "orders": [
            [
                o.id,
                o.location.lat,
                o.location.lon,
                list(o.demand),
                [[w.start, w.end] for w in o.time_windows],
                o.service_time,
                sorted(o.skills),
                o.priority,
            ]
            for o in problem.orders
        ],
        "vehicles": [
            [
                v.id,
                v.start_depot,
                v.end_depot,
                list(v.capacity),
                v.shift_start,
                v.shift_end,
                sorted(v.skills),
                v.cost_per_km,
                v.cost_per_hour,
                v.fixed_cost,
                [[b.earliest, b.latest, b.duration] for b in v.breaks],
            ]
            for v in problem.vehicles
        ],
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-safe copy of a solver plan (for the cache and the API)."""
    data = asdict(plan)
    for item in data["unassigned"]:
        item["reason"] = str(item["reason"])
    return data


def plan_from_json(data: dict[str, Any]) -> Plan:
    """The solver plan back from `plan_to_json`."""
    routes = tuple(
        SolverRoute(
            vehicle_id=r["vehicle_id"],
            stops=tuple(
                SolverStop(
                    s["order_id"], s["arrival"], s["start"], s["departure"], tuple(s["load"])
                )
                for s in r["stops"]
            ),
            start_time=r["start_time"],
            end_time=r["end_time"],
            distance=r["distance"],
            duration=r["duration"],
            load=tuple(r["load"]),
            cost=r["cost"],
            breaks=tuple(BreakSlot(b["start"], b["duration"]) for b in r.get("breaks", ())),
        )
        for r in data["routes"]
    )
    return Plan(
        routes=routes,
        unassigned=tuple(
            Unassigned(u["order_id"], Reason(u["reason"]), u["detail"]) for u in data["unassigned"]
        ),
        cost=data["cost"],
        distance=data["distance"],
        duration=data["duration"],
        engine=data["engine"],
        solve_time=data["solve_time"],
        score=data["score"],
        capacity_units=tuple(data.get("capacity_units", ())),
    )


def _event(
    session: Session, request_id: str, event_type: str, data: dict[str, Any], *, at: datetime
) -> None:
    session.add(
        OptimizationEvent(
            event_id=uuid.uuid4().hex,
            request_id=request_id,
            event_type=event_type,
            event_data=data,
            timestamp=at,
        )
    )


def _request_values(
    planning: PlanningInput, request: PlanRequest, status: str, requested_by: Principal
) -> dict[str, Any]:
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


def request_fields(request: PlanRequest) -> dict[str, Any]:
    """A request's options as JSON (what a job receives and the stored request records)."""
    return {
        "depot_id": request.depot_id,
        "service_date": request.service_date.isoformat(),
        "vehicle_ids": list(request.vehicle_ids),
        "engine": request.engine,
        "time_limit_s": request.time_limit_s,
        "breaks": request.breaks,
        "priority": request.priority,
        "mode": request.mode,
    }


def validate_request(session: Session, *, request: PlanRequest, principal: Principal) -> None:
    """Check that `principal` may plan `request`: permission, depot scope, the named vehicles.

    Every path (panel, REST, socket, the job itself) goes through here. An unknown depot and
    one outside the caller's scope raise the same PlanningError("depot_id"), so ids don't leak.
    """
    if not principal.can("plan:write"):
        raise PlanningError("principal", "your role may not plan routes")
    depot = session.get(Depot, request.depot_id)
    if depot is None or not principal.sees_depot(request.depot_id):
        raise PlanningError("depot_id", f"depot {request.depot_id} not found")
    if not depot.active:
        raise PlanningError("depot_id", f"depot {request.depot_id} is not active")
    _load_vehicles(session, depot.id, request.vehicle_ids)
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
) -> None:
    """Validate and store a request before its job starts: the job reads it back from here.

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
            "status": "pending",
            "meta": {"requested_by": principal.username, "requested_by_id": principal.user_id},
        },
        now=now,
    )
    _event(session, request_id, "requested", {"by": principal.username}, at=now)


def stored_request(row: OptimizationRequest) -> PlanRequest:
    """The PlanRequest a stored (pending) request row describes."""
    fields = dict(row.constraints or {})
    if row.depot_id is None:
        raise PlanningError("request_id", "the stored request names no depot")
    try:
        return PlanRequest(
            depot_id=row.depot_id,
            service_date=date.fromisoformat(str(fields["service_date"])),
            vehicle_ids=tuple(int(v) for v in fields.get("vehicle_ids") or ()),
            engine=str(fields.get("engine", "auto")),
            time_limit_s=float(fields.get("time_limit_s", 15.0)),
            breaks=bool(fields.get("breaks", False)),
            priority=int(row.priority),
            mode=str(fields.get("mode", "full")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanningError("request_id", f"the stored request is unreadable: {exc}") from None


def _claim(session: Session, *, request_id: str, now: datetime) -> OptimizationRequest:
    """Move a pending request to running, once: a second job for the same id gets an error."""
    claimed = session.execute(
        update(OptimizationRequest)
        .where(
            OptimizationRequest.request_id == request_id,
            OptimizationRequest.status == "pending",
        )
        .values(status="running", updated_at=now)
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
        ).where(OptimizationRequest.status.in_(("pending", "running")))
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
                OptimizationRequest.status.in_(("pending", "running")),
            )
            .values(status="failed", updated_at=now)
        )
        for request_id in dead:
            _event(
                session,
                request_id,
                "failed",
                {"error": "the planning job stopped without an answer"},
                at=now,
            )
    return dead


class _Throttle:
    """Lets a progress report through at most every `interval` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = 0.0
        self.lock = threading.Lock()

    def ready(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.interval:
                return False
            self.last = now
            return True


def run_plan(
    database: Database,
    cache: ResultCache | None,
    *,
    request_id: str,
    clock: Clock,
    principal: Principal | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PlanOutcome:
    """Run the stored pending request `request_id`: solve (or hit the cache), store the plan.

    Everything but the id is read from the database, and the requester's right to plan that
    depot with those vehicles is checked again (`principal` only for in-process callers that
    are trusted, like the demo start-up). Raises PlanningError only when the request is unknown
    or not pending (a second job for the same id); any later failure ends the request "failed".
    """
    with database.session() as session:
        _claim(session, request_id=request_id, now=clock.now())
    try:
        return _run_claimed(
            database,
            cache,
            request_id=request_id,
            clock=clock,
            principal=principal,
            on_progress=on_progress,
            cancel=cancel,
        )
    except (PlanningError, ProblemError) as exc:
        return _fail(database, request_id, f"{exc.field}: {exc.message}", now=clock.now())
    except Exception as exc:  # noqa: BLE001 - a crashed job is recorded as failed, never lost
        log.exception("planning job %s failed", request_id)
        return _fail(database, request_id, f"planning error: {type(exc).__name__}", now=clock.now())


def plan_in_process(
    database: Database,
    cache: ResultCache | None,
    *,
    request: PlanRequest,
    principal: Principal,
    clock: Clock,
    cancel: Callable[[], bool] | None = None,
) -> PlanOutcome:
    """Validate, record and run a request in this process (demo start-up, scripts, tests)."""
    request_id = uuid.uuid4().hex
    with database.session() as session:
        record_pending(
            session, request_id=request_id, request=request, principal=principal, now=clock.now()
        )
    return run_plan(
        database, cache, request_id=request_id, clock=clock, principal=principal, cancel=cancel
    )


def _requester(session: Session, row: OptimizationRequest) -> Principal:
    user_id = (row.meta or {}).get("requested_by_id")
    principal = get_principal(session, user_id=int(user_id)) if user_id else None
    if principal is None:
        raise PlanningError("requested_by", "the user who asked for this plan is no longer active")
    return principal


def _run_claimed(
    database: Database,
    cache: ResultCache | None,
    *,
    request_id: str,
    clock: Clock,
    principal: Principal | None,
    on_progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> PlanOutcome:
    started = time.monotonic()
    with database.session() as session:
        row = session.get(OptimizationRequest, request_id)
        assert row is not None  # claimed above
        request = stored_request(row)
        requester = principal or _requester(session, row)
        validate_request(session, request=request, principal=requester)
        now = clock.now()
        planning = build_problem(session, request=request, now=now)
        upsert_request(
            session,
            request_id=request_id,
            values=_request_values(planning, request, "running", requester),
            now=now,
        )
        _event(session, request_id, "created", {"orders": len(planning.problem.orders)}, at=now)
    key = request_hash(planning.payload)
    # A live day changes by the minute: only from-scratch plans are worth caching.
    cache = cache if request.mode == "full" else None
    cached = cache.get_response(key) if cache else None
    if cached is not None and "plan" in cached:
        plan = plan_from_json(cached["plan"])
        return _store_plan(
            database,
            planning,
            request,
            request_id,
            plan,
            started,
            cache_hit=True,
            status="completed",
            now=clock.now(),
        )

    throttle = _Throttle(1.0)
    improved: list[dict[str, Any]] = []

    def on_improve(best_cost: float, elapsed: float) -> None:
        report = {
            "best_cost": round(best_cost, 2),
            "elapsed_s": round(elapsed, 2),
            "engine": request.engine,
            "time_limit_s": request.time_limit_s,
        }
        improved.append(report)
        if on_progress is not None and throttle.ready():
            on_progress(report)

    with database.session() as session:
        _event(
            session,
            request_id,
            "started",
            {"engine": request.engine, "time_limit_s": request.time_limit_s},
            at=clock.now(),
        )
    options: dict[str, Any] = {
        "engine": request.engine,
        "time_limit": request.time_limit_s,
        "on_improve": on_improve,
        "cancel": cancel,
        "seed": request.seed,
    }
    if planning.active_plan is not None and planning.live_state is not None:
        plan = reoptimize(planning.problem, planning.active_plan, planning.live_state, **options)
    else:
        plan = solve(planning.problem, **options)
    cancelled = bool(cancel and cancel())
    if improved:
        with database.session() as session:
            _event(
                session,
                request_id,
                "improved",
                {"count": len(improved), "best": improved[-1], "first": improved[0]},
                at=clock.now(),
            )
    outcome = _store_plan(
        database,
        planning,
        request,
        request_id,
        plan,
        started,
        cache_hit=False,
        status="cancelled" if cancelled else "completed",
        now=clock.now(),
    )
    if cache and not cancelled and outcome.response_id:
        cache.put_request(key, planning.payload)
        cache.put_response(
            key,
            {
                "optimization_score": plan.score,
                "plan": plan_to_json(plan),
                "response_id": outcome.response_id,
            },
        )
    return outcome


def _fail(database: Database, request_id: str, message: str, *, now: datetime) -> PlanOutcome:
    with database.session() as session:
        session.execute(
            update(OptimizationRequest)
            .where(OptimizationRequest.request_id == request_id)
            .values(status="failed", updated_at=now)
        )
        _event(session, request_id, "failed", {"error": message}, at=now)
    return PlanOutcome(request_id, None, "failed", error=message)


def _store_plan(
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
                    OptimizationRequest.status.in_(("completed", "cancelled")),
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
        _event(session, request_id, status, {**summary, "response_id": response_id}, at=now)
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


@dataclass(frozen=True)
class AcceptedPlan:
    """The result of accepting a plan: what changed, for the broadcast."""

    response_id: str
    request_id: str
    depot_id: int
    service_date: str
    route_ids: list[int]
    vehicle_ids: list[int]
    orders_planned: int


def accept_plan(
    session: Session, *, response_id: str, principal: Principal, now: datetime
) -> AcceptedPlan:
    """Make a stored plan the active one for its depot and day; supersede the previous one."""
    response = session.get(OptimizationResponse, response_id)
    if response is None:
        raise PlanningError("response_id", "unknown plan")
    request = response.request
    if not principal.can("plan:write"):
        raise PlanningError("principal", "your role may not accept plans")
    if not principal.sees_depot(request.depot_id):
        raise PlanningError("response_id", "unknown plan")
    routes = list(session.scalars(select(Route).where(Route.response_id == response_id)))
    if not routes:
        raise PlanningError("response_id", "this plan has no routes to accept")
    service_date = routes[0].service_date
    depot_id = routes[0].depot_id
    # Plans stored before vehicles were checked against the depot must not move orders onto
    # another depot's fleet either.
    foreign = session.scalar(
        select(func.count())
        .select_from(Route)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Route.response_id == response_id, Vehicle.depot_id != depot_id)
    )
    if foreign:
        raise PlanningError("response_id", "this plan uses vehicles of another depot")
    session.execute(
        update(Route)
        .where(
            Route.depot_id == depot_id,
            Route.service_date == service_date,
            Route.status.in_((RouteStatus.ACTIVE, RouteStatus.PROPOSED)),
            # Routes made without a plan (history, hand-made) have no response id: `!=`
            # alone is NULL for them in SQL and would leave them active beside the new plan.
            or_(Route.response_id.is_(None), Route.response_id != response_id),
        )
        .values(status=RouteStatus.SUPERSEDED)
    )
    session.execute(
        update(Route).where(Route.response_id == response_id).values(status=RouteStatus.ACTIVE)
    )
    stops = session.execute(
        select(RouteStop.order_id, Route.vehicle_id)
        .join(Route, Route.id == RouteStop.route_id)
        .where(Route.response_id == response_id, RouteStop.order_id.is_not(None))
    ).all()
    planned = 0
    for vehicle_id in {v for _, v in stops}:
        order_ids = [o for o, v in stops if v == vehicle_id]
        result = session.execute(
            update(Order)
            .where(Order.id.in_(order_ids), Order.status.in_(PLANNABLE_STATUSES))
            .values(status=OrderStatus.PLANNED.value, vehicle_id=vehicle_id, planned_at=now)
        )
        planned += int(result.rowcount or 0)  # type: ignore[attr-defined]
        # A re-optimized day may hand an order already given to a driver to another one.
        session.execute(
            update(Order)
            .where(Order.id.in_(order_ids), Order.status == OrderStatus.DISPATCHED.value)
            .values(vehicle_id=vehicle_id)
        )
    # Orders of the day this plan leaves out go back to the unplanned pool.
    planned_ids = [o for o, _ in stops]
    session.execute(
        update(Order)
        .where(
            Order.depot_id == depot_id,
            Order.service_date == service_date,
            Order.status == OrderStatus.PLANNED.value,
            Order.id.not_in(planned_ids),
        )
        .values(status=OrderStatus.NEW.value, vehicle_id=None, planned_at=None)
    )
    _event(
        session,
        request.request_id,
        "accepted",
        {"response_id": response_id, "by": principal.username, "routes": len(routes)},
        at=now,
    )
    return AcceptedPlan(
        response_id=response_id,
        request_id=request.request_id,
        depot_id=depot_id,
        service_date=service_date.isoformat(),
        route_ids=[r.id for r in routes],
        vehicle_ids=sorted({r.vehicle_id for r in routes}),
        orders_planned=planned,
    )
