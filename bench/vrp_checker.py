"""Independent VRPTW feasibility checker on the original instance data (float Euclidean).

Written from the Solomon rules alone and sharing no code with backend/solver:
every customer served exactly once, load per route within capacity, service
starts within [ready, due] (waiting allowed), back at the depot by its due
time, at most the instance's number of vehicles; cost is the float distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vrp_instances import Instance

EPS = 1e-6


@dataclass
class Check:
    feasible: bool
    cost: float
    vehicles: int
    errors: list[str] = field(default_factory=list)


def check_routes(inst: Instance, routes: list[list[int]]) -> Check:
    rows = {r[0]: r for r in inst.rows}
    depot = inst.rows[0]
    errors: list[str] = []
    seen: dict[int, int] = {}
    cost = 0.0
    used = [r for r in routes if r]
    if len(used) > inst.vehicles:
        errors.append(f"{len(used)} routes > {inst.vehicles} vehicles")
    for k, route in enumerate(used):
        load = 0.0
        t = depot[4]
        prev = depot
        for cust in route:
            if cust not in rows or cust == depot[0]:
                errors.append(f"route {k}: unknown customer {cust}")
                continue
            seen[cust] = seen.get(cust, 0) + 1
            row = rows[cust]
            d = math.hypot(row[1] - prev[1], row[2] - prev[2])
            cost += d
            arrival = t + d
            if arrival > row[5] + EPS:
                errors.append(f"route {k}: customer {cust} reached at {arrival:.3f} > due {row[5]}")
            t = max(arrival, row[4]) + row[6]
            load += row[3]
            prev = row
        d = math.hypot(depot[1] - prev[1], depot[2] - prev[2])
        cost += d
        if t + d > depot[5] + EPS:
            errors.append(f"route {k}: back at depot {t + d:.3f} > {depot[5]}")
        if load > inst.capacity + EPS:
            errors.append(f"route {k}: load {load} > capacity {inst.capacity}")
    for row in inst.customers:
        n = seen.get(row[0], 0)
        if n != 1:
            errors.append(f"customer {row[0]} served {n} times")
    return Check(feasible=not errors, cost=cost, vehicles=len(used), errors=errors)


@dataclass
class PlanCheck:
    """What the independent checker found in a solver plan, and what the plan costs."""

    feasible: bool
    cost: float
    km: float
    duration_h: float
    vehicles: int
    unassigned: int
    errors: list[str] = field(default_factory=list)


def check_plan(problem, plan, matrices) -> PlanCheck:
    """Check a solver ``Plan`` against its ``Problem`` from the plan's own stop times.

    Written from the problem's rules alone (not from backend/solver's code):
    every order served at most once and every order either served or reported
    unassigned, vehicle skills cover the order's, load per capacity unit within
    the vehicle's, each service starts inside one of the order's windows, after
    arrival, and arrival follows the previous departure by at least the travel
    time; the shift, maximum duration and distance hold; each break of a vehicle
    with stops is planned in its window, lasts long enough, overlaps no service
    and leaves room for the drive around it.  ``matrices`` are the travel data
    the plan was made on (the input, not the solver's result).  The cost is
    recomputed: fixed cost per used vehicle, per km, per hour of route duration,
    plus the drop penalty (times 1 + priority) of each optional order left out.
    """
    dist = matrices.distance / matrices.dist_scale
    dur = matrices.duration / matrices.time_scale
    per_km = 1000.0 if problem.coordinates == "latlon" else 1.0
    tick = 1.0 / matrices.time_scale
    depot_node = {d.id: k for k, d in enumerate(problem.depots)}
    base = len(problem.depots)
    orders = {o.id: (base + k, o) for k, o in enumerate(problem.orders)}
    vehicles = {v.id: v for v in problem.vehicles}
    errors: list[str] = []
    served: dict[str, int] = {}
    cost = km = hours = 0.0
    used = 0
    for r in plan.routes:
        v = vehicles.get(r.vehicle_id)
        if v is None:
            errors.append(f"unknown vehicle {r.vehicle_id}")
            continue
        if not r.stops:
            continue
        used += 1
        here = depot_node[v.start_depot]
        end_node = depot_node[v.end_depot or v.start_depot]
        free = r.start_time
        load = [0.0] * len(problem.capacity_units)
        d_route = 0.0
        intervals: list[tuple[float, float]] = []
        legs: list[tuple[float, float, float]] = []
        if r.start_time < v.shift_start - EPS:
            errors.append(f"{v.id}: leaves at {r.start_time} before its shift {v.shift_start}")
        for s in r.stops:
            if s.order_id not in orders:
                errors.append(f"{v.id}: unknown order {s.order_id}")
                continue
            node, o = orders[s.order_id]
            served[s.order_id] = served.get(s.order_id, 0) + 1
            if not set(o.skills) <= set(v.skills):
                errors.append(
                    f"{v.id}: lacks skills {sorted(set(o.skills) - set(v.skills))} for {o.id}"
                )
            travel = dur[here, node]
            d_route += dist[here, node]
            legs.append((free, s.start, travel))
            if s.arrival < free + travel - tick - EPS:
                errors.append(
                    f"{v.id}: {o.id} reached at {s.arrival:.1f}, drive ends {free + travel:.1f}"
                )
            if s.start < s.arrival - EPS:
                errors.append(f"{v.id}: {o.id} served before arrival")
            if o.time_windows and not any(
                w.start - EPS <= s.start <= w.end + EPS for w in o.time_windows
            ):
                errors.append(
                    f"{v.id}: {o.id} served at {s.start:.1f} outside "
                    + ", ".join(f"[{w.start:g}, {w.end:g}]" for w in o.time_windows)
                )
            if s.departure < s.start + o.service_time - EPS:
                errors.append(f"{v.id}: {o.id} left before its service ended")
            for u, amount in enumerate(o.demand):
                load[u] += amount
            intervals.append((s.start, s.departure))
            free = s.departure
            here = node
        back = dur[here, end_node]
        d_route += dist[here, end_node]
        legs.append((free, r.end_time, back))
        for u, amount in enumerate(load):
            if v.capacity and amount > v.capacity[u] + EPS:
                errors.append(f"{v.id}: {amount:g} {problem.capacity_units[u]} > {v.capacity[u]:g}")
        if r.end_time > v.shift_end + EPS:
            errors.append(f"{v.id}: back at {r.end_time:.1f} after its shift {v.shift_end:g}")
        duration = r.end_time - r.start_time
        if v.max_duration is not None and duration > v.max_duration + EPS:
            errors.append(f"{v.id}: route lasts {duration:.0f} s > {v.max_duration:g}")
        if v.max_distance is not None and d_route > v.max_distance + EPS:
            errors.append(f"{v.id}: route is {d_route:.0f} > {v.max_distance:g}")
        slots = sorted(r.breaks, key=lambda b: b.start)
        wanted = sorted(v.breaks, key=lambda b: b.earliest)
        if len(slots) != len(wanted):
            errors.append(f"{v.id}: {len(slots)} breaks planned, {len(wanted)} required")
        for b, slot in zip(wanted, slots, strict=False):
            if not b.earliest - EPS <= slot.start <= b.latest + EPS:
                errors.append(
                    f"{v.id}: break at {slot.start:.0f} outside [{b.earliest:g}, {b.latest:g}]"
                )
            if slot.duration < b.duration - EPS:
                errors.append(f"{v.id}: break of {slot.duration:g} s < {b.duration:g} s")
            if slot.start < v.shift_start - EPS or slot.start + slot.duration > v.shift_end + EPS:
                errors.append(f"{v.id}: break outside the shift")
        for slot in slots:
            lo, hi = slot.start, slot.start + slot.duration
            if any(lo < e - EPS and s < hi - EPS for s, e in intervals):
                errors.append(f"{v.id}: break at {lo:.0f} overlaps a service")
        for free_at, until, travel in legs:
            inside = sum(
                b.duration
                for b in slots
                if free_at - EPS <= b.start and b.start + b.duration <= until + EPS
            )
            if until < free_at + travel + inside - tick - EPS:
                errors.append(f"{v.id}: no time to drive {travel:.0f} s around the breaks")
        cost += v.fixed_cost + v.cost_per_km * d_route / per_km + v.cost_per_hour * duration / 3600
        km += d_route / per_km
        hours += duration / 3600
    reported = {u.order_id for u in plan.unassigned}
    for o in problem.orders:
        n = served.get(o.id, 0)
        if n > 1:
            errors.append(f"{o.id} served {n} times")
        if n == 0:
            if o.id not in reported:
                errors.append(f"{o.id} neither served nor reported unassigned")
            if o.drop_penalty is None:
                errors.append(f"mandatory {o.id} unassigned")
            else:
                cost += o.drop_penalty * (1 + o.priority)
    return PlanCheck(
        feasible=not errors,
        cost=cost,
        km=km,
        duration_h=hours,
        vehicles=used,
        unassigned=sum(1 for o in problem.orders if served.get(o.id, 0) == 0),
        errors=errors,
    )
