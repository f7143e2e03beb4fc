"""The order and fleet services without Flask (as a Dash callback calls them), and races.

Two concurrent status changes of one order: exactly one wins, the other gets a conflict.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from backend.db.models import OrderStatus
from backend.services import ConflictError, InvalidInputError, NotFoundError
from backend.services.fleet import VehicleCreate, create_vehicle
from backend.services.orders import (
    OrderCreate,
    OrderUpdate,
    change_order_status,
    create_order,
    update_order,
)

from .api_helpers import order_body, vehicle_body

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def test_services_work_on_a_plain_session(runtime, world):
    north = {world.depots["north"]}
    with runtime.db.session() as s:
        order = create_order(s, depot_ids=north, data=OrderCreate(**order_body()))
    with runtime.db.session() as s:
        planned = change_order_status(
            s, depot_ids=north, order_id=order.id, status=OrderStatus.PLANNED, now=NOW
        )
    assert planned.status == OrderStatus.PLANNED and planned.planned_at is not None
    with runtime.db.session() as s:
        vehicle = create_vehicle(s, depot_ids=None, data=VehicleCreate(**vehicle_body()))
    assert vehicle.active


def test_service_errors_name_the_field(runtime, world):
    north = {world.depots["north"]}
    with runtime.db.session() as s, pytest.raises(NotFoundError):
        update_order(
            s, depot_ids=north, order_id=world.orders["S-001"], data=OrderUpdate(priority=1)
        )
    with runtime.db.session() as s, pytest.raises(InvalidInputError) as err:
        create_order(s, depot_ids=north, data=OrderCreate(**order_body(depot_id=2)))
    assert err.value.field == "depot_id"
    with runtime.db.session() as s, pytest.raises(ConflictError) as conflict:
        change_order_status(
            s, depot_ids=None, order_id=world.orders["N-001"], status=OrderStatus.DELIVERED, now=NOW
        )
    assert conflict.value.details["current"] == "new"


def test_concurrent_status_changes_only_one_wins(runtime, world):
    order_id = world.orders["N-002"]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def plan() -> None:
        barrier.wait()
        try:
            with runtime.db.session() as s:
                change_order_status(
                    s, depot_ids=None, order_id=order_id, status=OrderStatus.PLANNED, now=NOW
                )
            result = "ok"
        except ConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]
