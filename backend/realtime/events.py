"""Route events reported by drivers: store, advance the order, raise notifications.

`record_route_event` is the business verb: it loads, validates, writes and returns what to
publish; the caller publishes only after the transaction has committed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import (
    ORDER_TRANSITIONS,
    Notification,
    Order,
    OrderStatus,
    Route,
    RouteEvent,
    Vehicle,
)
from backend.realtime.protocol import (
    INVALID_MESSAGE,
    ORDER_EVENT_STATUS,
    PERMISSION_DENIED,
    SIGNIFICANT_EVENT_TYPES,
    ProtocolError,
    format_timestamp,
)

CRITICAL_EVENT_TYPES = frozenset({"accident", "emergency"})
NOTIFICATION_AUDIENCE = ["dispatcher", "manager"]


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
    event_frame: dict[str, Any] | None
    notification_frame: dict[str, Any] | None


def _order_path(current: str, target: str) -> list[str] | None:
    # The shortest forward walk through the lifecycle (e.g. dispatched -> en_route -> arrived).
    try:
        start, goal = OrderStatus(current), OrderStatus(target)
    except ValueError:
        return None
    if start == goal:
        return []
    queue: deque[tuple[OrderStatus, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        status, path = queue.popleft()
        for nxt in ORDER_TRANSITIONS[status]:
            if nxt in seen or nxt in (OrderStatus.NEW, OrderStatus.PLANNED, OrderStatus.CANCELLED):
                continue
            if nxt == goal:
                return [*path, nxt.value]
            seen.add(nxt)
            queue.append((nxt, [*path, nxt.value]))
    return None


def advance_order(order: Order, target: str, at: datetime, reason: str | None) -> bool:
    """Move an order forward to `target`, stamping each step; False when it cannot get there."""
    path = _order_path(order.status, target)
    if path is None:
        return False
    for status in path:
        order.status = status
        stamp = f"{status}_at"
        if hasattr(order, stamp) and getattr(order, stamp) is None:
            setattr(order, stamp, at)
    if target == OrderStatus.FAILED and reason:
        order.failure_reason = reason[:120]
    return True


def record_route_event(
    session: Session, *, event: RouteEventInput, reported_by: int | None
) -> RecordedEvent:
    """Store the event (once per client event id), update the order, notify when significant."""
    vehicle = session.get(Vehicle, event.vehicle_id)
    if vehicle is None:
        raise ProtocolError(INVALID_MESSAGE, "unknown vehicle", field="vehicleId")
    if event.client_event_id:
        existing = session.scalar(
            select(RouteEvent).where(
                RouteEvent.vehicle_id == event.vehicle_id,
                RouteEvent.client_event_id == event.client_event_id,
            )
        )
        if existing is not None:
            return RecordedEvent(existing.id, existing.depot_id, True, None, None, None)
    order = None
    if event.order_id is not None:
        order = session.get(Order, event.order_id)
        if order is None or order.vehicle_id != event.vehicle_id:
            raise ProtocolError(
                PERMISSION_DENIED, "the order is not assigned to this vehicle", field="orderId"
            )
    if event.route_id is not None:
        route = session.get(Route, event.route_id)
        if route is None or route.vehicle_id != event.vehicle_id:
            raise ProtocolError(
                PERMISSION_DENIED, "the route does not belong to this vehicle", field="routeId"
            )
    data = event.data or {}
    significant = event.event_type in SIGNIFICANT_EVENT_TYPES
    severity = (
        "critical"
        if event.event_type in CRITICAL_EVENT_TYPES
        else "warning"
        if significant or event.event_type == "failed"
        else "info"
    )
    row = RouteEvent(
        route_id=event.route_id,
        vehicle_id=event.vehicle_id,
        order_id=event.order_id,
        depot_id=vehicle.depot_id,
        reported_by=reported_by,
        event_type=event.event_type,
        severity=severity,
        occurred_at=event.occurred_at,
        lat=event.lat,
        lon=event.lon,
        data=data,
        client_event_id=event.client_event_id,
    )
    session.add(row)
    order_status = None
    target = ORDER_EVENT_STATUS.get(event.event_type)
    if order is not None and target is not None:
        reason = data.get("reason") if isinstance(data.get("reason"), str) else None
        advance_order(order, target, event.occurred_at, reason)
        order_status = order.status
    session.flush()
    event_frame = {"type": "route_event", "event": event_payload(row, vehicle.name, order_status)}
    notification_frame = None
    if significant:
        note = data.get("note") or data.get("message") or ""
        notification = Notification(
            depot_id=vehicle.depot_id,
            route_event_id=row.id,
            kind=event.event_type,
            severity=severity,
            title=f"{event.event_type.replace('_', ' ').capitalize()} reported by {vehicle.name}",
            body=str(note)[:2000],
            audience=NOTIFICATION_AUDIENCE,
        )
        session.add(notification)
        session.flush()
        notification_frame = {
            "type": "notification",
            "notification": {
                "id": notification.id,
                "depotId": notification.depot_id,
                "routeEventId": row.id,
                "vehicleId": vehicle.id,
                "kind": notification.kind,
                "severity": notification.severity,
                "title": notification.title,
                "body": notification.body,
                "audience": notification.audience,
                "createdAt": format_timestamp(notification.created_at),
            },
        }
    return RecordedEvent(
        row.id, vehicle.depot_id, False, order_status, event_frame, notification_frame
    )


def event_payload(row: RouteEvent, vehicle_name: str, order_status: str | None) -> dict[str, Any]:
    """A stored event as clients receive it."""
    return {
        "id": row.id,
        "vehicleId": row.vehicle_id,
        "vehicleName": vehicle_name,
        "depotId": row.depot_id,
        "routeId": row.route_id,
        "orderId": row.order_id,
        "orderStatus": order_status,
        "eventType": row.event_type,
        "severity": row.severity,
        "occurredAt": format_timestamp(row.occurred_at),
        "lat": row.lat,
        "lon": row.lon,
        "data": row.data,
    }
