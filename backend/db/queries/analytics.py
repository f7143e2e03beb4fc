"""KPI queries for the Analytics page: a few set-based queries over a date range, never one per day.

Definitions (the same as the demo generator's summary):
- on-time rate: of the orders that were visited (arrived, delivered or failed), the share reached
  no later than the end of their time window;
- cost: per route, fixed cost + km x cost per km + hours out x cost per hour of its vehicle;
- fleet utilization: time out of the depot over the rostered shift time of the active vehicles;
  vehicle utilization: vehicles with a route over active vehicles;
- fuel: km x the vehicle's litres per km; CO2: fuel x the vehicle's kg CO2 per litre.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from backend.db.models import (
    ROUTES_DRIVEN,
    Order,
    Position,
    Route,
    RouteEvent,
    RouteStop,
    Vehicle,
)

KM_PER_MILE = 1.609344


@dataclass(slots=True)
class DailyKpis:
    """One day's figures."""

    day: date
    orders: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    visited: int = 0
    on_time: int = 0
    routes: int = 0
    km: float = 0.0
    route_minutes: float = 0.0
    fuel_l: float = 0.0
    co2_kg: float = 0.0
    cost: float = 0.0
    vehicles: int = 0
    shift_minutes: float = 0.0

    @property
    def on_time_rate(self) -> float | None:
        """Share of visited orders reached within their window."""
        return self.on_time / self.visited if self.visited else None

    @property
    def failed_rate(self) -> float | None:
        """Share of visited orders that failed."""
        return self.failed / self.visited if self.visited else None

    @property
    def cost_per_km(self) -> float | None:
        """Cost over driven km."""
        return self.cost / self.km if self.km else None

    @property
    def cost_per_mile(self) -> float | None:
        """Cost over driven miles."""
        return self.cost / (self.km / KM_PER_MILE) if self.km else None

    @property
    def utilization(self) -> float | None:
        """Time out of the depot over rostered shift time."""
        return self.route_minutes / self.shift_minutes if self.shift_minutes else None

    @property
    def vehicle_utilization(self) -> float | None:
        """Vehicles with a route over active vehicles."""
        return self.routes / self.vehicles if self.vehicles else None


@dataclass(slots=True)
class AnalyticsReport:
    """Daily KPIs over a range, their totals, and failures by reason."""

    date_from: date
    date_to: date
    days: list[DailyKpis]
    totals: DailyKpis
    failure_reasons: dict[str, int] = field(default_factory=dict)


def _scope(
    column: Any, depot_ids: Collection[int] | None, depot_id: int | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if depot_ids is not None:
        conditions.append(column.in_(sorted(depot_ids)))
    if depot_id is not None:
        conditions.append(column == depot_id)
    return conditions


def _minutes(start: datetime | None, end: datetime | None, fallback: float) -> float:
    if start is None or end is None or end < start:
        return float(fallback or 0.0)
    return (end - start).total_seconds() / 60.0


def _shift_minutes(start: time, end: time) -> float:
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return float(minutes if minutes > 0 else minutes + 24 * 60)


def get_analytics(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    date_from: date,
    date_to: date,
    depot_id: int | None = None,
) -> AnalyticsReport:
    """Daily KPIs for every day of [date_from, date_to] inside the scope (four queries)."""
    if date_to < date_from:
        raise ValueError("date_to: must be on or after date_from")
    days = {
        date_from + timedelta(days=i): DailyKpis(date_from + timedelta(days=i))
        for i in range((date_to - date_from).days + 1)
    }
    in_range = [Order.service_date >= date_from, Order.service_date <= date_to]
    reached = func.coalesce(Order.arrived_at, Order.delivered_at, Order.failed_at)

    # 1. Orders by day.
    order_stmt = (
        select(
            Order.service_date,
            func.count(),
            func.sum(case((Order.status == "delivered", 1), else_=0)),
            func.sum(case((Order.status == "failed", 1), else_=0)),
            func.sum(case((Order.status == "cancelled", 1), else_=0)),
            func.sum(case((Order.status.in_(("delivered", "failed")), 1), else_=0)),
            func.sum(
                case(
                    (
                        Order.status.in_(("delivered", "failed")) & (reached <= Order.window_end),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .where(*in_range, *_scope(Order.depot_id, depot_ids, depot_id))
        .group_by(Order.service_date)
    )
    for day, total, delivered, failed, cancelled, visited, on_time in session.execute(order_stmt):
        k = days.get(day)
        if k is None:
            continue
        k.orders, k.delivered, k.failed = int(total), int(delivered or 0), int(failed or 0)
        k.cancelled, k.visited, k.on_time = (
            int(cancelled or 0),
            int(visited or 0),
            int(on_time or 0),
        )

    # 2. Driven routes with their vehicle's costs (one row per route, summed here by day).
    route_stmt = (
        select(
            Route.service_date,
            Route.actual_distance_km,
            Route.planned_distance_km,
            Route.actual_start_at,
            Route.actual_end_at,
            Route.planned_duration_min,
            Vehicle.fuel_l_per_km,
            Vehicle.co2_kg_per_l,
            Vehicle.cost_per_km,
            Vehicle.cost_per_hour,
            Vehicle.fixed_cost,
        )
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(
            Route.service_date >= date_from,
            Route.service_date <= date_to,
            Route.status.in_(sorted(ROUTES_DRIVEN)),
            *_scope(Route.depot_id, depot_ids, depot_id),
        )
    )
    for row in session.execute(route_stmt):
        (
            day,
            actual_km,
            planned_km,
            start,
            end,
            planned_min,
            l_per_km,
            co2_per_l,
            per_km,
            per_h,
            fixed,
        ) = row
        k = days.get(day)
        if k is None:
            continue
        km = float(actual_km if actual_km is not None else planned_km or 0.0)
        minutes = _minutes(start, end, planned_min)
        fuel = km * float(l_per_km or 0.0)
        k.routes += 1
        k.km += km
        k.route_minutes += minutes
        k.fuel_l += fuel
        k.co2_kg += fuel * float(co2_per_l or 0.0)
        k.cost += (
            float(fixed or 0.0) + km * float(per_km or 0.0) + minutes / 60.0 * float(per_h or 0.0)
        )

    # 3. Active vehicles and their rostered shift time (the same every day of the range).
    vehicle_stmt = select(Vehicle.shift_start, Vehicle.shift_end).where(
        Vehicle.active.is_(True), *_scope(Vehicle.depot_id, depot_ids, depot_id)
    )
    shifts = [_shift_minutes(s, e) for s, e in session.execute(vehicle_stmt)]
    for k in days.values():
        k.vehicles = len(shifts)
        k.shift_minutes = sum(shifts) if k.routes else 0.0

    # 4. Failures by reason.
    reason_stmt = (
        select(func.coalesce(Order.failure_reason, "unknown"), func.count())
        .where(*in_range, Order.status == "failed", *_scope(Order.depot_id, depot_ids, depot_id))
        .group_by(func.coalesce(Order.failure_reason, "unknown"))
        .order_by(func.count().desc())
    )
    reasons = {str(reason): int(n) for reason, n in session.execute(reason_stmt)}

    ordered = [days[d] for d in sorted(days)]
    totals = DailyKpis(date_to)
    for k in ordered:
        for name in (
            "orders",
            "delivered",
            "failed",
            "cancelled",
            "visited",
            "on_time",
            "routes",
            "km",
            "route_minutes",
            "fuel_l",
            "co2_kg",
            "cost",
            "shift_minutes",
        ):
            setattr(totals, name, getattr(totals, name) + getattr(k, name))
    totals.vehicles = sum(k.vehicles for k in ordered if k.routes)
    return AnalyticsReport(date_from, date_to, ordered, totals, reasons)


@dataclass(frozen=True, slots=True)
class TrainingData:
    """What the database holds to train the ETA and demand models on."""

    stops_with_times: int
    routes_completed: int
    first_day: date | None
    last_day: date | None
    orders_total: int
    order_days: int
    first_order_day: date | None
    last_order_day: date | None
    positions: int
    events: int


def get_training_data(session: Session, *, depot_ids: Collection[int] | None) -> TrainingData:
    """Counts of stops with planned and actual times, order history, GPS fixes and events.

    Four aggregate queries (stops, orders, positions, events) inside the depot scope.
    """
    stops = session.execute(
        select(
            func.count(RouteStop.id),
            func.count(func.distinct(Route.id)),
            func.min(Route.service_date),
            func.max(Route.service_date),
        )
        .join(Route, Route.id == RouteStop.route_id)
        .where(
            RouteStop.actual_arrival_at.is_not(None),
            RouteStop.planned_arrival_at.is_not(None),
            *_scope(Route.depot_id, depot_ids, None),
        )
    ).one()
    orders = session.execute(
        select(
            func.count(Order.id),
            func.count(func.distinct(Order.service_date)),
            func.min(Order.service_date),
            func.max(Order.service_date),
        ).where(*_scope(Order.depot_id, depot_ids, None))
    ).one()
    position_stmt = select(func.count(Position.id))
    event_stmt = select(func.count(RouteEvent.id))
    if depot_ids is not None:
        scoped_vehicles = select(Vehicle.id).where(Vehicle.depot_id.in_(sorted(depot_ids)))
        position_stmt = position_stmt.where(Position.vehicle_id.in_(scoped_vehicles))
        event_stmt = event_stmt.where(RouteEvent.depot_id.in_(sorted(depot_ids)))
    return TrainingData(
        stops_with_times=int(stops[0] or 0),
        routes_completed=int(stops[1] or 0),
        first_day=stops[2],
        last_day=stops[3],
        orders_total=int(orders[0] or 0),
        order_days=int(orders[1] or 0),
        first_order_day=orders[2],
        last_order_day=orders[3],
        positions=int(session.scalar(position_stmt) or 0),
        events=int(session.scalar(event_stmt) or 0),
    )
