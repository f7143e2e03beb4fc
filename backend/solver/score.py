"""The optimization score: a number in 0–1 saying how close a plan is to the best possible.

``score = coverage × lower_bound / cost`` where

* ``cost`` is the plan's travel cost (fixed, distance and time costs of its
  routes; drop penalties excluded);
* ``lower_bound`` is a bound no plan serving the same orders can beat, the sum of
  three parts, each priced at the fleet's cheapest rate:

  - distance: every served stop is entered once and left once, so the distance
    is at least half the sum, over served stops, of the cheapest arc into it
    plus the cheapest arc out of it (arcs among the served stops and the depots);
  - time: the same bound on travel time, plus every served stop's service time
    (route durations include both);
  - fixed costs: at least as many vehicles as the served demand needs in the
    tightest capacity unit, and one when anything is served;
* ``coverage`` is the share of orders served, weighted by ``1 + priority``.

A score of 1 means the plan is provably optimal for the orders it serves.  The
bound is loose where stops sit in tight clusters far from each other (the
cheapest arcs are short hops inside a cluster): the best-known plans of the
Solomon instances score only about 0.3–0.4, so compare scores between plans of
the same request, not across requests.  An empty problem scores 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.solver.compile import Compiled


def lower_bound(c: Compiled, served: Sequence[int]) -> float:
    """Cost lower bound (engine cost units) for serving the order indices ``served``."""
    if not served:
        return 0.0
    nodes = np.array(list(range(c.num_depots)) + [c.node(i) for i in served])
    stops = slice(c.num_depots, len(nodes))
    travel = 0.0
    for matrix, rate in (
        (c.dist, min(v.unit_dist for v in c.vehicles)),
        (c.dur, min(v.unit_time for v in c.vehicles)),
    ):
        if rate <= 0:
            continue
        sub = matrix[np.ix_(nodes, nodes)].astype(float)
        np.fill_diagonal(sub, np.inf)
        cheapest_in = sub[:, stops].min(axis=0)
        cheapest_out = sub[stops, :].min(axis=1)
        travel += rate * (cheapest_in.sum() + cheapest_out.sum()) / 2.0
    service = min(v.unit_time for v in c.vehicles) * float(c.service[nodes[stops]].sum())
    return travel + service + min(v.fixed for v in c.vehicles) * _min_vehicles(c, served)


def _min_vehicles(c: Compiled, served: Sequence[int]) -> int:
    """Vehicles the served demand needs at least, by its tightest capacity unit."""
    needed = 1
    if c.demand.shape[1]:
        total = c.demand[[c.node(i) for i in served]].sum(axis=0)
        largest = np.max(np.array([v.capacity for v in c.vehicles], dtype=float), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(largest > 0, total / largest, 0.0)
        needed = max(needed, int(np.ceil(ratios.max() - 1e-9)))
    return min(needed, len(c.vehicles))


def score_plan(c: Compiled, routes: Sequence[Sequence[int]], route_cost: int) -> float:
    """Score in [0, 1] of a plan given its routes and travel cost (engine units)."""
    served = sorted({i for r in routes for i in r})
    weights = [1 + o.priority for o in c.problem.orders]
    total = sum(weights)
    coverage = 1.0 if total == 0 else sum(weights[i] for i in served) / total
    if route_cost <= 0:
        return coverage
    ratio = lower_bound(c, served) / route_cost
    return float(max(0.0, min(1.0, coverage * ratio)))
