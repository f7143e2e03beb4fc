"""PyVRP engine (iterated local search from PyVRP 0.14) for every problem but pickup-and-delivery.

How the problem reaches PyVRP's model:

* **Capacities** in several units: ``delivery`` amounts per dimension.
* **Time windows**: one client per window; an order with several windows is a
  mutually exclusive client group (one client per window, exactly one visited
  when the order is mandatory, at most one when it is optional).
* **Skills**: one routing profile per distinct skill set of the fleet; in a
  profile, the arcs into and out of an order that needs a skill the profile
  lacks take longer than the whole horizon, so a vehicle type without the
  skill cannot reach the order in a feasible solution.
* **Depots, shifts, costs**: per-vehicle start and end depots, shift window
  (``tw_early``/``tw_late``), maximum duration (``shift_duration``), maximum
  distance, fixed cost per used vehicle, cost per distance and per duration unit
  (duration includes waiting, as ours does; PyVRP starts a route as late as its
  first stop allows, as we do).
* **Priorities and drop penalties**: an optional order is a client with its
  penalty (times ``1 + priority``) as prize.
* **Breaks**: engines plan with the break time reserved from the shift and
  the break is placed afterwards (see :mod:`backend.solver.evaluate`); PyVRP
  0.14 has no break or depot-less service slot.

Not expressed: **pickup-and-delivery pairs**.  PyVRP 0.14's clients carry
pickup and delivery amounts but no precedence between two clients on one
route; its experimental ``Shipment`` is not mapped here.  Problems with pairs
go to OR-Tools (:func:`supports`).
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
_UNBOUNDED = 2**62


def supports(c: Compiled, orders: list[int]) -> bool:
    """Whether PyVRP's model expresses this problem (restricted to ``orders``)."""
    active = set(orders)
    return not any(p in active or d in active for d, p in c.pickup_of.items())


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


def _profiles(c: Compiled, orders: list[int]) -> tuple[dict[frozenset[str], int], bool]:
    """Profile index per vehicle skill set; False when no order needs a skill."""
    needs_skill = any(c.problem.orders[i].skills for i in orders)
    if not needs_skill:
        return {v.skills: 0 for v in c.vehicles}, False
    profiles: dict[frozenset[str], int] = {}
    for v in c.vehicles:
        profiles.setdefault(v.skills, len(profiles))
    return profiles, True


def build_data(
    c: Compiled, orders: list[int], *, optional: bool = False
) -> tuple[pyvrp.ProblemData, list[int], list[list[int]]]:
    """PyVRP's problem data; returns it, the order index per client and vehicles per type."""
    used_depots = sorted({v.start for v in c.vehicles} | {v.end for v in c.vehicles})
    local_depot = {n: k for k, n in enumerate(used_depots)}
    units = c.demand.shape[1]
    nodes = list(used_depots)
    clients: list[pyvrp.Client] = []
    client_order: list[int] = []
    groups: list[pyvrp.ClientGroup] = []
    for i in orders:
        node = c.node(i)
        windows = c.windows[node]
        required = c.mandatory[i] and not optional
        group = None
        if len(windows) > 1:
            group = len(groups)
            # Group members are numbered among the clients alone.
            first = len(clients)
            groups.append(
                pyvrp.ClientGroup(list(range(first, first + len(windows))), required=required)
            )
        for lo, hi in windows:
            clients.append(
                pyvrp.Client(
                    location=len(nodes),
                    delivery=[int(x) for x in c.demand[node]],
                    pickup=[0] * units,
                    service_duration=int(c.service[node]),
                    tw_early=lo,
                    tw_late=hi,
                    prize=0 if required and group is None else int(c.penalty[i]),
                    required=required and group is None,
                    group=group,
                )
            )
            client_order.append(i)
            nodes.append(node)
    profiles, skilled = _profiles(c, orders)
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
            profiles[v.skills],
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
                shift_duration=v.max_duration if v.max_duration is not None else _UNBOUNDED,
                max_distance=v.max_distance if v.max_distance is not None else _UNBOUNDED,
                unit_distance_cost=v.unit_dist,
                unit_duration_cost=v.unit_time,
                profile=profiles[v.skills],
            )
        )
        members.append(idx)
    ix = np.ix_(nodes, nodes)
    dist = np.ascontiguousarray(c.dist[ix])
    dur = np.ascontiguousarray(c.dur[ix])
    dist_mats = [dist]
    dur_mats = [dur]
    if skilled:
        # Longer than the horizon: any route through such an arc is late.
        far = int(c.horizon) * 4 + int(dur.max(initial=0)) + 1
        needs: list[frozenset[str]] = [frozenset()] * len(used_depots) + [
            c.problem.orders[i].skills for i in client_order
        ]
        dist_mats, dur_mats = [], []
        for skills in profiles:
            blocked = np.array([not need <= skills for need in needs])
            d2, t2 = dist.copy(), dur.copy()
            t2[blocked, :] = far
            t2[:, blocked] = far
            np.fill_diagonal(t2, 0)
            dist_mats.append(d2)
            dur_mats.append(t2)
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(0.0, 0.0) for _ in nodes],
        clients=clients,
        depots=[pyvrp.Depot(location=k) for k in range(len(used_depots))],
        vehicle_types=vehicle_types,
        distance_matrices=dist_mats,  # type: ignore[arg-type]
        duration_matrices=dur_mats,  # type: ignore[arg-type]
        groups=groups,
    )
    return data, client_order, members


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

    Mandatory orders are required clients (groups) unless ``optional`` is set,
    in which case they become prize-collecting with their (large) drop penalty
    as prize, so an undersized fleet still gets a plan.
    """
    deadline = time.monotonic() + time_limit
    data, client_order, members = build_data(c, orders, optional=optional)
    stop = _Stop(progress, deadline, max_iterations)
    result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False)
    best = result.best
    routes: list[list[int]] = [[] for _ in c.vehicles]
    next_free = [0] * len(members)
    for route in best.routes():
        t = route.vehicle_type()
        vehicle = members[t][next_free[t]]
        next_free[t] += 1
        routes[vehicle] = [client_order[act.idx] for act in route if act.is_client()]
    return EngineResult(routes=routes), bool(best.is_feasible())
