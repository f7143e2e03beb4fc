"""components.driver: the phone view shows route stops in order, assigned orders, or a message."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tree import by_class, text

from backend.db.queries.driver import DriverDay, DriverStop
from components.driver import create_driver_view

T = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def stop(seq: int, status: str = "pending", order_status: str = "planned") -> DriverStop:
    return DriverStop(
        seq, "delivery", status, 41.9, -87.6, T, T, T if status == "done" else None, seq,
        f"R{seq}", f"Customer {seq}", f"{seq} Main St", T, T, order_status,
    )  # fmt: skip


def day(stops: list[DriverStop], route: bool) -> DriverDay:
    extra = {"route_id": 1, "route_status": "active", "planned_start_at": T, "planned_end_at": T,
             "planned_distance_km": 30.0} if route else {}  # fmt: skip
    return DriverDay(
        vehicle_id=1, vehicle_name="VAN-1", plate="IL 1", depot_name="North",
        timezone="America/Chicago", service_date=date(2026, 11, 27), stops=stops, **extra,
    )  # fmt: skip


def test_route_stops_in_order_with_times_and_status() -> None:
    view = create_driver_view(day([stop(1, "done"), stop(2), stop(3)], route=True))
    cards = by_class(view, "stop")
    assert len(cards) == 3
    assert [c.children for c in by_class(view, "stop-seq")] == ["1", "2", "3"]
    assert "stop-done" in cards[0].className
    assert "Route active · 3 stops · 1 done · 30 km" in text(view)
    assert "Window  09:00–09:00" in text(cards[1]) and "ETA  09:00" in text(cards[1])
    assert "Customer 2" in text(cards[1]) and "2 Main St" in text(cards[1])
    link = by_class(cards[1], "stop-directions")[0]
    assert link.href == "https://www.google.com/maps/dir/?api=1&destination=41.900000,-87.600000"


def test_assigned_orders_without_route() -> None:
    view = create_driver_view(day([stop(1), stop(2)], route=False))
    assert "No route yet · 2 orders assigned to you today" in text(view)
    assert "Not yet planned" in text(view)
    assert len(by_class(view, "stop")) == 2


def test_nothing_yet_and_no_vehicle() -> None:
    assert "No route yet" in text(create_driver_view(day([], route=False)))
    assert "No vehicle assigned" in text(create_driver_view(None))
