"""The per-process services (settings, database, Redis) attached to the Flask server."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from flask import Flask, current_app

from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings
from backend.db.engine import Database

EXTENSION_KEY = "fleet"


class Runtime:
    """Services built once per process from settings; nothing here opens sockets at import."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        # Services read "now" from here, never from the wall clock, so tests can pin it.
        self.clock = clock
        self.db = Database(settings)

    @cached_property
    def redis(self) -> Any | None:
        """A Redis client when REDIS_URL is set, else None (connects lazily on first use)."""
        if not self.settings.redis_url:
            return None
        import redis

        return redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=5, socket_connect_timeout=5
        )

    def init_app(self, server: Flask) -> None:
        """Attach to a Flask server so request handlers find it with `current_runtime()`."""
        server.extensions[EXTENSION_KEY] = self


def current_runtime() -> Runtime:
    """The runtime of the Flask app handling the current request."""
    runtime: Runtime = current_app.extensions[EXTENSION_KEY]
    return runtime
