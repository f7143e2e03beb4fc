"""Creating users and checking credentials."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.passwords import hash_password, verify_password
from backend.auth.permissions import Principal, make_principal
from backend.clock import SYSTEM_CLOCK
from backend.db.models import Depot, Role, User

# Compared against when the user does not exist, so timing does not reveal valid usernames.
_DUMMY_HASH = hash_password("not-a-real-password")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    depot_ids: Iterable[int] = (),
    vehicle_id: int | None = None,
) -> User:
    """Create a user; raises ValueError naming the bad field."""
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise ValueError("username: must be 1-64 characters")
    if role not in {r.value for r in Role}:
        raise ValueError(f"role: must be one of {', '.join(r.value for r in Role)}")
    taken = session.scalar(select(func.count()).where(User.username == username))
    if taken:
        raise ValueError(f"username: {username!r} already exists")
    depots = list(session.scalars(select(Depot).where(Depot.id.in_(list(depot_ids)))))
    if len(depots) != len(set(depot_ids)):
        raise ValueError("depot_ids: unknown depot")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
        vehicle_id=vehicle_id,
        depots=depots,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> User | None:
    """The active user with these credentials, or None; `now` stamps `last_login_at`.

    The login view passes the runtime's clock; without one the system clock is asked.
    """
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    user.last_login_at = now or SYSTEM_CLOCK.now()
    return user


def principal_for(user: User) -> Principal:
    """The principal (role, scope, permissions) of a loaded user."""
    return make_principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        depot_ids=[d.id for d in user.depots],
        vehicle_id=user.vehicle_id,
        display_name=user.display_name,
    )


def get_principal(session: Session, *, user_id: int) -> Principal | None:
    """The principal of an active user by id, or None."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return principal_for(user)
