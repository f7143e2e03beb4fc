"""Login throttling: a few failures per account and per address within a sliding window.

Counters live in the key-value store (Redis or diskcache), so every worker and host shares
them. An attempt is counted *before* the password is checked and given back when it succeeds:
parallel guesses cannot all slip through while the (deliberately slow) hash is computed, and a
busy office behind one address is not locked out by its own successful sign-ins.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.cache import KeyValueStore

KEY_PREFIX = "auth:login-attempts:"


class ThrottleStoreError(RuntimeError):
    """The key-value store holding the counters could not be reached."""


@dataclass(frozen=True)
class ThrottleLimits:
    """How many attempts an account and an address get within `window`."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class LoginThrottle:
    """Sliding-window attempt counters for accounts and client addresses."""

    def __init__(self, store: KeyValueStore, limits: ThrottleLimits | None = None) -> None:
        self.store = store
        self.limits = limits or ThrottleLimits()

    @staticmethod
    def _key(kind: str, value: str) -> str:
        # Hashed: usernames and addresses are caller-chosen text of any length.
        return KEY_PREFIX + kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return (
            self._key("account", username.strip().lower()),
            self._key("address", address or "unknown"),
        )

    def _load(self, key: str, since: float) -> list[float]:
        try:
            raw = self.store.get(key)
        except Exception as exc:  # noqa: BLE001
            raise ThrottleStoreError("the login counter store is unavailable") from exc
        try:
            stamps = json.loads(raw) if raw else []
        except ValueError:
            stamps = []
        if not isinstance(stamps, list):
            return []
        return [s for s in stamps if isinstance(s, int | float) and s > since]

    def _save(self, key: str, stamps: list[float]) -> None:
        ttl = int(self.limits.window.total_seconds()) + 1
        try:
            if stamps:
                self.store.set(key, json.dumps(stamps), ttl)
            else:
                self.store.delete(key)
        except Exception as exc:  # noqa: BLE001
            raise ThrottleStoreError("the login counter store is unavailable") from exc

    def begin(self, *, username: str, address: str, now: datetime) -> int:
        """Count one attempt; 0 when it may go ahead, else the seconds until the next may."""
        at = now.timestamp()
        since = at - self.limits.window.total_seconds()
        account_key, address_key = self._keys(username, address)
        account = self._load(account_key, since)
        by_address = self._load(address_key, since)
        waits = [
            stamps[-limit] + self.limits.window.total_seconds() - at
            for stamps, limit in (
                (account, self.limits.per_account),
                (by_address, self.limits.per_address),
            )
            if len(stamps) >= limit
        ]
        if waits:
            return max(1, math.ceil(max(waits)))
        self._save(account_key, [*account, at][-self.limits.per_account :])
        self._save(address_key, [*by_address, at][-self.limits.per_address :])
        return 0

    def succeeded(self, *, username: str, address: str, now: datetime) -> None:
        """The attempt begun at `now` was right: clear the account, give the address its try."""
        at = now.timestamp()
        since = at - self.limits.window.total_seconds()
        account_key, address_key = self._keys(username, address)
        self._save(account_key, [])
        by_address = self._load(address_key, since)
        if at in by_address:
            by_address.remove(at)
        self._save(address_key, by_address)
