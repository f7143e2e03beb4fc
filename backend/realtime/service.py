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
from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings
from backend.db.models import Role, Vehicle, VehicleState
from backend.realtime.bus import Bus, depot_channel, room_channel
from backend.realtime.hub import (
    GLOBAL_ROOM,
    NOTIFICATIONS,
    POSITIONS,
    ROLE_ROOMS,
    ROUTE_STATUS,
    Connection,
    Hub,
)
from backend.realtime.ingest import PositionWriter
from backend.realtime.protocol import (
    PositionFix,
    RealtimeConfig,
    encode_json,
    position_record,
)
from backend.realtime.publisher import user_room
from backend.services.late_risk import LateRiskWatcher

log = logging.getLogger("realtime")

SessionFactory = Callable[[], AbstractContextManager[Session]]
# route_optimization_request/cancel are answered by whoever plans routes (set by that module).
Optimizer = Callable[[Connection, dict[str, Any]], list[dict[str, Any]]]


class RealtimeService:
    """Everything a socket handler needs; started lazily by the first connection."""

    def __init__(
        self,
        sessions: SessionFactory,
        bus: Bus,
        config: RealtimeConfig,
        clock: Clock = SYSTEM_CLOCK,
        settings: Settings | None = None,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.config = config
        # Every "now" of the realtime layer comes from here, so tests can pin it.
        self.clock = clock
        self.hub = Hub()
        # At-risk alerts and the live ETAs pushed to dashboards (`eta_update`, one frame per
        # depot room and pass): written positions and stored stop events mark their depots.
        self.late_risk = LateRiskWatcher(
            sessions,
            self.publish_notification,
            publish_depot=self.publish,
            clock=clock,
            settings=settings,
        )
        self.writer = PositionWriter(
            sessions,
            bus,
            capacity=config.writer_queue,
            batch_size=config.writer_batch,
            clock=clock,
            on_written=self.late_risk.mark,
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
            self.late_risk.start()
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
        self.late_risk.stop()
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

    def publish_room(self, room: str, kind: str, message: dict[str, Any]) -> None:
        """Publish to a fleet-wide room (`global`, `dispatchers`, `drivers`, `managers`).

        Only for messages that belong to no depot: a role room spans every depot.
        """
        self.bus.publish(room_channel(room, kind), encode_json(message))

    def publish_notification(self, frame: dict[str, Any]) -> None:
        """Send a `notification` frame to whom it concerns (after your commit).

        A depot's notification goes to that depot's room (each socket filters on `audience`);
        one without a depot goes to the role rooms of its audience, or to `global` for all.
        """
        note = frame["notification"]
        if note.get("depotId") is not None:
            self.publish(note["depotId"], "notifications", frame)
            return
        for room in notification_rooms(note.get("audience")):
            self.publish_room(room, "notifications", frame)

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


def notification_rooms(audience: Iterable[str] | None) -> list[str]:
    """The fleet-wide rooms a depot-less notification for `audience` (roles) goes to."""
    roles = set(audience or ())
    if not roles or roles >= set(ROLE_ROOMS):
        return [GLOBAL_ROOM]
    return sorted({ROLE_ROOMS[role] for role in roles if role in ROLE_ROOMS})


def initial_rooms(principal: Principal, depot_id: int | None) -> list[str]:
    """Rooms joined on connect from role and scope (`depot_*` stands for every depot)."""
    rooms = [GLOBAL_ROOM, user_room(principal.user_id)]
    if principal.role in ROLE_ROOMS:
        rooms.append(ROLE_ROOMS[principal.role])
    if principal.role == Role.DRIVER:
        if principal.vehicle_id is not None:
            rooms.append(f"vehicle_{principal.vehicle_id}")
        return rooms
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
    # A driver is in no depot room, so notifications reach it only when addressed to drivers.
    return {name for name, permission in wanted if connection.can(permission)}
