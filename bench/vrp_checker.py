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
