"""Notifications for dispatchers and managers: list what a user may see, acknowledge them.

The REST API (`/api/v1/notifications`), the socket (`notification_ack`) and the dashboard's
bell all go through these two verbs, so a notification is marked read in one way only.
A user sees a notification when its depot is in their scope and their role is in its
audience (admins see every one).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.db.models import Notification, Role

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# One acknowledgment names at most this many notifications ("acknowledge all" of a full list).
MAX_ACK_IDS = 500


class NotificationOut(BaseModel):
    """A notification as the API and the bell see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    depot_id: int | None
    route_event_id: int | None
    kind: str
    severity: str
    title: str
    body: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    # An at-risk alert's stop, when its cause went away, and its links and suggested action.
    route_stop_id: int | None = None
    resolved_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def _scope(principal: Principal) -> list[ColumnElement[bool]]:
    depots = principal.depot_filter()
    return [] if depots is None else [Notification.depot_id.in_(sorted(depots))]


def _for_role(principal: Principal, audience: Sequence[Any] | None) -> bool:
    # The audience is a short JSON list; checked here because JSON containment differs between
    # SQLite and PostgreSQL.
    return principal.role == Role.ADMIN or not audience or principal.role in audience


def list_notifications(
    session: Session, *, principal: Principal, unread: bool = False, limit: int = DEFAULT_LIMIT
) -> list[NotificationOut]:
    """The notifications `principal` may see, latest first (only unacknowledged with `unread`)."""
    stmt = select(Notification).where(*_scope(principal))
    if unread:
        stmt = stmt.where(Notification.acknowledged_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
    rows = [n for n in session.scalars(stmt) if _for_role(principal, n.audience)]
    return [NotificationOut.model_validate(n) for n in rows[: max(1, min(limit, MAX_LIMIT))]]


def acknowledge_notifications(
    session: Session, *, principal: Principal, ids: Collection[int], now: datetime
) -> list[int]:
    """Mark these notifications read by `principal` at `now`; returns the ids it marked.

    Ids outside the user's scope or audience, unknown ones and already acknowledged ones are
    left as they are (acknowledging twice is harmless; the first acknowledgment is kept).
    """
    wanted = sorted(set(ids))[:MAX_ACK_IDS]
    if not wanted:
        return []
    candidates = session.execute(
        select(Notification.id, Notification.audience).where(
            Notification.id.in_(wanted), Notification.acknowledged_at.is_(None), *_scope(principal)
        )
    ).all()
    marked = sorted(nid for nid, audience in candidates if _for_role(principal, audience))
    if marked:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(marked), Notification.acknowledged_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by=principal.user_id)
        )
    return marked
