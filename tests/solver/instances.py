"""Tiny named problems for the solver tests (plane and lat/lon)."""

from __future__ import annotations

from backend.solver import Depot, Location, Order, Problem, TimeWindow, Vehicle

# A small city around Bratislava; lat/lon in degrees.
CENTER = Location(48.1486, 17.1077)


def at(dlat: float, dlon: float) -> Location:
    return Location(CENTER.lat + dlat, CENTER.lon + dlon)


def square(n_orders: int = 8, vehicles: int = 2, capacity: float = 100.0, **vkw) -> Problem:
    """Orders on a small grid around one depot; everything feasible."""
    orders = tuple(
        Order(
            id=f"o{i}",
            location=at(0.01 * ((i % 4) - 1.5), 0.01 * ((i // 4) - 1)),
            demand=(10.0,),
            service_time=300,
        )
        for i in range(n_orders)
    )
    vs = tuple(
        Vehicle(
            id=f"v{k}",
            start_depot="d",
            capacity=(capacity,),
            shift_start=8 * 3600,
            shift_end=18 * 3600,
            **vkw,
        )
        for k in range(vehicles)
    )
    return Problem(orders=orders, vehicles=vs, depots=(Depot("d", CENTER),), capacity_units=("kg",))


def plane_tw() -> Problem:
    """Six plane orders with time windows (Solomon-like), two vehicles of capacity 30."""
    pts = [
        (10, 0, 0, 100),
        (20, 0, 50, 200),
        (20, 10, 100, 300),
        (-10, 0, 0, 100),
        (-20, 0, 50, 200),
        (-20, -10, 100, 300),
    ]
    orders = tuple(
        Order(
            id=f"c{k}",
            location=Location.xy(x, y),
            demand=(10.0,),
            time_windows=(TimeWindow(a, b),),
            service_time=5,
        )
        for k, (x, y, a, b) in enumerate(pts)
    )
    vs = tuple(
        Vehicle(
            id=f"v{k}",
            start_depot="d",
            capacity=(30.0,),
            shift_start=0,
            shift_end=1000,
            cost_per_km=1.0,
        )
        for k in range(2)
    )
    return Problem(
        orders=orders,
        vehicles=vs,
        depots=(Depot("d", Location.xy(0, 0)),),
        capacity_units=("q",),
        coordinates="plane",
    )


def served(plan) -> list[str]:
    return sorted(s.order_id for r in plan.routes for s in r.stops)
