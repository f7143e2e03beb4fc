"""API tokens for drivers and devices: random secrets stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.clock import SYSTEM_CLOCK
from backend.db.models import ApiToken, User

TOKEN_PREFIX = "fd_"


def _digest(token: str) -> str:
    # Tokens carry 256 bits of entropy, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, user: User, name: str = "") -> str:
    """Create a token for `user` and return the secret; only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, name=name, prefix=secret[:10], token_hash=_digest(secret))
    )
    session.flush()
    return secret


def user_for_token(session: Session, *, token: str, now: datetime | None = None) -> User | None:
    """The active user owning an unrevoked token, or None; `now` stamps its last use.

    Callers in a request pass `current_runtime().clock.now()`, so tests pin the time; without
    one the system clock is asked (backend.clock is the one place that reads it).
    """
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not row.user.active:
        return None
    session.execute(
        update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now or SYSTEM_CLOCK.now())
    )
    return row.user


def revoke_token(session: Session, *, prefix: str, now: datetime | None = None) -> int:
    """Revoke every token starting with `prefix` as of `now`; returns how many were revoked."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.prefix == prefix[:10], ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or SYSTEM_CLOCK.now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
