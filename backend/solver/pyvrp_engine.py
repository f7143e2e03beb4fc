"""PyVRP engine (iterated local search from PyVRP 0.14) for the problems its model expresses.

PyVRP covers capacities in several dimensions, one time window per order, service
times, shifts and per-vehicle depots, maximum duration and distance, fixed and
per-distance/per-time costs and optional orders with prizes.  It does not cover
several windows per order, driver breaks, skills or pickup-and-delivery pairs
here; :func:`supports` says whether a compiled problem fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.stop import StoppingCriterion

from backend.solver.compile import Compiled
from backend.solver.ortools_engine import EngineResult
from backend.solver.progress import Progress

_INFEASIBLE = 1e17


def supports(c: Compiled, orders: list[int]) -> bool:
    """Whether PyVRP's model expresses this problem (restricted to ``orders``)."""
    if c.pickup_of or any(v.breaks for v in c.vehicles):
        return False
    for i in orders:
        if len(c.windows[c.node(i)]) > 1:
            return False
        if not all(c.can_serve(v, i) for v in c.vehicles):
            return False
    return True


@dataclass
class _Stop(StoppingCriterion):
    """PyVRP stopping rule: time limit, iteration limit or the caller's cancel."""

    progress: Progress
    deadline: float
    max_iterations: int | None
    iterations: int = 0

    def __call__(self, best_cost: float) -> bool:
        self.iterations += 1
        if best_cost < _INFEASIBLE:
            self.progress.improve(best_cost)
        if self.max_iterations is not None and self.iterations > self.max_iterations:
            return True
        return time.monotonic() >= self.deadline or self.progress.cancelled()


def solve_pyvrp(
    c: Compiled,
    orders: list[int],
    *,
    time_limit: float,
    progress: Progress,
    seed: int = 0,
    max_iterations: int | None = None,
    optional: bool = False,
) -> tuple[EngineResult, bool]:
    """Solve with PyVRP; returns the routes and whether PyVRP found them feasible.

    Mandatory orders are required clients unless ``optional`` is set, in which case
    they become prize-collecting clients with their (large) drop penalty as prize,
    so an undersized fleet still gets a plan.
    """
    deadline = time.monotonic() + time_limit
    used_depots = sorted({v.start for v in c.vehicles} | {v.end for v in c.vehicles})
    nodes = used_depots + [c.node(i) for i in orders]
    local_depot = {n: k for k, n in enumerate(used_depots)}
    units = c.demand.shape[1]
    locations = [pyvrp.Location(0.0, 0.0) for _ in nodes]
    depots = [pyvrp.Depot(location=k) for k in range(len(used_depots))]
    clients = []
    for k, i in enumerate(orders):
        node = c.node(i)
        (lo, hi) = c.windows[node][0]
        required = c.mandatory[i] and not optional
        clients.append(
            pyvrp.Client(
                location=len(used_depots) + k,
                delivery=[int(x) for x in c.demand[node]],
                pickup=[0] * units,
                service_duration=int(c.service[node]),
                tw_early=lo,
                tw_late=hi,
                prize=0 if required else int(c.penalty[i]),
                required=required,
            )
        )
    # Identical vehicles share one vehicle type: PyVRP's search is faster with
    # fewer types, and routes map back to vehicles in order.
    type_keys: dict[tuple[object, ...], list[int]] = {}
    for v in c.vehicles:
        key = (
            v.start,
            v.end,
            v.capacity,
            v.early,
            v.late,
            v.max_duration,
            v.max_distance,
            v.fixed,
            v.unit_dist,
            v.unit_time,
        )
        type_keys.setdefault(key, []).append(v.index)
    vehicle_types = []
    members = []
    for idx in type_keys.values():
        v = c.vehicles[idx[0]]
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(idx),
                capacity=list(v.capacity),
                start_depot=local_depot[v.start],
                end_depot=local_depot[v.end],
                fixed_cost=v.fixed,
                tw_early=v.early,
                tw_late=v.late,
                shift_duration=v.max_duration if v.max_duration is not None else 2**62,
                max_distance=v.max_distance if v.max_distance is not None else 2**62,
                unit_distance_cost=v.unit_dist,
                unit_duration_cost=v.unit_time,
            )
        )
        members.append(idx)
    ix = np.ix_(nodes, nodes)
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[np.ascontiguousarray(c.dist[ix])],  # type: ignore[list-item]
        duration_matrices=[np.ascontiguousarray(c.dur[ix])],  # type: ignore[list-item]
    )
    stop = _Stop(progress, deadline, max_iterations)
    result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False)
    best = result.best
    routes: list[list[int]] = [[] for _ in c.vehicles]
    next_free = [0] * len(members)
    for route in best.routes():
        t = route.vehicle_type()
        vehicle = members[t][next_free[t]]
        next_free[t] += 1
        routes[vehicle] = [orders[act.idx] for act in route if act.is_client()]
    return EngineResult(routes=routes), bool(best.is_feasible())
