"""Read queries behind the Driver page: a vehicle's route of the day, or its assigned orders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import ROUTES_ON_MAP, Depot, Order, OrderStatus, Route, RouteStop, Vehicle


@dataclass(frozen=True, slots=True)
class DriverStop:
    """One stop of the route (or one assigned order when there is no route yet)."""

    sequence: int
    kind: str
    status: str
    lat: float
    lon: float
    planned_arrival_at: datetime | None
    planned_departure_at: datetime | None
    actual_arrival_at: datetime | None
    order_id: int | None
    reference: str | None
    customer_name: str | None
    address: str | None
    window_start: datetime | None
    window_end: datetime | None
    order_status: str | None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class DriverDay:
    """What a driver sees: the vehicle, the day, the route (if any) and its stops."""

    vehicle_id: int
    vehicle_name: str
    plate: str
    depot_name: str
    timezone: str
    service_date: date
    route_id: int | None = None
    route_status: str | None = None
    planned_start_at: datetime | None = None
    planned_end_at: datetime | None = None
    planned_distance_km: float | None = None
    stops: list[DriverStop] = field(default_factory=list)

    @property
    def has_route(self) -> bool:
        """Whether a route was planned for the day."""
        return self.route_id is not None


def _local_today(tz_name: str, now: datetime) -> date:
    try:
        tz = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return now.astimezone(tz).date()


def get_driver_day(
    session: Session,
    *,
    vehicle_id: int,
    now: datetime,
    service_date: date | None = None,
) -> DriverDay | None:
    """The vehicle's current route of `service_date` (default: today at its depot at `now`).

    Only accepted routes count (`ROUTES_ON_MAP`): a proposal the dispatcher has not accepted
    yet is not the driver's route.

    Without a route, the stops are the vehicle's assigned orders of the day in time-window
    order (sequence numbers then only count them). None when the vehicle does not exist.
    Three set-based queries at most: vehicle, route stops, assigned orders.
    """
    head = session.execute(
        select(Vehicle.name, Vehicle.plate, Depot.name, Depot.timezone)
        .join(Depot, Depot.id == Vehicle.depot_id)
        .where(Vehicle.id == vehicle_id)
    ).first()
    if head is None:
        return None
    vehicle_name, plate, depot_name, tz = head
    day = service_date or _local_today(tz, now)
    base = DriverDay(
        vehicle_id=vehicle_id,
        vehicle_name=vehicle_name,
        plate=plate,
        depot_name=depot_name,
        timezone=tz,
        service_date=day,
    )
    # The newest accepted route (accepting a re-plan supersedes the older one).
    rows = session.execute(
        select(Route, RouteStop, Order)
        .join(RouteStop, RouteStop.route_id == Route.id)
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .where(
            Route.vehicle_id == vehicle_id,
            Route.service_date == day,
            Route.status.in_(sorted(ROUTES_ON_MAP)),
        )
        .order_by(Route.created_at.desc(), Route.id.desc(), RouteStop.sequence)
    ).all()
    if rows:
        route = rows[0][0]
        stops = [
            DriverStop(
                sequence=stop.sequence,
                kind=stop.kind,
                status=stop.status,
                lat=stop.lat,
                lon=stop.lon,
                planned_arrival_at=stop.planned_arrival_at,
                planned_departure_at=stop.planned_departure_at,
                actual_arrival_at=stop.actual_arrival_at,
                order_id=order.id if order else None,
                reference=order.reference if order else None,
                customer_name=order.customer_name if order else None,
                address=order.address if order else None,
                window_start=order.window_start if order else None,
                window_end=order.window_end if order else None,
                order_status=order.status if order else None,
                notes=order.notes if order else "",
            )
            for r, stop, order in rows
            if r.id == route.id
        ]
        return replace(
            base,
            route_id=route.id,
            route_status=route.status,
            planned_start_at=route.planned_start_at,
            planned_end_at=route.planned_end_at,
            planned_distance_km=route.planned_distance_km,
            stops=stops,
        )
    orders = session.scalars(
        select(Order)
        .where(
            Order.vehicle_id == vehicle_id,
            Order.service_date == day,
            Order.status != OrderStatus.CANCELLED,
        )
        .order_by(Order.window_start, Order.id)
    ).all()
    stops = [
        DriverStop(
            sequence=i,
            kind="delivery",
            status="pending",
            lat=o.lat,
            lon=o.lon,
            planned_arrival_at=None,
            planned_departure_at=None,
            actual_arrival_at=None,
            order_id=o.id,
            reference=o.reference,
            customer_name=o.customer_name,
            address=o.address,
            window_start=o.window_start,
            window_end=o.window_end,
            order_status=o.status,
            notes=o.notes,
        )
        for i, o in enumerate(orders, start=1)
    ]
    return replace(base, stops=stops)
