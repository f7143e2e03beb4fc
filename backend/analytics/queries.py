"""KPI queries: grouped sums from the daily aggregates, then the formulas of backend.analytics.kpis.

Each function runs a fixed handful of set-based queries whatever the range or fleet size: the
four aggregates grouped by the keys asked for (never a query per vehicle or per day), plus a
name lookup. Drill-down lists read routes and orders behind a point, limited and indexed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, literal, select, text
from sqlalchemy.orm import Session

from backend.analytics.aggregates import (
    ROUTE_MEASURES,
    order_daily,
    performance,
    rating_daily,
    route_daily,
)
from backend.analytics.kpis import Measures
from backend.analytics.sql import minutes_between, period_of
from backend.db.models import ROUTES_DRIVEN, Depot, Order, Route, RouteStop, User, Vehicle

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
Dimension = Literal["depot", "vehicle", "driver"]
DIMENSIONS: tuple[Dimension, ...] = ("depot", "vehicle", "driver")
MAX_DAYS = 731
DRILL_LIMIT = 200

_KEY_COLUMN = {"depot": "depot_id", "vehicle": "vehicle_id", "driver": "driver_id"}


def period_start(day: date, grain: Grain) -> date:
    """The first day of the day/week (Monday)/month that holds `day`."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def previous_range(date_from: date, date_to: date) -> tuple[date, date]:
    """The range of the same length just before [date_from, date_to]."""
    length = (date_to - date_from).days + 1
    return date_from - timedelta(days=length), date_from - timedelta(days=1)


def effective_depots(
    scope: Collection[int] | None, selected: Collection[int] | None
) -> frozenset[int] | None:
    """The depots to read: the picked ones inside the user's scope (None = every depot)."""
    picked = frozenset(selected) if selected else None
    if scope is None:
        return picked
    scope = frozenset(scope)
    return scope if picked is None else scope & picked


def _serial(session: Session) -> None:
    # These statements read a few thousand rows: on PostgreSQL, starting parallel workers costs
    # more than they save, and on a busy machine it is most of a query's time (the benchmark's
    # EXPLAIN). SET LOCAL ends with the callback's transaction.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def _check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise ValueError("date_to: must be on or after date_from")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise ValueError(f"date range: at most {MAX_DAYS} days")


def _where(table: Any, date_from: date, date_to: date, depots: frozenset[int] | None) -> list[Any]:
    conditions: list[ColumnElement[bool]] = [table.c.day >= date_from, table.c.day <= date_to]
    if depots is not None:
        conditions.append(table.c.depot_id.in_(sorted(depots)))
    return conditions


def measures_by(
    session: Session,
    *,
    keys: tuple[str, ...],
    date_from: date,
    date_to: date,
    depot_ids: frozenset[int] | None,
    grain: Grain = "day",
) -> dict[tuple[Any, ...], Measures]:
    """Measures per distinct value of `keys` (of day, depot_id, vehicle_id, driver_id).

    Four grouped queries, one per aggregate; with a week or month `grain` the "day" key is the
    first day of its period, so the database adds the days up. Orders and optimization
    requests are not per driver, so grouping by driver_id reads the route and rating
    aggregates only.
    """
    _serial(session)
    out: dict[tuple[Any, ...], Measures] = defaultdict(Measures)

    def key_columns(table: Any) -> list[Any]:
        return [
            period_of(table.c.day, literal(grain)).label("day")
            if k == "day" and grain != "day"
            else table.c[k]
            for k in keys
        ]

    rd = route_daily
    cols = key_columns(rd)
    stmt = (
        select(*cols, *(func.sum(rd.c[m]) for m in ROUTE_MEASURES))
        .where(*_where(rd, date_from, date_to, depot_ids))
        .group_by(*cols)
    )
    for row in session.execute(stmt):
        m = out[tuple(row[: len(keys)])]
        for name, value in zip(ROUTE_MEASURES, row[len(keys) :], strict=True):
            setattr(m, name, (int if isinstance(getattr(m, name), int) else float)(value or 0))
    ra = rating_daily
    cols = key_columns(ra)
    stmt = (
        select(*cols, func.sum(ra.c.ratings), func.sum(ra.c.rating_sum))
        .where(*_where(ra, date_from, date_to, depot_ids))
        .group_by(*cols)
    )
    for row in session.execute(stmt):
        m = out[tuple(row[: len(keys)])]
        m.ratings += int(row[len(keys)] or 0)
        m.rating_sum += float(row[len(keys) + 1] or 0.0)
    if "driver_id" in keys:
        return dict(out)
    od = order_daily
    cols = key_columns(od)
    stmt = (
        select(*cols, od.c.status, od.c.reason, func.sum(od.c.orders))
        .where(*_where(od, date_from, date_to, depot_ids))
        .group_by(*cols, od.c.status, od.c.reason)
    )
    for row in session.execute(stmt):
        status, reason, n = row[len(keys)], row[len(keys) + 1], int(row[len(keys) + 2] or 0)
        m = out[tuple(row[: len(keys)])]
        m.orders += n
        if status == "delivered":
            m.delivered += n
        elif status == "failed":
            m.failed += n
            m.failed_reasons[reason or "unknown"] = m.failed_reasons.get(reason or "unknown", 0) + n
        elif status == "cancelled":
            m.cancelled += n
            label = reason or "unknown"
            m.cancelled_reasons[label] = m.cancelled_reasons.get(label, 0) + n
    pv = performance
    cols = key_columns(pv)
    stmt = (
        select(
            *cols,
            func.sum(pv.c.total_requests),
            func.sum(pv.c.score_sum),
            func.sum(pv.c.score_n),
            func.sum(pv.c.planning_n),
            func.sum(pv.c.planning_minutes),
        )
        .where(*_where(pv, date_from, date_to, depot_ids))
        .group_by(*cols)
    )
    for row in session.execute(stmt):
        m = out[tuple(row[: len(keys)])]
        requests, score_sum, score_n, planning_n, planning_min = row[len(keys) :]
        m.requests += int(requests or 0)
        m.score_sum += float(score_sum or 0.0)
        m.score_n += int(score_n or 0)
        m.planning_n += int(planning_n or 0)
        m.planning_min += float(planning_min or 0.0)
    return dict(out)


@dataclass(slots=True)
class Period:
    """One point of a trend: the first day of the period and its measures."""

    start: date
    measures: Measures


@dataclass(slots=True)
class Overview:
    """A range's totals, the previous range's totals, and the trend per period."""

    date_from: date
    date_to: date
    grain: Grain
    current: Measures
    previous: Measures
    trend: list[Period]


def _period_starts(date_from: date, date_to: date, grain: Grain) -> list[date]:
    starts = set()
    day = date_from
    while day <= date_to:
        starts.add(period_start(day, grain))
        day += timedelta(days=1)
    return sorted(starts)


def _periods(
    by_day: dict[date, Measures], date_from: date, date_to: date, grain: Grain
) -> list[Period]:
    starts = {start: Measures() for start in _period_starts(date_from, date_to, grain)}
    for day, m in by_day.items():
        start = period_start(day, grain)
        if start in starts:
            starts[start].add(m)
    return [Period(start, m) for start, m in starts.items()]


def get_overview(
    session: Session,
    *,
    depot_ids: frozenset[int] | None,
    date_from: date,
    date_to: date,
    grain: Grain = "day",
) -> Overview:
    """Totals of the range and of the one before it, and the trend per day, week or month."""
    _check_range(date_from, date_to)
    prev_from, prev_to = previous_range(date_from, date_to)
    rows = measures_by(
        session, keys=("day",), date_from=prev_from, date_to=date_to, depot_ids=depot_ids
    )
    by_day = {key[0]: m for key, m in rows.items()}
    current = Measures.total(m for d, m in by_day.items() if d >= date_from)
    previous = Measures.total(m for d, m in by_day.items() if d < date_from)
    return Overview(
        date_from, date_to, grain, current, previous, _periods(by_day, date_from, date_to, grain)
    )


@dataclass(slots=True)
class BreakdownRow:
    """One depot, vehicle or driver: its name, totals and a per-period series."""

    key: int
    name: str
    measures: Measures
    series: list[Measures] = field(default_factory=list)


def _names(session: Session, dimension: Dimension, keys: Iterable[int]) -> dict[int, str]:
    wanted = sorted(k for k in set(keys) if k)
    if not wanted:
        return {}
    if dimension == "depot":
        stmt = select(Depot.id, Depot.name).where(Depot.id.in_(wanted))
    elif dimension == "vehicle":
        stmt = select(Vehicle.id, Vehicle.name).where(Vehicle.id.in_(wanted))
    else:
        label = case((User.display_name != "", User.display_name), else_=User.username)
        stmt = select(User.id, label).where(User.id.in_(wanted))
    return {int(i): str(n) for i, n in session.execute(stmt)}


def get_breakdown(
    session: Session,
    *,
    dimension: Dimension,
    depot_ids: frozenset[int] | None,
    date_from: date,
    date_to: date,
    grain: Grain = "week",
) -> list[BreakdownRow]:
    """Totals per depot, vehicle or driver, each with its series per period (for sparklines)."""
    _check_range(date_from, date_to)
    column = _KEY_COLUMN[dimension]
    rows = measures_by(
        session,
        keys=(column, "day"),
        date_from=date_from,
        date_to=date_to,
        depot_ids=depot_ids,
        grain=grain,
    )
    per_key: dict[int, dict[date, Measures]] = defaultdict(dict)
    for (key, day), m in rows.items():
        per_key[int(key)][day] = m
    names = _names(session, dimension, per_key)
    starts = _period_starts(date_from, date_to, grain)
    empty = Measures()  # read only: a key's series is only ever read
    out = []
    for key, by_period in per_key.items():
        # The database already summed each period (measures_by with `grain`).
        series = [by_period.get(start, empty) for start in starts]
        name = names.get(key) or ("unassigned" if key == 0 else f"#{key}")
        out.append(BreakdownRow(key, name, Measures.total(by_period.values()), series))
    out.sort(key=lambda r: r.name)
    return out


@dataclass(frozen=True, slots=True)
class DrillRoute:
    """A driven route behind a chart point or a table row: plan against actual."""

    route_id: int
    day: date
    depot: str
    vehicle: str
    driver: str
    status: str
    stops: int
    visited: int
    on_time: int
    failed: int
    planned_km: float
    actual_km: float | None
    planned_min: float
    actual_min: float | None
    eta_error_min: float | None


@dataclass(frozen=True, slots=True)
class DrillOrder:
    """A failed or cancelled order behind a point, with its reason."""

    order_id: int
    reference: str
    day: date
    customer: str
    status: str
    reason: str
    vehicle: str


def list_drill_routes(
    session: Session,
    *,
    depot_ids: frozenset[int] | None,
    date_from: date,
    date_to: date,
    dimension: Dimension | None = None,
    key: int | None = None,
    limit: int = DRILL_LIMIT,
) -> list[DrillRoute]:
    """The driven routes of the range (and of one depot, vehicle or driver), newest first."""
    _check_range(date_from, date_to)
    _serial(session)
    conditions: list[Any] = [
        Route.service_date >= date_from,
        Route.service_date <= date_to,
        Route.status.in_(sorted(ROUTES_DRIVEN)),
    ]
    if depot_ids is not None:
        conditions.append(Route.depot_id.in_(sorted(depot_ids)))
    if dimension is not None and key is not None:
        column = {"depot": Route.depot_id, "vehicle": Route.vehicle_id, "driver": Route.driver_id}
        conditions.append(column[dimension].is_(None) if key == 0 else column[dimension] == key)
    timed = and_(Route.actual_start_at.is_not(None), Route.actual_end_at.is_not(None))
    actual_min = case((timed, minutes_between(Route.actual_start_at, Route.actual_end_at)))
    driver = case((User.display_name != "", User.display_name), else_=User.username)
    # Two queries: the routes (an index range, limited), then their stops by route id, so the
    # stops table is read through its (route_id, sequence) index, never scanned.
    routes = session.execute(
        select(
            Route.id, Route.service_date, Depot.name, Vehicle.name, driver, Route.status,
            Route.planned_distance_km, Route.actual_distance_km, Route.planned_duration_min,
            actual_min,
        )
        .join(Depot, Depot.id == Route.depot_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .outerjoin(User, User.id == Route.driver_id)
        .where(*conditions)
        .order_by(Route.service_date.desc(), Route.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    if not routes:
        return []
    delivery = RouteStop.kind == "delivery"
    arrived = RouteStop.actual_arrival_at.is_not(None)
    visited = and_(delivery, Order.status.in_(("delivered", "failed")), arrived)
    eta = func.avg(
        case(
            (and_(delivery, arrived),
             func.abs(minutes_between(RouteStop.planned_arrival_at, RouteStop.actual_arrival_at))),
        )
    )  # fmt: skip
    stops = {
        int(row[0]): row[1:]
        for row in session.execute(
            select(
                RouteStop.route_id,
                func.sum(case((delivery, 1), else_=0)),
                func.sum(case((visited, 1), else_=0)),
                func.sum(case((and_(visited, RouteStop.actual_arrival_at <= Order.window_end), 1),
                              else_=0)),
                func.sum(case((and_(visited, Order.status == "failed"), 1), else_=0)),
                eta,
            )
            .outerjoin(Order, Order.id == RouteStop.order_id)
            .where(RouteStop.route_id.in_([int(r[0]) for r in routes]))
            .group_by(RouteStop.route_id)
        )
    }  # fmt: skip
    out = []
    for r in routes:
        n_stops, n_visited, n_on_time, n_failed, eta_min = stops.get(int(r[0]), (0, 0, 0, 0, None))
        out.append(
            DrillRoute(
                route_id=int(r[0]), day=r[1], depot=str(r[2]), vehicle=str(r[3]),
                driver=str(r[4] or ""), status=str(r[5]), stops=int(n_stops or 0),
                visited=int(n_visited or 0), on_time=int(n_on_time or 0),
                failed=int(n_failed or 0), planned_km=float(r[6] or 0.0),
                actual_km=None if r[7] is None else float(r[7]),
                planned_min=float(r[8] or 0.0),
                actual_min=None if r[9] is None else float(r[9]),
                eta_error_min=None if eta_min is None else float(eta_min),
            )
        )  # fmt: skip
    return out


def list_drill_orders(
    session: Session,
    *,
    depot_ids: frozenset[int] | None,
    date_from: date,
    date_to: date,
    dimension: Dimension | None = None,
    key: int | None = None,
    limit: int = DRILL_LIMIT,
) -> list[DrillOrder]:
    """The failed and cancelled orders of the range (and of one depot or vehicle)."""
    _check_range(date_from, date_to)
    _serial(session)
    conditions: list[Any] = [
        Order.service_date >= date_from,
        Order.service_date <= date_to,
        Order.status.in_(("failed", "cancelled")),
    ]
    if depot_ids is not None:
        conditions.append(Order.depot_id.in_(sorted(depot_ids)))
    if dimension == "depot" and key is not None:
        conditions.append(Order.depot_id == key)
    elif dimension == "vehicle" and key is not None:
        conditions.append(Order.vehicle_id.is_(None) if key == 0 else Order.vehicle_id == key)
    elif dimension == "driver" and key is not None:
        driven = select(Route.vehicle_id).where(
            Route.driver_id == key,
            Route.service_date >= date_from,
            Route.service_date <= date_to,
        )
        conditions.append(Order.vehicle_id.in_(driven))
    stmt = (
        select(
            Order.id, Order.reference, Order.service_date, Order.customer_name, Order.status,
            Order.failure_reason, Vehicle.name,
        )
        .outerjoin(Vehicle, Vehicle.id == Order.vehicle_id)
        .where(*conditions)
        .order_by(Order.service_date.desc(), Order.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [
        DrillOrder(int(r[0]), str(r[1]), r[2], str(r[3]), str(r[4]), str(r[5] or "unknown"),
                   str(r[6] or ""))
        for r in session.execute(stmt)
    ]  # fmt: skip
