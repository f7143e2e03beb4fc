"""How many vehicles tomorrow needs: the routing engine on a day sampled from the forecast.

A sampled day draws each (zone, local hour) slot's order count from a Poisson around the
forecast's P50 (seeded), and each order is a recent real order of the same slot (falling back
to the depot's same hour, then to the depot): its position, demand, service time, skills,
priority and time windows (moved onto the sampled day). The solver plans that day with the
depot's whole active fleet; the vehicles its plan uses, counted per shift, are the suggestion.
A shift is a distinct (shift start, shift end) of the depot's vehicles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Depot, Order, Vehicle
from backend.ml.demand import local_hour, zone_of
from backend.planning.problem import DROP_PENALTY_BASE, DROP_PENALTY_PER_PRIORITY, solver_fleet
from backend.solver import Depot as SolverDepot
from backend.solver import Location, Plan, Problem, TimeWindow, solve
from backend.solver import Order as SolverOrder

# Recent enough to look like tomorrow's orders, long enough to cover every slot.
TEMPLATE_DAYS = 28
FLEET_TIME_LIMIT_S = 10.0
FLEET_ENGINE = "pyvrp"
Shift = tuple[time, time]


@dataclass(frozen=True)
class DepotSizing:
    """The sampled day of one depot, the plan the solver made for it, and its vehicles by shift."""

    depot_id: int
    service_date: date
    orders_sampled: int
    orders_unassigned: int
    used: dict[Shift, int]
    available: dict[Shift, int]
    plan: Plan

    @property
    def vehicles_used(self) -> int:
        """Vehicles with at least one stop, all shifts together."""
        return sum(self.used.values())


def load_templates(
    session: Session, *, depot_ids: list[int], since: date, until: date
) -> pd.DataFrame:
    """Real orders of `since`..`until` to draw sampled orders from, with their slot (one query)."""
    result = session.execute(
        select(
            Order.depot_id,
            Order.service_date,
            Order.lat,
            Order.lon,
            Order.demand,
            Order.service_minutes,
            Order.time_windows,
            Order.required_skills,
            Order.priority,
            Order.window_start,
            Depot.timezone,
        )
        .join(Depot, Depot.id == Order.depot_id)
        .where(
            Order.depot_id.in_(depot_ids),
            Order.service_date >= since,
            Order.service_date <= until,
            Order.status != "cancelled",
        )
        .order_by(Order.id)
    )
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    if frame.empty:
        return frame.assign(zone=pd.Series(dtype=str), hour=pd.Series(dtype=int))
    frame["zone"] = zone_of(frame["lat"].to_numpy(float), frame["lon"].to_numpy(float))
    frame["hour"] = local_hour(frame["window_start"], frame["timezone"])
    frame["windows_s"] = [
        _window_offsets(windows, day, tz)
        for windows, day, tz in zip(
            frame["time_windows"], frame["service_date"], frame["timezone"], strict=True
        )
    ]
    return frame


def _window_offsets(
    windows: list[Any], day: date, timezone: str
) -> tuple[tuple[float, float], ...]:
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone or "UTC"))
    return tuple(
        (
            (datetime.fromisoformat(w["start"]) - midnight).total_seconds(),
            (datetime.fromisoformat(w["end"]) - midnight).total_seconds(),
        )
        for w in windows
    )


def sample_day(slots: pd.DataFrame, templates: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """Orders of one sampled day: per slot (depot_id, zone, hour, p50) a Poisson count of templates.

    Returns template rows (a slot with no template of its own borrows the depot's same hour,
    then any of the depot's); the same seed gives the same day.
    """
    rng = np.random.default_rng(seed)
    ordered = slots.sort_values(["depot_id", "zone", "hour"]).reset_index(drop=True)
    counts = rng.poisson(np.clip(ordered["p50"].to_numpy(float), 0.0, None))
    by_slot = templates.groupby(["depot_id", "zone", "hour"]).indices
    by_hour = templates.groupby(["depot_id", "hour"]).indices
    by_depot = templates.groupby("depot_id").indices
    picked: list[int] = []
    for row, n in zip(ordered.itertuples(index=False), counts, strict=True):
        if n == 0:
            continue
        depot, zone, hour = int(row.depot_id), str(row.zone), int(row.hour)
        pool = by_slot.get((depot, zone, hour))
        if pool is None:
            pool = by_hour.get((depot, hour), by_depot.get(depot))
        if pool is None:
            continue
        picked.extend(rng.choice(pool, size=int(n), replace=True).tolist())
    return templates.iloc[picked].reset_index(drop=True)


def depot_problem(
    depot: Depot, depots: list[Depot], vehicles: list[Vehicle], orders: pd.DataFrame
) -> Problem:
    """The solver problem of `orders` (sampled template rows) for `vehicles`."""
    units, fleet = solver_fleet(vehicles)
    solver_orders = tuple(
        SolverOrder(
            id=f"sample-{i}",
            location=Location(float(o.lat), float(o.lon)),
            demand=tuple(float((o.demand or {}).get(u, 0)) for u in units),
            time_windows=tuple(TimeWindow(max(0.0, s), max(0.0, e)) for s, e in o.windows_s),
            service_time=float(o.service_minutes) * 60,
            skills=frozenset(o.required_skills or ()),
            priority=int(o.priority),
            drop_penalty=DROP_PENALTY_BASE + DROP_PENALTY_PER_PRIORITY * int(o.priority),
        )
        for i, o in enumerate(orders.itertuples(index=False))
    )
    used_depots = {v.start_depot_id for v in vehicles} | {v.end_depot_id for v in vehicles}
    return Problem(
        orders=solver_orders,
        vehicles=fleet,
        depots=tuple(
            SolverDepot(str(d.id), Location(d.lat, d.lon)) for d in depots if d.id in used_depots
        ),
        capacity_units=units,
    )


def size_depot(
    depot: Depot,
    depots: list[Depot],
    vehicles: list[Vehicle],
    orders: pd.DataFrame,
    *,
    service_date: date,
    seed: int,
    time_limit_s: float = FLEET_TIME_LIMIT_S,
    max_iterations: int | None = None,
    cancel: Callable[[], bool] | None = None,
) -> DepotSizing:
    """Plan the sampled `orders` with the depot's fleet; count the vehicles used per shift."""
    shift_of = {str(v.id): (v.shift_start, v.shift_end) for v in vehicles}
    available: dict[Shift, int] = {}
    for shift in shift_of.values():
        available[shift] = available.get(shift, 0) + 1
    used = dict.fromkeys(available, 0)
    if orders.empty:
        plan = Plan(
            routes=(),
            unassigned=(),
            cost=0.0,
            distance=0.0,
            duration=0.0,
            engine="none",
            solve_time=0.0,
            score=0.0,
        )
        return DepotSizing(depot.id, service_date, 0, 0, used, available, plan)
    plan = solve(
        depot_problem(depot, depots, vehicles, orders),
        engine=FLEET_ENGINE,
        time_limit=time_limit_s,
        seed=seed,
        max_iterations=max_iterations,
        cancel=cancel,
    )
    for route in plan.routes:
        if route.stops:
            used[shift_of[route.vehicle_id]] += 1
    return DepotSizing(
        depot_id=depot.id,
        service_date=service_date,
        orders_sampled=len(orders),
        orders_unassigned=len(plan.unassigned),
        used=used,
        available=available,
        plan=plan,
    )


def active_fleet(session: Session, *, depot_ids: list[int]) -> dict[int, list[Vehicle]]:
    """Each depot's active vehicles (one query)."""
    vehicles = session.scalars(
        select(Vehicle)
        .where(Vehicle.depot_id.in_(depot_ids), Vehicle.active.is_(True))
        .order_by(Vehicle.id)
    )
    fleet: dict[int, list[Vehicle]] = {d: [] for d in depot_ids}
    for vehicle in vehicles:
        fleet[vehicle.depot_id].append(vehicle)
    return fleet


def template_range(start: date) -> tuple[date, date]:
    """The days whose orders are drawn from for a sampled day on or after `start`."""
    return start - timedelta(days=TEMPLATE_DAYS), start - timedelta(days=1)
