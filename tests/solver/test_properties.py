"""Property tests: any well-formed random problem yields a consistent plan, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.solver import Depot, Location, Order, Problem, TimeWindow, Vehicle, solve

coord = st.floats(min_value=-50, max_value=50, allow_nan=False)


@st.composite
def problems(draw) -> Problem:
    n = draw(st.integers(min_value=0, max_value=6))
    orders = []
    for i in range(n):
        start = draw(st.integers(min_value=0, max_value=300))
        width = draw(st.integers(min_value=0, max_value=300))
        orders.append(
            Order(
                f"o{i}",
                Location.xy(draw(coord), draw(coord)),
                demand=(float(draw(st.integers(min_value=0, max_value=15))),),
                time_windows=(TimeWindow(start, start + width),) if draw(st.booleans()) else (),
                service_time=draw(st.integers(min_value=0, max_value=20)),
            )
        )
    vehicles = tuple(
        Vehicle(
            f"v{k}",
            "d",
            capacity=(float(draw(st.integers(min_value=1, max_value=20))),),
            shift_end=draw(st.integers(min_value=50, max_value=800)),
        )
        for k in range(draw(st.integers(min_value=1, max_value=3)))
    )
    return Problem(
        orders=tuple(orders),
        vehicles=vehicles,
        depots=(Depot("d", Location.xy(0, 0)),),
        capacity_units=("q",),
        coordinates="plane",
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_order_is_served_once_or_explained(problem: Problem) -> None:
    plan = solve(problem, engine="ortools", time_limit=0.2)
    served = [s.order_id for r in plan.routes for s in r.stops]
    left = [u.order_id for u in plan.unassigned]
    assert sorted(served + left) == sorted(o.id for o in problem.orders)
    assert len(set(served)) == len(served)
    caps = {v.id: v.capacity[0] for v in problem.vehicles}
    windows = {o.id: o.time_windows for o in problem.orders}
    for r in plan.routes:
        assert r.load[0] <= caps[r.vehicle_id] + 1e-9
        for s in r.stops:
            for w in windows[s.order_id]:
                assert w.start - 1e-9 <= s.start <= w.end + 1e-9
    assert 0.0 <= plan.score <= 1.0
