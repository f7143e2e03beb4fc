"""The realtime service of one process: hub, bus, position writer and housekeeping."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.db.models import Role, Vehicle, VehicleState
from backend.realtime.bus import Bus, depot_channel
from backend.realtime.hub import NOTIFICATIONS, POSITIONS, ROUTE_STATUS, Connection, Hub
from backend.realtime.ingest import PositionWriter
from backend.realtime.protocol import (
    PositionFix,
    RealtimeConfig,
    encode_json,
    position_record,
)

log = logging.getLogger("realtime")

SessionFactory = Callable[[], AbstractContextManager[Session]]
# route_optimization_request/cancel are answered by whoever plans routes (set by that module).
Optimizer = Callable[[Connection, dict[str, Any]], list[dict[str, Any]]]


class RealtimeService:
    """Everything a socket handler needs; started lazily by the first connection."""

    def __init__(self, sessions: SessionFactory, bus: Bus, config: RealtimeConfig) -> None:
        self.sessions = sessions
        self.bus = bus
        self.config = config
        self.hub = Hub()
        self.writer = PositionWriter(
            sessions, bus, capacity=config.writer_queue, batch_size=config.writer_batch
        )
        self.optimizer: Optimizer | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        """Subscribe to the bus and start the writer and the housekeeper (idempotent)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            # On a worker's exit: write what is queued and send 1001 so clients reconnect.
            atexit.register(self.stop)
            self.bus.subscribe(self.hub.on_bus_message)
            self.writer.start()
            threading.Thread(
                target=self._housekeep, name="realtime-housekeeper", daemon=True
            ).start()

    def stop(self) -> None:
        """Flush the writer, ask every socket to reconnect elsewhere, stop the bus."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for connection in list(self.hub.connections):
            connection.request_close(1001, "server shutting down")
        self.writer.stop()
        self.bus.close()

    def _housekeep(self) -> None:
        # A send blocked on a consumer that stopped reading is cut, so its memory is freed.
        while not self._stopping.wait(1.0):
            now = time.monotonic()
            for connection in self.hub.reap_stuck(now, self.config.send_timeout_s):
                log.info("cutting %s: its send is blocked", connection.id)
                connection.abort()

    def publish(self, depot_id: int | None, kind: str, message: dict[str, Any]) -> None:
        """Publish a message to a depot's room on every worker (after your commit)."""
        self.bus.publish(depot_channel(depot_id, kind), encode_json(message))

    def submit_positions(self, fixes: list[tuple[PositionFix, int | None]], ack: Any) -> bool:
        """Queue validated fixes for the writer (False when it is full)."""
        return self.writer.submit(fixes, ack)

    def snapshot(self, principal: Principal) -> dict[str, Any]:
        """The latest position of every vehicle in the principal's scope, as one frame."""
        query = select(VehicleState, Vehicle.depot_id).join(
            Vehicle, Vehicle.id == VehicleState.vehicle_id
        )
        depots = principal.depot_filter()
        if depots is not None:
            query = query.where(Vehicle.depot_id.in_(sorted(depots)))
        with self.sessions() as session:
            rows = session.execute(query).all()
        positions = [
            position_record(
                PositionFix(
                    state.vehicle_id,
                    state.seq,
                    state.recorded_at,
                    state.lat,
                    state.lon,
                    state.speed,
                    state.heading,
                    None,
                ),
                depot_id,
            )
            | {"status": state.status}
            for state, depot_id in rows
        ]
        return {"type": "vehicle_location_update", "snapshot": True, "positions": positions}

    def vehicle_depot(self, connection: Connection, vehicle_id: int) -> int | None:
        """A vehicle's depot (cached per connection); raises KeyError for unknown vehicles."""
        if vehicle_id not in connection.vehicle_depots:
            with self.sessions() as session:
                depot_id = session.scalar(select(Vehicle.depot_id).where(Vehicle.id == vehicle_id))
            if depot_id is None:
                raise KeyError(vehicle_id)
            connection.vehicle_depots[vehicle_id] = depot_id
        return connection.vehicle_depots[vehicle_id]


def initial_rooms(principal: Principal, depot_id: int | None) -> list[str]:
    """Rooms joined on connect from role and scope (`depot_*` stands for every depot)."""
    rooms = ["global"]
    if principal.role == Role.DRIVER:
        rooms.append("drivers")
        if principal.vehicle_id is not None:
            rooms.append(f"vehicle_{principal.vehicle_id}")
        return rooms
    if principal.role == Role.DISPATCHER:
        rooms.append("dispatchers")
    depots = principal.depot_filter()
    rooms.extend(["depot_*"] if depots is None else [f"depot_{d}" for d in sorted(depots)])
    return rooms


def initial_subscriptions(connection: Connection) -> set[str]:
    """What a connection receives before any subscription message: all its role may see."""
    wanted: Iterable[tuple[str, str]] = (
        (POSITIONS, "vehicle:subscribe_status"),
        (ROUTE_STATUS, "route:subscribe_status"),
        (NOTIFICATIONS, "notification:subscribe"),
    )
    subscriptions = {name for name, permission in wanted if connection.can(permission)}
    if connection.principal.role == Role.DRIVER:
        # A driver hears about its own vehicle, not the whole depot's notifications.
        subscriptions.discard(NOTIFICATIONS)
    return subscriptions
