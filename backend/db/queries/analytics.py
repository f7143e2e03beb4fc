"""What the database holds to train models on (the Models page).

The KPIs of the Analytics page live in backend.analytics (each defined once, read from the
daily aggregates).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from backend.db.models import Order, Position, Route, RouteEvent, RouteStop, Vehicle


def _scope(
    column: Any, depot_ids: Collection[int] | None, depot_id: int | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if depot_ids is not None:
        conditions.append(column.in_(sorted(depot_ids)))
    if depot_id is not None:
        conditions.append(column == depot_id)
    return conditions


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
