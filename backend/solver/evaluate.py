"""Schedule, check and price routes in engine units, and turn them into a :class:`Plan`.

Every engine hands back plain order sequences; this module recomputes the
schedule (earliest service, the depot left as late as that allows), loads and
costs itself, so plans from different engines are measured by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.solver.compile import DEMAND_SCALE, Compiled, CVehicle
from backend.solver.model import BreakSlot, Plan, Route, Stop


@dataclass(frozen=True)
class RouteEval:
    """A scheduled route in engine units; ``feasible`` is False with a ``violation`` text."""

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


def _first_start(windows: Sequence[tuple[int, int]], arrival: int) -> int | None:
    for lo, hi in windows:
        if arrival <= hi:
            return max(arrival, lo)
    return None


def evaluate_route(c: Compiled, v: CVehicle, orders: Sequence[int]) -> RouteEval:
    """Schedule ``orders`` (order indices) on vehicle ``v`` and check every constraint.

    Breaks are not placed here; routes of vehicles with breaks take their times
    from the OR-Tools solution instead.
    """
    dist, dur, service, demand = c.lists
    units = c.demand.shape[1]
    base = c.num_depots
    nodes = [base + i for i in orders]
    violation = ""
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
    skills_ok = True
    for i in orders:
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
        if skills_ok and not c.can_serve(v, i):
            skills_ok = False
            violation = violation or "skill"

    t = v.early
    prev = v.start
    arrivals = []
    starts = []
    distance = 0
    windows = c.windows
    for node in nodes:
        arrival = t + dur[prev][node]
        distance += dist[prev][node]
        start = _first_start(windows[node], arrival)
        if start is None:
            violation = violation or "time_window"
            start = arrival
        arrivals.append(arrival)
        starts.append(start)
        t = start + service[node]
        prev = node
    end = t + dur[prev][v.end]
    distance += dist[prev][v.end]
    if end > v.late and not violation:
        violation = "shift_end"
    # Leave the depot as late as the first stop allows, so idle time is not billed.
    depart = v.early
    if nodes:
        # Later service starts are unchanged, so only the first leg moves.
        depart = max(v.early, starts[0] - dur[v.start][nodes[0]])
        arrivals[0] = depart + dur[v.start][nodes[0]]
    else:
        end = depart = v.early
        distance = 0
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
        starts=tuple(starts),
        arrivals=tuple(arrivals),
        depart=depart,
        end=end,
        distance=distance,
        loads=tuple(loads),
        delivered=tuple(delivered),
        cost=cost,
    )


def build_plan(
    c: Compiled,
    routes: Sequence[Sequence[int]],
    *,
    engine: str,
    solve_time: float,
    times: Sequence[Sequence[tuple[int, int]]] | None = None,
    route_breaks: Sequence[Sequence[tuple[int, int]]] | None = None,
    prefixes: Sequence[Sequence[Stop]] | None = None,
) -> Plan:
    """Build a :class:`Plan` from order sequences per vehicle (index = vehicle index).

    ``times`` optionally gives ``(arrival, service start)`` per stop as found by
    the engine (used when it also placed breaks); ``prefixes`` are fixed stops
    already done, placed in front of each route (re-optimization).
    """
    from backend.solver.explain import explain_unassigned
    from backend.solver.score import score_plan

    units = c.demand.shape[1]
    scale = DEMAND_SCALE
    out_routes = []
    total_cost = 0
    total_dist = 0
    total_dur = 0
    served: set[int] = set()
    for vi, seq in enumerate(routes):
        v = c.vehicles[vi]
        ev = evaluate_route(c, v, seq)
        served.update(seq)
        stops = list(prefixes[vi]) if prefixes else []
        for k, i in enumerate(seq):
            arrival, start = ev.arrivals[k], ev.starts[k]
            if times is not None and times[vi]:
                arrival, start = times[vi][k]
            node = c.node(i)
            stops.append(
                Stop(
                    order_id=c.problem.orders[i].id,
                    arrival=c.ticks_to_seconds(arrival),
                    start=c.ticks_to_seconds(start),
                    departure=c.ticks_to_seconds(start + int(c.service[node])),
                    load=tuple(x / scale for x in ev.loads[k]),
                )
            )
        end = ev.end
        depart = ev.depart
        if times is not None and times[vi] and seq:
            last = c.node(seq[-1])
            end = max(end, times[vi][-1][1] + int(c.service[last]) + int(c.dur[last, v.end]))
            depart = min(depart, times[vi][0][0] - int(c.dur[v.start, c.node(seq[0])]))
        duration = end - depart if seq else 0
        cost = v.fixed + v.unit_dist * ev.distance + v.unit_time * duration if seq else 0
        total_cost += cost
        total_dist += ev.distance
        total_dur += duration
        breaks = tuple(
            BreakSlot(c.ticks_to_seconds(s), c.ticks_to_seconds(d))
            for s, d in (route_breaks[vi] if route_breaks else ())
        )
        out_routes.append(
            Route(
                vehicle_id=v.id,
                stops=tuple(stops),
                start_time=c.ticks_to_seconds(depart),
                end_time=c.ticks_to_seconds(end),
                distance=c.dist_to_units(ev.distance),
                duration=c.ticks_to_seconds(duration),
                load=tuple(x / scale for x in ev.delivered) if seq else (0.0,) * units,
                cost=c.cost_to_currency(cost),
                breaks=breaks,
            )
        )
    missing = [i for i in range(c.num_orders) if i not in served]
    unassigned = explain_unassigned(c, missing, routes)
    penalties = sum(c.penalty[i] for i in missing if not c.mandatory[i])
    plan = Plan(
        routes=tuple(out_routes),
        unassigned=tuple(unassigned),
        cost=c.cost_to_currency(total_cost + penalties),
        distance=c.dist_to_units(total_dist),
        duration=c.ticks_to_seconds(total_dur),
        engine=engine,
        solve_time=solve_time,
        score=0.0,
        capacity_units=c.problem.capacity_units,
    )
    return _with_score(plan, score_plan(c, routes, total_cost))


def _with_score(plan: Plan, score: float) -> Plan:
    from dataclasses import replace

    return replace(plan, score=score)


def objective(c: Compiled, routes: Sequence[Sequence[int]]) -> tuple[int, int]:
    """Engine-independent comparison key: (mandatory orders missed, cost incl. penalties)."""
    served = {i for r in routes for i in r}
    cost = 0
    for vi, seq in enumerate(routes):
        if seq:
            cost += evaluate_route(c, c.vehicles[vi], seq).cost
    missed = 0
    for i in range(c.num_orders):
        if i not in served:
            if c.mandatory[i]:
                missed += 1
            else:
                cost += c.penalty[i]
    return missed, cost
