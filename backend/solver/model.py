"""Problem and plan value objects of the routing engine, and input validation.

Everything here is a frozen dataclass: a problem is built once, validated once
(:func:`validate`), and never mutated by the solver.  Units are documented in
``backend/solver/__init__.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from numbers import Real
from typing import Literal

#: Requests above these sizes are refused before any matrix is built, so that a
#: bad request cannot tie a worker up for minutes or exhaust memory.
MAX_ORDERS = 2000
MAX_VEHICLES = 500

DAY = 86_400


class ProblemError(ValueError):
    """A request the solver refuses before solving; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Location:
    """A point: latitude/longitude in degrees, or y/x on a plane (see ``Problem.coordinates``)."""

    lat: float
    lon: float

    @classmethod
    def xy(cls, x: float, y: float) -> Location:
        """Build a plane point (benchmarks): ``x`` is stored as ``lon``, ``y`` as ``lat``."""
        return cls(lat=y, lon=x)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """An interval ``[start, end]`` in seconds from the start of the planning day."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Break:
    """A driver break of ``duration`` seconds that must start within ``[earliest, latest]``."""

    earliest: float
    latest: float
    duration: float


@dataclass(frozen=True, slots=True)
class Depot:
    """A place where vehicles start or end their shifts."""

    id: str
    location: Location


@dataclass(frozen=True, slots=True)
class Order:
    """A stop to serve.

    ``demand`` is aligned with ``Problem.capacity_units`` (empty means zero in every
    unit).  An order with no time windows may be served at any time.  An order with
    ``drop_penalty=None`` is mandatory, but it is still left unassigned (with a
    reason) when no vehicle can serve it; one with a penalty is optional and is
    dropped whenever serving it costs more than the penalty.  ``priority`` (0 or
    more) multiplies the penalty by ``1 + priority``.
    """

    id: str
    location: Location
    demand: tuple[float, ...] = ()
    time_windows: tuple[TimeWindow, ...] = ()
    service_time: float = 0.0
    skills: frozenset[str] = frozenset()
    priority: int = 0
    drop_penalty: float | None = None


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle and its driver's shift.

    ``capacity`` is aligned with ``Problem.capacity_units`` (empty: unlimited).  ``end_depot=None``
    means back to ``start_depot``.  ``max_distance`` is in metres (plane problems:
    coordinate units); ``cost_per_km`` is per kilometre (plane problems: per
    coordinate unit).
    """

    id: str
    start_depot: str
    end_depot: str | None = None
    capacity: tuple[float, ...] = ()
    shift_start: float = 0.0
    shift_end: float = float(DAY)
    skills: frozenset[str] = frozenset()
    max_duration: float | None = None
    max_distance: float | None = None
    breaks: tuple[Break, ...] = ()
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0


@dataclass(frozen=True, slots=True)
class PickupDelivery:
    """Two orders served by one vehicle, pickup first; the pickup's demand rides between them."""

    pickup: str
    delivery: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A routing request: orders, vehicles, depots and the units they are stated in."""

    orders: tuple[Order, ...]
    vehicles: tuple[Vehicle, ...]
    depots: tuple[Depot, ...]
    capacity_units: tuple[str, ...] = ()
    pairs: tuple[PickupDelivery, ...] = ()
    coordinates: Literal["latlon", "plane"] = "latlon"


class Reason(StrEnum):
    """Why an order is left out of a plan (checked against the constraints, not guessed)."""

    SKILL = "skill"
    CAPACITY = "capacity"
    TIME_WINDOW = "time_window"
    SHIFT_LENGTH = "shift_length"
    MAX_DISTANCE = "max_distance"
    PAIR = "pair"
    NO_ROOM = "no_room"
    DROPPED_FOR_COST = "dropped_for_cost"


@dataclass(frozen=True, slots=True)
class Unassigned:
    """An order left out of the plan, with the reason and a human-readable detail."""

    order_id: str
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Violation:
    """A hard constraint a returned plan breaks: which stop (or route) and why.

    The solver repairs engine results or falls back to the other engine before it
    ever returns one of these; a plan carries them only when neither worked (a
    fixed stop of a live route already late, say), so nothing is broken silently.
    ``order_id`` is None for a route-level violation (shift end, capacity, break).
    """

    vehicle_id: str
    order_id: str | None
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Stop:
    """A served order: planned arrival, service start, departure (seconds) and load after it."""

    order_id: str
    arrival: float
    start: float
    departure: float
    load: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BreakSlot:
    """A planned driver break (seconds from the start of the day)."""

    start: float
    duration: float


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's planned tour; ``load`` is the total delivered per capacity unit."""

    vehicle_id: str
    stops: tuple[Stop, ...]
    start_time: float
    end_time: float
    distance: float
    duration: float
    load: tuple[float, ...]
    cost: float
    breaks: tuple[BreakSlot, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The solver's answer: routes, totals, the unassigned orders and how it was found.

    ``cost`` is the routes' cost plus the drop penalties of optional orders left
    out; ``distance`` and ``duration`` are summed over routes; ``solve_time`` is
    wall seconds; ``score`` is described in :mod:`backend.solver.score`.
    ``violations`` lists every hard constraint the plan breaks (normally none;
    see :class:`Violation`); ``feasible`` says whether it is empty.
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    cost: float
    distance: float
    duration: float
    engine: str
    solve_time: float
    score: float
    capacity_units: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()

    @property
    def feasible(self) -> bool:
        """Whether the plan keeps every hard constraint."""
        return not self.violations

    @property
    def vehicles_used(self) -> int:
        """Number of routes with at least one stop."""
        return sum(1 for r in self.routes if r.stops)


def _number(value: object, field_name: str) -> float:
    # bool is an int subclass; a True demand is almost certainly a bug upstream.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ProblemError(field_name, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ProblemError(field_name, f"must be finite, got {value!r}")
    return number


def _non_negative(value: object, field_name: str) -> float:
    number = _number(value, field_name)
    if number < 0:
        raise ProblemError(field_name, f"must not be negative, got {value!r}")
    return number


def _check_location(loc: object, field_name: str, coordinates: str) -> None:
    if not isinstance(loc, Location):
        raise ProblemError(field_name, f"must be a Location, got {type(loc).__name__}")
    lat = _number(loc.lat, f"{field_name}.lat")
    lon = _number(loc.lon, f"{field_name}.lon")
    if coordinates == "latlon":
        if not -90.0 <= lat <= 90.0:
            raise ProblemError(f"{field_name}.lat", f"latitude {lat} is outside [-90, 90]")
        if not -180.0 <= lon <= 180.0:
            raise ProblemError(f"{field_name}.lon", f"longitude {lon} is outside [-180, 180]")


def _check_amounts(values: Sequence[object], units: int, field_name: str) -> None:
    if not isinstance(values, tuple):
        raise ProblemError(field_name, "must be a tuple aligned with capacity_units")
    if values and len(values) != units:
        raise ProblemError(field_name, f"has {len(values)} values for {units} capacity units")
    for k, v in enumerate(values):
        _non_negative(v, f"{field_name}[{k}]")


def _check_ids(ids: Sequence[str], field_name: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if not isinstance(i, str) or not i:
            raise ProblemError(field_name, f"ids must be non-empty strings, got {i!r}")
        if i in seen:
            raise ProblemError(field_name, f"duplicate id {i!r}")
        seen.add(i)


def validate(problem: Problem, *, time_limit: float | None = None) -> None:
    """Refuse a malformed request with a :class:`ProblemError` naming the field.

    Only well-formedness is checked here; a well-formed but infeasible problem is
    solved and its impossible orders come back unassigned with their reasons.
    """
    if not isinstance(problem, Problem):
        raise ProblemError("problem", f"must be a Problem, got {type(problem).__name__}")
    if time_limit is not None:
        limit = _number(time_limit, "time_limit")
        if limit <= 0:
            raise ProblemError("time_limit", f"must be positive, got {time_limit!r}")
    if problem.coordinates not in ("latlon", "plane"):
        raise ProblemError(
            "coordinates", f"must be 'latlon' or 'plane', got {problem.coordinates!r}"
        )
    if not problem.vehicles:
        raise ProblemError("vehicles", "at least one vehicle is needed")
    if not problem.depots:
        raise ProblemError("depots", "at least one depot is needed")
    if len(problem.orders) > MAX_ORDERS:
        raise ProblemError(
            "orders", f"{len(problem.orders)} orders exceed the limit of {MAX_ORDERS}"
        )
    if len(problem.vehicles) > MAX_VEHICLES:
        raise ProblemError(
            "vehicles", f"{len(problem.vehicles)} vehicles exceed the limit of {MAX_VEHICLES}"
        )
    units = len(problem.capacity_units)
    _check_ids([d.id for d in problem.depots], "depots")
    _check_ids([v.id for v in problem.vehicles], "vehicles")
    _check_ids([o.id for o in problem.orders], "orders")
    depot_ids = {d.id for d in problem.depots}
    for i, d in enumerate(problem.depots):
        _check_location(d.location, f"depots[{i}].location", problem.coordinates)
    for i, v in enumerate(problem.vehicles):
        name = f"vehicles[{i}]"
        if v.start_depot not in depot_ids:
            raise ProblemError(f"{name}.start_depot", f"unknown depot id {v.start_depot!r}")
        if v.end_depot is not None and v.end_depot not in depot_ids:
            raise ProblemError(f"{name}.end_depot", f"unknown depot id {v.end_depot!r}")
        _check_amounts(v.capacity, units, f"{name}.capacity")
        start = _non_negative(v.shift_start, f"{name}.shift_start")
        end = _non_negative(v.shift_end, f"{name}.shift_end")
        if end < start:
            raise ProblemError(
                f"{name}.shift_end", f"shift ends ({end}) before it starts ({start})"
            )
        if v.max_duration is not None:
            _non_negative(v.max_duration, f"{name}.max_duration")
        if v.max_distance is not None:
            _non_negative(v.max_distance, f"{name}.max_distance")
        for k, b in enumerate(v.breaks):
            bname = f"{name}.breaks[{k}]"
            lo = _non_negative(b.earliest, f"{bname}.earliest")
            hi = _non_negative(b.latest, f"{bname}.latest")
            _non_negative(b.duration, f"{bname}.duration")
            if hi < lo:
                raise ProblemError(f"{bname}.latest", "break window ends before it starts")
        for attr in ("fixed_cost", "cost_per_km", "cost_per_hour"):
            _non_negative(getattr(v, attr), f"{name}.{attr}")
    for i, o in enumerate(problem.orders):
        name = f"orders[{i}]"
        _check_location(o.location, f"{name}.location", problem.coordinates)
        _check_amounts(o.demand, units, f"{name}.demand")
        _non_negative(o.service_time, f"{name}.service_time")
        for k, w in enumerate(o.time_windows):
            lo = _non_negative(w.start, f"{name}.time_windows[{k}].start")
            hi = _non_negative(w.end, f"{name}.time_windows[{k}].end")
            if hi < lo:
                raise ProblemError(
                    f"{name}.time_windows[{k}]", f"window ends ({hi}) before it starts ({lo})"
                )
        if isinstance(o.priority, bool) or not isinstance(o.priority, int) or o.priority < 0:
            raise ProblemError(f"{name}.priority", f"must be an int >= 0, got {o.priority!r}")
        if o.drop_penalty is not None:
            _non_negative(o.drop_penalty, f"{name}.drop_penalty")
    order_ids = {o.id: o for o in problem.orders}
    paired: set[str] = set()
    for i, p in enumerate(problem.pairs):
        for role in ("pickup", "delivery"):
            oid = getattr(p, role)
            if oid not in order_ids:
                raise ProblemError(f"pairs[{i}].{role}", f"unknown order id {oid!r}")
            if oid in paired:
                raise ProblemError(f"pairs[{i}].{role}", f"order {oid!r} is in two pairs")
            paired.add(oid)
        if p.pickup == p.delivery:
            raise ProblemError(f"pairs[{i}]", "pickup and delivery must differ")
