"""Accepting a stored plan: its routes become the depot's routes in force for the day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.db.models import (
    PLANNABLE_ORDER_STATUSES,
    OptimizationResponse,
    Order,
    OrderStatus,
    Route,
    RouteStatus,
    RouteStop,
    Vehicle,
)
from backend.planning.request import (
    PlanningError,
    PlanningForbidden,
    PlanningNotFound,
)
from backend.planning.store import add_event

log = logging.getLogger(__name__)


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
        raise PlanningNotFound("response_id", "unknown plan")
    request = response.request
    if not principal.can("plan:write"):
        raise PlanningForbidden("principal", "your role may not accept plans")
    if not principal.sees_depot(request.depot_id):
        raise PlanningNotFound("response_id", "unknown plan")
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
    # Set-based: each order takes the vehicle of the plan's stop that serves it, in two
    # statements for the whole plan (never a pair of updates per vehicle).
    plan_vehicle = (
        select(Route.vehicle_id)
        .join(RouteStop, RouteStop.route_id == Route.id)
        .where(Route.response_id == response_id, RouteStop.order_id == Order.id)
        .limit(1)
        .scalar_subquery()
    )
    planned_ids = [o for o, _ in stops]
    result = session.execute(
        update(Order)
        .where(Order.id.in_(planned_ids), Order.status.in_(PLANNABLE_ORDER_STATUSES))
        .values(status=OrderStatus.PLANNED.value, vehicle_id=plan_vehicle, planned_at=now)
        .execution_options(synchronize_session=False)
    )
    planned = int(result.rowcount or 0)  # type: ignore[attr-defined]
    # A re-optimized day may hand an order already given to a driver to another one.
    session.execute(
        update(Order)
        .where(Order.id.in_(planned_ids), Order.status == OrderStatus.DISPATCHED.value)
        .values(vehicle_id=plan_vehicle)
        .execution_options(synchronize_session=False)
    )
    # Orders of the day this plan leaves out go back to the unplanned pool.
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
    add_event(
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
