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


def _first_start(windows: Sequence[tuple[int, int]], arrival: int) -> tuple[int, int] | None:
    """Earliest service start at or after ``arrival``, and the end of its window."""
    for lo, hi in windows:
        if arrival <= hi:
            return max(arrival, lo), hi
    return None


@dataclass
class _Schedule:
    arrivals: list[int]
    starts: list[int]
    end: int
    slots: list[tuple[int, int]]
    bad: int | None  # first stop past its windows, or -1 for a break, None when fine
    depart: int


def _forward(
    c: Compiled, v: CVehicle, nodes: Sequence[int], placed: Sequence[_Placed]
) -> _Schedule:
    """Schedule of ``nodes`` with breaks at the given gaps and the least idle time.

    Services start as early as possible from ``v.early``; then the whole day is
    shifted as late as it can go without ending later or missing a window (the
    classic forward slack), so waiting turns into a later departure: the route
    lasts what PyVRP and OR-Tools (flexible start) think it lasts.
    """
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
    # Per stop and break: (waiting so far, its start, latest start); arrivals
    # and the departure carry the waiting before them.
    events: list[tuple[int, int, int]] = []
    arrival_wait: list[int] = []
    slot_wait: list[int] = []
    start_wait: list[int] = []
    waited = 0
    depot_break_end: int | None = None
    depot_break_wait = 0
    n = len(nodes)
    for k in range(n + 1):
        node = nodes[k] if k < n else v.end
        travel = dur[prev][node]
        arrival = t + travel
        arrival_seen = waited
        ready = arrival
        for _, lo, hi, d in at_gap.get(k, ()):
            bs = max(ready, lo)
            if bs > hi:
                # Too late on arrival: take it before driving instead.
                early = max(t, lo)
                if early <= hi:
                    waited += early - t
                    events.append((waited, early, hi))
                    slot_wait.append(waited)
                    slots.append((early, d))
                    arrival = ready = early + d + travel
                    arrival_seen = waited
                    if k == 0:
                        depot_break_end, depot_break_wait = early + d, waited
                    continue
                bad = -1 if bad is None else bad
            waited += bs - ready
            events.append((waited, bs, hi))
            slot_wait.append(waited)
            slots.append((bs, d))
            ready = bs + d
        if k == n:
            end = ready
            break
        found = _first_start(windows[node], ready)
        if found is None:
            bad = k if bad is None else bad
            start, hi = ready, ready
        else:
            start, hi = found
        waited += start - ready
        events.append((waited, start, hi))
        start_wait.append(waited)
        arrivals.append(arrival)
        arrival_wait.append(arrival_seen)
        starts.append(start)
        t = start + service[node]
        prev = node
    if not nodes:
        return _Schedule([], [], v.early, slots, bad, v.early)
    shift = waited
    for w, start, hi in events:
        shift = min(shift, w + hi - start)
    shift = max(0, shift)

    def moved(at: int, w: int) -> int:
        return at + max(0, shift - w)

    if depot_break_end is not None:
        depart = moved(depot_break_end, depot_break_wait)
    else:
        depart = v.early + shift
    return _Schedule(
        arrivals=[moved(a, w) for a, w in zip(arrivals, arrival_wait, strict=True)],
        starts=[moved(s, w) for s, w in zip(starts, start_wait, strict=True)],
        end=end,
        slots=[(moved(bs, w), d) for (bs, d), w in zip(slots, slot_wait, strict=True)],
        bad=bad,
        depart=depart,
    )


def _place_breaks(
    c: Compiled, v: CVehicle, nodes: Sequence[int], base: _Schedule
) -> tuple[_Schedule, int, list[tuple[int, int]], bool]:
    """Place ``v``'s breaks greedily; returns schedule, depart, depot breaks, success."""
    placed: list[_Placed] = []
    sched = base
    depart = sched.depart
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
            if v.max_duration is not None and s.end - s.depart > v.max_duration:
                continue
            if best is None or s.end < best[0]:
                best = (s.end, g, s)
        if best is None:
            ok = False
            continue
        placed = sorted([*placed, (best[1], lo, hi, d)])
        sched = best[2]
        depart = sched.depart
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
    depart = sched.depart
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
