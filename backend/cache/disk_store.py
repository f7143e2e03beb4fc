"""diskcache key-value store for the result cache (embedded default, safe across processes)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import diskcache


class DiskStore:
    """KeyValueStore over diskcache; the time index is a dict updated in a transaction."""

    INDEX_KEY = "route:index:requests"

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.cache = diskcache.Cache(str(directory))

    def get(self, key: str) -> str | None:
        """The value at `key`, or None when missing or expired."""
        value = self.cache.get(key)
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` for `ttl` seconds."""
        self.cache.set(key, value, expire=ttl)

    def delete(self, *keys: str) -> None:
        """Remove keys."""
        for key in keys:
            self.cache.delete(key)

    def index_add(self, member: str, score: float) -> None:
        """Add a member to the time index."""
        with self.cache.transact():
            index = self.cache.get(self.INDEX_KEY, {})
            index[member] = score
            self.cache.set(self.INDEX_KEY, index)

    def index_range(self, low: float, high: float) -> list[str]:
        """Members in the score range, newest first."""
        index: dict[str, float] = self.cache.get(self.INDEX_KEY, {})
        hits = [(score, m) for m, score in index.items() if low <= score <= high]
        return [m for _, m in sorted(hits, reverse=True)]

    def index_remove(self, members: Iterable[str]) -> None:
        """Remove members from the time index."""
        with self.cache.transact():
            index = self.cache.get(self.INDEX_KEY, {})
            for member in members:
                index.pop(member, None)
            self.cache.set(self.INDEX_KEY, index)
