"""Explain why each unassigned order is left out, by checking it against the constraints.

For an order (with its partner, for a pickup-and-delivery pair) the vehicles are
filtered constraint by constraint, in this order: skills, capacity, time windows
and shift end (a round trip from the vehicle's depot within its shift), maximum
route duration (``shift_length``), maximum distance.  The reason reported is the
filter that removed the last vehicle.  An order some vehicle could serve on its
own is ``no_room`` when it fits in no route of the plan as it stands, and
``dropped_for_cost`` when it does fit but serving it costs more than its penalty.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.solver.compile import Compiled
from backend.solver.evaluate import evaluate_route
from backend.solver.model import Reason, Unassigned

_TIME = {"time_window", "shift_end"}
#: Above this many unassigned orders the insertion probe (quadratic) is skipped.
_PROBE_LIMIT = 200


def _trip(c: Compiled, i: int) -> list[int]:
    if i in c.delivery_of:
        return [i, c.delivery_of[i]]
    if i in c.pickup_of:
        return [c.pickup_of[i], i]
    return [i]


def _fits_somewhere(c: Compiled, trip: list[int], routes: Sequence[Sequence[int]]) -> bool:
    for vi, seq in enumerate(routes):
        v = c.vehicles[vi]
        if not all(c.can_serve(v, i) for i in trip):
            continue
        n = len(seq)
        for a in range(n + 1):
            if len(trip) == 1:
                cand = list(seq[:a]) + trip + list(seq[a:])
                if evaluate_route(c, v, cand).feasible:
                    return True
                continue
            for b in range(a, n + 1):
                cand = list(seq[:a]) + [trip[0]] + list(seq[a:b]) + [trip[1]] + list(seq[b:])
                if evaluate_route(c, v, cand).feasible:
                    return True
    return False


def explain_order(c: Compiled, i: int) -> tuple[Reason, str] | None:
    """Return the constraint that rules order ``i`` out for every vehicle, or None."""
    trip = _trip(c, i)
    oid = c.problem.orders[i].id
    # Vehicles alike in everything checked here give the same answer: test one of each.
    distinct = {
        (v.start, v.end, v.capacity, v.early, v.late, v.max_duration, v.max_distance, v.skills): v
        for v in reversed(c.vehicles)
    }
    vehicles = [v for v in distinct.values() if all(c.can_serve(v, j) for j in trip)]
    if not vehicles:
        need = sorted(set().union(*(c.problem.orders[j].skills for j in trip)))
        return Reason.SKILL, f"no vehicle has all skills {need} needed by {oid}"
    last: tuple[Reason, str] | None = None
    remaining = []
    for v in vehicles:
        ev = evaluate_route(c, v, trip)
        if ev.feasible:
            return None
        remaining.append((v, ev.violation))
    order = [
        ("capacity", Reason.CAPACITY, "exceeds the capacity of every vehicle with the skills"),
        (
            "time",
            Reason.TIME_WINDOW,
            "cannot be reached within its time windows and back to the depot within any shift",
        ),
        (
            "max_duration",
            Reason.SHIFT_LENGTH,
            "a round trip is longer than every maximum route duration",
        ),
        (
            "max_distance",
            Reason.MAX_DISTANCE,
            "a round trip is longer than every maximum route distance",
        ),
    ]
    # Vehicles fail on their first violated constraint; report the constraint
    # that rules out the most capable vehicles last in the fixed order above.
    for key, reason, text in order:
        hit = [v for v, why in remaining if (why in _TIME if key == "time" else why == key)]
        if hit:
            last = (reason, f"{oid} {text}")
    if last is None:
        return Reason.PAIR, f"{oid} and its pair partner cannot share a route"
    return last


def explain_unassigned(
    c: Compiled, missing: Sequence[int], routes: Sequence[Sequence[int]]
) -> list[Unassigned]:
    """Reasons for every order index in ``missing`` given the planned ``routes``."""
    out = []
    probe = len(missing) <= _PROBE_LIMIT
    for i in missing:
        oid = c.problem.orders[i].id
        found = explain_order(c, i)
        if found is not None:
            out.append(Unassigned(oid, found[0], found[1]))
            continue
        if probe and _fits_somewhere(c, _trip(c, i), routes):
            out.append(
                Unassigned(
                    oid,
                    Reason.DROPPED_FOR_COST,
                    f"{oid} fits in the plan but serving it costs more than its drop penalty",
                )
            )
        else:
            out.append(
                Unassigned(
                    oid,
                    Reason.NO_ROOM,
                    f"{oid} can be served on its own but fits in no route of this plan",
                )
            )
    return out
