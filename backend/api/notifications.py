"""/api/v1/notifications: the caller's notifications (latest first) and acknowledging them."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from backend.api.errors import ErrorResponse, require
from backend.api.hooks import permission
from backend.runtime import current_runtime
from backend.services import MAX_ID
from backend.services.notifications import (
    DEFAULT_LIMIT,
    MAX_ACK_IDS,
    MAX_LIMIT,
    NotificationOut,
    acknowledge_notifications,
    list_notifications,
)

# Whoever may receive notifications may read and acknowledge the ones meant for them.
PERMISSION = "notification:subscribe"

notifications_api = APIBlueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[Tag(name="notifications", description="Alerts raised by significant route events")],
    abp_security=[{"bearer": []}],
)

_ERRORS: dict[int | str, Any] = {401: ErrorResponse, 403: ErrorResponse}
_TAGS = [Tag(name="notifications")]


class NotificationQuery(BaseModel):
    """Filters of GET /api/v1/notifications."""

    unread: bool = Field(default=False, description="only those not acknowledged yet")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class NotificationList(BaseModel):
    """The caller's notifications, latest first."""

    items: list[NotificationOut]


class AckBody(BaseModel):
    """The notifications to acknowledge (all of a list: send all its ids)."""

    ids: list[int] = Field(min_length=1, max_length=MAX_ACK_IDS)

    model_config = {"extra": "forbid"}

    def valid_ids(self) -> list[int]:
        """The ids, each a positive database id."""
        return [i for i in self.ids if 0 < i <= MAX_ID]


class AckOut(BaseModel):
    """The ids this call acknowledged (already acknowledged or unseen ones are left out)."""

    acknowledged: list[int]


@notifications_api.get(
    "/notifications",
    summary="List my notifications (latest first)",
    tags=_TAGS,
    responses={200: NotificationList, **_ERRORS},
)
@permission(PERMISSION)
def list_notifications_view(query: NotificationQuery):
    """Notifications of the caller's depots meant for the caller's role."""
    principal = require(PERMISSION)
    with current_runtime().db.session() as session:
        items = list_notifications(
            session, principal=principal, unread=query.unread, limit=query.limit
        )
    return NotificationList(items=items).model_dump(mode="json")


@notifications_api.post(
    "/notifications/ack",
    summary="Acknowledge notifications",
    tags=_TAGS,
    responses={200: AckOut, 413: ErrorResponse, 422: ErrorResponse, **_ERRORS},
)
@permission(PERMISSION)
def acknowledge_notifications_view(body: AckBody):
    """Mark notifications read by the caller (the same as the socket's notification_ack)."""
    principal = require(PERMISSION)
    runtime = current_runtime()
    with runtime.db.session() as session:
        marked = acknowledge_notifications(
            session, principal=principal, ids=body.valid_ids(), now=runtime.clock.now()
        )
    return AckOut(acknowledged=marked).model_dump(mode="json")
