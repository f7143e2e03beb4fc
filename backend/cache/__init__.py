"""Cache of optimization requests and responses: Redis when REDIS_URL is set, diskcache otherwise.

Keys follow the original design: `route:request:<id>` and `route:response:<id>`, JSON values
with a timestamp; the id is the canonical hash of the request, so the same request finds its
result. Time-to-live by request priority and by response score. Every cache failure is logged
and swallowed: the cache must never fail the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from backend.config import Settings

log = logging.getLogger(__name__)

HOUR = 3600
DAY = 24 * HOUR
SEARCH_LIMIT = 100
# (minimum, ttl seconds), highest first; below every minimum: 6 hours.
REQUEST_TTL_BY_PRIORITY = ((9, 7 * DAY), (7, 3 * DAY), (5, DAY), (3, 12 * HOUR))
RESPONSE_TTL_BY_SCORE = ((0.95, 7 * DAY), (0.9, 3 * DAY), (0.8, DAY), (0.7, 12 * HOUR))
DEFAULT_TTL = 6 * HOUR


def request_ttl(priority: float) -> int:
    """Seconds to keep a request: >= 9 a week, >= 7 three days, >= 5 a day, >= 3 12 h, else 6 h."""
    return next((ttl for floor, ttl in REQUEST_TTL_BY_PRIORITY if priority >= floor), DEFAULT_TTL)


def response_ttl(score: float) -> int:
    """Seconds to keep a response: >= .95 a week, .9 3 days, .8 a day, .7 12 h, else 6 h."""
    return next((ttl for floor, ttl in RESPONSE_TTL_BY_SCORE if score >= floor), DEFAULT_TTL)


def request_hash(request: Mapping[str, Any]) -> str:
    """Canonical hash of a request: key order, float noise and whitespace do not matter."""
    canonical = json.dumps(_canonical(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)  # ~0.1 m in degrees: same place, same key
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


class KeyValueStore(Protocol):
    """What the cache needs from a backend: values with a TTL and a time-ordered index."""

    def get(self, key: str) -> str | None:
        """The value at `key`, or None when missing or expired."""

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` for `ttl` seconds."""

    def delete(self, *keys: str) -> None:
        """Remove keys."""

    def index_add(self, member: str, score: float) -> None:
        """Add a member to the time index."""

    def index_range(self, low: float, high: float) -> list[str]:
        """Members with low <= score <= high, newest first."""

    def index_remove(self, members: Iterable[str]) -> None:
        """Remove members from the time index."""


@dataclass(frozen=True)
class CachedRequest:
    """A cached request as stored: id, its fields and when it was cached."""

    request_id: str
    request: dict[str, Any]
    cached_at: float


class ResultCache:
    """Requests and their optimization results, with TTLs, search and joint invalidation."""

    def __init__(self, store: KeyValueStore, backend_name: str) -> None:
        self.store = store
        self.backend_name = backend_name

    @staticmethod
    def request_key(request_id: str) -> str:
        """Key of a cached request."""
        return f"route:request:{request_id}"

    @staticmethod
    def response_key(request_id: str) -> str:
        """Key of a cached response."""
        return f"route:response:{request_id}"

    def put_request(self, request_id: str, request: Mapping[str, Any]) -> None:
        """Cache a request with a TTL chosen by its priority."""
        now = time.time()
        value = json.dumps({"timestamp": now, "request": request}, default=str)
        ttl = request_ttl(float(request.get("priority", 5) or 5))
        self._safely("put_request", self.store.set, self.request_key(request_id), value, ttl)
        self._safely("index", self.store.index_add, request_id, now)

    def put_response(self, request_id: str, response: Mapping[str, Any]) -> None:
        """Cache a response with a TTL chosen by its optimization score."""
        value = json.dumps({"timestamp": time.time(), "response": response}, default=str)
        ttl = response_ttl(float(response.get("optimization_score", 0) or 0))
        self._safely("put_response", self.store.set, self.response_key(request_id), value, ttl)

    def get_request(self, request_id: str) -> CachedRequest | None:
        """A cached request, or None (also when the cache is down)."""
        raw = self._safely("get_request", self.store.get, self.request_key(request_id))
        if not raw:
            return None
        data = json.loads(raw)
        return CachedRequest(request_id, data["request"], data["timestamp"])

    def get_response(self, request_id: str) -> dict[str, Any] | None:
        """A cached response (with `cached_at`), or None (also when the cache is down)."""
        raw = self._safely("get_response", self.store.get, self.response_key(request_id))
        if not raw:
            return None
        data = json.loads(raw)
        return {**data["response"], "cached_at": data["timestamp"]}

    def invalidate(self, request_id: str) -> None:
        """Drop a request and its response together."""
        self._safely(
            "invalidate",
            self.store.delete,
            self.request_key(request_id),
            self.response_key(request_id),
        )
        self._safely("index", self.store.index_remove, [request_id])

    def search(
        self,
        *,
        vehicle_id: int | None = None,
        depot_id: int | None = None,
        min_priority: int | None = None,
        max_priority: int | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = SEARCH_LIMIT,
    ) -> list[CachedRequest]:
        """Cached requests matching every given filter, newest first (at most 100)."""
        limit = min(limit, SEARCH_LIMIT)
        ids = (
            self._safely("search", self.store.index_range, since or 0.0, until or float("inf"))
            or []
        )
        found: list[CachedRequest] = []
        expired: list[str] = []
        for request_id in ids:
            cached = self.get_request(request_id)
            if cached is None:
                expired.append(request_id)
                continue
            if _matches(cached.request, vehicle_id, depot_id, min_priority, max_priority):
                found.append(cached)
                if len(found) >= limit:
                    break
        if expired:
            self._safely("index", self.store.index_remove, expired)
        return found

    def _safely(self, what: str, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except Exception:  # noqa: BLE001 - a cache outage must never fail the caller
            log.warning("cache %s failed on %s", what, self.backend_name, exc_info=True)
            return None


def _matches(
    request: Mapping[str, Any],
    vehicle_id: int | None,
    depot_id: int | None,
    min_priority: int | None,
    max_priority: int | None,
) -> bool:
    vehicle_ids = request.get("vehicle_ids") or [request.get("vehicle_id")]
    if vehicle_id is not None and vehicle_id not in vehicle_ids:
        return False
    if depot_id is not None and request.get("depot_id") != depot_id:
        return False
    priority = request.get("priority", 5)
    if min_priority is not None and priority < min_priority:
        return False
    return max_priority is None or priority <= max_priority


def fail_fast_redis(url: str) -> Any:
    """A Redis client that gives up within about a second, so an outage costs little."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_timeout=1,
        socket_connect_timeout=0.5,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1),
    )


def make_store(settings: Settings, redis_client: Any | None = None) -> KeyValueStore:
    """The key-value store behind the cache and job control: Redis or diskcache."""
    if settings.redis_url:
        from backend.cache.redis_store import RedisStore

        return RedisStore(redis_client or fail_fast_redis(settings.redis_url))
    from backend.cache.disk_store import DiskStore

    return DiskStore(settings.cache_dir / "results")


def make_result_cache(settings: Settings, redis_client: Any | None = None) -> ResultCache:
    """The Redis-backed cache when REDIS_URL is set, else diskcache under DATA_DIR."""
    backend_name = "redis" if settings.redis_url else "diskcache"
    return ResultCache(make_store(settings, redis_client), backend_name)
