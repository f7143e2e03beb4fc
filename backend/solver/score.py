"""The optimization score: a number in 0–1 saying how close a plan is to the best possible.

``score = coverage × lower_bound / cost`` where

* ``cost`` is the plan's travel cost (fixed, distance and time costs of its
  routes; drop penalties excluded);
* ``lower_bound`` is a bound no plan serving the same orders can beat: every
  served stop is entered once and left once, so the distance cost is at least
  half the sum, over served stops, of the cheapest arc into it plus the cheapest
  arc out of it (arcs among the served stops and the depots), priced at the
  cheapest per-distance rate of the fleet;
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
    """Distance-cost lower bound (engine cost units) for serving the order indices ``served``."""
    if not served:
        return 0.0
    nodes = np.array(list(range(c.num_depots)) + [c.node(i) for i in served])
    sub = c.dist[np.ix_(nodes, nodes)].astype(float)
    np.fill_diagonal(sub, np.inf)
    stops = slice(c.num_depots, len(nodes))
    cheapest_in = sub[:, stops].min(axis=0)
    cheapest_out = sub[stops, :].min(axis=1)
    rate = min(v.unit_dist for v in c.vehicles)
    return float(rate * (cheapest_in.sum() + cheapest_out.sum()) / 2.0)


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
