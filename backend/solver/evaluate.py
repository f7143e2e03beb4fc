"""Schedule, check and price routes in engine units, breaks included.

Every engine hands back plain order sequences; this module recomputes the
schedule (earliest service, the depot left as late as that allows), places the
driver's breaks, and computes loads and costs itself, so plans from different
engines are measured by the same rules.  Plan assembly lives in
:mod:`backend.solver.assemble`; this module imports nothing from it or from
:mod:`backend.solver.explain`, which keeps the package free of import cycles.

Breaks
------
Engines plan with each break's duration reserved from the shift (see
:func:`backend.solver.compile.reserve_breaks`); the break itself is placed here,
in the route's best gap: at the depot before the vehicle leaves or after it is
back (free), or on the road, taken on arrival at a stop before service (so that
waiting for a window to open absorbs it) or, when that would start it too late,
right after the previous stop.  The gap that ends the route earliest while
keeping every window, the shift and the maximum duration wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.solver.compile import Compiled, CVehicle

# (gap, earliest, latest, duration): a break taken before stop ``gap`` (``gap ==
# len(route)``: before the leg back to the depot).
_Placed = tuple[int, int, int, int]


@dataclass(frozen=True)
class RouteEval:
    """A scheduled route in engine units; ``feasible`` is False with a ``violation`` text.

    ``bad_stop`` is the position of the first stop that breaks a constraint of its
    own (time window, skill), or None when the violation is the route's
    (capacity, shift end, maximum duration or distance, break).
    """

    feasible: bool
    violation: str
    starts: tuple[int, ...]  # service start per stop
    arrivals: tuple[int, ...]
    depart: int  # leaves the start depot
    end: int  # arrives at the end depot
    distance: int
    loads: tuple[tuple[int, ...], ...]  # on board after each stop
    delivered: tuple[int, ...]
    cost: int
    breaks: tuple[tuple[int, int], ...] = ()  # (start, duration) per break
    bad_stop: int | None = None


def _first_start(windows: Sequence[tuple[int, int]], arrival: int) -> int | None:
    for lo, hi in windows:
        if arrival <= hi:
            return max(arrival, lo)
    return None


@dataclass
class _Schedule:
    arrivals: list[int]
    starts: list[int]
    end: int
    slots: list[tuple[int, int]]
    bad: int | None  # first stop past its windows, or -1 for a break, None when fine


def _forward(
    c: Compiled, v: CVehicle, nodes: Sequence[int], placed: Sequence[_Placed]
) -> _Schedule:
    """Earliest schedule of ``nodes`` from ``v.early`` with breaks at the given gaps."""
    _, dur, service, _ = c.lists
    windows = c.windows
    at_gap: dict[int, list[_Placed]] = {}
    for p in placed:
        at_gap.setdefault(p[0], []).append(p)
    t = v.early
    prev = v.start
    arrivals: list[int] = []
    starts: list[int] = []
    slots: list[tuple[int, int]] = []
    bad: int | None = None
    n = len(nodes)
    for k in range(n + 1):
        node = nodes[k] if k < n else v.end
        travel = dur[prev][node]
        arrival = t + travel
        ready = arrival
        for _, lo, hi, d in at_gap.get(k, ()):
            bs = max(ready, lo)
            if bs > hi:
                # Too late on arrival: take it before driving instead.
                bs = max(t, lo)
                if bs > hi:
                    bad = -1 if bad is None else bad
                    bs = max(ready, lo)
                else:
                    arrival = bs + d + travel
                    slots.append((bs, d))
                    ready = arrival
                    continue
            slots.append((bs, d))
            ready = bs + d
        if k == n:
            return _Schedule(arrivals, starts, ready, slots, bad)
        start = _first_start(windows[node], ready)
        if start is None:
            bad = k if bad is None else bad
            start = ready
        arrivals.append(arrival)
        starts.append(start)
        t = start + service[node]
        prev = node
    raise AssertionError("unreachable")


def _depart(c: Compiled, v: CVehicle, nodes: Sequence[int], sched: _Schedule) -> int:
    """Leave the depot as late as the first stop (or a break at it) allows."""
    if not nodes:
        return v.early
    first = sched.starts[0]
    _, dur, _, _ = c.lists
    # A break taken on arrival at the first stop happens before its service.
    for bs, _ in sched.slots:
        if bs <= first:
            first = min(first, bs)
    return max(v.early, first - dur[v.start][nodes[0]])


def _place_breaks(
    c: Compiled, v: CVehicle, nodes: Sequence[int], base: _Schedule
) -> tuple[_Schedule, int, list[tuple[int, int]], bool]:
    """Place ``v``'s breaks greedily; returns schedule, depart, depot breaks, success."""
    placed: list[_Placed] = []
    sched = base
    depart = _depart(c, v, nodes, sched)
    depot_slots: list[tuple[int, int]] = []
    before_free = v.early
    ok = True
    for lo, hi, d in sorted(v.breaks):
        bs = max(before_free, lo)
        if bs <= hi and bs + d <= depart:
            depot_slots.append((bs, d))
            before_free = bs + d
            continue
        bs = max(sched.end, lo, max((s + dd for s, dd in depot_slots), default=0))
        if bs <= hi and bs + d <= v.late:
            depot_slots.append((bs, d))
            continue
        best: tuple[int, int, _Schedule] | None = None
        for g in range(len(nodes) + 1):
            trial = sorted([*placed, (g, lo, hi, d)])
            s = _forward(c, v, nodes, trial)
            if s.bad is not None or s.end > v.late:
                continue
            dep = _depart(c, v, nodes, s)
            if v.max_duration is not None and s.end - dep > v.max_duration:
                continue
            if best is None or s.end < best[0]:
                best = (s.end, g, s)
        if best is None:
            ok = False
            continue
        placed = sorted([*placed, (best[1], lo, hi, d)])
        sched = best[2]
        depart = _depart(c, v, nodes, sched)
    # A break set after the return must still start after it once later breaks moved it.
    for bs, _ in depot_slots:
        if depart < bs < sched.end:
            ok = False
    return sched, depart, depot_slots, ok


def evaluate_route(c: Compiled, v: CVehicle, orders: Sequence[int]) -> RouteEval:
    """Schedule ``orders`` (order indices) on vehicle ``v``, place its breaks, check everything."""
    dist, dur, service, demand = c.lists
    units = c.demand.shape[1]
    base = c.num_depots
    nodes = [base + i for i in orders]
    violation = ""
    bad_stop: int | None = None
    pickup_of, delivery_of = c.pickup_of, c.delivery_of
    cap = v.capacity
    # Physical load: plain orders are loaded at the depot, paired goods ride
    # from pickup to delivery.
    load = [0] * units
    delivered = [0] * units
    for i in orders:
        d = demand[base + i]
        paired = i in pickup_of or i in delivery_of
        for k in range(units):
            if not paired:
                load[k] += d[k]
            if i not in delivery_of:
                delivered[k] += d[k]
    loads = []
    if any(load[k] > cap[k] for k in range(units)):
        violation = "capacity"
    seen: set[int] = set()
    for pos, i in enumerate(orders):
        d = demand[base + i]
        if i in delivery_of:
            for k in range(units):
                load[k] += d[k]
        else:
            for k in range(units):
                load[k] -= d[k]
        if pickup_of or delivery_of:
            if i in pickup_of and pickup_of[i] not in seen and not violation:
                violation = "pair order"
            if i in delivery_of and delivery_of[i] not in orders and not violation:
                violation = "pair incomplete"
            seen.add(i)
        if not violation and any(load[k] > cap[k] for k in range(units)):
            violation = "capacity"
        loads.append(tuple(load))
        if bad_stop is None and not c.can_serve(v, i):
            bad_stop = pos
            violation = violation or "skill"

    sched = _forward(c, v, nodes, ())
    if sched.bad is not None and sched.bad >= 0:
        violation = violation or "time_window"
        bad_stop = sched.bad if bad_stop is None else min(bad_stop, sched.bad)
    depart = _depart(c, v, nodes, sched)
    slots: list[tuple[int, int]] = []
    if nodes and v.breaks and not violation:
        sched, depart, depot_slots, ok = _place_breaks(c, v, nodes, sched)
        slots = sorted(sched.slots + depot_slots)
        if not ok:
            violation = "break"
    arrivals = list(sched.arrivals)
    end = sched.end
    distance = 0
    if nodes:
        prev = v.start
        for node in nodes:
            distance += dist[prev][node]
            prev = node
        distance += dist[prev][v.end]
        # Later service starts are unchanged, so only the first leg moves.
        arrivals[0] = max(arrivals[0], depart + dur[v.start][nodes[0]])
    else:
        end = depart = v.early
    if end > v.late and not violation:
        violation = "shift_end"
    duration = end - depart
    if v.max_duration is not None and duration > v.max_duration and not violation:
        violation = "max_duration"
    if v.max_distance is not None and distance > v.max_distance and not violation:
        violation = "max_distance"
    cost = 0
    if nodes:
        cost = v.fixed + v.unit_dist * distance + v.unit_time * duration
    return RouteEval(
        feasible=not violation,
        violation=violation,
        starts=tuple(sched.starts),
        arrivals=tuple(arrivals),
        depart=depart,
        end=end,
        distance=distance,
        loads=tuple(loads),
        delivered=tuple(delivered),
        cost=cost,
        breaks=tuple(slots),
        bad_stop=bad_stop,
    )


def objective(c: Compiled, routes: Sequence[Sequence[int]]) -> tuple[int, int, int]:
    """Engine-independent comparison key: (infeasible routes, mandatory orders missed, cost).

    Cost includes the drop penalties of optional orders left out.
    """
    served = {i for r in routes for i in r}
    cost = 0
    infeasible = 0
    for vi, seq in enumerate(routes):
        if seq:
            ev = evaluate_route(c, c.vehicles[vi], seq)
            cost += ev.cost
            infeasible += not ev.feasible
    missed = 0
    for i in range(c.num_orders):
        if i not in served:
            if c.mandatory[i]:
                missed += 1
            else:
                cost += c.penalty[i]
    return infeasible, missed, cost
