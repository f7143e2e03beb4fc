"""The optimization score is in 0–1, and better plans score higher."""

from __future__ import annotations

from backend.solver import solve
from backend.solver.assemble import build_plan
from backend.solver.compile import compile_problem
from backend.solver.score import lower_bound
from tests.solver.instances import plane_tw, square


def test_score_in_unit_interval_and_bound_below_cost() -> None:
    problem = plane_tw()
    plan = solve(problem, engine="pyvrp", time_limit=0.5)
    assert 0 < plan.score <= 1
    c = compile_problem(problem)
    assert lower_bound(c, list(range(6))) / 1e6 <= plan.cost


def test_worse_plan_scores_lower() -> None:
    problem = square(n_orders=8, vehicles=8)
    good = solve(problem, engine="pyvrp", time_limit=0.5)
    c = compile_problem(problem)
    # One vehicle per order: a deliberately poor plan.
    bad = build_plan(c, [[i] for i in range(8)], engine="manual", solve_time=0)
    assert bad.cost > good.cost
    assert bad.score < good.score


def test_unserved_orders_lower_the_score() -> None:
    problem = square(n_orders=4, vehicles=1)
    c = compile_problem(problem)
    full = build_plan(c, [[0, 1, 2, 3]], engine="manual", solve_time=0)
    partial = build_plan(c, [[0, 1]], engine="manual", solve_time=0)
    assert partial.score < full.score


def test_bound_counts_driver_time_and_fixed_costs() -> None:
    # A fleet whose cost is mostly driver time and vehicles: the bound must price both,
    # or every real plan scores near zero.
    problem = square(
        n_orders=8, vehicles=3, capacity=40.0, cost_per_km=0.5, cost_per_hour=30.0, fixed_cost=50.0
    )
    plan = solve(problem, engine="ortools", time_limit=1)
    c = compile_problem(problem)
    bound = lower_bound(c, list(range(8))) / 1e6
    assert bound <= plan.cost
    # 8 x 10 kg on 40 kg vans: at least two vans; 8 x 5 min of service at $30/h.
    assert bound >= 2 * 50.0 + 8 * 5 / 60 * 30.0
    assert plan.score > 0.5
