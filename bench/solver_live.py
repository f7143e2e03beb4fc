"""Latency of inserting one new order into a live 100-stop plan (lat/lon, haversine)."""

from __future__ import annotations

import random
import statistics
import time

from backend.solver import Depot, Location, Order, Problem, TimeWindow, Vehicle, solve
from backend.solver.live import insert_order


def city_problem(n: int, vehicles: int, seed: int) -> Problem:
    rng = random.Random(seed)
    center = Location(48.1486, 17.1077)

    def point() -> Location:
        return Location(
            center.lat + rng.uniform(-0.08, 0.08), center.lon + rng.uniform(-0.12, 0.12)
        )

    orders = []
    for i in range(n):
        start = rng.choice([8, 9, 10, 11, 12, 13, 14]) * 3600
        orders.append(
            Order(
                id=f"o{i}",
                location=point(),
                demand=(rng.uniform(5, 40), 0.1),
                time_windows=(TimeWindow(start, start + 4 * 3600),),
                service_time=rng.choice([120, 300, 600]),
            )
        )
    vs = tuple(
        Vehicle(
            id=f"v{k}",
            start_depot="hub",
            capacity=(1000.0, 10.0),
            shift_start=7 * 3600,
            shift_end=19 * 3600,
            cost_per_km=0.5,
            cost_per_hour=20.0,
        )
        for k in range(vehicles)
    )
    return Problem(
        orders=tuple(orders),
        vehicles=vs,
        depots=(Depot("hub", center),),
        capacity_units=("kg", "m3"),
    )


def insertion_trials(trials: int, seed: int = 3) -> None:
    problem = city_problem(100, 6, seed)
    plan = solve(problem, engine="pyvrp", time_limit=3, seed=seed)
    stops = sum(len(r.stops) for r in plan.routes)
    print(
        f"live plan: {stops} stops on {plan.vehicles_used} vehicles, "
        f"{len(plan.unassigned)} unassigned"
    )
    rng = random.Random(seed + 1)
    times = []
    placed = 0
    for t in range(trials):
        start = rng.choice([9, 10, 11, 12, 13]) * 3600
        order = Order(
            id=f"new{t}",
            location=Location(
                48.1486 + rng.uniform(-0.08, 0.08), 17.1077 + rng.uniform(-0.12, 0.12)
            ),
            demand=(10.0, 0.05),
            time_windows=(TimeWindow(start, start + 3 * 3600),),
            service_time=300,
        )
        t0 = time.perf_counter()
        out = insert_order(problem, plan, order)
        times.append((time.perf_counter() - t0) * 1000)
        placed += all(u.order_id != order.id for u in out.unassigned)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(
        f"insert one order into a {stops}-stop plan, {trials} trials: "
        f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms; "
        f"placed {placed}/{trials}"
    )
