"""The real day through both engines: skills, several windows, breaks, repair and checks.

Tiny named instances on a plane (Euclidean: one unit of distance is one second
of driving), each with an answer worked out by hand.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from backend.solver import (
    Break,
    Depot,
    Location,
    Order,
    Problem,
    TimeWindow,
    Vehicle,
    solve,
)
from backend.solver.assemble import build_plan
from backend.solver.compile import compile_problem, reserve_breaks
from backend.solver.evaluate import evaluate_route, objective
from backend.solver.live import LiveState, VehicleState, insert_order, reoptimize
from backend.solver.matrix import default_provider
from backend.solver.repair import repair
from tests.solver.instances import served

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from vrp_checker import check_plan  # noqa: E402

XY = Location.xy
ENGINES = ["ortools", "pyvrp"]


def plane(orders, vehicles, depots=None, **kw) -> Problem:
    return Problem(
        orders=tuple(orders),
        vehicles=tuple(vehicles),
        depots=tuple(depots or (Depot("d", XY(0, 0)),)),
        coordinates="plane",
        **kw,
    )


def checked(problem: Problem, plan) -> None:
    """The independent checker of the benchmark finds nothing wrong, nor does the solver."""
    points = [d.location for d in problem.depots] + [o.location for o in problem.orders]
    chk = check_plan(problem, plan, default_provider(problem.coordinates).matrices(points))
    assert chk.errors == []
    assert plan.violations == ()


def vehicle_of(plan, order_id: str) -> str:
    return next(r.vehicle_id for r in plan.routes for s in r.stops if s.order_id == order_id)


def stop_of(plan, order_id: str):
    return next(s for r in plan.routes for s in r.stops if s.order_id == order_id)


def cold_chain() -> Problem:
    """CHILL: a cheap dry van and a dear reefer; the frozen order must ride the reefer."""
    orders = [
        Order("frozen", XY(10, 0), skills=frozenset({"refrigerated"})),
        Order("dry", XY(0, 10)),
    ]
    vehicles = [
        Vehicle("van", "d", fixed_cost=0),
        Vehicle("reefer", "d", skills=frozenset({"refrigerated"}), fixed_cost=500),
    ]
    return plane(orders, vehicles)


def two_windows() -> Problem:
    """LATE: the first window closes before the order can be reached; the second fits."""
    orders = [Order("o", XY(50, 0), time_windows=(TimeWindow(0, 10), TimeWindow(100, 200)))]
    return plane(orders, [Vehicle("v", "d", shift_end=1000)])


def lunch_line() -> Problem:
    """LUNCH: three stops on a line 10 apart, a 50-s break that must start in [15, 25].

    The first stop must be served by 15 and the second by 25, so the order is
    fixed and the break can be taken neither at the depot first nor before the
    second stop; the answer is the break right after it (20-70), 50 s longer.
    """
    due = {1: 15, 2: 25}
    orders = [
        Order(f"s{k}", XY(10 * k, 0), time_windows=(TimeWindow(0, due[k]),) if k in due else ())
        for k in (1, 2, 3)
    ]
    vehicle = Vehicle("v", "d", shift_end=1000, cost_per_hour=3600.0, breaks=(Break(15, 25, 50),))
    return plane(orders, [vehicle])


@pytest.mark.parametrize("engine", ENGINES)
def test_skill_sends_the_order_to_the_only_vehicle_that_has_it(engine: str) -> None:
    problem = cold_chain()
    plan = solve(problem, engine=engine, time_limit=0.5)
    assert plan.engine == engine
    assert vehicle_of(plan, "frozen") == "reefer"
    checked(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_second_window_is_used_when_the_first_cannot_be_reached(engine: str) -> None:
    problem = two_windows()
    plan = solve(problem, engine=engine, time_limit=0.5)
    s = stop_of(plan, "o")
    assert s.start == pytest.approx(100)
    assert s.arrival == pytest.approx(100)  # left the depot late, not waiting there
    checked(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_windows_order_served_once_in_the_earlier_window_when_it_fits(engine: str) -> None:
    orders = [Order("o", XY(5, 0), time_windows=(TimeWindow(0, 100), TimeWindow(500, 600)))]
    problem = plane(orders, [Vehicle("v", "d", shift_end=1000)])
    plan = solve(problem, engine=engine, time_limit=0.5)
    assert served(plan) == ["o"]
    assert stop_of(plan, "o").start <= 100
    checked(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_break_costs_its_own_minutes_not_kilometres(engine: str) -> None:
    problem = lunch_line()
    plan = solve(problem, engine=engine, time_limit=0.5)
    (route,) = [r for r in plan.routes if r.stops]
    assert route.distance == pytest.approx(60)
    assert route.duration == pytest.approx(60 + 50)
    (brk,) = route.breaks
    assert brk.start == pytest.approx(20) and brk.duration == 50
    assert plan.cost == pytest.approx(60 + 110)  # per km 1, per hour 3600 = 1 per second
    checked(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_waiting_for_a_window_absorbs_the_break(engine: str) -> None:
    orders = [Order("a", XY(10, 0)), Order("b", XY(20, 0), time_windows=(TimeWindow(200, 300),))]
    vehicle = Vehicle("v", "d", shift_end=1000, breaks=(Break(20, 150, 60),))
    problem = plane(orders, [vehicle])
    plan = solve(problem, engine=engine, time_limit=0.5)
    (route,) = [r for r in plan.routes if r.stops]
    assert route.end_time == pytest.approx(220)  # as without the break
    checked(problem, plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_same_real_day_through_both_engines_keeps_every_constraint(engine: str) -> None:
    """DAY: two depots, two capacity units, skills, single and double windows, shifts, breaks."""
    depots = (Depot("n", XY(0, 20)), Depot("s", XY(0, -20)))
    orders = []
    for k in range(16):
        x, y = (k % 4) * 15 - 22, (k // 4) * 12 - 18
        windows = (TimeWindow(0, 400),) if k % 3 else (TimeWindow(0, 150), TimeWindow(300, 600))
        orders.append(
            Order(
                f"o{k}",
                XY(x, y),
                demand=(10.0 + k, 0.5),
                time_windows=windows,
                service_time=10,
                skills=frozenset({"liftgate"}) if k % 5 == 0 else frozenset(),
                priority=k % 3,
                drop_penalty=10_000.0,
            )
        )
    vehicles = [
        Vehicle(
            f"v{k}",
            "n" if k % 2 else "s",
            capacity=(80.0, 4.0),
            shift_start=0,
            shift_end=700,
            skills=frozenset({"liftgate"}) if k == 0 else frozenset(),
            breaks=(Break(100, 250, 30),),
            fixed_cost=20,
            cost_per_hour=36.0,
        )
        for k in range(4)
    ]
    problem = plane(orders, vehicles, depots=depots, capacity_units=("kg", "m3"))
    plan = solve(problem, engine=engine, time_limit=1.0)
    assert plan.engine == engine
    assert len(served(plan)) == 16
    for oid in ("o0", "o5", "o10", "o15"):
        assert vehicle_of(plan, oid) == "v0"
    checked(problem, plan)


def test_auto_uses_pyvrp_on_a_day_with_skills_windows_and_breaks() -> None:
    problem = lunch_line()
    plan = solve(problem, engine="auto", time_limit=0.5)
    assert plan.engine == "pyvrp"


def test_pyvrp_prices_routes_as_the_evaluator_does() -> None:
    """Fixed, per-distance and per-duration costs reach PyVRP's model unchanged."""
    import pyvrp
    from pyvrp.stop import MaxIterations

    from backend.solver.pyvrp_engine import build_data

    orders = [
        Order(f"o{k}", XY(10 * k - 25, 5 * (k % 3)), time_windows=(TimeWindow(50 * k, 400),))
        for k in range(6)
    ]
    vehicles = [
        Vehicle(f"v{k}", "d", fixed_cost=30.0 + k, cost_per_km=2.0, cost_per_hour=360.0)
        for k in range(3)
    ]
    c = compile_problem(plane(orders, vehicles))
    data, client_order, members = build_data(c, list(range(c.num_orders)))
    result = pyvrp.solve(data, stop=MaxIterations(200), seed=1, display=False)
    routes: list[list[int]] = [[] for _ in c.vehicles]
    taken = [0] * len(members)
    for r in result.best.routes():
        t = r.vehicle_type()
        routes[members[t][taken[t]]] = [client_order[a.idx] for a in r if a.is_client()]
        taken[t] += 1
    assert result.best.is_feasible()
    assert objective(c, routes)[2] == result.cost()


def test_infeasible_engine_result_is_repaired() -> None:
    """LATE2: an engine put a stop after its window closed; the repair moves it."""
    orders = [
        Order("far", XY(100, 0)),
        Order("early", XY(-10, 0), time_windows=(TimeWindow(0, 50),)),
    ]
    problem = plane(orders, [Vehicle("a", "d"), Vehicle("b", "d")])
    c = compile_problem(problem)
    bad = [[0, 1], []]  # "early" reached at 310, long after 50
    assert not evaluate_route(c, c.vehicles[0], bad[0]).feasible
    fixed, moved = repair(c, bad)
    assert moved == 1
    assert objective(c, fixed)[:2] == (0, 0)
    plan = build_plan(c, fixed, engine="test", solve_time=0)
    assert plan.feasible and sorted(served(plan)) == ["early", "far"]


def test_unrepaired_plan_names_the_stop_and_the_reason() -> None:
    orders = [
        Order("far", XY(100, 0)),
        Order("early", XY(-10, 0), time_windows=(TimeWindow(0, 50),)),
    ]
    c = compile_problem(plane(orders, [Vehicle("a", "d")]))
    plan = build_plan(c, [[0, 1]], engine="test", solve_time=0)
    assert not plan.feasible
    reasons = {(v.order_id, v.reason) for v in plan.violations}
    assert ("early", "time_window") in reasons


def test_solve_repairs_an_infeasible_pyvrp_result(monkeypatch) -> None:
    from backend.solver import solve as solve_module
    from backend.solver.ortools_engine import EngineResult

    orders = [
        Order("far", XY(100, 0)),
        Order("early", XY(-10, 0), time_windows=(TimeWindow(0, 50),)),
    ]
    problem = plane(orders, [Vehicle("a", "d"), Vehicle("b", "d", fixed_cost=5)])

    def broken(c, orders, **kw):
        return EngineResult(routes=[[0, 1], []]), False

    monkeypatch.setattr(sys.modules["backend.solver.solve"], "solve_pyvrp", broken)
    plan = solve_module(problem, engine="pyvrp", time_limit=0.2)
    assert plan.feasible
    assert sorted(served(plan)) == ["early", "far"]
    checked(problem, plan)


def test_reserve_breaks_shortens_shifts_for_the_engines() -> None:
    c = compile_problem(lunch_line())
    r = reserve_breaks(c)
    assert (
        r.vehicles[0].breaks == ()
        and r.vehicles[0].late == c.vehicles[0].late - c.vehicles[0].breaks[0][2]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_reoptimize_and_insert_with_breaks_and_skills(engine: str) -> None:
    """Live re-planning and the insertion fast path behave the same after either engine."""
    problem = cold_chain()
    problem = plane(
        problem.orders + (Order("extra", XY(5, 5)),),
        [
            Vehicle(v.id, "d", skills=v.skills, fixed_cost=v.fixed_cost, breaks=(Break(5, 40, 20),))
            for v in problem.vehicles
        ],
    )
    plan = solve(problem, engine=engine, time_limit=0.5)
    checked(problem, plan)
    route = next(r for r in plan.routes if r.vehicle_id == "reefer")
    first = route.stops[0]
    state = LiveState(
        now=first.departure,
        vehicles=(VehicleState("reefer", XY(10, 0), first.departure, done=(first.order_id,)),),
        new_orders=(Order("late-cold", XY(12, 3), skills=frozenset({"refrigerated"})),),
    )
    out = reoptimize(problem, plan, state, engine=engine, time_limit=0.5)
    assert out.engine == engine
    assert vehicle_of(out, "late-cold") == "reefer"
    assert next(r for r in out.routes if r.vehicle_id == "reefer").stops[0] == first
    assert out.violations == ()
    grown = insert_order(
        problem, plan, Order("cold2", XY(8, 2), skills=frozenset({"refrigerated"}))
    )
    assert grown.engine == "insertion"
    assert vehicle_of(grown, "cold2") == "reefer"
    assert all(r.breaks for r in grown.routes if r.stops)
    assert grown.violations == ()


def test_solver_package_has_no_import_cycle() -> None:
    """Every import between solver modules, at any depth of the module, points one way."""
    root = Path(__file__).resolve().parents[2] / "backend" / "solver"
    graph: dict[str, set[str]] = {}
    for path in root.glob("*.py"):
        name = path.stem
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                if mod.startswith("backend.solver."):
                    deps.add(mod.split(".")[2])
                elif mod == "backend.solver":
                    deps.update(a.name for a in node.names if (root / f"{a.name}.py").exists())
        graph[name] = deps - {name}
    graph.pop("__init__", None)
    for deps in graph.values():
        deps.discard("__init__")
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*path, n]))
        if state.get(n) == 2:
            return
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            visit(m, [*path, n])
        state[n] = 2

    for n in sorted(graph):
        visit(n, [])


def test_auto_falls_back_to_the_other_engine_when_the_repair_loses_orders(monkeypatch) -> None:
    """PyVRP's result is infeasible beyond repair here: auto re-plans with OR-Tools."""
    from backend.solver import repair as repair_module
    from backend.solver.ortools_engine import EngineResult

    solve_module = sys.modules["backend.solver.solve"]
    problem = cold_chain()

    def broken(c, orders, **kw):
        return EngineResult(routes=[[0, 1], []]), False  # "frozen" on the dry van

    def no_reinsert(c, routes, orders=()):
        # As if nothing removed could be put back: the stops the fix removes are lost.
        fixed, moved = [], 0
        for vi, seq in enumerate(routes):
            kept, gone = repair_module._fix_route(c, vi, list(seq))
            fixed.append(kept)
            moved += len(gone)
        return fixed, moved

    monkeypatch.setattr(solve_module, "solve_pyvrp", broken)
    monkeypatch.setattr(solve_module, "repair", no_reinsert)
    monkeypatch.setattr(solve_module, "_spare_core", lambda: False)
    plan = solve(problem, engine="auto", time_limit=0.5)
    assert plan.engine == "ortools"
    assert sorted(served(plan)) == ["dry", "frozen"]
    assert vehicle_of(plan, "frozen") == "reefer"
