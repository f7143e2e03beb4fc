"""The company's past: baseline plans driven against the hidden traffic model, day by day.

Each past day: orders are drawn, the baseline dispatcher plans them per depot (one
optimization request and response per vehicle), and every route is driven leg by leg with
ground-truth travel times, per-leg noise, lognormal service times, failed deliveries and
occasional incidents. Everything is a pure function of (seed, day).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from backend.sim.baseline import plan_depot_day
from backend.sim.city import DEPOTS
from backend.sim.context import FleetContext, HistoryStats
from backend.sim.execution import RouteRun
from backend.sim.orders import DayOrders, generate_orders, order_count
from backend.sim.plans import record_plan
from backend.sim.records import (
    IdAllocator,
    Row,
    Rows,
    event_row,
    local_ts,
    notification_row,
    order_row,
)
from backend.sim.traffic import daily_weather

# Manual planning took the dispatcher about 45 minutes each morning (the original baseline).
PLANNING_START_MIN = 5 * 60 + 30
PLANNING_MINUTES = 45.0
_STREAM_ORDERS = 0x0D
_STREAM_DRIVE = 0xD7
_STREAM_RATINGS = 0x5A
# Customer ratings: who rates, and the odds of 5..1 stars by how late the delivery came.
RATE_SHARE = 0.3
RATE_SHARE_VERY_LATE = 0.45
RATING_ODDS = (  # (late up to minutes, P(5), P(4), P(3), P(2), P(1))
    (0.0, (0.86, 0.11, 0.02, 0.007, 0.003)),
    (15.0, (0.60, 0.28, 0.08, 0.03, 0.01)),
    (60.0, (0.30, 0.30, 0.20, 0.12, 0.08)),
    (float("inf"), (0.10, 0.20, 0.25, 0.25, 0.20)),
)
RATING_COMMENTS = {
    1: ("Hours late and nobody called.", "Arrived well after the window."),
    2: ("Late again.", "Came after the window I picked."),
    5: ("Right on time, thank you!", "Friendly driver.", ""),
}

__all__ = [
    "FleetContext",
    "HistoryStats",
    "day_orders",
    "rate_deliveries",
    "simulate_day",
    "simulate_history",
]


def day_orders(seed: int, day: date, *, is_today: bool) -> DayOrders:
    """The orders of `day`: a pure function of (seed, day)."""
    rng = np.random.default_rng([seed, day.toordinal(), _STREAM_ORDERS])
    return generate_orders(rng, day, order_count(rng, day, is_today=is_today))


def simulate_history(
    seed: int, today: date, days: int, ctx: FleetContext, ids: IdAllocator
) -> tuple[Rows, HistoryStats]:
    """Rows and totals of the `days` days before `today`, oldest first."""
    rows = Rows()
    stats = HistoryStats()
    for back in range(days, 0, -1):
        simulate_day(seed, today - timedelta(days=back), ctx, ids, rows, stats)
    return rows, stats


def simulate_day(
    seed: int, day: date, ctx: FleetContext, ids: IdAllocator, rows: Rows, stats: HistoryStats
) -> None:
    """Plan and drive one past day, appending its rows and adding to the totals."""
    orders = day_orders(seed, day, is_today=False)
    rng = np.random.default_rng([seed, day.toordinal(), _STREAM_DRIVE])
    weather = daily_weather(seed, day)
    order_rows = []
    for i in range(len(orders)):
        row = order_row(
            orders,
            i,
            order_id=ids.take("delivery_order"),
            depot_id=ctx.depot_ids[int(orders.depot[i])],
            serial=i + 1,
        )
        order_rows.append(row)
    rows.orders.extend(order_rows)
    stats.days += 1
    for d, depot in enumerate(DEPOTS):
        members = np.flatnonzero(orders.depot == d)
        vehicles = [v for v in ctx.fleet if v.depot_key == depot.key]
        routes = plan_depot_day(orders, members, vehicles, depot)
        session_start = PLANNING_START_MIN + float(rng.uniform(-10, 10))
        session_end = session_start + PLANNING_MINUTES * float(rng.lognormal(0, 0.15))
        if weather.factor < 0.85:
            ack = float(rng.uniform(2.0, 15.0))
            _weather_alert(
                day, d, weather.condition, weather.factor, session_start, ack, ctx, ids, rows
            )
        for route in routes:
            vehicle = ctx.fleet[route.vehicle]
            response_id = record_plan(
                rows,
                orders,
                order_rows,
                route,
                vehicle,
                vehicle_id=ctx.vehicle_ids[vehicle.index],
                depot_id=ctx.depot_ids[d],
                session_start=session_start,
                session_end=session_end,
            )
            run = RouteRun(orders, order_rows, route, ctx, ids, rows, stats, rng, weather.factor)
            run.drive(response_id, planned_at=session_end)
        for row in order_rows:
            if row["depot_id"] == ctx.depot_ids[d] and row["status"] == "new":
                # No truck with the skill had room left: customer service rebooks the order.
                cancelled = local_ts(day, session_end)
                row.update(
                    status="cancelled",
                    cancelled_at=cancelled,
                    updated_at=cancelled,
                    failure_reason="not planned: no vehicle capacity",
                )
                stats.cancelled += 1
    rate_deliveries(seed, day, order_rows, ids, rows)


def rate_deliveries(
    seed: int, day: date, order_rows: list[Row], ids: IdAllocator, rows: Rows
) -> None:
    """Customer ratings of the day's delivered orders: some customers rate, late ones lower."""
    rng = np.random.default_rng([seed, day.toordinal(), _STREAM_RATINGS])
    for row in order_rows:
        if row["status"] != "delivered" or row["delivered_at"] is None:
            continue
        arrived = row["arrived_at"] or row["delivered_at"]
        late = (arrived - row["window_end"]).total_seconds() / 60
        if rng.random() >= (RATE_SHARE_VERY_LATE if late > 60 else RATE_SHARE):
            continue
        odds = next(p for limit, p in RATING_ODDS if late <= limit)
        stars = 5 - int(rng.choice(5, p=odds))
        choices = RATING_COMMENTS.get(stars, ("",))
        comment = choices[int(rng.integers(len(choices)))] if rng.random() < 0.3 else ""
        rated = row["delivered_at"] + timedelta(minutes=round(float(rng.lognormal(4.0, 0.8))))
        rows.ratings.append(
            {
                "id": ids.take("delivery_rating"),
                "order_id": row["id"],
                "rating": stars,
                "comment": comment,
                "created_at": rated,
            }
        )


def _weather_alert(
    day: date,
    d: int,
    condition: str,
    factor: float,
    minute: float,
    ack_minutes: float,
    ctx: FleetContext,
    ids: IdAllocator,
    rows: Rows,
) -> None:
    event_id = ids.take("route_event")
    at = local_ts(day, minute)
    depot = DEPOTS[d]
    rows.route_events.append(
        event_row(
            event_id,
            None,
            None,
            None,
            ctx.depot_ids[d],
            None,
            "weather_alert",
            "warning",
            at,
            depot.lat,
            depot.lon,
            {"condition": condition, "speed_factor": factor},
            None,
        )
    )
    rows.notifications.append(
        notification_row(
            ids.take("notification"),
            ctx.depot_ids[d],
            event_id,
            "weather_alert",
            "warning",
            f"Weather alert: {condition}",
            f"{condition.capitalize()} expected around {depot.name}; allow extra time.",
            at,
            ctx.dispatcher_ids[d],
            ack_minutes,
        )
    )
