"""Server-side login sessions, so that logging out ends a session everywhere at once.

The session cookie is signed, not stored: on its own, a copy taken before logout would keep
working until it expires. Each login therefore records a random session id in the key-value
store (Redis or diskcache, shared by every worker) for the session's lifetime; every request
checks that its id is still there, and logout deletes it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from backend.cache import KeyValueStore

log = logging.getLogger(__name__)

KEY_PREFIX = "auth:session:"


class SessionStoreError(RuntimeError):
    """The key-value store holding the sessions could not be reached."""


class SessionRegistry:
    """Live session ids in the key-value store, each mapped to its user for its lifetime."""

    def __init__(self, store: KeyValueStore, lifetime: timedelta) -> None:
        self.store = store
        self.ttl = max(1, int(lifetime.total_seconds()))

    @staticmethod
    def _key(session_id: str) -> str:
        # Store a hash, so a dump of the store does not hand out usable session ids.
        return KEY_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()[:40]

    def start(self, user_id: int) -> str:
        """Record a new session of `user_id` and return its id (goes into the signed cookie)."""
        session_id = secrets.token_urlsafe(32)
        try:
            self.store.set(self._key(session_id), str(user_id), self.ttl)
        except Exception as exc:  # noqa: BLE001 - any backend failure means no session
            raise SessionStoreError("the session store is unavailable") from exc
        return session_id

    def is_live(self, session_id: object, user_id: object) -> bool:
        """Whether `session_id` is a live session of `user_id` (not logged out, not expired)."""
        if not isinstance(session_id, str) or not session_id or len(session_id) > 100:
            return False
        try:
            return self.store.get(self._key(session_id)) == str(user_id)
        except Exception as exc:  # noqa: BLE001
            raise SessionStoreError("the session store is unavailable") from exc

    def end(self, session_id: object) -> None:
        """Forget a session, so every copy of its cookie stops working."""
        if not isinstance(session_id, str) or not session_id:
            return
        try:
            self.store.delete(self._key(session_id))
        except Exception:  # noqa: BLE001 - the cookie is cleared anyway; the entry expires
            log.warning("could not delete a session on logout", exc_info=True)
