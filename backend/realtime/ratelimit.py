"""A fixed-window request limiter on the shared key-value store, so it holds across workers.

Counts live in `backend.cache.make_store`'s store (Redis at scale, diskcache embedded), never in
process memory: with four gunicorn workers a limit of 120 a minute must stay 120, not 480. Keys
hold a hash of what is limited, so raw device ids never reach Redis either.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from backend.cache import KeyValueStore

log = logging.getLogger(__name__)


class RateLimiter:
    """Allows `limit` hits per key in each `window_s`-second window of the given clock."""

    def __init__(self, store: KeyValueStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def hit(self, key: str, *, limit: int, window_s: int, now: datetime) -> int | None:
        """Count one hit on `key`; None when allowed, else seconds until the window resets.

        Fails open: a cache outage must not stop positions from coming in.
        """
        epoch = int(now.timestamp())
        window = epoch // window_s
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        store_key = f"{self.prefix}:{digest}:{window}"
        try:
            count = self._increment(store_key, ttl=window_s * 2)
        except Exception:  # noqa: BLE001 - the limiter is a guard, not a dependency
            log.warning("rate limiter store failed; allowing the request", exc_info=True)
            return None
        if count <= limit:
            return None
        return max(1, (window + 1) * window_s - epoch)

    def _increment(self, key: str, *, ttl: int) -> int:
        # KeyValueStore has no atomic increment; a get-then-set count would lose hits between
        # workers, so use each backend's own atomic counter.
        from backend.cache.disk_store import DiskStore
        from backend.cache.redis_store import RedisStore

        store: Any = self.store
        if isinstance(store, RedisStore):
            pipe = store.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, ttl)
            count, _ = pipe.execute()
            return int(count)
        if isinstance(store, DiskStore):
            count = store.cache.incr(key, 1, default=0)
            store.cache.touch(key, expire=ttl)
            return int(count)
        # Any other store: approximate (racy) counting is still better than none.
        count = int(store.get(key) or 0) + 1
        store.set(key, str(count), ttl)
        return count
