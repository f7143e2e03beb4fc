"""Publishing to the sockets from anywhere: the web process, a job subprocess, a Celery worker.

`RealtimeService` publishes for the web process; a process without sockets (a Celery worker)
uses `BusPublisher` over the same bus (Redis at scale), and every web worker's hub delivers.
"""

from __future__ import annotations

from typing import Any, Protocol

from backend.realtime.bus import Bus, depot_channel, room_channel
from backend.realtime.protocol import encode_json


class Publisher(Protocol):
    """Send a message to a depot's sockets, or to a fleet-wide or personal room."""

    def publish(self, depot_id: int | None, kind: str, message: dict[str, Any]) -> None:
        """Publish to a depot's rooms (after your commit)."""
        ...

    def publish_room(self, room: str, kind: str, message: dict[str, Any]) -> None:
        """Publish to one room (`global`, a role room, or `user_<id>`)."""
        ...


class BusPublisher:
    """A `Publisher` straight over a bus, for processes that serve no sockets."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    def publish(self, depot_id: int | None, kind: str, message: dict[str, Any]) -> None:
        """Publish to a depot's rooms (after your commit)."""
        self.bus.publish(depot_channel(depot_id, kind), encode_json(message))

    def publish_room(self, room: str, kind: str, message: dict[str, Any]) -> None:
        """Publish to one room (`global`, a role room, or `user_<id>`)."""
        self.bus.publish(room_channel(room, kind), encode_json(message))


def user_room(user_id: int) -> str:
    """The room every socket of one user joins (answers that follow the user, not a depot)."""
    return f"user_{user_id}"
