"""The per-process services, built once in `create_app` and attached to the Flask server.

Settings, clock, database, Redis client, key-value store, result cache, Celery, the job
runner and the realtime service: every request handler, callback and socket finds them here
(`current_runtime()`), typed, instead of building its own.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from backend.cache import KeyValueStore, ResultCache, make_result_cache, make_store
from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings
from backend.db.engine import Database
from backend.jobs import JobRunner, make_celery, make_runner
from backend.jobs.control import JobControl

if TYPE_CHECKING:
    from backend.realtime.service import RealtimeService

EXTENSION_KEY = "fleet"


class Runtime:
    """Services built once per process from settings; nothing here opens sockets at import."""

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        # Services read "now" from here, never from the wall clock, so tests can pin it.
        self.clock = clock
        self.db = Database(settings)
        # Attached by `backend.realtime.init_realtime` (it needs the Flask server).
        self.realtime: RealtimeService | None = None

    @cached_property
    def redis(self) -> Any | None:
        """A Redis client when REDIS_URL is set, else None (connects lazily on first use)."""
        if not self.settings.redis_url:
            return None
        import redis

        return redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=5, socket_connect_timeout=5
        )

    @cached_property
    def store(self) -> KeyValueStore:
        """The key-value store (Redis or diskcache) behind job control, sessions and limits."""
        return make_store(self.settings, self.redis)

    @cached_property
    def result_cache(self) -> ResultCache:
        """The optimization request/response cache."""
        return make_result_cache(self.settings, self.redis)

    @cached_property
    def celery(self) -> Any | None:
        """The one Celery app with BACKGROUND_JOBS=celery, else None."""
        return make_celery(self.settings) if self.settings.background_jobs == "celery" else None

    @cached_property
    def jobs(self) -> JobRunner:
        """The job runner every background job goes through."""
        return make_runner(
            self.settings,
            JobControl(self.store),
            database=self.db,
            publisher=self.publisher,
            celery=self.celery,
        )

    def publisher(self) -> RealtimeService:
        """Where this process publishes to the sockets (the realtime service)."""
        if self.realtime is None:
            raise RuntimeError("the realtime service is not attached (init_realtime)")
        return self.realtime

    def init_app(self, server: Flask) -> None:
        """Attach to a Flask server so request handlers find it with `current_runtime()`."""
        server.extensions[EXTENSION_KEY] = self


def runtime_of(server: Flask) -> Runtime:
    """The runtime attached to `server`."""
    runtime: Runtime = server.extensions[EXTENSION_KEY]
    return runtime


def current_runtime() -> Runtime:
    """The runtime of the Flask app handling the current request."""
    return runtime_of(current_app)
