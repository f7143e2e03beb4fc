"""components.orders: order rows with names from the lookups, and the summary line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from tree import text

from components.orders import (
    ORDER_COLUMNS,
    ORDER_SORTABLE,
    create_order_details,
    order_rows,
    summary_text,
)


def test_rows_use_lookups_and_local_windows() -> None:
    order = SimpleNamespace(
        id=5, reference="R5", service_date=date(2026, 11, 27), customer_name="Ann",
        address="1 Main", window_start=datetime(2026, 11, 27, 15, tzinfo=UTC),
        window_end=datetime(2026, 11, 27, 17, tzinfo=UTC), priority=3, status="en_route",
        vehicle_id=9, depot_id=2, demand={"kg": 12.5, "m3": 0.2},
    )  # fmt: skip
    unassigned = SimpleNamespace(**{**vars(order), "id": 6, "vehicle_id": None})
    rows = order_rows(
        [order, unassigned],
        {"9": "VAN-9"},
        {"2": {"name": "South", "timezone": "America/Chicago"}},
    )
    assert rows[0]["window_start"] == "09:00–11:00"
    assert rows[0]["vehicle_id"] == "VAN-9" and rows[0]["depot_id"] == "South"
    assert rows[0]["demand"] == "12.5 kg · 0.2 m3"
    assert rows[1]["vehicle_id"] == "unassigned"
    assert {c["id"] for c in ORDER_COLUMNS} >= set(rows[0]) - {"id"}


def test_sortable_columns_are_table_columns() -> None:
    assert ORDER_SORTABLE <= {c["id"] for c in ORDER_COLUMNS}


def test_summary() -> None:
    assert summary_text(0, 1, 25) == "No orders match these filters."
    assert summary_text(60, 1, 25) == "Orders 1–25 of 60"
    assert summary_text(60, 3, 25) == "Orders 51–60 of 60"
    assert summary_text(1234, 2, 25) == "Orders 26–50 of 1,234"


def test_details_show_the_order_and_its_timeline() -> None:
    start = datetime(2026, 11, 27, 15, tzinfo=UTC)
    order = SimpleNamespace(
        reference="R7", status="failed", depot_id=2, customer_name="Ann", address="1 Main",
        service_date=date(2026, 11, 27), time_windows=[SimpleNamespace(start=start, end=start)],
        window_start=start, window_end=start, service_minutes=5.0, demand={"kg": 3},
        priority=2, required_skills=["liftgate"], vehicle_id=9, failure_reason="customer_not_home",
        notes="Ring twice", created_at=start, planned_at=None, dispatched_at=start,
        en_route_at=None, arrived_at=None, delivered_at=None, failed_at=start, cancelled_at=None,
    )  # fmt: skip
    details = create_order_details(
        order, {"9": "VAN-9"}, {"2": {"name": "South", "timezone": "America/Chicago"}}
    )
    content = text(details)
    assert "R7" in content and "Failed" in content and "VAN-9" in content
    assert "09:00–09:00" in content and "liftgate" in content and "customer not home" in content
    assert "Ring twice" in content
    assert "Created" in content and "Dispatched" in content and "Planned" not in content
    assert "Select an order" in text(create_order_details(None, {}, {}))
