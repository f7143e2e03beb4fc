"""Customer ratings: `record_rating` stores one 1-5 rating of a delivered order.

The tracking page (when it exists) calls it with the customer's choice; the Analytics page
reads the ratings through the daily aggregates (backend.analytics, "customer rating"), so a
rating shows in the figures after the next refresh. The verb validates everything before it
writes and does not commit: the caller's session context does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import DeliveryRating, Order, OrderStatus
from backend.services import MAX_ID, ConflictError, InvalidInputError, NotFoundError

RATING_MIN = 1
RATING_MAX = 5
COMMENT_MAX = 1000


class InvalidRatingError(InvalidInputError):
    """The rating is not a whole number from 1 to 5, or its comment is unusable."""

    code = "invalid_rating"


class OrderNotDeliveredError(ConflictError):
    """Only a delivered order can be rated."""

    code = "not_delivered"


class AlreadyRatedError(ConflictError):
    """The order already has its rating (one per order)."""

    code = "already_rated"


@dataclass(frozen=True, slots=True)
class RatingOut:
    """A stored rating."""

    id: int
    order_id: int
    rating: int
    comment: str
    created_at: datetime


def _check_rating(rating: object) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise InvalidRatingError("rating: must be a whole number from 1 to 5", field="rating")
    if not RATING_MIN <= rating <= RATING_MAX:
        raise InvalidRatingError("rating: must be from 1 to 5", field="rating")
    return rating


def _check_comment(comment: object) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise InvalidRatingError("comment: must be text", field="comment")
    text = comment.strip()
    if len(text) > COMMENT_MAX:
        raise InvalidRatingError(f"comment: at most {COMMENT_MAX} characters", field="comment")
    if "\x00" in text:
        raise InvalidRatingError("comment: must not contain NUL characters", field="comment")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRatingError("comment: must be valid Unicode text", field="comment") from None
    return text


def record_rating(
    session: Session, *, order_id: int, rating: int, comment: str | None = "", now: datetime
) -> RatingOut:
    """Store the customer's rating of delivered order `order_id` (one per order; no commit)."""
    if now.tzinfo is None:
        raise ValueError("now: must be an aware datetime")
    value = _check_rating(rating)
    text = _check_comment(comment)
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise InvalidInputError("order_id: must be an order number", field="order_id")
    if not 1 <= order_id <= MAX_ID:
        raise NotFoundError("order not found", field="order_id")
    status = session.scalar(select(Order.status).where(Order.id == order_id))
    if status is None:
        raise NotFoundError("order not found", field="order_id")
    if status != OrderStatus.DELIVERED:
        raise OrderNotDeliveredError(
            f"only a delivered order can be rated (this one is {status})", field="order_id"
        )
    if session.scalar(select(DeliveryRating.id).where(DeliveryRating.order_id == order_id)):
        raise AlreadyRatedError("this delivery has already been rated", field="order_id")
    row = DeliveryRating(order_id=order_id, rating=value, comment=text, created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # A rating racing this one won the unique key; the caller's session rolls back.
        raise AlreadyRatedError("this delivery has already been rated", field="order_id") from None
    return RatingOut(row.id, row.order_id, row.rating, row.comment, row.created_at)
