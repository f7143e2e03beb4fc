"""Plans as JSON and back: what the result cache stores and the API returns."""

from __future__ import annotations

import math
from dataclasses import asdict, fields, is_dataclass
from typing import Any

from backend.solver.model import (
    BreakSlot,
    Plan,
    Problem,
    Reason,
    Unassigned,
    Violation,
)
from backend.solver.model import Route as SolverRoute
from backend.solver.model import Stop as SolverStop


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A JSON-safe copy of a solver plan (for the cache and the API)."""
    data = asdict(plan)
    for item in data["unassigned"]:
        item["reason"] = str(item["reason"])
    return data


def plan_from_json(data: dict[str, Any]) -> Plan:
    """The solver plan back from `plan_to_json`."""
    routes = tuple(
        SolverRoute(
            vehicle_id=r["vehicle_id"],
            stops=tuple(
                SolverStop(
                    s["order_id"], s["arrival"], s["start"], s["departure"], tuple(s["load"])
                )
                for s in r["stops"]
            ),
            start_time=r["start_time"],
            end_time=r["end_time"],
            distance=r["distance"],
            duration=r["duration"],
            load=tuple(r["load"]),
            cost=r["cost"],
            breaks=tuple(BreakSlot(b["start"], b["duration"]) for b in r.get("breaks", ())),
        )
        for r in data["routes"]
    )
    return Plan(
        routes=routes,
        unassigned=tuple(
            Unassigned(u["order_id"], Reason(u["reason"]), u["detail"]) for u in data["unassigned"]
        ),
        cost=data["cost"],
        distance=data["distance"],
        duration=data["duration"],
        engine=data["engine"],
        solve_time=data["solve_time"],
        score=data["score"],
        capacity_units=tuple(data.get("capacity_units", ())),
        violations=tuple(
            Violation(v["vehicle_id"], v.get("order_id"), v["reason"], v.get("detail", ""))
            for v in data.get("violations", ())
        ),
    )


def problem_fingerprint(problem: Problem) -> Any:
    """Every field of a problem as plain JSON values: what a cache key of its answer hashes.

    Walks the dataclasses generically, so a field added to the model later (a vehicle's
    maximum route length, a depot's coordinates) changes the key without anyone listing it.
    """
    return _plain(problem)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no infinity
    return value
