"""Building the solver's problem from the database: a depot's vehicles, orders and live day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.db.models import (
    FINAL_ORDER_STATUSES,
    PLANNABLE_ORDER_STATUSES,
    Depot,
    Order,
    OrderStatus,
    Route,
    RouteStatus,
    Vehicle,
)
from backend.db.models import VehicleState as VehicleStateRow
from backend.planning.request import (
    PlanningError,
    PlanningNotFound,
    PlanRequest,
)
from backend.solver import (
    Break,
    Location,
    Plan,
    Problem,
    TimeWindow,
    problem_fingerprint,
)
from backend.solver import Depot as SolverDepot
from backend.solver import Order as SolverOrder
from backend.solver import Vehicle as SolverVehicle
from backend.solver.live import LiveState
from backend.solver.live import VehicleState as LiveVehicle
from backend.solver.model import PickupDelivery
from backend.solver.model import Route as SolverRoute
from backend.solver.model import Stop as SolverStop

log = logging.getLogger(__name__)


# A 30-minute break inside the first 3.5-5.5 h of any shift longer than 6 h.
BREAK_AFTER_S, BREAK_WINDOW_S, BREAK_DURATION_S, BREAK_MIN_SHIFT_S = 12_600, 7_200, 1_800, 21_600


# Cost of leaving an order out, per priority point; far above any detour so orders are
# only dropped when they cannot be served at all.
DROP_PENALTY_BASE, DROP_PENALTY_PER_PRIORITY = 5_000.0, 1_000.0


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


def _seconds(value: datetime, origin: datetime) -> float:
    return (value - origin).total_seconds()


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(timezone))


def build_problem(session: Session, *, request: PlanRequest, now: datetime) -> PlanningInput:
    """Load the depot's vehicles and orders into a solver problem (live state for "remaining")."""
    depot = session.get(Depot, request.depot_id)
    if depot is None:
        raise PlanningNotFound("depot_id", f"unknown depot {request.depot_id}")
    origin = _local_midnight(request.service_date, depot.timezone)
    vehicles = load_vehicles(session, depot.id, request.vehicle_ids)
    active: list[Route] = []
    if request.mode == "remaining":
        active = list(
            session.scalars(
                select(Route)
                .where(
                    Route.depot_id == depot.id,
                    Route.service_date == request.service_date,
                    Route.status == RouteStatus.ACTIVE,
                )
                # The stops come with the routes (one more query), not one query per route.
                .options(selectinload(Route.stops))
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
    order_filter: ColumnElement[bool] = Order.status.in_(PLANNABLE_ORDER_STATUSES)
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
    orders = _without_lost_pickups(session, orders, keep=in_plan)
    depot_ids = {v.start_depot_id for v in vehicles} | {v.end_depot_id for v in vehicles}
    depots = list(session.scalars(select(Depot).where(Depot.id.in_(depot_ids))))
    units = tuple(sorted({unit for v in vehicles for unit in v.capacity}))

    solver_vehicles = tuple(_solver_vehicle(v, units, request.breaks) for v in vehicles)
    solver_orders = {str(o.id): _solver_order(o, units, origin) for o in orders}
    planned_orders = tuple(
        solver_orders[str(i)] for i in sorted(in_plan) if str(i) in solver_orders
    )
    problem_orders = planned_orders if active else tuple(solver_orders.values())
    problem = Problem(
        orders=problem_orders,
        vehicles=solver_vehicles,
        depots=tuple(SolverDepot(str(d.id), Location(d.lat, d.lon)) for d in depots),
        capacity_units=units,
        pairs=_pairs(orders, {o.id for o in problem_orders}),
    )
    active_plan = live_state = None
    if active:
        active_plan = _plan_from_routes(active, origin)
        live_state = _live_state(
            session, active, orders, solver_orders, vehicles, depots, in_plan, _seconds(now, origin)
        )
    # The cache key: every option of the request and every field of the problem it built.
    payload = {
        **request.model_dump(mode="json"),
        "vehicle_ids": [v.id for v in vehicles],
        "problem": problem_fingerprint(problem),
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


def load_vehicles(session: Session, depot_id: int, vehicle_ids: tuple[int, ...]) -> list[Vehicle]:
    """The depot's active vehicles (only those named, when `vehicle_ids` is given)."""
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


def solver_fleet(
    vehicles: list[Vehicle], *, breaks: bool = False
) -> tuple[tuple[str, ...], tuple[SolverVehicle, ...]]:
    """The capacity units of `vehicles` and the vehicles as the solver sees them."""
    units = tuple(sorted({unit for v in vehicles for unit in v.capacity}))
    return units, tuple(_solver_vehicle(v, units, breaks) for v in vehicles)


def _without_lost_pickups(session: Session, orders: list[Order], *, keep: set[int]) -> list[Order]:
    """The orders less the deliveries whose pickup was cancelled or failed: nothing to bring.

    Those already on a route in force (`keep`) stay, for the live day to read consistently;
    the dispatcher cancels them.
    """
    loaded = {o.id for o in orders}
    pickup_ids = {o.pickup_order_id for o in orders if o.pickup_order_id is not None} - loaded
    if not pickup_ids:
        return orders
    lost = set(
        session.scalars(
            select(Order.id).where(
                Order.id.in_(pickup_ids),
                Order.status.in_((OrderStatus.CANCELLED, OrderStatus.FAILED)),
            )
        )
    )
    return [o for o in orders if o.id in keep or o.pickup_order_id not in lost]


def _pairs(orders: list[Order], planned: set[str]) -> tuple[PickupDelivery, ...]:
    """Pickup-and-delivery pairs among the orders being planned (both ends in the problem).

    A delivery whose pickup was already collected is planned alone: in a live day the
    vehicle that collected it keeps it (solver.live).
    """
    return tuple(
        PickupDelivery(pickup=str(o.pickup_order_id), delivery=str(o.id))
        for o in orders
        if o.pickup_order_id is not None
        and str(o.pickup_order_id) in planned
        and str(o.id) in planned
    )


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
