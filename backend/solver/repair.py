"""Make engine routes feasible: remove the stops that break them, re-insert them where they fit.

An engine's best solution can break a hard constraint: PyVRP returns its best
even when it violates windows, and breaks are placed only after the search.
:func:`repair` checks every route with :func:`evaluate_route`; from a route that
fails it removes, one at a time, the stop whose removal helps most (the stop
that breaks its own window or skill first, else the one whose removal leaves
the cheapest feasible route), until the route is feasible.  The removed orders
are then put back by cheapest feasible insertion over every route; those that
fit nowhere are left out, and the plan explains them (:mod:`backend.solver.explain`).
Orders the engine left out are offered the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.solver.compile import Compiled
from backend.solver.evaluate import RouteEval, evaluate_route


def _fix_route(c: Compiled, vi: int, seq: list[int]) -> tuple[list[int], list[int]]:
    """Remove stops from one route until it is feasible; returns (route, removed)."""
    v = c.vehicles[vi]
    removed: list[int] = []
    ev = evaluate_route(c, v, seq)
    while seq and not ev.feasible:
        if ev.bad_stop is not None:
            k = ev.bad_stop
            if ev.violation == "time_window" and k > 0:
                # The stop is late because of what comes before it: removing an
                # earlier stop may save both.  Try those first, cheapest route first.
                best: tuple[int, int, RouteEval] | None = None
                for j in range(k + 1):
                    trial = seq[:j] + seq[j + 1 :]
                    tev = evaluate_route(c, v, trial)
                    if tev.feasible and (best is None or tev.cost < best[0]):
                        best = (tev.cost, j, tev)
                if best is not None:
                    k = best[1]
        else:
            k = _best_removal(c, vi, seq)
        removed.append(seq[k])
        seq = seq[:k] + seq[k + 1 :]
        ev = evaluate_route(c, v, seq)
    return seq, removed


def _best_removal(c: Compiled, vi: int, seq: list[int]) -> int:
    """The stop whose removal leaves the best route: feasible first, then cheapest."""
    v = c.vehicles[vi]
    best_key: tuple[int, int] | None = None
    best = len(seq) - 1
    for k in range(len(seq)):
        ev = evaluate_route(c, v, seq[:k] + seq[k + 1 :])
        key = (0 if ev.feasible else 1, ev.cost if ev.feasible else ev.end)
        if best_key is None or key < best_key:
            best_key, best = key, k
    return best


def insert_cheapest(
    c: Compiled, routes: list[list[int]], order: int, *, max_delta: int | None = None
) -> bool:
    """Insert ``order`` where it adds least cost (under ``max_delta``), keeping routes feasible."""
    best: tuple[int, int, list[int]] | None = None
    for vi, seq in enumerate(routes):
        v = c.vehicles[vi]
        if not c.can_serve(v, order):
            continue
        before = evaluate_route(c, v, seq).cost if seq else 0
        for pos in range(len(seq) + 1):
            cand = seq[:pos] + [order] + seq[pos:]
            ev = evaluate_route(c, v, cand)
            if ev.feasible and (best is None or ev.cost - before < best[0]):
                best = (ev.cost - before, vi, cand)
    if best is None or (max_delta is not None and best[0] >= max_delta):
        return False
    routes[best[1]] = best[2]
    return True


def repair(
    c: Compiled, routes: Sequence[Sequence[int]], orders: Sequence[int] = ()
) -> tuple[list[list[int]], int]:
    """Feasible routes from ``routes``; returns them and how many stops had to move.

    Afterwards every order of ``orders`` that no route serves is offered to the
    routes as well (mandatory ones first, then by penalty; an optional one only
    where it costs less than its penalty): engines plan with tighter windows
    and shifts than the real ones (:func:`backend.solver.compile.reserve_breaks`),
    so an order they left out may fit the real day.  A pickup-and-delivery
    member removed from a route takes its partner with it, and neither is
    re-inserted here (the explanation reports them).
    """
    out = [list(r) for r in routes]
    removed: list[int] = []
    for vi, seq in enumerate(out):
        if seq and not evaluate_route(c, c.vehicles[vi], seq).feasible:
            out[vi], gone = _fix_route(c, vi, seq)
            removed.extend(gone)
    paired = set(c.pickup_of) | set(c.delivery_of)
    for i in removed:
        if i in paired:
            # A pair member alone cannot be re-inserted; its partner leaves too.
            partner = c.pickup_of.get(i, c.delivery_of.get(i))
            for seq in out:
                if partner in seq:
                    seq.remove(partner)
            continue
        insert_cheapest(c, out, i)
    served = {i for r in out for i in r}
    missing = [i for i in orders if i not in served and i not in paired]
    missing.sort(key=lambda i: (not c.mandatory[i], -c.penalty[i]))
    for i in missing:
        insert_cheapest(c, out, i, max_delta=None if c.mandatory[i] else c.penalty[i])
    return out, len(removed)
