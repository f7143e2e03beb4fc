"""Connections, rooms and fan-out inside one worker process.

A connection never blocks anyone else: other threads only append to its outbox or update its
pending positions (latest per vehicle) and wake it; the connection's own loop does the sending.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from backend.auth.permissions import Principal
from backend.realtime import metrics
from backend.realtime.protocol import CLOSE_TRY_AGAIN, RealtimeConfig

# What a connection can receive, each switched by a subscription message. These are the
# channels of the original design: `vehicle-updates` (positions and vehicle status),
# `route-updates` (plans, routes, events, orders) and `global-notifications`.
POSITIONS = "positions"
ROUTE_STATUS = "route_status"
NOTIFICATIONS = "notifications"

# Fleet-wide rooms: `global` holds everyone, the role rooms the users of one role (admins sit
# with the managers). Only messages that belong to no depot are sent to them, so depot scope
# is never widened by a role room.
GLOBAL_ROOM = "global"
ROLE_ROOMS = {
    "driver": "drivers",
    "dispatcher": "dispatchers",
    "manager": "managers",
    "admin": "managers",
}
FLEET_ROOMS = frozenset({GLOBAL_ROOM, *ROLE_ROOMS.values()})
# Which subscription a message kind of the bus needs (anything else: ROUTE_STATUS).
KIND_SUBSCRIPTIONS = {"notifications": NOTIFICATIONS, "vehicles": POSITIONS}


@dataclass(eq=False)
class Connection:
    """One socket's state: who, where (rooms), what (subscriptions) and what waits to be sent."""

    principal: Principal
    config: RealtimeConfig
    service: Any = None  # the RealtimeService that handles this connection's messages
    wake: Callable[[], None] = lambda: None
    abort: Callable[[], None] = lambda: None  # cut the socket when a send is stuck
    depot_id: int | None = None  # a driver's vehicle's depot
    address: str = ""
    user_agent: str = ""
    # Unique across workers and hosts (logs and per-connection state name it), not a counter.
    id: str = field(default_factory=lambda: f"c{uuid.uuid4().hex[:16]}")
    connected_at: float = field(default_factory=time.time)
    rooms: set[str] = field(default_factory=set)
    subscriptions: set[str] = field(default_factory=set)
    outbox: deque[Any] = field(default_factory=deque)
    pending_positions: dict[int, str] = field(default_factory=dict)
    vehicle_depots: dict[int, int | None] = field(default_factory=dict)
    closed: bool = False
    close_request: tuple[int, str] | None = None
    sending_since: float = 0.0
    last_pong: float = field(default_factory=time.monotonic)
    _tokens: float = -1.0
    _refilled: float = field(default_factory=time.monotonic)

    def can(self, permission: str | None) -> bool:
        """Whether the configured role map grants `permission` (None: anyone)."""
        if permission is None:
            return True
        return permission in self.config.role_permissions.get(self.principal.role, frozenset())

    def allow_message(self) -> bool:
        """Token bucket: `rate_per_s` messages a second with bursts of `rate_burst`."""
        now = time.monotonic()
        if self._tokens < 0:
            self._tokens = self.config.rate_burst
        self._tokens = min(
            self.config.rate_burst, self._tokens + (now - self._refilled) * self.config.rate_per_s
        )
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def send(self, message: dict[str, Any] | str) -> None:
        """Queue a message (never dropped); a consumer too far behind is disconnected."""
        if self.closed:
            return
        self.outbox.append(message)
        if len(self.outbox) > self.config.event_backlog:
            self.request_close(
                CLOSE_TRY_AGAIN, "slow consumer: too many undelivered messages; reconnect"
            )
            metrics.SLOW_CONSUMERS.inc()
        self.wake()

    def offer_position(self, vehicle_id: int, record: str) -> None:
        """Keep only the latest position per vehicle until the next frame."""
        if self.closed:
            return
        empty = not self.pending_positions
        self.pending_positions[vehicle_id] = record
        if empty:
            self.wake()

    def take_positions(self) -> str | None:
        """The batched frame of every vehicle that moved since the last one, or None."""
        if not self.pending_positions:
            return None
        pending, self.pending_positions = self.pending_positions, {}
        return '{"type":"vehicle_location_update","positions":[' + ",".join(pending.values()) + "]}"

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection's loop to close with `code` and `reason`."""
        if self.close_request is None:
            self.close_request = (code, reason)
        self.wake()


class Hub:
    """The connections of this process by room; delivers bus messages to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rooms: dict[str, set[Connection]] = {}
        self.connections: set[Connection] = set()

    def register(self, connection: Connection, rooms: Iterable[str]) -> None:
        """Add a connection and join its rooms."""
        with self._lock:
            self.connections.add(connection)
            for room in rooms:
                self._join(connection, room)
        metrics.CONNECTIONS.labels(connection.principal.role).inc()

    def unregister(self, connection: Connection) -> None:
        """Remove a connection from every room."""
        connection.closed = True
        with self._lock:
            if connection not in self.connections:
                return
            self.connections.discard(connection)
            for room in list(connection.rooms):
                members = self._rooms.get(room)
                if members is not None:
                    members.discard(connection)
                    if not members:
                        del self._rooms[room]
            connection.rooms.clear()
        metrics.CONNECTIONS.labels(connection.principal.role).dec()

    def join(self, connection: Connection, room: str) -> None:
        """Join a room (created on demand)."""
        with self._lock:
            self._join(connection, room)

    def leave(self, connection: Connection, room: str) -> None:
        """Leave a room."""
        with self._lock:
            connection.rooms.discard(room)
            members = self._rooms.get(room)
            if members is not None:
                members.discard(connection)

    def _join(self, connection: Connection, room: str) -> None:
        connection.rooms.add(room)
        self._rooms.setdefault(room, set()).add(connection)

    def members(self, rooms: Iterable[str], subscription: str) -> list[Connection]:
        """Connections in any of `rooms` that subscribe to `subscription`."""
        with self._lock:
            found: set[Connection] = set()
            for room in rooms:
                found.update(self._rooms.get(room, ()))
        return [c for c in found if subscription in c.subscriptions]

    def deliver_positions(self, depot_id: int, lines: Iterable[str]) -> None:
        """Offer `<vehicle id>\\t<json>` lines to dispatchers of the depot and vehicle followers."""
        watchers = self.members((f"depot_{depot_id}", "depot_*"), POSITIONS)
        followers_by_room: dict[str, list[Connection]] = {}
        for line in lines:
            vehicle_text, _, record = line.partition("\t")
            vehicle_id = int(vehicle_text)
            for connection in watchers:
                connection.offer_position(vehicle_id, record)
            room = f"vehicle_{vehicle_id}"
            if room not in followers_by_room:
                followers_by_room[room] = self.members((room,), POSITIONS)
            for connection in followers_by_room[room]:
                if connection not in watchers:
                    connection.offer_position(vehicle_id, record)

    def deliver(self, rooms: Iterable[str], subscription: str, frame: str) -> None:
        """Queue a ready frame to every subscribed member of `rooms` (never dropped)."""
        audience = _frame_audience(frame)
        for connection in self.members(rooms, subscription):
            if audience is None or connection.principal.role in audience:
                connection.send(frame)

    def on_bus_message(self, channel: str, payload: str) -> None:
        """Route a bus message (`depot:<id>:<kind>` or `room:<room>:<kind>`) to the sockets."""
        scope, target, kind = channel.split(":", 2)
        subscription = KIND_SUBSCRIPTIONS.get(kind, ROUTE_STATUS)
        if scope == "room":
            # Fleet-wide rooms and a user's own room; never positions (those go by depot).
            if (target in FLEET_ROOMS or target.startswith("user_")) and kind != "positions":
                self.deliver([target], subscription, payload)
            return
        depot_id = int(target)
        if kind == "positions":
            self.deliver_positions(depot_id, payload.split("\n"))
            return
        rooms = [f"depot_{depot_id}", "depot_*"]
        if kind != "notifications":
            # Drivers are not in depot rooms: they hear what names their vehicle (an event
            # about it, a plan with it in `vehicleIds`, its route), not the whole depot.
            rooms.extend(f"vehicle_{v}" for v in _frame_vehicles(payload))
        self.deliver(rooms, subscription, payload)

    def reap_stuck(self, now: float, send_timeout_s: float) -> list[Connection]:
        """Connections whose current send has been blocked longer than `send_timeout_s`."""
        # One that was already asked to close (slow consumer) gets two seconds, not the full wait.
        with self._lock:
            return [
                c
                for c in self.connections
                if c.sending_since
                and now - c.sending_since > (2.0 if c.close_request else send_timeout_s)
            ]


def _frame_vehicles(frame: str) -> list[int]:
    try:
        message = json.loads(frame)
        ids = [
            message.get("vehicleId"),
            message.get("event", {}).get("vehicleId"),
            *(message.get("vehicleIds") or []),
        ]
    except (ValueError, AttributeError, TypeError):
        return []
    return [v for v in ids if isinstance(v, int) and not isinstance(v, bool)]


def _frame_audience(frame: str) -> frozenset[str] | None:
    if '"audience"' not in frame:
        return None
    try:
        audience = json.loads(frame).get("notification", {}).get("audience")
    except (ValueError, AttributeError):
        return None
    return frozenset(audience) | {"admin"} if isinstance(audience, list) else None
