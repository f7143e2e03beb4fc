"""The message core: `handle_frame(connection, text) -> list[outgoing]`, no socket involved.

Replies that can be given at once are returned; acknowledgments of positions follow through
`connection.send` once the writer has made them durable. Every bad frame gets an `error` frame
with a stable code, and a refused message changes nothing stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from backend.db.models import ROUTE_EVENT_TYPES, Role
from backend.realtime import metrics
from backend.realtime.events import RouteEventInput, record_route_event
from backend.realtime.hub import NOTIFICATIONS, POSITIONS, ROUTE_STATUS, Connection
from backend.realtime.ingest import PendingAck
from backend.realtime.protocol import (
    INTERNAL_ERROR,
    INVALID_CONNECTION,
    INVALID_JSON,
    INVALID_MESSAGE,
    PAYLOAD_TOO_LARGE,
    PERMISSION_DENIED,
    RATE_LIMITED,
    SERVER_BUSY,
    UNAVAILABLE,
    UNKNOWN_MESSAGE_TYPE,
    PositionFix,
    ProtocolError,
    error_frame,
    format_timestamp,
    parse_event_time,
    parse_id,
    parse_position,
)
from backend.services.notifications import MAX_ACK_IDS, acknowledge_notifications

log = logging.getLogger("realtime.handler")

Outgoing = dict[str, Any]
MessageHandler = Callable[[Connection, dict[str, Any], Any], list[Outgoing]]


def handle_frame(connection: Connection, frame: str | bytes) -> list[Outgoing]:
    """Answer one client frame; never raises."""
    metrics.MESSAGES.inc()
    replies = _handle(connection, frame)
    for reply in replies:
        if reply.get("type") == "error":
            metrics.ERRORS.labels(reply["errorCode"]).inc()
    return replies


def _handle(connection: Connection, frame: str | bytes) -> list[Outgoing]:
    config = connection.config
    if not isinstance(frame, str):
        return [error_frame(INVALID_MESSAGE, "binary frames are not accepted; send JSON text")]
    if len(frame) > config.max_frame_bytes:
        return [
            error_frame(
                PAYLOAD_TOO_LARGE,
                f"frame of {len(frame)} characters exceeds {config.max_frame_bytes}",
            )
        ]
    if not connection.allow_message():
        return [error_frame(RATE_LIMITED, f"more than {config.rate_per_s:g} messages a second")]
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return [error_frame(INVALID_JSON, "the frame is not valid JSON")]
    if not isinstance(message, dict):
        return [error_frame(INVALID_MESSAGE, "a message must be a JSON object")]
    request_id = message.get("requestId")
    if request_id is not None and not (
        (isinstance(request_id, str) and len(request_id) <= 64)
        or (isinstance(request_id, int) and not isinstance(request_id, bool))
    ):
        return [error_frame(INVALID_MESSAGE, "requestId must be a short string or an integer")]
    kind = message.get("type")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None or kind not in config.message_permissions:
        return [
            ProtocolError(UNKNOWN_MESSAGE_TYPE, f"unknown message type {str(kind)[:64]!r}").frame(
                request_id
            )
        ]
    if not connection.can(config.message_permissions[str(kind)]):
        return [
            ProtocolError(
                PERMISSION_DENIED, f"role {connection.principal.role} may not {kind}"
            ).frame(request_id)
        ]
    try:
        return handler(connection, message, request_id)
    except ProtocolError as exc:
        return [exc.frame(request_id)]
    except Exception:
        log.exception("handling %s on %s failed", kind, connection.id)
        return [
            ProtocolError(INTERNAL_ERROR, "the server failed on this message").frame(request_id)
        ]


def acknowledgment(kind: str, request_id: Any, **fields: Any) -> Outgoing:
    """An `acknowledgment` frame for a message of `kind`."""
    frame: Outgoing = {"type": "acknowledgment", "ackType": kind}
    if request_id is not None:
        frame["requestId"] = request_id
    frame.update(fields)
    return frame


def _target_vehicle(connection: Connection, message: dict[str, Any]) -> tuple[int, int | None]:
    """The vehicle a message is about and its depot; a driver only ever speaks for its own."""
    principal = connection.principal
    requested = _optional_id(message, "vehicleId")
    if principal.role == Role.DRIVER:
        if principal.vehicle_id is None:
            raise ProtocolError(INVALID_CONNECTION, "this connection is not bound to a vehicle")
        if requested is not None and requested != principal.vehicle_id:
            raise ProtocolError(
                PERMISSION_DENIED, "a driver may only post for its own vehicle", field="vehicleId"
            )
        return principal.vehicle_id, connection.depot_id
    if requested is None:
        raise ProtocolError(INVALID_MESSAGE, "vehicleId is required", field="vehicleId")
    try:
        depot_id = connection.service.vehicle_depot(connection, requested)
    except KeyError:
        raise ProtocolError(INVALID_MESSAGE, "unknown vehicle", field="vehicleId") from None
    if not principal.sees_depot(depot_id):
        raise ProtocolError(PERMISSION_DENIED, "the vehicle is outside your depots")
    return requested, depot_id


def _location_update(
    connection: Connection, message: dict[str, Any], request_id: Any
) -> list[Outgoing]:
    vehicle_id, depot_id = _target_vehicle(connection, message)
    batch = "positions" in message
    items = message["positions"] if batch else [message]
    if not isinstance(items, list) or (batch and not items):
        raise ProtocolError(
            INVALID_MESSAGE, "positions must be a non-empty list", field="positions"
        )
    if len(items) > connection.config.max_batch:
        raise ProtocolError(
            PAYLOAD_TOO_LARGE, f"at most {connection.config.max_batch} positions per message"
        )
    now = connection.service.clock.now()
    replies: list[Outgoing] = []
    good: list[tuple[PositionFix, int | None]] = []
    for index, item in enumerate(items):
        try:
            good.append(
                (
                    parse_position(item, vehicle_id=vehicle_id, now=now, config=connection.config),
                    depot_id,
                )
            )
        except ProtocolError as exc:
            metrics.POSITIONS_REJECTED.inc()
            seq = item.get("seq") if isinstance(item, dict) else None
            details: dict[str, Any] = {"seq": seq} if isinstance(seq, int) else {}
            if batch:
                details["index"] = index
            replies.append(
                ProtocolError(exc.code, exc.message, **exc.details, **details).frame(request_id)
            )
    kind = "vehicle_location_update"
    seqs = [fix.seq for fix, _ in good]
    frame = (
        acknowledgment(kind, request_id, seqs=seqs, rejected=len(items) - len(good))
        if batch
        else acknowledgment(kind, request_id, seq=seqs[0] if seqs else None)
    )
    if not good:
        return [*replies, frame] if batch else replies
    if not connection.service.submit_positions(good, PendingAck(connection.send, frame, len(good))):
        replies.append(
            ProtocolError(SERVER_BUSY, "the position queue is full; resend later").frame(request_id)
        )
    return replies


def _route_event(
    connection: Connection, message: dict[str, Any], request_id: Any
) -> list[Outgoing]:
    vehicle_id, _ = _target_vehicle(connection, message)
    event_type = message.get("eventType")
    if event_type not in ROUTE_EVENT_TYPES:
        raise ProtocolError(
            INVALID_MESSAGE,
            f"eventType must be one of {', '.join(sorted(ROUTE_EVENT_TYPES))}",
            field="eventType",
        )
    service = connection.service
    now = service.clock.now()
    occurred_at = parse_event_time(message.get("occurredAt"), now=now)
    data = message.get("data")
    if data is not None and (not isinstance(data, dict) or len(json.dumps(data)) > 4000):
        raise ProtocolError(INVALID_MESSAGE, "data must be an object under 4 KB", field="data")
    client_event_id = message.get("clientEventId")
    if client_event_id is not None and not (
        isinstance(client_event_id, str) and 0 < len(client_event_id) <= 64
    ):
        raise ProtocolError(INVALID_MESSAGE, "clientEventId must be 1-64 characters")
    lat, lon = message.get("lat"), message.get("lon")
    if (lat is None) != (lon is None):
        raise ProtocolError(INVALID_MESSAGE, "lat and lon go together", field="lat")
    if lat is not None:
        # Reuse the position rules for the coordinates.
        check = {"seq": 0, "recordedAt": format_timestamp(occurred_at), "lat": lat, "lon": lon}
        parse_position(check, vehicle_id=vehicle_id, now=now, config=connection.config)
    event = RouteEventInput(
        vehicle_id=vehicle_id,
        event_type=event_type,
        occurred_at=occurred_at,
        order_id=_optional_id(message, "orderId"),
        route_id=_optional_id(message, "routeId"),
        lat=float(lat) if lat is not None else None,
        lon=float(lon) if lon is not None else None,
        data=data,
        client_event_id=client_event_id,
    )
    principal = connection.principal
    with service.sessions() as session:
        recorded = record_route_event(
            session,
            event=event,
            reported_by=principal.user_id,
            depot_ids=principal.depot_filter(),
            now=now,
        )
    # Published only now that the transaction has committed.
    for kind, frame in recorded.frames:
        service.publish(recorded.depot_id, kind, frame)
    if recorded.notification_frame is not None:
        service.publish_notification(recorded.notification_frame)
    service.late_risk.mark([recorded.depot_id])  # the stop's ETA and its alert may change
    return [
        acknowledgment(
            "route_event",
            request_id,
            eventId=recorded.event_id,
            duplicate=recorded.duplicate,
            orderStatus=recorded.order_status,
            clientEventId=client_event_id,
        )
    ]


def _optional_id(message: dict[str, Any], name: str) -> int | None:
    value = message.get(name)
    return None if value is None else parse_id(value, name)


def _subscription(subscription: str) -> MessageHandler:
    def handle(connection: Connection, message: dict[str, Any], request_id: Any) -> list[Outgoing]:
        subscribe = message.get("subscribe")
        if not isinstance(subscribe, bool):
            raise ProtocolError(
                INVALID_MESSAGE, "subscribe must be true or false", field="subscribe"
            )
        principal = connection.principal
        hub = connection.service.hub
        room = None
        depot_id = _optional_id(message, "depotId")
        vehicle_id = _optional_id(message, "vehicleId")
        if depot_id is not None:
            if principal.role == Role.DRIVER or not principal.sees_depot(depot_id):
                raise ProtocolError(PERMISSION_DENIED, "the depot is outside your scope")
            room = f"depot_{depot_id}"
        elif vehicle_id is not None:
            if principal.role == Role.DRIVER:
                if vehicle_id != principal.vehicle_id:
                    raise ProtocolError(PERMISSION_DENIED, "a driver follows only its own vehicle")
            else:
                try:
                    vehicle_depot = connection.service.vehicle_depot(connection, vehicle_id)
                except KeyError:
                    raise ProtocolError(
                        INVALID_MESSAGE, "unknown vehicle", field="vehicleId"
                    ) from None
                if not principal.sees_depot(vehicle_depot):
                    raise ProtocolError(PERMISSION_DENIED, "the vehicle is outside your depots")
            room = f"vehicle_{vehicle_id}"
        if subscribe:
            connection.subscriptions.add(subscription)
            if room is not None:
                hub.join(connection, room)
        elif room is not None:
            hub.leave(connection, room)
        else:
            connection.subscriptions.discard(subscription)
        replies = [
            acknowledgment(
                str(message["type"]),
                request_id,
                subscribed=subscription in connection.subscriptions,
                rooms=sorted(connection.rooms),
            )
        ]
        if subscribe and subscription == POSITIONS and message.get("snapshot") is True:
            replies.append(connection.service.snapshot(principal))
        return replies

    return handle


def _optimization(
    connection: Connection, message: dict[str, Any], request_id: Any
) -> list[Outgoing]:
    optimizer = connection.service.optimizer
    if optimizer is None:
        raise ProtocolError(UNAVAILABLE, "route optimization is not served on this socket")
    if message["type"] == "route_optimization_cancel" and not message.get("requestId"):
        raise ProtocolError(INVALID_MESSAGE, "requestId is required", field="requestId")
    replies: list[Outgoing] = optimizer(connection, message)
    return replies


def _notification_ack(
    connection: Connection, message: dict[str, Any], request_id: Any
) -> list[Outgoing]:
    # The same verb as POST /api/v1/notifications/ack (backend/services/notifications.py).
    ids = message.get("ids")
    if (
        not isinstance(ids, list)
        or not 0 < len(ids) <= MAX_ACK_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
    ):
        raise ProtocolError(
            INVALID_MESSAGE, f"ids must be 1 to {MAX_ACK_IDS} positive integers", field="ids"
        )
    with connection.service.sessions() as session:
        marked = acknowledge_notifications(
            session, principal=connection.principal, ids=ids, now=connection.service.clock.now()
        )
    return [acknowledgment("notification_ack", request_id, ids=marked)]


def _ping(connection: Connection, message: dict[str, Any], request_id: Any) -> list[Outgoing]:
    # The pong is the ping's acknowledgment (it carries the requestId).
    now = connection.service.clock.now()
    frame: Outgoing = {"type": "pong", "serverTime": format_timestamp(now)}
    if request_id is not None:
        frame["requestId"] = request_id
    return [frame]


HANDLERS: dict[str, MessageHandler] = {
    "vehicle_location_update": _location_update,
    "route_event": _route_event,
    "route_status_subscription": _subscription(ROUTE_STATUS),
    "vehicle_status_subscription": _subscription(POSITIONS),
    "notification_subscription": _subscription(NOTIFICATIONS),
    "route_optimization_request": _optimization,
    "route_optimization_cancel": _optimization,
    "notification_ack": _notification_ack,
    "ping": _ping,
}
