"""Rows for bulk inserts: ids handed out in insertion order, and the order row every day shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from backend.sim.city import at_local_minute
from backend.sim.orders import DayOrders

Row = dict[str, Any]


@dataclass(slots=True)
class IdAllocator:
    """Next primary key per table; starts after whatever the tables already hold."""

    next_ids: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        """The next id of `table`."""
        value = self.next_ids.get(table, 1)
        self.next_ids[table] = value + 1
        return value


@dataclass(slots=True)
class Rows:
    """Rows per model, in insertion order (parents before children)."""

    orders: list[Row] = field(default_factory=list)
    requests: list[Row] = field(default_factory=list)
    responses: list[Row] = field(default_factory=list)
    optimization_events: list[Row] = field(default_factory=list)
    routes: list[Row] = field(default_factory=list)
    stops: list[Row] = field(default_factory=list)
    route_events: list[Row] = field(default_factory=list)
    notifications: list[Row] = field(default_factory=list)
    ratings: list[Row] = field(default_factory=list)


def windows_json(orders: DayOrders, i: int) -> list[dict[str, str]]:
    """The order's time windows as [{"start": iso, "end": iso}] in UTC."""
    day = orders.day
    out = [_window(day, orders.w1_start[i], orders.w1_end[i])]
    if not np.isnan(orders.w2_start[i]):
        out.append(_window(day, orders.w2_start[i], orders.w2_end[i]))
    return out


def _window(day: date, start: float, end: float) -> dict[str, str]:
    return {
        "start": at_local_minute(day, start).isoformat(),
        "end": at_local_minute(day, end).isoformat(),
    }


def order_row(orders: DayOrders, i: int, *, order_id: int, depot_id: int, serial: int) -> Row:
    """The row of order `i` as it was when placed (status new, not yet planned)."""
    day = orders.day
    created = at_local_minute(day, float(orders.created_min[i]))
    last_end = orders.w1_end[i] if np.isnan(orders.w2_end[i]) else orders.w2_end[i]
    return {
        "id": order_id,
        "reference": f"CHI-{day:%y%m%d}-{serial:04d}",
        "depot_id": depot_id,
        "service_date": day,
        "customer_name": orders.customer[i],
        "address": orders.address[i],
        "lat": round(float(orders.lat[i]), 6),
        "lon": round(float(orders.lon[i]), 6),
        "demand": {"kg": float(orders.kg[i]), "m3": float(orders.m3[i])},
        "service_minutes": float(orders.service_min[i]),
        "time_windows": windows_json(orders, i),
        "window_start": at_local_minute(day, float(orders.w1_start[i])),
        "window_end": at_local_minute(day, float(last_end)),
        "priority": int(orders.priority[i]),
        "required_skills": orders.skills(i),
        "status": "new",
        "vehicle_id": None,
        "notes": orders.notes[i],
        "failure_reason": None,
        "created_at": created,
        "updated_at": created,
        "planned_at": None,
        "dispatched_at": None,
        "en_route_at": None,
        "arrived_at": None,
        "delivered_at": None,
        "failed_at": None,
        "cancelled_at": None,
    }


def local_ts(day: date, minute: float) -> datetime:
    """Aware UTC timestamp of a local minute, rounded to whole seconds for readable data."""
    seconds = round(minute * 60)
    if _DAYTIME[0] <= seconds < _DAYTIME[1]:
        # Daytime never crosses a daylight-saving switch (those happen at 02:00).
        return _daytime_anchor(day) + timedelta(seconds=seconds)
    return at_local_minute(day, seconds / 60)


_DAYTIME = (3 * 3600, 24 * 3600)


@lru_cache(maxsize=512)
def _daytime_anchor(day: date) -> datetime:
    # The UTC instant that daytime wall-clock minutes of `day` count from.
    return at_local_minute(day, 12 * 60) - timedelta(hours=12)


def event_row(
    event_id: int,
    route_id: int | None,
    vehicle_id: int | None,
    order_id: int | None,
    depot_id: int,
    reported_by: int | None,
    kind: str,
    severity: str,
    at: datetime,
    lat: float,
    lon: float,
    data: dict[str, object],
    client_event_id: str | None,
) -> Row:
    """A route event row."""
    return {
        "id": event_id,
        "route_id": route_id,
        "vehicle_id": vehicle_id,
        "order_id": order_id,
        "depot_id": depot_id,
        "reported_by": reported_by,
        "event_type": kind,
        "severity": severity,
        "occurred_at": at,
        "received_at": at,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "data": data,
        "client_event_id": client_event_id,
    }


def notification_row(
    notification_id: int,
    depot_id: int,
    event_id: int,
    kind: str,
    severity: str,
    title: str,
    body: str,
    at: datetime,
    dispatcher_id: int,
    ack_minutes: float,
) -> Row:
    """A notification row, already acknowledged by the depot's dispatcher (history)."""
    # History's alerts were all handled: a dispatcher acknowledged each within minutes.
    ack = at + timedelta(minutes=ack_minutes)
    return {
        "id": notification_id,
        "depot_id": depot_id,
        "route_event_id": event_id,
        "kind": kind,
        "severity": severity,
        "title": title,
        "body": body,
        "audience": ["dispatcher", "manager"],
        "created_at": at,
        "acknowledged_at": ack,
        "acknowledged_by": dispatcher_id,
    }
