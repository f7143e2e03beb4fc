"""OR-Tools routing engine: models every constraint the problem can state.

Tuning (six Solomon 100-customer instances, one core, 5 s, mean gap to the
distance-only best known; ``bench/solver.py --ortools-tuning 5``):

==========================================  ======
first solution : metaheuristic              gap
==========================================  ======
PARALLEL_CHEAPEST_INSERTION : GLS           2.9 %
PATH_CHEAPEST_ARC : GLS                     3.7 %
LOCAL_CHEAPEST_INSERTION : GLS              3.4 %
SAVINGS : GLS                               3.8 %
SEQUENTIAL_CHEAPEST_INSERTION : GLS         4.2 %
LOCAL_CHEAPEST_COST_INSERTION : GLS         2.4 %
CHRISTOFIDES : GLS                          3.2 %
GLOBAL_CHEAPEST_ARC : GLS                   1.7–1.9 %
ALL_UNPERFORMED : GLS                       1.4–1.5 %
PARALLEL_CHEAPEST_INSERTION : TABU          3.0 %
PARALLEL_CHEAPEST_INSERTION : SA            4.8 %
==========================================  ======

At 30 s the three best are close: all-unperformed 0.86 %, global cheapest arc
0.83 %, parallel cheapest insertion 0.90 % (all 6/6 feasible).  GLS lambda
0.05 / 0.2 instead of 0.1, neighbour-restricted operators, GLS
penalties in operators, resetting penalties on a new best, and iterated local
search with SISR ruin-and-recreate were all worse.  Every order is a
disjunction (mandatory ones with a prohibitive penalty), so starting from "all
unperformed" is always feasible and guided local search inserts the orders;
above ``ALL_UNPERFORMED_MAX`` orders the search starts from parallel cheapest
insertion instead, so a big instance is not left half-inserted when time runs
out (1,000 generated orders, 50 s: global cheapest arc left orders unserved,
local cheapest insertion served all at 124,633, parallel cheapest insertion
served all at 76,696).
Breaks are not modelled here: the engine plans with their time reserved
(:func:`backend.solver.compile.reserve_breaks`) and the evaluator places them;
OR-Tools' own break intervals made a 30-minute break cost hundreds of km.
Costs and transits are registered as matrices, not Python callbacks, so the
search runs in C++ without re-entering the interpreter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from backend.solver.compile import Compiled
from backend.solver.progress import Progress

FIRST_SOLUTION = "ALL_UNPERFORMED"
LARGE_FIRST_SOLUTION = "PARALLEL_CHEAPEST_INSERTION"
ALL_UNPERFORMED_MAX = 300
METAHEURISTIC = "GUIDED_LOCAL_SEARCH"


@dataclass(frozen=True)
class EngineResult:
    """Order sequences per vehicle; schedules and breaks are recomputed by the evaluator."""

    routes: list[list[int]]


def _use_sisr_ils(params: object, avg_removed: int) -> None:
    """Iterated local search with SISR ruin-and-recreate (Christiaens & Vanden Berghe)."""
    ils = params.iterated_local_search_parameters  # type: ignore[attr-defined]
    params.use_iterated_local_search = True  # type: ignore[attr-defined]
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = 10
    sisr.avg_num_removed_visits = avg_removed
    sisr.bypass_factor = 0.01


def _matrix(a: np.ndarray) -> list[list[int]]:
    return [[int(x) for x in row] for row in a]


def solve_ortools(
    c: Compiled,
    orders: list[int],
    *,
    time_limit: float,
    progress: Progress,
    max_iterations: int | None = None,
    initial: list[list[int]] | None = None,
    first_solution: str | None = None,
    metaheuristic: str = METAHEURISTIC,
    lns_time_limit_ms: int | None = None,
    overrides: dict[str, object] | None = None,
) -> EngineResult:
    """Solve with OR-Tools routing over the given order indices; returns the best routes."""
    used_depots = sorted({v.start for v in c.vehicles} | {v.end for v in c.vehicles})
    nodes = used_depots + [c.node(i) for i in orders]
    local = {n: k for k, n in enumerate(nodes)}
    order_of_local = {local[c.node(i)]: i for i in orders}
    num_v = len(c.vehicles)
    manager = pywrapcp.RoutingIndexManager(
        len(nodes),
        num_v,
        [local[v.start] for v in c.vehicles],
        [local[v.end] for v in c.vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    ix = np.ix_(nodes, nodes)
    dist = c.dist[ix]
    dur = c.dur[ix]
    service = c.service[nodes]
    # Index space of the routing model differs from node space (duplicated
    # start/end depots), so matrices are registered in node space.
    by_rate: dict[int, int] = {}
    for v in c.vehicles:
        if v.unit_dist not in by_rate:
            by_rate[v.unit_dist] = routing.RegisterTransitMatrix(_matrix(dist * v.unit_dist))
        routing.SetArcCostEvaluatorOfVehicle(by_rate[v.unit_dist], v.index)
        routing.SetFixedCostOfVehicle(v.fixed, v.index)

    time_cb = routing.RegisterTransitMatrix(_matrix(dur + service[:, None]))
    horizon = max(c.horizon, max(v.late for v in c.vehicles)) + 1
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for v in c.vehicles:
        start, end = routing.Start(v.index), routing.End(v.index)
        time_dim.CumulVar(start).SetRange(v.early, v.late)
        time_dim.CumulVar(end).SetRange(v.early, v.late)
        if v.max_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(v.max_duration, v.index)
        if v.unit_time:
            time_dim.SetSpanCostCoefficientForVehicle(v.unit_time, v.index)
        # Leave late and come back early, so reported shifts carry no idle time.
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(end))
    for i in orders:
        index = manager.NodeToIndex(local[c.node(i)])
        windows = c.windows[c.node(i)]
        var = time_dim.CumulVar(index)
        var.SetRange(windows[0][0], min(windows[-1][1], horizon))
        for (_, hi), (lo, _) in zip(windows, windows[1:], strict=False):
            if lo - 1 >= hi + 1:
                var.RemoveInterval(hi + 1, lo - 1)

    if any(v.max_distance is not None for v in c.vehicles):
        dist_cb = routing.RegisterTransitMatrix(_matrix(dist))
        caps = [v.max_distance if v.max_distance is not None else 10**15 for v in c.vehicles]
        routing.AddDimensionWithVehicleCapacity(dist_cb, 0, caps, True, "distance")

    units = c.demand.shape[1]
    has_pairs = any(i in c.pickup_of or i in c.delivery_of for i in orders)
    for k in range(units):
        delta = []
        for n in nodes:
            oi = order_of_local.get(local[n])
            amount = int(c.demand[n, k])
            if oi is None:
                delta.append(0)
            elif has_pairs:
                # Physical load: the start cumul is what leaves the depot (forced
                # by an empty end), plain stops unload, pickups load.
                delta.append(amount if oi in c.delivery_of else -amount)
            else:
                delta.append(amount)
        cb = routing.RegisterUnaryTransitVector(delta)
        caps = [v.capacity[k] for v in c.vehicles]
        if has_pairs:
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, False, f"load{k}")
            dim = routing.GetDimensionOrDie(f"load{k}")
            for v in c.vehicles:
                dim.CumulVar(routing.End(v.index)).SetValue(0)
        else:
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"load{k}")

    for i in orders:
        index = manager.NodeToIndex(local[c.node(i)])
        allowed = [v.index for v in c.vehicles if c.can_serve(v, i)]
        if len(allowed) < num_v:
            routing.VehicleVar(index).SetValues([-1, *allowed])
        routing.AddDisjunction([index], c.penalty[i])
    active = set(orders)
    for pi, di in c.delivery_of.items():
        if pi in active and di in active:
            p = manager.NodeToIndex(local[c.node(pi)])
            d = manager.NodeToIndex(local[c.node(di)])
            routing.AddPickupAndDelivery(p, d)
            solver.Add(routing.ActiveVar(p) == routing.ActiveVar(d))
            solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
            solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))

    params = pywrapcp.DefaultRoutingSearchParameters()
    if first_solution is None:
        first_solution = (
            FIRST_SOLUTION if len(orders) <= ALL_UNPERFORMED_MAX else LARGE_FIRST_SOLUTION
        )
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    if lns_time_limit_ms is not None:
        params.lns_time_limit.FromMilliseconds(lns_time_limit_ms)
    if max_iterations is not None:
        params.solution_limit = max_iterations
    for key, value in (overrides or {}).items():
        # Benchmark tuning hook: scalar search parameters, or a list of
        # metaheuristic names for ``local_search_metaheuristics``.
        if key == "ils_sisr":
            _use_sisr_ils(params, int(value))  # type: ignore[call-overload]
        elif key == "local_search_metaheuristics" and isinstance(value, list):
            params.local_search_metaheuristics.extend(
                getattr(routing_enums_pb2.LocalSearchMetaheuristic, name) for name in value
            )
        else:
            setattr(params, key, value)

    # A solution that still drops a mandatory order carries its huge penalty;
    # reporting it would show the progress bar a meaningless number.  Checking
    # activity is O(orders), so it runs at most every `progress.interval`.
    mandatory_idx = [manager.NodeToIndex(local[c.node(i)]) for i in orders if c.mandatory[i]]
    last = {"checked": -1.0, "best": float("inf")}

    def at_solution() -> None:
        cost = routing.CostVar().Value()
        now = progress.elapsed()
        if cost < last["best"] and now - last["checked"] >= progress.interval:
            last["checked"] = now
            if all(routing.ActiveVar(ix).Value() for ix in mandatory_idx):
                last["best"] = cost
                progress.improve(cost)
        if progress.cancelled():
            solver.FinishCurrentSearch()

    routing.AddAtSolutionCallback(at_solution)
    # Solutions can be minutes apart on big instances; a watcher makes a cancel
    # take effect promptly rather than at the next solution.
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if progress.cancelled():
                routing.CancelSearch()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    if progress.cancel is not None:
        watcher.start()
    try:
        if initial is not None:
            local_routes = [[local[c.node(i)] for i in r if i in active] for r in initial]
            assignment = routing.ReadAssignmentFromRoutes(local_routes, True)
            if assignment is not None:
                solution = routing.SolveFromAssignmentWithParameters(assignment, params)
            else:
                solution = routing.SolveWithParameters(params)
        else:
            solution = routing.SolveWithParameters(params)
    finally:
        done.set()
    routes: list[list[int]] = [[] for _ in c.vehicles]
    if solution is None:
        return EngineResult(routes=routes)
    for v in c.vehicles:
        index = solution.Value(routing.NextVar(routing.Start(v.index)))
        while not routing.IsEnd(index):
            routes[v.index].append(order_of_local[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
    return EngineResult(routes=routes)
