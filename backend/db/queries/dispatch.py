"""Read queries behind the Dispatch map: depots, today's orders, vehicles and routes of a day."""

from __future__ import annotations

import dataclasses
import enum
import itertools
import math
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backend.db.models import (
    FINAL_ORDER_STATUSES,
    ROUTES_IN_FORCE,
    ROUTES_ON_MAP,
    Depot,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    OrderStatus,
    Route,
    RouteEvent,
    RouteStop,
    User,
    Vehicle,
    VehicleState,
)
from backend.db.queries.fleet_state import (
    SILENT_AFTER,
    VehicleActivity,
    dispatch_status,
    vehicle_activity,
)
from backend.eta import ArrivalEstimates, Fix, PlannedStop, estimate_from_plan

# Orders still to be served, per vehicle, in the side list.
OPEN_STATUSES = frozenset(OrderStatus) - FINAL_ORDER_STATUSES


@dataclass(frozen=True, slots=True)
class DepotMarker:
    """A depot on the map."""

    id: int
    name: str
    address: str
    lat: float
    lon: float
    timezone: str


@dataclass(frozen=True, slots=True)
class OrderMarker:
    """An order of the day on the map, with what its tooltip shows."""

    id: int
    reference: str
    customer_name: str
    address: str
    lat: float
    lon: float
    status: str
    priority: int
    depot_id: int
    vehicle_id: int | None
    vehicle_name: str | None
    window_start: datetime
    window_end: datetime
    timezone: str


@dataclass(frozen=True, slots=True)
class VehicleMarker:
    """A vehicle with its last known position (its depot when none) and its day's workload.

    `status` is what the device last reported; `activity` is what every page shows (see
    backend.db.queries.fleet_state).
    """

    id: int
    name: str
    vehicle_type: str
    plate: str
    depot_id: int
    depot_name: str
    timezone: str
    lat: float
    lon: float
    heading: float | None
    speed: float | None
    status: str
    recorded_at: datetime | None
    orders_total: int
    orders_done: int
    orders_open: int
    activity: str = VehicleActivity.PARKED
    depot_lat: float | None = None
    depot_lon: float | None = None

    @property
    def parked(self) -> bool:
        """At its depot (or never seen): the map lists it instead of stacking it on the depot."""
        return self.activity == VehicleActivity.PARKED


@dataclass(frozen=True, slots=True)
class RouteLine:
    """A route's geometry for the map."""

    id: int
    vehicle_id: int
    vehicle_name: str
    status: str
    points: list[tuple[float, float]]


def _tz(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def get_local_today(session: Session, *, depot_ids: Collection[int] | None, now: datetime) -> date:
    """Today's date in the time zone of the first depot in scope (UTC when there is none)."""
    stmt = select(Depot.timezone).order_by(Depot.id).limit(1)
    if depot_ids is not None:
        stmt = stmt.where(Depot.id.in_(sorted(depot_ids)))
    tz_name = session.scalar(stmt)
    return now.astimezone(_tz(tz_name)).date()


def list_depot_markers(session: Session, *, depot_ids: Collection[int] | None) -> list[DepotMarker]:
    """Active depots inside the scope (None = every depot)."""
    stmt = select(Depot).where(Depot.active.is_(True)).order_by(Depot.name)
    if depot_ids is not None:
        stmt = stmt.where(Depot.id.in_(sorted(depot_ids)))
    return [
        DepotMarker(d.id, d.name, d.address, d.lat, d.lon, d.timezone)
        for d in session.scalars(stmt)
    ]


def list_order_markers(
    session: Session, *, depot_ids: Collection[int] | None, service_date: date
) -> list[OrderMarker]:
    """Every order of `service_date` inside the scope, with its vehicle's name (one query)."""
    stmt = (
        select(Order, Vehicle.name, Depot.timezone)
        .join(Depot, Depot.id == Order.depot_id)
        .outerjoin(Vehicle, Vehicle.id == Order.vehicle_id)
        .where(Order.service_date == service_date)
        .order_by(Order.window_start, Order.id)
    )
    if depot_ids is not None:
        stmt = stmt.where(Order.depot_id.in_(sorted(depot_ids)))
    return [
        OrderMarker(
            id=o.id,
            reference=o.reference,
            customer_name=o.customer_name,
            address=o.address,
            lat=o.lat,
            lon=o.lon,
            status=o.status,
            priority=o.priority,
            depot_id=o.depot_id,
            vehicle_id=o.vehicle_id,
            vehicle_name=vehicle_name,
            window_start=o.window_start,
            window_end=o.window_end,
            timezone=tz,
        )
        for o, vehicle_name, tz in session.execute(stmt)
    ]


def list_vehicle_markers(
    session: Session, *, depot_ids: Collection[int] | None, service_date: date, now: datetime
) -> list[VehicleMarker]:
    """Active vehicles with their latest state and order counts of the day (one statement).

    Each carries its activity at `now` (moving, stopped, parked, offline).
    """
    counts = (
        select(
            Order.vehicle_id.label("vehicle_id"),
            func.count().label("total"),
            func.sum(case((Order.status == OrderStatus.DELIVERED, 1), else_=0)).label("done"),
            func.sum(case((Order.status.in_(sorted(OPEN_STATUSES)), 1), else_=0)).label("open"),
        )
        .where(Order.service_date == service_date, Order.vehicle_id.is_not(None))
        .group_by(Order.vehicle_id)
        .subquery()
    )
    stmt = (
        select(Vehicle, Depot, VehicleState, counts.c.total, counts.c.done, counts.c.open)
        .join(Depot, Depot.id == Vehicle.depot_id)
        .outerjoin(VehicleState, VehicleState.vehicle_id == Vehicle.id)
        .outerjoin(counts, counts.c.vehicle_id == Vehicle.id)
        .where(Vehicle.active.is_(True))
        .order_by(Depot.name, Vehicle.name)
    )
    if depot_ids is not None:
        stmt = stmt.where(Vehicle.depot_id.in_(sorted(depot_ids)))
    rows = []
    for vehicle, depot, state, total, done, open_ in session.execute(stmt):
        activity = vehicle_activity(
            now=now,
            recorded_at=state.recorded_at if state else None,
            lat=state.lat if state else depot.lat,
            lon=state.lon if state else depot.lon,
            speed=state.speed if state else None,
            reported=state.status if state else None,
            depot_lat=depot.lat,
            depot_lon=depot.lon,
        )
        rows.append(
            VehicleMarker(
                id=vehicle.id,
                name=vehicle.name,
                vehicle_type=vehicle.vehicle_type,
                plate=vehicle.plate,
                depot_id=depot.id,
                depot_name=depot.name,
                timezone=depot.timezone,
                lat=state.lat if state else depot.lat,
                lon=state.lon if state else depot.lon,
                heading=state.heading if state else None,
                speed=state.speed if state else None,
                status=state.status if state else "idle",
                recorded_at=state.recorded_at if state else None,
                orders_total=int(total or 0),
                orders_done=int(done or 0),
                orders_open=int(open_ or 0),
                activity=activity,
                depot_lat=depot.lat,
                depot_lon=depot.lon,
            )
        )
    return rows


def list_route_lines(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    service_date: date,
    response_id: str | None = None,
) -> list[RouteLine]:
    """The day's accepted routes (`ROUTES_ON_MAP`) or, by `response_id`, one plan's routes."""
    # Proposed plans stay stored for comparison; the map shows one only when asked for it.
    which = (
        Route.response_id == response_id if response_id else Route.status.in_(sorted(ROUTES_ON_MAP))
    )
    stmt = (
        select(Route.id, Route.vehicle_id, Vehicle.name, Route.status, Route.geometry)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Route.service_date == service_date, which)
        .order_by(Vehicle.name)
    )
    if depot_ids is not None:
        stmt = stmt.where(Route.depot_id.in_(sorted(depot_ids)))
    return [
        RouteLine(rid, vid, vname, status, [(float(p[0]), float(p[1])) for p in geometry or []])
        for rid, vid, vname, status, geometry in session.execute(stmt)
    ]


# ---------------------------------------------------------------------------------------------
# The dispatcher's live day: every row the Dispatch page shows, in a fixed number of queries.
# ---------------------------------------------------------------------------------------------


class StopState(enum.StrEnum):
    """A stop as the map colours it."""

    PENDING = "pending"
    NEXT = "next"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


# Events that change what a dispatcher must do: listed in the vehicle's card in red.
SIGNIFICANT_EVENTS = frozenset(
    {
        "accident",
        "breakdown",
        "traffic_jam",
        "road_closure",
        "weather_alert",
        "delivery_issue",
        "customer_unavailable",
        "emergency",
    }
)
# The stops after the next one listed in a vehicle's card.
UPCOMING_STOPS = 3
# The latest events kept per vehicle for its card.
EVENTS_PER_VEHICLE = 6
# Road lines asked of the routing server at once (OSRM_URL).
ROAD_REQUESTS_AT_ONCE = 8
# How many recent plans are read for the solver's reasons of unassigned orders.
RECENT_PLANS = 50


class RouteGeometry(Protocol):
    """Draws a route's line through its points ((lat, lon) in, (lat, lon) out)."""

    def geometry(self, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        """The line to draw through `points`."""
        ...


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event of the day for a vehicle's card."""

    vehicle_id: int
    event_type: str
    occurred_at: datetime
    order_reference: str | None
    significant: bool


@dataclass(frozen=True, slots=True)
class StopRow:
    """A delivery or break stop of a route of the day, with its state and estimate."""

    stop_id: int
    route_id: int
    route_index: int
    vehicle_id: int
    vehicle_name: str
    sequence: int
    kind: str
    lat: float
    lon: float
    state: str
    at_risk: bool
    eta: datetime | None
    planned_arrival_at: datetime
    planned_departure_at: datetime
    actual_arrival_at: datetime | None
    actual_departure_at: datetime | None
    order_id: int | None
    reference: str | None
    customer_name: str | None
    address: str | None
    window_start: datetime | None
    window_end: datetime | None
    demand: dict[str, float]
    timezone: str
    depot_id: int


@dataclass(frozen=True, slots=True)
class RouteRow:
    """A route of the day with its colour index and where the driven part of its line ends."""

    id: int
    index: int
    vehicle_id: int
    vehicle_name: str
    status: str
    points: list[tuple[float, float]]
    driven_points: int
    planned_km: float
    actual_km: float | None
    depot_id: int


@dataclass(frozen=True, slots=True)
class VehicleRow:
    """A vehicle of the side panel and the map: badge, driver, load, progress, next stop."""

    id: int
    name: str
    vehicle_type: str
    plate: str
    depot_id: int
    depot_name: str
    timezone: str
    lat: float
    lon: float
    heading: float | None
    speed: float | None
    recorded_at: datetime | None
    activity: str
    status: str
    driver_name: str | None
    driver_phone: str | None
    capacity: dict[str, float]
    load: dict[str, float]
    stops_done: int
    stops_total: int
    route_id: int | None
    route_index: int | None
    next_stop_id: int | None
    next_reference: str | None
    next_eta: datetime | None
    next_lat: float | None
    next_lon: float | None
    delay_min: float | None
    depot_lat: float
    depot_lon: float
    references: tuple[str, ...] = ()
    events: tuple[EventLine, ...] = ()
    # The stops after the next one: (order reference, ETA).
    upcoming: tuple[tuple[str, datetime | None], ...] = ()


@dataclass(frozen=True, slots=True)
class UnassignedOrder:
    """An order of the day that no route serves, with the solver's reason when it gave one."""

    id: int
    reference: str
    customer_name: str
    address: str
    lat: float
    lon: float
    window_start: datetime
    window_end: datetime
    depot_id: int
    timezone: str
    reason: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class DispatchKpis:
    """Today so far: stops served on time / late, failed, at risk, km driven vs planned."""

    stops_total: int
    served: int
    on_time: int
    late: int
    failed: int
    at_risk: int
    km_driven: float
    km_planned: float


@dataclass(frozen=True, slots=True)
class DispatchDay:
    """Everything the Dispatch page draws for one day and scope."""

    vehicles: list[VehicleRow]
    stops: list[StopRow]
    routes: list[RouteRow]
    unassigned: list[UnassignedOrder]
    kpis: DispatchKpis


def _stop_state(
    stop_status: str,
    order_status: str | None,
    actual_arrival_at: datetime | None,
    actual_departure_at: datetime | None,
    is_next: bool,
) -> StopState:
    status = order_status or stop_status
    if status == OrderStatus.CANCELLED or stop_status in ("skipped", "cancelled"):
        return StopState.CANCELLED
    if status == OrderStatus.FAILED or stop_status == "failed":
        return StopState.FAILED
    if status == OrderStatus.DELIVERED or actual_departure_at is not None or stop_status == "done":
        return StopState.DELIVERED
    if status == OrderStatus.ARRIVED or actual_arrival_at is not None:
        return StopState.ARRIVED
    return StopState.NEXT if is_next else StopState.PENDING


OPEN_STOP_STATES = frozenset({StopState.PENDING, StopState.NEXT, StopState.ARRIVED})
DONE_STOP_STATES = frozenset({StopState.DELIVERED, StopState.FAILED})


def _driven_points(
    points: Sequence[tuple[float, float]], done: Sequence[tuple[float, float]]
) -> int:
    """How many points of a route's line lie up to its last stop served (1: none driven)."""
    if not done or len(points) < 2:
        return 1
    lat, lon = done[-1]
    best = min(
        range(len(points)), key=lambda i: (points[i][0] - lat) ** 2 + (points[i][1] - lon) ** 2
    )
    return max(1, best + 1)


def _reasons(
    session: Session, depot_ids: Collection[int] | None, service_date: date
) -> dict[int, tuple[str, str | None]]:
    stmt = (
        select(OptimizationResponse.meta)
        .join(
            OptimizationRequest, OptimizationRequest.request_id == OptimizationResponse.request_id
        )
        .order_by(OptimizationResponse.created_at.desc())
        .limit(RECENT_PLANS)
    )
    if depot_ids is not None:
        stmt = stmt.where(OptimizationRequest.depot_id.in_(sorted(depot_ids)))
    reasons: dict[int, tuple[str, str | None]] = {}
    for meta in session.scalars(stmt):
        if not isinstance(meta, dict) or meta.get("service_date") != service_date.isoformat():
            continue
        for item in meta.get("unassigned_orders") or []:
            try:
                order_id = int(item["order_id"])
            except (KeyError, TypeError, ValueError):
                continue
            # Newest plan first: its reason wins.
            reasons.setdefault(order_id, (str(item.get("reason") or ""), item.get("detail")))
    return reasons


def _stop_statement(
    depots: list[int] | None, service_date: date, vehicle_ids: Collection[int] | None = None
) -> Any:
    """The delivery and break stops of the day's routes on the map, as plain columns."""
    stmt: Any = (
        select(
            RouteStop.id,
            RouteStop.route_id,
            RouteStop.sequence,
            RouteStop.kind,
            RouteStop.lat,
            RouteStop.lon,
            RouteStop.planned_arrival_at,
            RouteStop.planned_departure_at,
            RouteStop.actual_arrival_at,
            RouteStop.actual_departure_at,
            RouteStop.status,
            RouteStop.order_id,
            Order.reference,
            Order.customer_name,
            Order.address,
            Order.window_start,
            Order.window_end,
            Order.demand,
            Order.status,
            Depot.timezone,
            Route.vehicle_id,
            Vehicle.name,
            Route.depot_id,
        )
        .join(Route, Route.id == RouteStop.route_id)
        .join(Depot, Depot.id == Route.depot_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .where(
            Route.service_date == service_date,
            Route.status.in_(sorted(ROUTES_ON_MAP)),
            RouteStop.kind.in_(("delivery", "break")),
        )
        .order_by(RouteStop.route_id, RouteStop.sequence)
    )
    if depots is not None:
        stmt = stmt.where(Route.depot_id.in_(depots))
    if vehicle_ids is not None:
        stmt = stmt.where(Route.vehicle_id.in_(sorted(vehicle_ids)))
    return stmt


def _stop_rows(
    rows: Iterable[Any], index_of: dict[int, int], estimates: ArrivalEstimates | None
) -> list[StopRow]:
    stops = []
    for (
        stop_id, route_id, sequence, kind, lat, lon, p_arr, p_dep, a_arr, a_dep, stop_status,
        order_id, reference, customer, address, w_start, w_end, demand, order_status, tz,
        vehicle_id, vehicle_name, depot_id,
    ) in rows:  # fmt: skip
        route_est = estimates.routes.get(route_id) if estimates else None
        is_next = route_est is not None and route_est.next_stop_id == stop_id
        state = _stop_state(stop_status, order_status, a_arr, a_dep, is_next)
        est = estimates.stops.get(stop_id) if estimates else None
        stops.append(
            StopRow(
                stop_id=stop_id,
                route_id=route_id,
                route_index=index_of.get(route_id, 0),
                vehicle_id=vehicle_id,
                vehicle_name=vehicle_name,
                sequence=sequence,
                kind=kind,
                lat=lat,
                lon=lon,
                state=state,
                at_risk=bool(est and est.at_risk and state in (StopState.PENDING, StopState.NEXT)),
                eta=est.eta if est else None,
                planned_arrival_at=p_arr,
                planned_departure_at=p_dep,
                actual_arrival_at=a_arr,
                actual_departure_at=a_dep,
                order_id=order_id,
                reference=reference,
                customer_name=customer,
                address=address,
                window_start=w_start,
                window_end=w_end,
                demand={k: float(v) for k, v in (demand or {}).items()},
                timezone=tz,
                depot_id=depot_id,
            )
        )
    return stops


def _unassigned_statement(depots: list[int] | None, service_date: date) -> Any:
    served = (
        select(RouteStop.order_id)
        .join(Route, Route.id == RouteStop.route_id)
        .where(
            Route.service_date == service_date,
            Route.status.in_(sorted(ROUTES_ON_MAP)),
            RouteStop.order_id.is_not(None),
        )
    )
    stmt: Any = (
        select(
            Order.id,
            Order.reference,
            Order.customer_name,
            Order.address,
            Order.lat,
            Order.lon,
            Order.window_start,
            Order.window_end,
            Order.depot_id,
            Depot.timezone,
        )
        .join(Depot, Depot.id == Order.depot_id)
        .where(
            Order.service_date == service_date,
            Order.status.not_in(sorted(FINAL_ORDER_STATUSES)),
            Order.id.not_in(served),
        )
        .order_by(Order.window_start, Order.id)
    )
    if depots is not None:
        stmt = stmt.where(Order.depot_id.in_(depots))
    return stmt


def _unassigned_rows(
    rows: Iterable[Any], reasons: dict[int, tuple[str, str | None]]
) -> list[UnassignedOrder]:
    return [
        UnassignedOrder(
            oid,
            ref,
            customer,
            address,
            lat,
            lon,
            w_start,
            w_end,
            depot_id,
            tz,
            *reasons.get(oid, (None, None)),
        )  # fmt: skip
        for oid, ref, customer, address, lat, lon, w_start, w_end, depot_id, tz in rows
    ]


def get_dispatch_day(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    service_date: date,
    now: datetime,
    silent_after: timedelta = SILENT_AFTER,
) -> DispatchDay:
    """The Dispatch page's day inside the scope, in six statements whatever the fleet size.

    Vehicles (with their driver and state), the day's routes, their stops, the orders no route
    serves and the recent plans' reasons, today's events; the ETAs are `backend.eta`'s
    (`estimate_from_plan`, the body of `estimate_arrivals`, fed with the rows read here).
    No statement runs per vehicle or per stop; rows are read as plain columns (no ORM
    objects: 5,000 stops load in a fraction of a second).
    """
    depots = None if depot_ids is None else sorted(depot_ids)
    driver = (
        select(User.vehicle_id, func.min(User.id).label("user_id"))
        .where(User.vehicle_id.is_not(None), User.active.is_(True))
        .group_by(User.vehicle_id)
        .subquery()
    )
    vstmt = (
        select(
            Vehicle.id,
            Vehicle.name,
            Vehicle.vehicle_type,
            Vehicle.plate,
            Vehicle.capacity,
            Depot.id,
            Depot.name,
            Depot.timezone,
            Depot.lat,
            Depot.lon,
            VehicleState.recorded_at,
            VehicleState.lat,
            VehicleState.lon,
            VehicleState.speed,
            VehicleState.heading,
            VehicleState.status,
            User.display_name,
            User.username,
            User.phone,
        )
        .join(Depot, Depot.id == Vehicle.depot_id)
        .outerjoin(VehicleState, VehicleState.vehicle_id == Vehicle.id)
        .outerjoin(driver, driver.c.vehicle_id == Vehicle.id)
        .outerjoin(User, User.id == driver.c.user_id)
        .where(Vehicle.active.is_(True))
        .order_by(Depot.name, Vehicle.name)
    )
    rstmt = (
        select(
            Route.id,
            Route.vehicle_id,
            Vehicle.name,
            Route.status,
            Route.geometry,
            Route.planned_distance_km,
            Route.actual_distance_km,
            Route.depot_id,
            Route.planned_start_at,
            Route.actual_start_at,
        )
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Route.service_date == service_date, Route.status.in_(sorted(ROUTES_ON_MAP)))
        .order_by(Vehicle.name, Route.id)
    )
    estmt = (
        select(
            RouteEvent.vehicle_id, RouteEvent.event_type, RouteEvent.occurred_at, Order.reference
        )
        .outerjoin(Order, Order.id == RouteEvent.order_id)
        .where(
            RouteEvent.vehicle_id.is_not(None),
            RouteEvent.occurred_at >= now - timedelta(hours=24),
            RouteEvent.occurred_at <= now,
        )
        .order_by(RouteEvent.occurred_at.desc(), RouteEvent.id.desc())
    )
    if depots is not None:
        vstmt = vstmt.where(Vehicle.depot_id.in_(depots))
        rstmt = rstmt.where(Route.depot_id.in_(depots))
        estmt = estmt.where(RouteEvent.depot_id.in_(depots))

    routes_raw = list(session.execute(rstmt))
    # One colour per route, by the route's order on the page (vehicle name).
    index_of = {row[0]: i for i, row in enumerate(routes_raw)}
    route_times = {row[0]: (row[8], row[9]) for row in routes_raw}
    route_of_vehicle: dict[int, tuple[int, str]] = {}
    for rid, vid, _name, status, *_rest in routes_raw:
        current = route_of_vehicle.get(vid)
        # A vehicle's route in force wins over its finished one.
        if current is None or current[1] not in ROUTES_IN_FORCE:
            route_of_vehicle[vid] = (rid, status)

    stop_rows = list(session.execute(_stop_statement(depots, service_date)))
    # The ETAs from the rows just read (backend.eta's estimate, as estimate_arrivals makes it
    # from its own query): routes in force only, with the vehicles' last fixes.
    in_force = {rid for rid, _vid, _n, status, *_r in routes_raw if status in ROUTES_IN_FORCE}
    planned = [
        PlannedStop(
            row[0],
            row[1],
            row[20],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            row[18],
            row[15],
            row[16],
            *route_times[row[1]],
        )  # fmt: skip
        for row in stop_rows
        if row[1] in in_force
    ]
    vehicle_rows = list(session.execute(vstmt))
    fixes = {row[0]: Fix(row[11], row[12], row[10]) for row in vehicle_rows if row[10] is not None}
    estimates = estimate_from_plan(planned, fixes, now=now)
    stops = _stop_rows(stop_rows, index_of, estimates)
    done_points: dict[int, list[tuple[float, float]]] = {}
    stops_by_route: dict[int, list[StopRow]] = {}
    for s in stops:
        stops_by_route.setdefault(s.route_id, []).append(s)
        if s.state in (StopState.DELIVERED, StopState.FAILED):
            done_points.setdefault(s.route_id, []).append((s.lat, s.lon))
    routes = []
    for rid, vid, name, status, geometry, planned_km, actual_km, depot_id, *_times in routes_raw:
        points = [(float(p[0]), float(p[1])) for p in geometry or []]
        routes.append(
            RouteRow(
                id=rid,
                index=index_of[rid],
                vehicle_id=vid,
                vehicle_name=name,
                status=status,
                points=points,
                driven_points=_driven_points(points, done_points.get(rid, [])),
                planned_km=float(planned_km or 0.0),
                actual_km=actual_km,
                depot_id=depot_id,
            )
        )

    events: dict[int, list[EventLine]] = {}
    for vehicle_id, event_type, occurred_at, reference in session.execute(estmt):
        if vehicle_id is None:
            continue
        bucket = events.setdefault(vehicle_id, [])
        if len(bucket) < EVENTS_PER_VEHICLE:
            significant = event_type in SIGNIFICANT_EVENTS
            bucket.append(EventLine(vehicle_id, event_type, occurred_at, reference, significant))

    vehicles: list[VehicleRow] = []
    for (
        vid, name, vtype, plate, capacity, depot_id, depot_name, tz, depot_lat, depot_lon,
        recorded_at, s_lat, s_lon, speed, heading, reported, display_name, username, phone,
    ) in vehicle_rows:  # fmt: skip
        seen = recorded_at is not None
        lat = s_lat if seen else depot_lat
        lon = s_lon if seen else depot_lon
        activity = vehicle_activity(
            now=now,
            recorded_at=recorded_at,
            lat=lat,
            lon=lon,
            speed=speed,
            reported=reported,
            depot_lat=depot_lat,
            depot_lon=depot_lon,
            silent_after=silent_after,
        )
        route = route_of_vehicle.get(vid)
        own = [s for s in stops_by_route.get(route[0], []) if s.kind == "delivery"] if route else []
        route_est = estimates.routes.get(route[0]) if route else None
        next_id = route_est.next_stop_id if route_est else None
        nxt = next((s for s in own if s.stop_id == next_id), None) if next_id else None
        left = sum(1 for s in own if s.state in OPEN_STOP_STATES)
        load: dict[str, float] = {}
        for s in own:
            if s.state != StopState.CANCELLED:
                for unit, amount in s.demand.items():
                    load[unit] = load.get(unit, 0.0) + amount
        status = dispatch_status(
            activity,
            has_route=route is not None and route[1] in ROUTES_IN_FORCE,
            stops_left=left,
            lat=lat,
            lon=lon,
            next_lat=nxt.lat if nxt else None,
            next_lon=nxt.lon if nxt else None,
        )
        vehicles.append(
            VehicleRow(
                id=vid,
                name=name,
                vehicle_type=vtype,
                plate=plate,
                depot_id=depot_id,
                depot_name=depot_name,
                timezone=tz,
                lat=lat,
                lon=lon,
                heading=heading if seen else None,
                speed=speed if seen else None,
                recorded_at=recorded_at,
                activity=activity,
                status=status,
                driver_name=(display_name or username) if username else None,
                driver_phone=phone or None,
                capacity={k: float(v) for k, v in (capacity or {}).items()},
                load=load,
                stops_done=sum(1 for s in own if s.state in DONE_STOP_STATES),
                stops_total=sum(1 for s in own if s.state != StopState.CANCELLED),
                route_id=route[0] if route else None,
                route_index=index_of.get(route[0]) if route else None,
                next_stop_id=nxt.stop_id if nxt else None,
                next_reference=nxt.reference if nxt else None,
                next_eta=nxt.eta if nxt else None,
                next_lat=nxt.lat if nxt else None,
                next_lon=nxt.lon if nxt else None,
                delay_min=route_est.delay_min if route_est and next_id else None,
                depot_lat=depot_lat,
                depot_lon=depot_lon,
                references=tuple(s.reference for s in own if s.reference),
                events=tuple(events.get(vid, ())),
                upcoming=tuple(
                    (s.reference or f"Stop {s.sequence}", s.eta)
                    for s in own
                    if s.state == StopState.PENDING and s.stop_id != next_id
                )[:UPCOMING_STOPS],
            )
        )

    reasons = _reasons(session, depot_ids, service_date)
    unassigned = _unassigned_rows(
        session.execute(_unassigned_statement(depots, service_date)), reasons
    )
    return DispatchDay(vehicles, stops, routes, unassigned, _kpis(stops, routes))


def list_stop_rows(
    session: Session, *, depot_ids: Collection[int] | None, service_date: date
) -> list[StopRow]:
    """The day's stops without estimates (one statement): plan and fact for cards."""
    depots = None if depot_ids is None else sorted(depot_ids)
    return _stop_rows(session.execute(_stop_statement(depots, service_date)), {}, None)


@dataclass(frozen=True, slots=True)
class TimelineDay:
    """One page of the route timeline: its vehicles' stops, of how many rows, and the pool."""

    rows: list[str]
    total: int
    stops: list[StopRow]
    unassigned: list[UnassignedOrder]


def get_timeline_day(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    service_date: date,
    offset: int = 0,
    limit: int = 40,
) -> TimelineDay:
    """The timeline's page: the vehicles with a route (by name) from `offset`, their stops and
    the orders no route serves (three statements; no ETAs, the timeline shows plan and fact)."""
    depots = None if depot_ids is None else sorted(depot_ids)
    names = (
        select(Vehicle.id, Vehicle.name)
        .join(Route, Route.vehicle_id == Vehicle.id)
        .where(Route.service_date == service_date, Route.status.in_(sorted(ROUTES_ON_MAP)))
        .group_by(Vehicle.id, Vehicle.name)
        .order_by(Vehicle.name)
    )
    if depots is not None:
        names = names.where(Route.depot_id.in_(depots))
    everyone = list(session.execute(names))
    page = everyone[offset : offset + limit]
    ids_on_page = [vid for vid, _name in page]
    stops = (
        _stop_rows(session.execute(_stop_statement(depots, service_date, ids_on_page)), {}, None)
        if ids_on_page
        else []
    )
    unassigned = _unassigned_rows(session.execute(_unassigned_statement(depots, service_date)), {})
    return TimelineDay([name for _vid, name in page], len(everyone), stops, unassigned)


def _kpis(stops: Sequence[StopRow], routes: Sequence[RouteRow]) -> DispatchKpis:
    deliveries = [s for s in stops if s.kind == "delivery" and s.state != StopState.CANCELLED]
    on_time = late = failed = 0
    for s in deliveries:
        if s.state == StopState.FAILED:
            failed += 1
        elif s.state == StopState.DELIVERED:
            arrived = s.actual_arrival_at or s.actual_departure_at
            if arrived is not None and s.window_end is not None and arrived > s.window_end:
                late += 1
            else:
                on_time += 1
    driven = 0.0
    for r in routes:
        if r.actual_km is not None:
            driven += r.actual_km
        elif len(r.points) >= 2 and r.driven_points > 1:
            driven += _line_km(r.points[: r.driven_points])
    return DispatchKpis(
        stops_total=len(deliveries),
        served=on_time + late,
        on_time=on_time,
        late=late,
        failed=failed,
        at_risk=sum(1 for s in deliveries if s.at_risk),
        km_driven=round(driven, 1),
        km_planned=round(sum(r.planned_km for r in routes), 1),
    )


def _line_km(points: Sequence[tuple[float, float]]) -> float:
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
        dlat = (lat2 - lat1) * 111.2
        dlon = (lon2 - lon1) * 111.2 * math.cos(math.radians((lat1 + lat2) / 2))
        total += math.hypot(dlat, dlon)
    return total


def list_alert_links(
    session: Session, *, route_event_ids: Collection[int], depot_ids: Collection[int] | None
) -> dict[int, tuple[int | None, str | None, int | None, str | None]]:
    """Each route event's vehicle (id, name) and stop (id, order reference), in one query."""
    wanted = sorted(set(route_event_ids))
    if not wanted:
        return {}
    stmt = (
        select(RouteEvent.id, Vehicle.id, Vehicle.name, RouteStop.id, Order.reference)
        .outerjoin(Vehicle, Vehicle.id == RouteEvent.vehicle_id)
        .outerjoin(Order, Order.id == RouteEvent.order_id)
        .outerjoin(
            RouteStop,
            (RouteStop.order_id == RouteEvent.order_id)
            & (RouteStop.route_id == RouteEvent.route_id),
        )
        .where(RouteEvent.id.in_(wanted))
    )
    if depot_ids is not None:
        stmt = stmt.where(RouteEvent.depot_id.in_(sorted(depot_ids)))
    return {eid: (vid, vname, sid, ref) for eid, vid, vname, sid, ref in session.execute(stmt)}


def with_road_geometry(
    routes: Sequence[RouteRow], stops: Sequence[StopRow], provider: RouteGeometry
) -> list[RouteRow]:
    """The routes with their lines on roads (`provider`, e.g. OSRM), driven part recut.

    Requests for lines not cached yet run a few at a time; a failing provider returns the
    straight line, so this never fails.
    """
    done: dict[int, list[tuple[float, float]]] = {}
    for s in stops:
        if s.state in DONE_STOP_STATES:
            done.setdefault(s.route_id, []).append((s.lat, s.lon))
    with ThreadPoolExecutor(max_workers=ROAD_REQUESTS_AT_ONCE) as pool:
        lines = list(pool.map(provider.geometry, [r.points for r in routes]))
    return [
        dataclasses.replace(r, points=line, driven_points=_driven_points(line, done.get(r.id, [])))
        for r, line in zip(routes, lines, strict=True)
    ]
