"""The pure routing engine: frozen problem objects in, a :class:`Plan` out.

Public API::

    solve(problem, *, engine="auto", time_limit, on_improve=None, cancel=None,
          seed=0, matrix=None, max_iterations=None) -> Plan
    reoptimize(problem, plan, state: LiveState, *, engine="auto", time_limit,
               on_improve=None, cancel=None, seed=0, matrix=None,
               max_iterations=None) -> Plan
    insert_order(problem, plan, order, *, matrix=None, search_time=0.03) -> Plan
    insert_live(problem, plan, state: LiveState, orders, *, matrix=None,
                search_time=0.03) -> Plan

Units and representation
------------------------
* **Coordinates**: ``Location(lat, lon)`` in degrees when
  ``Problem.coordinates == "latlon"`` (the default; validated to [-90, 90] and
  [-180, 180]).  Benchmark instances use ``coordinates="plane"``, built with
  ``Location.xy(x, y)``.
* **Times**: seconds from the start of the planning day (floats allowed; an app
  that counts minutes multiplies by 60).  Time windows, service times, shifts,
  breaks, plan arrivals and departures all use this unit.
* **Demands and capacities**: tuples aligned with ``Problem.capacity_units``,
  e.g. ``capacity_units=("kg", "m3")``, ``demand=(120.0, 0.8)``.  An app holding
  dicts converts with ``tuple(d.get(u, 0) for u in units)``.  Engines work in
  thousandths (demands rounded up, capacities down).
* **Distances**: metres for lat/lon problems (``max_distance``; plan distances),
  coordinate units for plane problems.  ``cost_per_km`` is per kilometre (plane:
  per coordinate unit), ``cost_per_hour`` per hour of route duration (waiting
  included), ``fixed_cost`` per used vehicle; plan costs are in the same currency.
* **Matrices**: built once per solve by a provider (``HaversineProvider`` by
  default, ``OsrmProvider``, ``EuclideanProvider``) and integer-scaled:
  metres and seconds for road providers, ×1000 for the Euclidean one.

Engines
-------
``engine="ortools"``, ``"pyvrp"`` or ``"auto"`` (PyVRP, racing OR-Tools in a child
process when a core is free; see :mod:`backend.solver.solve`).  Both engines
express the whole problem model (several depots, shifts, capacities in several
units, skills, one or several windows per order, priorities and drop
penalties, fixed, per-km and per-hour costs, maximum duration and distance,
live starts and fixed prefixes) with one exception: PyVRP 0.14 has no
precedence between two of its clients on a route, so **pickup-and-delivery
pairs** are planned by OR-Tools only (``engine="pyvrp"`` refuses them, ``auto``
sends them to OR-Tools).  How each constraint reaches PyVRP is in
:mod:`backend.solver.pyvrp_engine`.

Driver breaks are planned the same way for both engines: the engines search
with the break time reserved from the shift and the late windows
(:func:`backend.solver.compile.reserve_breaks`), and the shared evaluator
places each break in the route's best gap (at the depot, in waiting time, or
on the road on arrival at a stop), so a 30-minute break adds about 30 minutes
to a route and no kilometres.  Break time is billed like any other route time
(``cost_per_hour`` covers the route's whole duration).

Every plan is checked before it is returned: infeasible engine routes are
repaired (:mod:`backend.solver.repair`), ``auto`` falls back to the other
engine when the repair would lose orders, and the finished plan is checked
once more against every hard constraint; anything still broken is listed in
``Plan.violations`` (vehicle, stop, reason), never hidden.

Orders are mandatory unless they carry a ``drop_penalty``; even a mandatory
order that no vehicle can serve comes back in ``Plan.unassigned`` with a
:class:`Reason` instead of failing the plan.  Malformed input raises
:class:`ProblemError` whose ``field`` names the culprit.
"""

from backend.solver.live import LiveState, VehicleState, insert_live, insert_order, reoptimize
from backend.solver.matrix import (
    EuclideanProvider,
    HaversineProvider,
    Matrices,
    MatrixProvider,
    OsrmProvider,
    SpeedProfile,
)
from backend.solver.model import (
    MAX_ORDERS,
    MAX_VEHICLES,
    Break,
    BreakSlot,
    Depot,
    Location,
    Order,
    PickupDelivery,
    Plan,
    Problem,
    ProblemError,
    Reason,
    Route,
    Stop,
    TimeWindow,
    Unassigned,
    Vehicle,
    Violation,
    validate,
)
from backend.solver.serialize import plan_from_json, plan_to_json, problem_fingerprint
from backend.solver.solve import ENGINES, EngineName, solve

__all__ = [
    "ENGINES",
    "EngineName",
    "MAX_ORDERS",
    "MAX_VEHICLES",
    "Break",
    "BreakSlot",
    "Depot",
    "EuclideanProvider",
    "HaversineProvider",
    "LiveState",
    "Location",
    "Matrices",
    "MatrixProvider",
    "Order",
    "OsrmProvider",
    "PickupDelivery",
    "Plan",
    "Problem",
    "ProblemError",
    "Reason",
    "Route",
    "SpeedProfile",
    "Stop",
    "TimeWindow",
    "Unassigned",
    "Vehicle",
    "VehicleState",
    "Violation",
    "insert_live",
    "insert_order",
    "reoptimize",
    "plan_from_json",
    "plan_to_json",
    "problem_fingerprint",
    "solve",
    "validate",
]
