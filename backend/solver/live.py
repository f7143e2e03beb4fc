"""Re-optimization from the live state, and the fast path for one new order.

:func:`reoptimize` re-plans what is left of a day: every vehicle with a
:class:`VehicleState` starts from where it is, when it is free; its delivered
and in-progress stops are fixed and stay, with their times, at the front of its
route; cancelled orders are removed and new ones added.  The remaining orders
are re-planned freely across the fleet, except the delivery of goods a vehicle
has already picked up, which stays with that vehicle.  Vehicle capacity is available in full
for what remains (delivered goods have left the vehicle); ``max_duration`` is
reduced by the time already spent since the route started.

:func:`insert_order` adds one order to a plan without a full solve: cheapest
feasible insertion over every route and position, then relocate moves on the
route that received it, within a few tens of milliseconds for a 100-stop plan.
:func:`insert_live` does the same for the orders that arrive during the day, on the live
state: done and in-progress stops stay first and nothing is inserted before them.
Both work the same whichever engine made the plan: the plan is re-read as
order sequences and re-scheduled by the shared evaluator, breaks included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from backend.solver.assemble import build_plan
from backend.solver.compile import Compiled, compile_problem
from backend.solver.evaluate import evaluate_route
from backend.solver.matrix import Matrices, MatrixProvider
from backend.solver.model import (
    Depot,
    Location,
    Order,
    Plan,
    Problem,
    ProblemError,
    Stop,
    validate,
)
from backend.solver.progress import Cancel, OnImprove, Progress
from backend.solver.solve import ENGINES, solve_compiled


@dataclass(frozen=True, slots=True)
class VehicleState:
    """Where a vehicle is now: position, when it is free, and its fixed stops.

    ``done`` are order ids already served; ``in_progress`` is the order being
    served now (the vehicle is free at ``time``, after it).
    """

    vehicle_id: str
    location: Location
    time: float
    done: tuple[str, ...] = ()
    in_progress: str | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    """The state of the day at ``now``: vehicles on the road, new and cancelled orders."""

    now: float
    vehicles: tuple[VehicleState, ...] = ()
    new_orders: tuple[Order, ...] = ()
    cancelled: tuple[str, ...] = ()


def _live_problem(
    problem: Problem, plan: Plan, state: LiveState
) -> tuple[Problem, dict[str, list[Stop]]]:
    vehicle_ids = {v.id for v in problem.vehicles}
    known = {o.id for o in problem.orders}
    cancelled = set(state.cancelled)
    for k, oid in enumerate(state.cancelled):
        if oid not in known:
            raise ProblemError(f"state.cancelled[{k}]", f"unknown order id {oid!r}")
    for k, o in enumerate(state.new_orders):
        if o.id in known:
            raise ProblemError(f"state.new_orders[{k}].id", f"order id {o.id!r} already exists")
    planned = {r.vehicle_id: r for r in plan.routes}
    by_vehicle = {}
    fixed: set[str] = set()
    for k, vs in enumerate(state.vehicles):
        if vs.vehicle_id not in vehicle_ids:
            raise ProblemError(
                f"state.vehicles[{k}].vehicle_id", f"unknown vehicle id {vs.vehicle_id!r}"
            )
        ids = list(vs.done) + ([vs.in_progress] if vs.in_progress else [])
        for oid in ids:
            if oid not in known:
                raise ProblemError(f"state.vehicles[{k}]", f"unknown order id {oid!r}")
        fixed.update(ids)
        by_vehicle[vs.vehicle_id] = vs
    prefixes: dict[str, list[Stop]] = {}
    for vid, vs in by_vehicle.items():
        stops = {s.order_id: s for s in planned[vid].stops} if vid in planned else {}
        ids = list(vs.done) + ([vs.in_progress] if vs.in_progress else [])
        prefixes[vid] = [stops.get(oid) or Stop(oid, vs.time, vs.time, vs.time, ()) for oid in ids]
    # Goods picked up but not yet delivered are on that vehicle: its pending
    # deliveries are bound to it by a skill only it has.
    fixed_by = {
        oid: vs.vehicle_id
        for vs in by_vehicle.values()
        for oid in list(vs.done) + ([vs.in_progress] if vs.in_progress else [])
    }
    bound = {
        p.delivery: fixed_by[p.pickup]
        for p in problem.pairs
        if p.pickup in fixed_by and p.delivery not in fixed and p.delivery not in cancelled
    }
    orders = tuple(
        replace(o, skills=o.skills | {f"@{bound[o.id]}"}) if o.id in bound else o
        for o in problem.orders
        if o.id not in fixed and o.id not in cancelled
    )
    orders += state.new_orders
    carrying = set(bound.values())
    depots = list(problem.depots)
    vehicles = []
    for v in problem.vehicles:
        current = by_vehicle.get(v.id)
        if current is None:
            vehicles.append(v)
            continue
        vs = current
        here = f"@{v.id}"
        depots.append(Depot(here, vs.location))
        started = planned[v.id].start_time if v.id in planned else v.shift_start
        max_duration = v.max_duration
        if max_duration is not None:
            max_duration = max(0.0, max_duration - max(0.0, vs.time - started))
        breaks = tuple(
            replace(b, earliest=max(b.earliest, vs.time)) for b in v.breaks if b.latest >= vs.time
        )
        vehicles.append(
            replace(
                v,
                start_depot=here,
                end_depot=v.end_depot or v.start_depot,
                shift_start=max(v.shift_start, vs.time),
                shift_end=max(v.shift_end, vs.time),
                max_duration=max_duration,
                breaks=breaks,
                skills=v.skills | {f"@{v.id}"} if v.id in carrying else v.skills,
            )
        )
    pairs = tuple(
        p
        for p in problem.pairs
        if p.pickup not in fixed | cancelled and p.delivery not in fixed | cancelled
    )
    live = replace(
        problem, orders=orders, vehicles=tuple(vehicles), depots=tuple(depots), pairs=pairs
    )
    return live, prefixes


def reoptimize(
    problem: Problem,
    plan: Plan,
    state: LiveState,
    *,
    engine: str = "auto",
    time_limit: float,
    on_improve: OnImprove | None = None,
    cancel: Cancel | None = None,
    seed: int = 0,
    matrix: MatrixProvider | None = None,
    max_iterations: int | None = None,
) -> Plan:
    """Re-plan the rest of the day from ``state``; fixed stops lead their routes.

    Returns a plan over the remaining problem (see :func:`live_problem`), with
    each vehicle's done and in-progress stops first; route distance, duration
    and cost cover the part still to drive.
    """
    started = time.monotonic()
    validate(problem, time_limit=time_limit)
    if engine not in ENGINES:
        raise ProblemError("engine", f"must be one of {ENGINES}, got {engine!r}")
    live, prefixes = _live_problem(problem, plan, state)
    validate(live)
    c = compile_problem(live, matrix)
    progress = Progress(on_improve=on_improve, cancel=cancel)
    prefix_list = [prefixes.get(v.id, []) for v in live.vehicles]
    out = solve_compiled(
        c,
        engine=engine,
        time_limit=time_limit,
        progress=progress,
        seed=seed,
        max_iterations=max_iterations,
        prefixes=prefix_list,
        started=started,
    )
    return replace(out, solve_time=time.monotonic() - started)


def live_problem(problem: Problem, plan: Plan, state: LiveState) -> Problem:
    """The problem that :func:`reoptimize` solves: what is left, from where vehicles are."""
    return _live_problem(problem, plan, state)[0]


def _routes_of(c: Compiled, plan: Plan) -> list[list[int]]:
    index = {o.id: i for i, o in enumerate(c.problem.orders)}
    by_vehicle = {r.vehicle_id: r for r in plan.routes}
    routes = []
    for v in c.vehicles:
        r = by_vehicle.get(v.id)
        routes.append([index[s.order_id] for s in r.stops if s.order_id in index] if r else [])
    return routes


def _relocate(c: Compiled, vi: int, seq: list[int], deadline: float) -> list[int]:
    """First-improvement relocation of single stops within one route, until no gain."""
    v = c.vehicles[vi]
    best = evaluate_route(c, v, seq).cost
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for a in range(len(seq)):
            moved = seq[a]
            rest = seq[:a] + seq[a + 1 :]
            for b in range(len(rest) + 1):
                if b == a:
                    continue
                cand = rest[:b] + [moved] + rest[b:]
                ev = evaluate_route(c, v, cand)
                if ev.feasible and ev.cost < best:
                    seq, best, improved = cand, ev.cost, True
                    break
            if improved or time.monotonic() >= deadline:
                break
    return seq


def insert_order(
    problem: Problem,
    plan: Plan,
    order: Order,
    *,
    matrix: MatrixProvider | Matrices | None = None,
    search_time: float = 0.03,
) -> Plan:
    """Insert one new ``order`` into ``plan`` (of ``problem``) without a full solve.

    Cheapest feasible insertion over every route and position (candidates are
    ranked by added distance and checked exactly in that order), then relocate
    moves on the receiving route for up to ``search_time`` seconds.  The result
    is a plan for ``problem`` plus the order; an order that fits nowhere comes
    back unassigned with its reason.  Breaks are placed by the evaluator, so
    vehicles with breaks take the same fast path.
    """
    started = time.monotonic()
    grown = replace(problem, orders=problem.orders + (order,))
    validate(grown)
    c = compile_problem(grown, matrix)
    routes = _insert_index(c, _routes_of(c, plan), c.num_orders - 1, search_time)
    return build_plan(c, routes, engine="insertion", solve_time=time.monotonic() - started)


def insert_live(
    problem: Problem,
    plan: Plan,
    state: LiveState,
    orders: tuple[Order, ...],
    *,
    matrix: MatrixProvider | Matrices | None = None,
    search_time: float = 0.03,
) -> Plan:
    """Insert new ``orders`` into the rest of a live day, one at a time, without a full solve.

    The plan is read from ``state`` as :func:`reoptimize` reads it: each vehicle starts
    where it is, when it is free; its done and in-progress stops lead its route unchanged
    and nothing is inserted before them; cancelled orders leave. Each new order goes to its
    cheapest feasible place (then relocate moves on the route that received it), or comes
    back unassigned with its reason. Route figures cover the part still to drive.
    """
    started = time.monotonic()
    live, prefixes = _live_problem(problem, plan, replace(state, new_orders=()))
    prefix_list = [prefixes.get(v.id, []) for v in live.vehicles]
    grown = replace(live, orders=live.orders + tuple(orders))
    validate(grown)
    c = compile_problem(grown, matrix)
    routes = _routes_of(c, plan)  # what remains of each route (done stops are in the prefix)
    for index in range(len(live.orders), c.num_orders):
        routes = _insert_index(c, routes, index, search_time)
    return build_plan(
        c, routes, engine="insertion", solve_time=time.monotonic() - started, prefixes=prefix_list
    )


def _insert_index(
    c: Compiled, routes: list[list[int]], new: int, search_time: float
) -> list[list[int]]:
    """``routes`` with order ``new`` at its cheapest feasible place (unchanged if none)."""
    routes = [list(seq) for seq in routes]
    node = c.node(new)
    candidates: list[tuple[int, int, int]] = []  # (added distance, vehicle, position)
    for vi, seq in enumerate(routes):
        v = c.vehicles[vi]
        if not c.can_serve(v, new):
            continue
        path = [v.start] + [c.node(i) for i in seq] + [v.end]
        for pos in range(len(path) - 1):
            a, b = path[pos], path[pos + 1]
            added = int(c.dist[a, node] + c.dist[node, b] - c.dist[a, b]) * max(v.unit_dist, 1)
            if not seq:
                added += v.fixed
            candidates.append((added, vi, pos))
    candidates.sort()
    best: tuple[int, int, list[int]] | None = None
    checked_feasible = 0
    for _, vi, pos in candidates:
        seq = routes[vi]
        cand = seq[:pos] + [new] + seq[pos:]
        ev = evaluate_route(c, c.vehicles[vi], cand)
        if not ev.feasible:
            continue
        delta = ev.cost - (evaluate_route(c, c.vehicles[vi], seq).cost if seq else 0)
        if best is None or delta < best[0]:
            best = (delta, vi, cand)
        checked_feasible += 1
        # The ranking by distance is close to the exact one; a few exact checks suffice.
        if checked_feasible >= 5:
            break
    if best is not None:
        _, vi, cand = best
        routes[vi] = _relocate(c, vi, cand, time.monotonic() + search_time)
    return routes
