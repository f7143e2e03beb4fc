"""The message bus between workers: one interface, in-process or Redis pub/sub.

Channels are named `depot:<id>:<kind>` (kinds: positions, events, notifications, routes,
vehicles) for what belongs to one depot, and `room:<room>:<kind>` for what is addressed to a
fleet-wide room (`global`, or a role's: `dispatchers`, `drivers`, `managers`). Payloads are text;
each worker's hub subscribes to both patterns and fans out to its own sockets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from backend.config import Settings

log = logging.getLogger("realtime.bus")

Handler = Callable[[str, str], None]
CHANNEL_PATTERNS = ("depot:*", "room:*")


def depot_channel(depot_id: int | None, kind: str) -> str:
    """The channel of a depot's messages of one kind (`depot:0:...` for vehicles without one)."""
    return f"depot:{depot_id or 0}:{kind}"


def room_channel(room: str, kind: str) -> str:
    """The channel of a fleet-wide room's messages of one kind."""
    return f"room:{room}:{kind}"


class Bus(Protocol):
    """Publish text to a channel; every subscriber of every worker receives it."""

    def publish(self, channel: str, payload: str) -> None:
        """Send `payload` to the subscribers of `channel`; never raises."""

    def subscribe(self, handler: Handler) -> None:
        """Call `handler(channel, payload)` for every message on `depot:*` and `room:*`."""

    def close(self) -> None:
        """Stop delivering and release connections."""


class InProcessBus:
    """Delivers synchronously to the subscribers of this process (the embedded default)."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def publish(self, channel: str, payload: str) -> None:
        """Call every handler in the publisher's thread."""
        for handler in list(self._handlers):
            try:
                handler(channel, payload)
            except Exception:
                log.exception("bus handler failed on %s", channel)

    def subscribe(self, handler: Handler) -> None:
        """Register a handler."""
        self._handlers.append(handler)

    def close(self) -> None:
        """Forget the handlers."""
        self._handlers.clear()


class RedisBus:
    """Redis pub/sub; the listener thread reconnects with backoff after Redis restarts."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._handlers: list[Handler] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.publish_failures = 0

    def publish(self, channel: str, payload: str) -> None:
        """Publish; a Redis outage is logged and counted, never raised (data is stored)."""
        for attempt in (1, 2):
            try:
                self._client.publish(channel, payload)
                return
            except Exception as exc:  # redis.ConnectionError, TimeoutError...
                if attempt == 2:
                    self.publish_failures += 1
                    log.warning("bus publish to %s failed: %s", channel, exc)

    def subscribe(self, handler: Handler) -> None:
        """Register a handler; the first one starts the listener thread."""
        self._handlers.append(handler)
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="redis-bus", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        delay = 0.2
        while not self._stopped.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(*CHANNEL_PATTERNS)
                self.connected.set()
                delay = 0.2
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    channel = _text(message["channel"])
                    payload = _text(message["data"])
                    for handler in list(self._handlers):
                        try:
                            handler(channel, payload)
                        except Exception:
                            log.exception("bus handler failed on %s", channel)
            except Exception as exc:
                self.connected.clear()
                if not self._stopped.is_set():
                    log.warning("redis bus disconnected (%s); retrying in %.1f s", exc, delay)
                    self._stopped.wait(delay)
                    delay = min(delay * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # the connection is already gone
                    pass

    def close(self) -> None:
        """Stop the listener thread."""
        self._stopped.set()
        self._handlers.clear()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def make_bus(settings: Settings) -> Bus:
    """The one place that picks the bus: Redis when REDIS_URL is set, else in-process."""
    if settings.redis_url:
        import redis

        # Its own client: the listener blocks on reads, and publishes must not queue behind it.
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=10,
            retry_on_timeout=True,
        )
        return RedisBus(client)
    return InProcessBus()
