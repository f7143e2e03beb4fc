"""The optimization score is in 0–1, and better plans score higher."""

from __future__ import annotations

from backend.solver import solve
from backend.solver.compile import compile_problem
from backend.solver.evaluate import build_plan
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
