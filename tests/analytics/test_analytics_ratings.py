"""record_rating stores one 1-5 rating per delivered order and refuses everything else with a
clear ServiceError (nothing stored); the demo history's ratings are plausible."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from handmade_fleet import Handmade
from sqlalchemy import func, select

from backend.db.models import DeliveryRating, Order
from backend.services import ConflictError, InvalidInputError, NotFoundError
from backend.services.ratings import (
    AlreadyRatedError,
    InvalidRatingError,
    OrderNotDeliveredError,
    record_rating,
)

NOW = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)


def _order_id(session, reference: str) -> int:
    return int(session.scalar(select(Order.id).where(Order.reference == reference)))


def _count(database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(DeliveryRating)) or 0)


def test_a_delivered_order_is_rated_once(database, handmade: Handmade) -> None:
    """O4 (delivered, not yet rated) takes a rating; the comment is trimmed; a second fails."""
    with database.session() as session:
        o4 = _order_id(session, "O4")
        out = record_rating(session, order_id=o4, rating=3, comment="  ok  ", now=NOW)
    assert (out.order_id, out.rating, out.comment, out.created_at) == (o4, 3, "ok", NOW)
    assert _count(database) == 3
    with pytest.raises(AlreadyRatedError) as err, database.session() as session:
        record_rating(session, order_id=o4, rating=5, comment="", now=NOW)
    assert isinstance(err.value, ConflictError) and err.value.code == "already_rated"
    assert _count(database) == 3


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_must_be_a_whole_number_from_1_to_5(
    database, handmade: Handmade, rating: object
) -> None:
    """Out of range, fractional, text, a boolean or nothing: invalid_rating on `rating`."""
    with pytest.raises(InvalidRatingError) as err, database.session() as session:
        record_rating(session, order_id=_order_id(session, "O4"), rating=rating, now=NOW)  # type: ignore[arg-type]
    assert isinstance(err.value, InvalidInputError)
    assert (err.value.code, err.value.field) == ("invalid_rating", "rating")
    assert _count(database) == 2


@pytest.mark.parametrize("comment", ["x" * 1001, "nul\x00byte", 42])
def test_a_bad_comment_is_refused(database, handmade: Handmade, comment: object) -> None:
    """Too long, a NUL character, or not text at all."""
    with pytest.raises(InvalidRatingError) as err, database.session() as session:
        record_rating(
            session,
            order_id=_order_id(session, "O4"),
            rating=5,
            comment=comment,  # type: ignore[arg-type]
            now=NOW,
        )
    assert err.value.field == "comment"
    assert _count(database) == 2


@pytest.mark.parametrize("reference", ["O3", "O5"])
def test_only_a_delivered_order_can_be_rated(database, handmade: Handmade, reference: str) -> None:
    """O3 failed and O5 was cancelled: not_delivered."""
    with pytest.raises(OrderNotDeliveredError) as err, database.session() as session:
        record_rating(session, order_id=_order_id(session, reference), rating=5, now=NOW)
    assert err.value.code == "not_delivered" and err.value.field == "order_id"
    assert _count(database) == 2


@pytest.mark.parametrize("order_id", [999_999, 0, 2**40])
def test_an_unknown_order_is_not_found(database, handmade: Handmade, order_id: int) -> None:
    """No such order (or an id no order can have): not_found."""
    with pytest.raises(NotFoundError), database.session() as session:
        record_rating(session, order_id=order_id, rating=5, now=NOW)


def test_bad_order_id_and_naive_now(database, handmade: Handmade) -> None:
    """A non-integer order id is invalid input; a naive `now` is a programming error."""
    with pytest.raises(InvalidInputError) as err, database.session() as session:
        record_rating(session, order_id="7", rating=5, now=NOW)  # type: ignore[arg-type]
    assert err.value.field == "order_id"
    with pytest.raises(ValueError), database.session() as session:
        record_rating(
            session, order_id=_order_id(session, "O4"), rating=5, now=datetime(2026, 3, 3)
        )


def test_demo_history_ratings_are_plausible() -> None:
    """A third or so of deliveries are rated, 1 to 5, after delivery; late ones rate lower."""
    import numpy as np

    from backend.sim.context import FleetContext
    from backend.sim.fleet import build_fleet
    from backend.sim.history import simulate_history
    from backend.sim.records import IdAllocator

    fleet = build_fleet(np.random.default_rng([7, 0xF1EE7]))
    ctx = FleetContext(
        fleet=fleet,
        depot_ids=(1, 2, 3),
        vehicle_ids=tuple(range(1, len(fleet) + 1)),
        driver_ids=tuple(range(1, len(fleet) + 1)),
        dispatcher_ids=(1, 2, 3),
    )
    rows, _ = simulate_history(7, date(2026, 11, 27), 3, ctx, IdAllocator())
    orders = {o["id"]: o for o in rows.orders}
    delivered = [o for o in rows.orders if o["status"] == "delivered"]
    assert 0.2 < len(rows.ratings) / len(delivered) < 0.45
    on_time, late = [], []
    for r in rows.ratings:
        order = orders[r["order_id"]]
        assert order["status"] == "delivered" and 1 <= r["rating"] <= 5
        assert r["created_at"] > order["delivered_at"]
        arrived = order["arrived_at"] or order["delivered_at"]
        (late if arrived > order["window_end"] else on_time).append(r["rating"])
    assert len({r["order_id"] for r in rows.ratings}) == len(rows.ratings)
    assert 4.6 < sum(on_time) / len(on_time) <= 5
    assert late and sum(late) / len(late) < sum(on_time) / len(on_time)
