"""Assemble a :class:`Plan` from order sequences, and check it before it leaves the solver.

:func:`build_plan` schedules every route with :func:`evaluate_route` (breaks
placed there), explains the orders left out and scores the plan.
:func:`check_plan` then re-checks the finished plan in seconds, from the stop
times it reports, against every hard constraint (each order once, skills,
capacity per unit, time windows, travel times, shift, maximum duration and
distance, breaks inside their windows and clear of driving and service), and
the plan carries whatever it finds as :class:`Violation` entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from backend.solver.compile import DEMAND_SCALE, Compiled
from backend.solver.evaluate import evaluate_route
from backend.solver.explain import explain_unassigned
from backend.solver.model import BreakSlot, Plan, Route, Stop, Violation
from backend.solver.score import score_plan

#: Slack on time comparisons in seconds: stop times are engine ticks turned
#: back into floats.
_EPS = 1e-6


def build_plan(
    c: Compiled,
    routes: Sequence[Sequence[int]],
    *,
    engine: str,
    solve_time: float,
    prefixes: Sequence[Sequence[Stop]] | None = None,
) -> Plan:
    """Build a checked :class:`Plan` from order sequences per vehicle (index = vehicle index).

    ``prefixes`` are fixed stops already done, placed in front of each route
    (re-optimization); they are not re-checked.
    """
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
            node = c.node(i)
            start = ev.starts[k]
            stops.append(
                Stop(
                    order_id=c.problem.orders[i].id,
                    arrival=c.ticks_to_seconds(ev.arrivals[k]),
                    start=c.ticks_to_seconds(start),
                    departure=c.ticks_to_seconds(start + int(c.service[node])),
                    load=tuple(x / scale for x in ev.loads[k]),
                )
            )
        duration = ev.end - ev.depart if seq else 0
        cost = ev.cost if seq else 0
        total_cost += cost
        total_dist += ev.distance
        total_dur += duration
        out_routes.append(
            Route(
                vehicle_id=v.id,
                stops=tuple(stops),
                start_time=c.ticks_to_seconds(ev.depart),
                end_time=c.ticks_to_seconds(ev.end),
                distance=c.dist_to_units(ev.distance),
                duration=c.ticks_to_seconds(duration),
                load=tuple(x / scale for x in ev.delivered) if seq else (0.0,) * units,
                cost=c.cost_to_currency(cost),
                breaks=tuple(
                    BreakSlot(c.ticks_to_seconds(s), c.ticks_to_seconds(d)) for s, d in ev.breaks
                ),
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
        score=score_plan(c, routes, total_cost),
        capacity_units=c.problem.capacity_units,
    )
    skip = [len(p) for p in prefixes] if prefixes else None
    return replace(plan, violations=tuple(check_plan(c, plan, skip=skip)))


def check_plan(c: Compiled, plan: Plan, *, skip: Sequence[int] | None = None) -> list[Violation]:
    """Every hard constraint ``plan`` breaks, from the times and loads it reports.

    ``skip[k]`` leading stops of route ``k`` (fixed stops of a live day) are not
    checked.  Travel times come from the compiled matrices; everything else is
    recomputed here from the problem, independently of the engines' evaluator.
    """
    problem = c.problem
    orders = {o.id: (k, o) for k, o in enumerate(problem.orders)}
    vehicles = {v.id: (k, v) for k, v in enumerate(problem.vehicles)}
    depot_node = {d.id: k for k, d in enumerate(problem.depots)}
    ts = c.matrices.time_scale
    out: list[Violation] = []
    seen: dict[str, str] = {}

    def bad(vid: str, oid: str | None, reason: str, detail: str) -> None:
        out.append(Violation(vid, oid, reason, detail))

    def travel(a: int, b: int) -> float:
        return float(c.dur[a, b]) / ts

    for ri, route in enumerate(plan.routes):
        vid = route.vehicle_id
        if vid not in vehicles:
            bad(vid, None, "vehicle", f"unknown vehicle {vid!r}")
            continue
        _, v = vehicles[vid]
        first = skip[ri] if skip else 0
        stops = route.stops[first:]
        if not stops:
            continue
        start_node = depot_node.get(v.start_depot, 0)
        end_node = depot_node.get(v.end_depot or v.start_depot, 0)
        if first == 0 and route.start_time < v.shift_start - _EPS:
            bad(
                vid,
                None,
                "shift_start",
                f"{vid} leaves at {route.start_time:.0f} s, before its shift",
            )
        if route.end_time > v.shift_end + _EPS:
            bad(vid, None, "shift_end", f"{vid} is back at {route.end_time:.0f} s, after its shift")
        if v.max_duration is not None and route.duration > v.max_duration + _EPS:
            bad(
                vid,
                None,
                "max_duration",
                f"{vid} drives {route.duration:.0f} s > {v.max_duration:.0f} s",
            )
        if v.max_distance is not None and route.distance > v.max_distance * (1 + 1e-9) + _EPS:
            bad(
                vid,
                None,
                "max_distance",
                f"{vid} drives {route.distance:.0f} > {v.max_distance:.0f}",
            )
        total = [0.0] * len(problem.capacity_units)
        prev_node = start_node
        prev_free = route.start_time
        busy: list[tuple[float, float]] = []  # service intervals, for the break check
        gaps: list[tuple[float, float, float]] = []  # (free from, must start by, travel)
        for s in stops:
            if s.order_id not in orders:
                bad(vid, s.order_id, "order", f"unknown order {s.order_id!r}")
                continue
            k, o = orders[s.order_id]
            if s.order_id in seen:
                bad(vid, s.order_id, "duplicate", f"{s.order_id} is also on {seen[s.order_id]}")
            seen[s.order_id] = vid
            node = c.node(k)
            if not o.skills <= v.skills:
                missing = sorted(o.skills - v.skills)
                bad(vid, s.order_id, "skill", f"{vid} lacks {missing} needed by {s.order_id}")
            leg = travel(prev_node, node)
            gaps.append((prev_free, s.start, leg))
            if s.arrival + _EPS < prev_free + leg - 1.0 / ts:
                bad(vid, s.order_id, "travel", f"{s.order_id} reached before the drive there ends")
            if s.start + _EPS < s.arrival:
                bad(vid, s.order_id, "schedule", f"{s.order_id} served before arrival")
            if o.time_windows and not any(
                w.start - _EPS <= s.start <= w.end + _EPS for w in o.time_windows
            ):
                windows = ", ".join(f"[{w.start:.0f}, {w.end:.0f}]" for w in o.time_windows)
                bad(
                    vid,
                    s.order_id,
                    "time_window",
                    f"{s.order_id} served at {s.start:.0f} s, outside its windows {windows}",
                )
            if s.departure + _EPS < s.start + o.service_time:
                bad(vid, s.order_id, "service", f"{s.order_id} left before its service ends")
            for u, amount in enumerate(o.demand):
                total[u] += amount
            busy.append((s.start, s.departure))
            prev_free = s.departure
            prev_node = node
        gaps.append((prev_free, route.end_time, travel(prev_node, end_node)))
        for u, amount in enumerate(total):
            if v.capacity and amount > v.capacity[u] * (1 + 1e-9) + 1e-9:
                unit = problem.capacity_units[u]
                bad(vid, None, "capacity", f"{vid} carries {amount:g} {unit} > {v.capacity[u]:g}")
        if first == 0:
            out.extend(_check_breaks(vid, v.breaks, route, busy, gaps))
    return out


def _check_breaks(
    vid: str,
    wanted: Sequence[object],
    route: Route,
    busy: Sequence[tuple[float, float]],
    gaps: Sequence[tuple[float, float, float]],
) -> list[Violation]:
    """Each wanted break planned once, in its window, clear of service and driving."""
    out = []
    slots = sorted(route.breaks, key=lambda b: b.start)
    if len(slots) < len(wanted):
        out.append(Violation(vid, None, "break", f"{vid} has {len(slots)} of {len(wanted)} breaks"))
        return out
    for b, slot in zip(sorted(wanted, key=lambda b: b.earliest), slots, strict=False):  # type: ignore[attr-defined]
        if not b.earliest - _EPS <= slot.start <= b.latest + _EPS:  # type: ignore[attr-defined]
            out.append(
                Violation(
                    vid, None, "break", f"{vid}'s break at {slot.start:.0f} s is outside its window"
                )
            )
        if slot.duration + _EPS < b.duration:  # type: ignore[attr-defined]
            out.append(Violation(vid, None, "break", f"{vid}'s break is shorter than required"))
    for slot in slots:
        lo, hi = slot.start, slot.start + slot.duration
        if any(lo < e - _EPS and s < hi - _EPS for s, e in busy):
            out.append(
                Violation(vid, None, "break", f"{vid}'s break at {lo:.0f} s overlaps a service")
            )
    # Driving plus the breaks taken between two stops must fit between them.
    for free, until, leg in gaps:
        inside = sum(
            s.duration
            for s in slots
            if free - _EPS <= s.start and s.start + s.duration <= until + _EPS
        )
        if until + _EPS < free + leg + inside - 1e-3:
            out.append(
                Violation(vid, None, "break", f"{vid} has no time to drive around its break")
            )
    return out
