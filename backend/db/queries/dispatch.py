"""Read queries behind the Dispatch map: depots, today's orders, vehicles and routes of a day."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backend.db.models import (
    FINAL_ORDER_STATUSES,
    ROUTES_ON_MAP,
    Depot,
    Order,
    OrderStatus,
    Route,
    Vehicle,
    VehicleState,
)
from backend.db.queries.fleet_state import VehicleActivity, vehicle_activity

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
