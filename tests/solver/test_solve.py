"""`solve` plans tiny problems with every engine, deterministically, and reports progress."""

from __future__ import annotations

import threading
import time

import pytest

from backend.solver import Plan, solve
from tests.solver.instances import plane_tw, served, square


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
def test_every_engine_serves_every_order(engine: str) -> None:
    problem = square()
    plan = solve(problem, engine=engine, time_limit=0.5)
    assert isinstance(plan, Plan)
    assert served(plan) == sorted(o.id for o in problem.orders)
    assert plan.unassigned == ()
    assert plan.engine in ("ortools", "pyvrp")
    assert 0 < plan.score <= 1
    assert plan.distance == pytest.approx(sum(r.distance for r in plan.routes))
    for route in plan.routes:
        for a, b in zip(route.stops, route.stops[1:], strict=False):
            assert a.departure <= b.arrival + 1e-9
        for s in route.stops:
            assert s.arrival <= s.start <= s.departure


def test_plane_time_windows_are_honoured() -> None:
    problem = plane_tw()
    plan = solve(problem, engine="ortools", time_limit=0.5)
    windows = {o.id: o.time_windows[0] for o in problem.orders}
    assert len(served(plan)) == 6
    for route in plan.routes:
        for s in route.stops:
            assert windows[s.order_id].start <= s.start <= windows[s.order_id].end


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_same_seed_same_plan(engine: str) -> None:
    problem = square(n_orders=12, vehicles=3, capacity=50)
    a = solve(problem, engine=engine, time_limit=2, seed=7, max_iterations=200)
    b = solve(problem, engine=engine, time_limit=2, seed=7, max_iterations=200)
    assert [[s.order_id for s in r.stops] for r in a.routes] == [
        [s.order_id for s in r.stops] for r in b.routes
    ]
    assert a.cost == b.cost


def test_on_improve_reports_falling_costs() -> None:
    calls: list[tuple[float, float]] = []
    plan = solve(
        square(n_orders=12, vehicles=3),
        engine="ortools",
        time_limit=0.5,
        on_improve=lambda cost, t: calls.append((cost, t)),
    )
    assert calls
    costs = [c for c, _ in calls]
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] == pytest.approx(plan.cost, rel=1e-6)


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "auto"])
def test_cancel_returns_best_plan_so_far(engine: str) -> None:
    problem = square(n_orders=12, vehicles=3)
    stop = threading.Event()
    seen: list[float] = []
    threading.Timer(0.8, stop.set).start()
    plan = solve(
        problem, engine=engine, time_limit=30, on_improve=lambda c, t: seen.append(c), cancel=stop
    )
    assert plan.solve_time < 5
    assert len(served(plan)) == 12
    assert seen and seen[-1] == pytest.approx(plan.cost, rel=1e-6)


def test_cancel_accepts_a_callable() -> None:
    plan = solve(square(), engine="ortools", time_limit=30, cancel=lambda: True)
    assert plan.solve_time < 5


def test_race_runs_ortools_in_a_child_process_and_keeps_the_better_plan(caplog) -> None:
    from backend.solver.compile import compile_problem
    from backend.solver.evaluate import objective
    from backend.solver.progress import Progress
    from backend.solver.solve import _race

    c = compile_problem(square(n_orders=10, vehicles=3))
    orders = list(range(c.num_orders))
    deadline = time.monotonic() + 2.0
    candidates = _race(
        c, orders, deadline=deadline, progress=Progress(), seed=0, max_iterations=None
    )
    assert [name for name, _ in candidates] == ["pyvrp", "ortools"]
    for _, result in candidates:
        assert sorted(i for r in result.routes for i in r) == orders
        assert objective(c, result.routes)[:2] == (0, 0)
    assert time.monotonic() - deadline < 1.5
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
