"""Demo days as solver problems, straight from the ``backend/sim`` generators (no database).

Mirrors what ``build_problem`` in ``backend/services/planning.py`` does with the
seeded demo: one depot's vehicles and that depot's orders of the day, demands
in kg and m3, one or two time windows per order, skills (liftgate,
refrigerated), shifts, fixed, per-km and per-hour costs, a drop penalty that
grows with priority, and optionally a 30-minute break per driver between
11:00 and 14:00.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from datetime import date

import numpy as np

from backend.sim import fleet as sim_fleet
from backend.sim import orders as sim_orders
from backend.sim.city import DEPOTS
from backend.sim.fleet import build_fleet
from backend.sim.history import day_orders
from backend.solver import Break, Depot, Location, Order, Problem, TimeWindow, Vehicle

#: The day every seed is drawn for (a Tuesday); the seed varies the orders.
DAY = date(2026, 3, 3)
UNITS = ("kg", "m3")
# The app's values (backend/services/planning.py): drop penalty per order and per
# priority point, the shortest shift that takes a break.
DROP_PENALTY_BASE, DROP_PENALTY_PER_PRIORITY = 5_000.0, 1_000.0
BREAK_MIN_SHIFT_S = 21_600
#: The issue's default: 30 minutes, inside 11:00-14:00.
BREAK_WINDOW = (11 * 3600, 14 * 3600)
BREAK_DURATION_S = 1800
MAX_ROUTE_KM = 250.0


def demo_break(shift_start: float, shift_end: float) -> tuple[Break, ...]:
    """The default break of a shift: 30 minutes inside 11:00-14:00, for shifts over 6 h."""
    if shift_end - shift_start <= BREAK_MIN_SHIFT_S:
        return ()
    lo, hi = BREAK_WINDOW
    return (Break(lo, hi - BREAK_DURATION_S, BREAK_DURATION_S),)


def demo_problem(seed: int, depot_key: str, *, breaks: bool = True) -> Problem:
    """One depot's demo day for ``seed`` as a solver problem."""
    depot_idx = next(k for k, d in enumerate(DEPOTS) if d.key == depot_key)
    site = DEPOTS[depot_idx]
    day = day_orders(seed, DAY, is_today=True)
    orders = []
    for i in range(len(day)):
        if int(day.depot[i]) != depot_idx:
            continue
        windows = [TimeWindow(float(day.w1_start[i]) * 60, float(day.w1_end[i]) * 60)]
        if not math.isnan(float(day.w2_start[i])):
            windows.append(TimeWindow(float(day.w2_start[i]) * 60, float(day.w2_end[i]) * 60))
        priority = int(day.priority[i])
        orders.append(
            Order(
                id=f"o{i}",
                location=Location(float(day.lat[i]), float(day.lon[i])),
                demand=(float(day.kg[i]), float(day.m3[i])),
                time_windows=tuple(windows),
                service_time=float(day.service_min[i]) * 60,
                skills=frozenset(day.skills(i)),
                priority=priority,
                drop_penalty=DROP_PENALTY_BASE + DROP_PENALTY_PER_PRIORITY * priority,
            )
        )
    vehicles = []
    for spec in build_fleet(np.random.default_rng([seed, 0xF1EE7])):
        if spec.depot_key != depot_key:
            continue
        start, end = spec.shift_start_min * 60, spec.shift_end_min * 60
        vehicles.append(
            Vehicle(
                id=spec.name,
                start_depot=depot_key,
                end_depot=depot_key,
                capacity=(spec.type.capacity_kg, spec.type.capacity_m3),
                shift_start=start,
                shift_end=end,
                skills=frozenset(spec.skills),
                max_duration=end - start,
                max_distance=MAX_ROUTE_KM * 1000,
                breaks=demo_break(start, end) if breaks else (),
                fixed_cost=spec.type.fixed_cost,
                cost_per_km=spec.type.cost_per_km,
                cost_per_hour=spec.type.cost_per_hour,
            )
        )
    return Problem(
        orders=tuple(orders),
        vehicles=tuple(vehicles),
        depots=(Depot(depot_key, Location(site.lat, site.lon)),),
        capacity_units=UNITS,
    )


def generator_hash() -> str:
    """A hash of everything that shapes a demo day: this module and the sim generators."""
    source = "".join(
        inspect.getsource(m) for m in (sim_orders, sim_fleet, inspect.getmodule(demo_problem))
    )
    return hashlib.sha256(source.encode()).hexdigest()[:16]
