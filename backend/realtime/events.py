"""Route events reported by drivers: store, advance the order and the route, raise notifications.

`record_route_event` is the business verb: it checks every id the event names against the
vehicle's route in force and the caller's depots, writes the event once per client event id,
moves the order along the one lifecycle of `backend.services.orders`, stamps the route and its
stops with what actually happened, and returns what to publish; the caller publishes only after
the transaction has committed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.db.models import (
    ROUTES_IN_FORCE,
    SIGNIFICANT_EVENT_TYPES,
    Notification,
    Order,
    OrderStatus,
    Route,
    RouteEvent,
    RouteStatus,
    RouteStop,
    Vehicle,
    VehicleState,
)
from backend.realtime.protocol import (
    INVALID_MESSAGE,
    INVALID_TRANSITION,
    ORDER_EVENT_STATUS,
    PERMISSION_DENIED,
    ProtocolError,
    format_timestamp,
)
from backend.services import ConflictError
from backend.services.orders import advance_order_by_event

CRITICAL_EVENT_TYPES = frozenset({"accident", "emergency"})
NOTIFICATION_AUDIENCE = ["dispatcher", "manager"]
# Reports that mean the vehicle is driving its route: the first one starts it.
ROUTE_PROGRESS_EVENTS = frozenset(
    {"departed", "arrived", "delivered", "failed", "break_started", "break_ended"}
)
ROUTE_FINISH_EVENT = "returned"  # back at the depot: the route is done
# What a report says about the vehicle (vehicle_state.status); other events leave it as is.
VEHICLE_EVENT_STATUS = {
    "departed": "driving",
    "break_ended": "driving",
    "arrived": "stopped",
    "break_started": "on_break",
    "breakdown": "out_of_service",
    "accident": "out_of_service",
    "returned": "idle",
}
STOP_DONE = "completed"  # a start or end stop that was passed


@dataclass(frozen=True)
class RouteEventInput:
    """A validated `route_event` message."""

    vehicle_id: int
    event_type: str
    occurred_at: datetime
    order_id: int | None = None
    route_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    data: dict[str, Any] | None = None
    client_event_id: str | None = None


@dataclass(frozen=True)
class RecordedEvent:
    """What was stored, and the frames to publish once committed."""

    event_id: int
    depot_id: int | None
    duplicate: bool
    order_status: str | None
    # (bus kind, frame) for the depot, in order: the event, route and vehicle changes.
    frames: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notification_frame: dict[str, Any] | None = None


def route_in_force(session: Session, *, vehicle: Vehicle, now: datetime) -> Route | None:
    """The vehicle's accepted, unfinished route of today (or of last night, still being driven)."""
    today = _local_date(now, vehicle.depot.timezone)
    return session.scalar(
        select(Route)
        .where(
            Route.vehicle_id == vehicle.id,
            Route.status.in_(sorted(ROUTES_IN_FORCE)),
            Route.service_date.between(today - timedelta(days=1), today),
        )
        .order_by(Route.service_date.desc(), Route.id.desc())
        .limit(1)
    )


def _local_date(now: datetime, timezone: str) -> date:
    try:
        return now.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):  # an unknown zone name: the day in UTC is close enough
        return now.date()


def record_route_event(
    session: Session,
    *,
    event: RouteEventInput,
    reported_by: int | None,
    depot_ids: Collection[int] | None,
    now: datetime,
) -> RecordedEvent:
    """Store the event (once per client event id), advance order and route, notify if significant.

    `depot_ids` is the caller's scope (None: every depot). Raises ProtocolError, and then
    nothing is stored, for ids outside the vehicle's route in force or the caller's depots and
    for a step the order's lifecycle does not allow.
    """
    vehicle = session.get(Vehicle, event.vehicle_id)
    if vehicle is None:
        raise ProtocolError(INVALID_MESSAGE, "unknown vehicle", field="vehicleId")
    if event.client_event_id:
        stored = _stored_event(session, event)
        if stored is not None:
            return stored
    route = _route_named(session, vehicle, event, now)
    order, stop = _order_named(session, route, event, depot_ids)
    data = event.data or {}
    significant = event.event_type in SIGNIFICANT_EVENT_TYPES
    severity = (
        "critical"
        if event.event_type in CRITICAL_EVENT_TYPES
        else "warning"
        if significant or event.event_type == "failed"
        else "info"
    )
    event_id = _insert_event(
        session,
        {
            "route_id": route.id if route is not None else None,
            "vehicle_id": event.vehicle_id,
            "order_id": event.order_id,
            "depot_id": vehicle.depot_id,
            "reported_by": reported_by,
            "event_type": event.event_type,
            "severity": severity,
            "occurred_at": event.occurred_at,
            "received_at": now,
            "lat": event.lat,
            "lon": event.lon,
            "data": data,
            "client_event_id": event.client_event_id,
        },
    )
    if event_id is None:
        # Another socket stored the same client event id a moment ago: answer as a resend.
        stored = _stored_event(session, event)
        if stored is None:  # pragma: no cover - the conflicting row is committed by now
            raise ProtocolError(INVALID_MESSAGE, "clientEventId clashes with another event")
        return stored
    order_status = None
    target = ORDER_EVENT_STATUS.get(event.event_type)
    if order is not None and target is not None:
        reason = data.get("reason") if isinstance(data.get("reason"), str) else None
        try:
            advance_order_by_event(order, OrderStatus(target), at=event.occurred_at, reason=reason)
        except ConflictError as exc:
            # Raised before the commit: the event row goes with the rollback.
            raise ProtocolError(
                INVALID_TRANSITION, exc.message, field="eventType", **exc.details
            ) from None
    if order is not None:
        order_status = order.status
    frames: list[tuple[str, dict[str, Any]]] = [
        (
            "events",
            {
                "type": "route_event",
                "event": {
                    "id": event_id,
                    "vehicleId": vehicle.id,
                    "vehicleName": vehicle.name,
                    "depotId": vehicle.depot_id,
                    "routeId": route.id if route is not None else None,
                    "orderId": event.order_id,
                    "orderStatus": order_status,
                    "eventType": event.event_type,
                    "severity": severity,
                    "occurredAt": format_timestamp(event.occurred_at),
                    "lat": event.lat,
                    "lon": event.lon,
                    "data": data,
                },
            },
        )
    ]
    if route is not None:
        route_frame = _track_route(session, route, stop, event)
        if route_frame is not None:
            frames.append(("routes", route_frame))
    vehicle_frame = _track_vehicle(session, vehicle, event)
    if vehicle_frame is not None:
        frames.append(("vehicles", vehicle_frame))
    notification_frame = None
    if significant:
        note = data.get("note") or data.get("message") or ""
        notification_frame = raise_notification(
            session,
            depot_id=vehicle.depot_id,
            kind=event.event_type,
            severity=severity,
            title=f"{event.event_type.replace('_', ' ').capitalize()} reported by {vehicle.name}",
            body=str(note),
            audience=NOTIFICATION_AUDIENCE,
            now=now,
            route_event_id=event_id,
            vehicle_id=vehicle.id,
        )
    session.flush()
    return RecordedEvent(
        event_id, vehicle.depot_id, False, order_status, frames, notification_frame
    )


def _stored_event(session: Session, event: RouteEventInput) -> RecordedEvent | None:
    # The acknowledgment of an event stored before: its id and its order's status now.
    row = session.execute(
        select(RouteEvent.id, RouteEvent.depot_id, Order.status)
        .outerjoin(Order, Order.id == RouteEvent.order_id)
        .where(
            RouteEvent.vehicle_id == event.vehicle_id,
            RouteEvent.client_event_id == event.client_event_id,
        )
    ).first()
    if row is None:
        return None
    return RecordedEvent(row[0], row[1], True, row[2])


def _insert_event(session: Session, values: dict[str, Any]) -> int | None:
    # ON CONFLICT DO NOTHING on (vehicle_id, client_event_id): two sockets racing with the same
    # event both get an answer; the one that lost gets None (and then the stored event).
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RouteEvent).values(**values).on_conflict_do_nothing().returning(RouteEvent.id)
    )
    event_id: int | None = session.execute(statement).scalar()
    return event_id


def _route_named(
    session: Session, vehicle: Vehicle, event: RouteEventInput, now: datetime
) -> Route | None:
    # A driver reports on the route it is driving; naming another one is refused.
    route = route_in_force(session, vehicle=vehicle, now=now)
    if event.route_id is not None and (route is None or route.id != event.route_id):
        raise ProtocolError(
            PERMISSION_DENIED,
            "the route is not this vehicle's route in force",
            field="routeId",
        )
    return route


def _order_named(
    session: Session,
    route: Route | None,
    event: RouteEventInput,
    depot_ids: Collection[int] | None,
) -> tuple[Order | None, RouteStop | None]:
    if event.order_id is None:
        return None, None
    found = None
    if route is not None:
        found = session.execute(
            select(Order, RouteStop)
            .join(RouteStop, RouteStop.order_id == Order.id)
            .where(Order.id == event.order_id, RouteStop.route_id == route.id)
            .with_for_update(of=Order)
        ).first()
    # Outside the caller's depots reads the same as not on the route: ids do not leak.
    if found is None or (depot_ids is not None and found[0].depot_id not in depot_ids):
        raise ProtocolError(
            PERMISSION_DENIED,
            "the order is not on this vehicle's route in force",
            field="orderId",
        )
    return found[0], found[1]


def _track_route(
    session: Session, route: Route, stop: RouteStop | None, event: RouteEventInput
) -> dict[str, Any] | None:
    """Stamp the route and the stop with what the event says happened; the frame if changed."""
    at = event.occurred_at
    kind = event.event_type
    changed: list[RouteStop] = []
    started = finished = False
    if kind in ROUTE_PROGRESS_EVENTS and route.actual_start_at is None:
        route.actual_start_at = at
        started = True
    if route.status == RouteStatus.PLANNED and kind in ROUTE_PROGRESS_EVENTS:
        route.status = RouteStatus.ACTIVE.value
        started = True
    if kind == "departed" and stop is None:
        # Leaving the depot: the start stop's departure.
        start = _edge_stop(route, "start")
        if start is not None and start.actual_departure_at is None:
            start.actual_departure_at = at
            start.status = STOP_DONE
            changed.append(start)
    if stop is not None:
        if kind == "arrived" and stop.actual_arrival_at is None:
            stop.actual_arrival_at = at
            stop.status = "arrived"
            changed.append(stop)
        elif kind in ("departed", "delivered", "failed") and stop.actual_departure_at is None:
            # Delivered or failed ends the service; a later "departed" does not move it.
            stop.actual_departure_at = at
            if kind != "departed":
                stop.status = kind
            changed.append(stop)
    if kind == ROUTE_FINISH_EVENT:
        route.status = RouteStatus.COMPLETED.value
        route.actual_end_at = at
        end = _edge_stop(route, "end")
        if end is not None and end.actual_arrival_at is None:
            end.actual_arrival_at = at
            end.status = STOP_DONE
            changed.append(end)
        finished = True
    if not (started or finished or changed):
        return None
    session.flush()
    return {
        "type": "route_update",
        "routeId": route.id,
        "vehicleId": route.vehicle_id,
        "depotId": route.depot_id,
        "serviceDate": route.service_date.isoformat(),
        "status": route.status,
        "actualStartAt": _stamp(route.actual_start_at),
        "actualEndAt": _stamp(route.actual_end_at),
        "stops": [
            {
                "stopId": s.id,
                "sequence": s.sequence,
                "orderId": s.order_id,
                "status": s.status,
                "plannedArrivalAt": _stamp(s.planned_arrival_at),
                "actualArrivalAt": _stamp(s.actual_arrival_at),
                "plannedDepartureAt": _stamp(s.planned_departure_at),
                "actualDepartureAt": _stamp(s.actual_departure_at),
            }
            for s in changed
        ],
    }


def _edge_stop(route: Route, kind: str) -> RouteStop | None:
    stops = [s for s in route.stops if s.kind == kind]
    return stops[0] if stops else None


def _stamp(value: datetime | None) -> str | None:
    return format_timestamp(value) if value is not None else None


def _track_vehicle(
    session: Session, vehicle: Vehicle, event: RouteEventInput
) -> dict[str, Any] | None:
    """Set the vehicle's status from the event; the `vehicle_status_update` frame if changed."""
    status = VEHICLE_EVENT_STATUS.get(event.event_type)
    if status is None:
        return None
    # Without a state row the vehicle has never sent a position: nothing to show it on yet.
    state = session.get(VehicleState, vehicle.id)
    if state is None or state.status == status:
        return None
    previous, state.status = state.status, status
    return {
        "type": "vehicle_status_update",
        "vehicleId": vehicle.id,
        "depotId": vehicle.depot_id,
        "status": status,
        "previousStatus": previous,
        "at": format_timestamp(event.occurred_at),
    }


def raise_notification(
    session: Session,
    *,
    depot_id: int | None,
    kind: str,
    severity: str,
    title: str,
    body: str,
    audience: list[str],
    now: datetime,
    route_event_id: int | None = None,
    vehicle_id: int | None = None,
) -> dict[str, Any]:
    """Store a notification and return its frame for `RealtimeService.publish_notification`.

    `depot_id` None makes it fleet-wide: it then goes to the role rooms of `audience`.
    """
    notification = Notification(
        depot_id=depot_id,
        route_event_id=route_event_id,
        kind=kind[:32],
        severity=severity,
        title=title[:200],
        body=body[:2000],
        audience=list(audience),
        created_at=now,
    )
    session.add(notification)
    session.flush()
    return {
        "type": "notification",
        "notification": {
            "id": notification.id,
            "depotId": depot_id,
            "routeEventId": route_event_id,
            "vehicleId": vehicle_id,
            "kind": notification.kind,
            "severity": severity,
            "title": notification.title,
            "body": notification.body,
            "audience": notification.audience,
            "createdAt": format_timestamp(now),
        },
    }
