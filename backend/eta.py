"""Estimated arrivals until the ML model lands: the plan advanced by the vehicle's progress.

`estimate_arrivals(session, *, depot_ids, now)` is the one interface the pages use; the ETA
model will replace its body (`estimate_from_plan`) and keep its signature and result. The
estimate reads, per route in force, where the vehicle is and how late it runs:

* at a stop (arrived, not left): it leaves after the stop's planned service time, not before
  `now`;
* between stops: the share of the leg still ahead (straight-line distance from its last fix
  to the next stop against the leg's length) of the leg's planned driving time, from `now`;
* not started before its planned start: the plan as it stands.

Later stops follow with the planned driving and service times; time a stop's window made the
plan wait absorbs delay. A stop whose estimated arrival is past its window's end is at risk.
`now` is always a parameter (the runtime clock in callbacks), never the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import (
    FINAL_ORDER_STATUSES,
    ROUTES_IN_FORCE,
    Order,
    Route,
    RouteStop,
    VehicleState,
)

# Stop statuses after which the stop is behind the vehicle.
DONE_STOP_STATUSES = frozenset({"done", "delivered", "failed", "skipped", "cancelled"})
# A fix older than this says nothing about where the vehicle is now.
FRESH_FIX = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One stop of a route as the estimate reads it."""

    stop_id: int
    route_id: int
    vehicle_id: int
    sequence: int
    kind: str
    lat: float
    lon: float
    planned_arrival_at: datetime
    planned_departure_at: datetime
    actual_arrival_at: datetime | None
    actual_departure_at: datetime | None
    status: str
    order_id: int | None
    order_status: str | None
    window_start: datetime | None
    window_end: datetime | None
    route_planned_start_at: datetime
    route_actual_start_at: datetime | None

    @property
    def done(self) -> bool:
        """The vehicle has left this stop (or it will not be served)."""
        return (
            self.actual_departure_at is not None
            or self.status in DONE_STOP_STATUSES
            or (self.order_status is not None and self.order_status in FINAL_ORDER_STATUSES)
        )


@dataclass(frozen=True, slots=True)
class Fix:
    """A vehicle's last known position."""

    lat: float
    lon: float
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class StopEstimate:
    """When a stop still ahead is expected; `at_risk` when past its window's end."""

    stop_id: int
    route_id: int
    order_id: int | None
    eta: datetime
    at_risk: bool


@dataclass(frozen=True, slots=True)
class RouteEstimate:
    """How late a route runs (minutes, negative when early) and its next stop."""

    route_id: int
    vehicle_id: int
    delay_min: float
    next_stop_id: int | None
    next_eta: datetime | None


@dataclass(frozen=True, slots=True)
class ArrivalEstimates:
    """Every estimate of one call, by stop id and by route id."""

    stops: dict[int, StopEstimate]
    routes: dict[int, RouteEstimate]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(min(1.0, math.sqrt(a)))


def _service(stop: PlannedStop) -> timedelta:
    start = stop.planned_arrival_at
    if stop.window_start is not None and stop.window_start > start:
        start = stop.window_start
    return max(timedelta(0), stop.planned_departure_at - start)


def _estimate_route(
    stops: Sequence[PlannedStop], fix: Fix | None, now: datetime
) -> tuple[list[StopEstimate], RouteEstimate]:
    first = stops[0]
    ahead = [i for i, s in enumerate(stops) if not s.done]
    estimates: list[StopEstimate] = []
    if not ahead:
        return estimates, RouteEstimate(first.route_id, first.vehicle_id, 0.0, None, None)
    i = ahead[0]
    nxt = stops[i]
    prev = stops[i - 1] if i > 0 else None
    started = first.route_actual_start_at is not None or any(
        s.actual_arrival_at or s.actual_departure_at for s in stops
    )
    if nxt.actual_arrival_at is not None:
        # At the stop now: arrived when it did.
        arrival = nxt.actual_arrival_at
    elif not started and now <= first.route_planned_start_at:
        arrival = nxt.planned_arrival_at
    else:
        leg = max(
            timedelta(0),
            nxt.planned_arrival_at
            - (prev.planned_departure_at if prev else nxt.planned_arrival_at),
        )
        if fix is not None and prev is not None and now - fix.recorded_at <= FRESH_FIX:
            # The share of the leg still ahead, by straight-line distance to the next stop.
            whole = _km(prev.lat, prev.lon, nxt.lat, nxt.lon)
            ahead_km = _km(fix.lat, fix.lon, nxt.lat, nxt.lon)
            share = min(1.0, ahead_km / whole) if whole > 0 else 0.0
            arrival = now + leg * share
        elif prev is not None and prev.actual_departure_at is not None:
            arrival = max(now, prev.actual_departure_at + leg)
        else:
            arrival = max(now, nxt.planned_arrival_at)
        if not started:
            arrival = max(arrival, nxt.planned_arrival_at)
    delay_min = (arrival - nxt.planned_arrival_at).total_seconds() / 60.0
    departure: datetime | None = None
    for j in ahead:
        stop = stops[j]
        if departure is None:
            eta = arrival
        else:
            before = stops[j - 1]
            eta = departure + max(
                timedelta(0), stop.planned_arrival_at - before.planned_departure_at
            )
        start = eta if stop.window_start is None else max(eta, stop.window_start)
        departure = start + _service(stop)
        if stop.actual_arrival_at is not None:
            departure = max(departure, now)
        at_risk = stop.window_end is not None and eta > stop.window_end
        estimates.append(StopEstimate(stop.stop_id, stop.route_id, stop.order_id, eta, at_risk))
    route = RouteEstimate(first.route_id, first.vehicle_id, delay_min, nxt.stop_id, arrival)
    return estimates, route


def estimate_from_plan(
    stops: Sequence[PlannedStop], fixes: dict[int, Fix], *, now: datetime
) -> ArrivalEstimates:
    """The estimates for these stops (any order, several routes) and vehicles' last fixes."""
    by_route: dict[int, list[PlannedStop]] = {}
    for stop in stops:
        by_route.setdefault(stop.route_id, []).append(stop)
    stop_estimates: dict[int, StopEstimate] = {}
    routes: dict[int, RouteEstimate] = {}
    for route_id, route_stops in by_route.items():
        route_stops.sort(key=lambda s: s.sequence)
        found, route = _estimate_route(route_stops, fixes.get(route_stops[0].vehicle_id), now)
        routes[route_id] = route
        stop_estimates.update((e.stop_id, e) for e in found)
    return ArrivalEstimates(stop_estimates, routes)


def estimate_arrivals(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    now: datetime,
    service_date: date | None = None,
) -> ArrivalEstimates:
    """Estimated arrivals of every stop ahead on the routes in force inside the scope (one query).

    `service_date` narrows to one day's routes; None takes the routes in force around `now`.
    """
    stmt = (
        select(
            RouteStop.id,
            RouteStop.route_id,
            Route.vehicle_id,
            RouteStop.sequence,
            RouteStop.kind,
            RouteStop.lat,
            RouteStop.lon,
            RouteStop.planned_arrival_at,
            RouteStop.planned_departure_at,
            RouteStop.actual_arrival_at,
            RouteStop.actual_departure_at,
            RouteStop.status,
            RouteStop.order_id,
            Order.status,
            Order.window_start,
            Order.window_end,
            Route.planned_start_at,
            Route.actual_start_at,
            VehicleState.lat,
            VehicleState.lon,
            VehicleState.recorded_at,
        )
        .join(Route, Route.id == RouteStop.route_id)
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .outerjoin(VehicleState, VehicleState.vehicle_id == Route.vehicle_id)
        .where(Route.status.in_(sorted(ROUTES_IN_FORCE)))
    )
    if service_date is not None:
        stmt = stmt.where(Route.service_date == service_date)
    else:
        day = now.date()
        stmt = stmt.where(
            Route.service_date.between(day - timedelta(days=1), day + timedelta(days=1))
        )
    if depot_ids is not None:
        stmt = stmt.where(Route.depot_id.in_(sorted(depot_ids)))
    stops: list[PlannedStop] = []
    fixes: dict[int, Fix] = {}
    for row in session.execute(stmt):
        *fields, fix_lat, fix_lon, fix_at = row
        stops.append(PlannedStop(*fields))
        if fix_at is not None:
            fixes[row[2]] = Fix(fix_lat, fix_lon, fix_at)
    return estimate_from_plan(stops, fixes, now=now)
