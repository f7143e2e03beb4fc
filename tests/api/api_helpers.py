"""Helpers shared by the API tests: request bodies, stored rows, error assertions."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

SERVICE_DATE = date(2026, 3, 2)
DAY_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert a JSON error of `status` (naming `field` when given); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert error.get("field") == field, error
    return error  # type: ignore[no-any-return]


def window(hours_from: float, hours_to: float) -> dict[str, str]:
    """A time window on SERVICE_DATE, as the API takes it (ISO-8601 with offset)."""
    return {
        "start": (DAY_START + timedelta(hours=hours_from)).isoformat(),
        "end": (DAY_START + timedelta(hours=hours_to)).isoformat(),
    }


def order_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /orders body for depot "north" (id 1), overridable field by field."""
    body: dict[str, Any] = {
        "reference": f"NEW-{uuid.uuid4().hex[:8]}",
        "depot_id": 1,
        "service_date": SERVICE_DATE.isoformat(),
        "customer_name": "Ada Lovelace",
        "address": "12 Analytical Row",
        "lat": 52.52,
        "lon": 13.40,
        "demand": {"kg": 12.5},
        "service_minutes": 5,
        "time_windows": [window(1, 3)],
        "priority": 5,
    }
    body.update(overrides)
    return body


def vehicle_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /vehicles body for depot "north" (id 1)."""
    body: dict[str, Any] = {
        "name": f"van-{uuid.uuid4().hex[:6]}",
        "vehicle_type": "van",
        "plate": "B-XY 1",
        "depot_id": 1,
        "capacity": {"kg": 800, "m3": 6},
        "fuel_l_per_km": 0.09,
        "cost_per_km": 0.4,
        "cost_per_hour": 22.0,
        "shift_start": "07:00",
        "shift_end": "16:00",
    }
    body.update(overrides)
    return body


def stored_order(runtime: Any, order_id: int) -> dict[str, Any]:
    """The order row as stored, column by column (to prove a rejected request changed nothing)."""
    from backend.db.models import Order

    with runtime.db.session() as s:
        row = s.get(Order, order_id)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in Order.__table__.columns}


def count_rows(runtime: Any, model: Any) -> int:
    """How many rows the table of `model` holds."""
    from sqlalchemy import func, select

    with runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
