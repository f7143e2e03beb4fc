"""Redis key-value store for the result cache: SETEX values and a sorted-set time index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class RedisStore:
    """KeyValueStore over a redis-py client (decoding strings itself)."""

    def __init__(self, client: Any, index_key: str = "route:index:requests") -> None:
        self.client = client
        self.index_key = index_key

    def get(self, key: str) -> str | None:
        """The value at `key`, or None."""
        raw = self.client.get(key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` for `ttl` seconds."""
        self.client.set(key, value, ex=ttl)

    def delete(self, *keys: str) -> None:
        """Remove keys in one round trip."""
        self.client.delete(*keys)

    def index_add(self, member: str, score: float) -> None:
        """Add a member to the time index."""
        self.client.zadd(self.index_key, {member: score})

    def index_range(self, low: float, high: float) -> list[str]:
        """Members in the score range, newest first."""
        high_arg = "+inf" if high == float("inf") else high
        members = self.client.zrevrangebyscore(self.index_key, high_arg, low)
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    def index_remove(self, members: Iterable[str]) -> None:
        """Remove members from the time index."""
        members = list(members)
        if members:
            self.client.zrem(self.index_key, *members)
