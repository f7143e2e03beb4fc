"""The daily aggregates every KPI reads: three views, each one select written once.

- `mv_route_performance_analytics` (the original design's view): per UTC day, depot and vehicle
  of the optimization request: requests, average optimization score, planned distance, duration
  and fuel, and route-planning time (request -> plan accepted).
- `analytics_route_daily`: per service day, depot, vehicle and driver: what was driven (routes,
  km, minutes, driving time, shift time, cost, fuel, CO2, load and capacity, stops visited, on
  time, lateness buckets, ETA error, failed stops, incidents).
- `analytics_order_daily`: per service day, depot, vehicle, status and reason: order counts
  (failed and cancelled deliveries with their reasons).
- `analytics_rating_daily`: per service day, depot, vehicle and driver: the number of customer
  ratings and their sum (migration 0005).

On PostgreSQL each is a materialized view with a unique index, refreshed CONCURRENTLY so readers
never wait; on SQLite each is a plain table that `refresh_aggregates` rewrites in one
transaction. Both are built from the same select, so both give the same numbers. The aggregates
read routes, stops, orders, vehicles, events and optimization records, never positions: the
retention job can thin and purge positions without changing a KPI.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    func,
    literal,
    select,
    text,
)

from backend.analytics.sql import json_number, minutes_between, time_minutes, utc_day
from backend.db.models import (
    ROUTES_DRIVEN,
    DeliveryRating,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    RouteEvent,
    RouteStop,
    Vehicle,
)

if TYPE_CHECKING:
    from backend.db.engine import Database

# Not Base.metadata: on PostgreSQL these are materialized views, which the ORM's tables (and the
# tests' TRUNCATE of every table) must not include.
ANALYTICS_METADATA = MetaData()

# Event types that count as incidents on a vehicle's record.
INCIDENT_TYPES = (
    "accident",
    "breakdown",
    "traffic_jam",
    "road_closure",
    "weather_alert",
    "delivery_issue",
    "customer_unavailable",
    "emergency",
)
# Lateness buckets (minutes after the window's end): (0, 15], (15, 30], (30, 60], > 60.
LATENESS_BUCKETS = (("late_15", 0, 15), ("late_30", 15, 30), ("late_60", 30, 60))


def _f(name: str) -> Column[Any]:
    return Column(name, Float)


def _i(name: str) -> Column[Any]:
    return Column(name, Integer)


performance = Table(
    "mv_route_performance_analytics",
    ANALYTICS_METADATA,
    Column("day", Date, nullable=False),
    Column("depot_id", Integer, nullable=False),
    Column("vehicle_id", Integer, nullable=False),
    _i("total_requests"),
    _f("avg_optimization_score"),
    _f("score_sum"),
    _i("score_n"),
    _f("total_distance_km"),
    _f("total_duration_min"),
    _f("total_fuel_l"),
    _i("planning_n"),
    _f("planning_minutes"),
)

ROUTE_MEASURES = (
    "routes",
    "km",
    "km_planned",
    "route_min",
    "planned_min",
    "drive_min",
    "shift_min",
    "cost",
    "fuel_l",
    "co2_kg",
    "load_kg",
    "capacity_kg",
    "stops",
    "visited",
    "on_time",
    "failed_stops",
    "late_15",
    "late_30",
    "late_60",
    "late_over_60",
    "late_min",
    "eta_abs_min",
    "eta_n",
    "incidents",
)
_ROUTE_INTEGERS = frozenset(
    {"routes", "stops", "visited", "on_time", "failed_stops", "eta_n", "incidents"}
    | {"late_15", "late_30", "late_60", "late_over_60"}
)

route_daily = Table(
    "analytics_route_daily",
    ANALYTICS_METADATA,
    Column("day", Date, nullable=False),
    Column("depot_id", Integer, nullable=False),
    Column("vehicle_id", Integer, nullable=False),
    Column("driver_id", Integer, nullable=False),
    *(_i(m) if m in _ROUTE_INTEGERS else _f(m) for m in ROUTE_MEASURES),
)

order_daily = Table(
    "analytics_order_daily",
    ANALYTICS_METADATA,
    Column("day", Date, nullable=False),
    Column("depot_id", Integer, nullable=False),
    Column("vehicle_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(120), nullable=False),
    _i("orders"),
)


rating_daily = Table(
    "analytics_rating_daily",
    ANALYTICS_METADATA,
    Column("day", Date, nullable=False),
    Column("depot_id", Integer, nullable=False),
    Column("vehicle_id", Integer, nullable=False),
    Column("driver_id", Integer, nullable=False),
    _i("ratings"),
    _f("rating_sum"),
)


def performance_select() -> Select[Any]:
    """Per request day, depot and vehicle: requests, scores, planned figures, planning time."""
    ev = OptimizationEvent
    events = (
        select(
            ev.request_id.label("request_id"),
            func.min(case((ev.event_type.in_(("requested", "created")), ev.timestamp))).label(
                "started_at"
            ),
            func.min(case((ev.event_type == "accepted", ev.timestamp))).label("accepted_at"),
            func.min(case((ev.event_type == "completed", ev.timestamp))).label("completed_at"),
            func.max(case((ev.event_type == "requested", 1), else_=0)).label("asked"),
        )
        .where(ev.request_id.is_not(None))
        .group_by(ev.request_id)
        .subquery("ev")
    )
    resp = OptimizationResponse
    responses = (
        select(
            resp.request_id.label("request_id"),
            func.avg(resp.optimization_score).label("score"),
            func.avg(resp.distance).label("distance"),
            func.avg(resp.duration).label("duration"),
            func.avg(resp.fuel_consumption).label("fuel"),
        )
        .group_by(resp.request_id)
        .subquery("resp")
    )
    req = OptimizationRequest
    # Accepted: the `accepted` event. A plan recorded without an optimizer request (the demo
    # history's manual planning has no `requested` event) was final when it was completed.
    finished = func.coalesce(
        events.c.accepted_at, case((events.c.asked == 0, events.c.completed_at))
    )
    planning = case(
        (and_(events.c.started_at.is_not(None), finished.is_not(None)),
         minutes_between(events.c.started_at, finished)),
    )  # fmt: skip
    day = utc_day(req.created_at)
    depot = func.coalesce(req.depot_id, 0)
    vehicle = func.coalesce(req.vehicle_id, 0)
    return (
        select(
            day.label("day"),
            depot.label("depot_id"),
            vehicle.label("vehicle_id"),
            func.count().label("total_requests"),
            func.avg(responses.c.score).label("avg_optimization_score"),
            func.coalesce(func.sum(responses.c.score), 0.0).label("score_sum"),
            func.count(responses.c.score).label("score_n"),
            func.coalesce(func.sum(responses.c.distance), 0.0).label("total_distance_km"),
            func.coalesce(func.sum(responses.c.duration), 0.0).label("total_duration_min"),
            func.coalesce(func.sum(responses.c.fuel), 0.0).label("total_fuel_l"),
            func.count(planning).label("planning_n"),
            func.coalesce(func.sum(planning), 0.0).label("planning_minutes"),
        )
        .select_from(req)
        .outerjoin(events, events.c.request_id == req.request_id)
        .outerjoin(responses, responses.c.request_id == req.request_id)
        .group_by(day, depot, vehicle)
    )


def route_daily_select() -> Select[Any]:
    """Per service day, depot, vehicle and driver: the driven routes' sums."""
    arrival = func.coalesce(
        RouteStop.actual_arrival_at, Order.arrived_at, Order.delivered_at, Order.failed_at
    )
    delivery = RouteStop.kind == "delivery"
    visited = and_(delivery, Order.status.in_(("delivered", "failed")), arrival.is_not(None))
    late = minutes_between(Order.window_end, arrival)
    on_time = and_(visited, arrival <= Order.window_end)
    is_late = and_(visited, arrival > Order.window_end)

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def sum_if(condition: Any, value: Any) -> Any:
        return func.coalesce(func.sum(case((condition, value), else_=0.0)), 0.0)

    has_actual = and_(RouteStop.actual_arrival_at.is_not(None), delivery)
    dwell = and_(has_actual, RouteStop.actual_departure_at.is_not(None))
    stops = (
        select(
            RouteStop.route_id.label("route_id"),
            count_if(delivery).label("stops"),
            count_if(visited).label("visited"),
            count_if(on_time).label("on_time"),
            count_if(and_(visited, Order.status == "failed")).label("failed_stops"),
            *(
                count_if(and_(is_late, late > low, late <= high)).label(name)
                for name, low, high in LATENESS_BUCKETS
            ),
            count_if(and_(is_late, late > LATENESS_BUCKETS[-1][2])).label("late_over_60"),
            sum_if(is_late, late).label("late_min"),
            sum_if(
                has_actual,
                func.abs(
                    minutes_between(RouteStop.planned_arrival_at, RouteStop.actual_arrival_at)
                ),
            ).label("eta_abs_min"),
            count_if(has_actual).label("eta_n"),
            sum_if(
                dwell, minutes_between(RouteStop.actual_arrival_at, RouteStop.actual_departure_at)
            ).label("dwell_min"),
            sum_if(delivery, func.coalesce(json_number(Order.demand, literal("kg")), 0.0)).label(
                "load_kg"
            ),
        )
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .group_by(RouteStop.route_id)
        .subquery("stops")
    )
    incidents = (
        select(RouteEvent.route_id.label("route_id"), func.count().label("incidents"))
        .where(RouteEvent.route_id.is_not(None), RouteEvent.event_type.in_(INCIDENT_TYPES))
        .group_by(RouteEvent.route_id)
        .subquery("incidents")
    )
    km = func.coalesce(Route.actual_distance_km, Route.planned_distance_km, 0.0)
    timed = and_(
        Route.actual_start_at.is_not(None),
        Route.actual_end_at.is_not(None),
        Route.actual_end_at >= Route.actual_start_at,
    )
    minutes = case(
        (timed, minutes_between(Route.actual_start_at, Route.actual_end_at)),
        else_=func.coalesce(Route.planned_duration_min, 0.0),
    )
    shift = time_minutes(Vehicle.shift_end) - time_minutes(Vehicle.shift_start)
    shift = case((shift > 0, shift), else_=shift + 1440)
    fuel = km * Vehicle.fuel_l_per_km
    cost = Vehicle.fixed_cost + km * Vehicle.cost_per_km + minutes / 60.0 * Vehicle.cost_per_hour
    dwell_min = func.coalesce(stops.c.dwell_min, 0.0)
    drive = case((minutes > dwell_min, minutes - dwell_min), else_=0.0)
    driver = func.coalesce(Route.driver_id, 0)

    def total(expr: Any) -> Any:
        return func.coalesce(func.sum(expr), 0)

    return (
        select(
            Route.service_date.label("day"),
            Route.depot_id.label("depot_id"),
            Route.vehicle_id.label("vehicle_id"),
            driver.label("driver_id"),
            func.count().label("routes"),
            total(km).label("km"),
            total(Route.planned_distance_km).label("km_planned"),
            total(minutes).label("route_min"),
            total(Route.planned_duration_min).label("planned_min"),
            total(drive).label("drive_min"),
            total(shift).label("shift_min"),
            total(cost).label("cost"),
            total(fuel).label("fuel_l"),
            total(fuel * Vehicle.co2_kg_per_l).label("co2_kg"),
            total(stops.c.load_kg).label("load_kg"),
            total(func.coalesce(json_number(Vehicle.capacity, literal("kg")), 0.0)).label(
                "capacity_kg"
            ),
            *(
                total(stops.c[name]).label(name)
                for name in (
                    "stops",
                    "visited",
                    "on_time",
                    "failed_stops",
                    "late_15",
                    "late_30",
                    "late_60",
                    "late_over_60",
                    "late_min",
                    "eta_abs_min",
                    "eta_n",
                )
            ),
            total(incidents.c.incidents).label("incidents"),
        )
        .select_from(Route)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .outerjoin(stops, stops.c.route_id == Route.id)
        .outerjoin(incidents, incidents.c.route_id == Route.id)
        .where(Route.status.in_(sorted(ROUTES_DRIVEN)))
        .group_by(Route.service_date, Route.depot_id, Route.vehicle_id, driver)
    )


def order_daily_select() -> Select[Any]:
    """Per service day, depot, vehicle, status and reason: the number of orders."""
    vehicle = func.coalesce(Order.vehicle_id, 0)
    reason = func.coalesce(Order.failure_reason, "")
    stmt = select(
        Order.service_date.label("day"),
        Order.depot_id.label("depot_id"),
        vehicle.label("vehicle_id"),
        Order.status.label("status"),
        reason.label("reason"),
        func.count().label("orders"),
    ).group_by(Order.service_date, Order.depot_id, vehicle, Order.status, reason)
    return cast("Select[Any]", stmt)


def rating_daily_select() -> Select[Any]:
    """Per service day, depot, vehicle and driver of the rated order: ratings and their sum.

    The driver is the one of the driven route that held the order's delivery stop.
    """
    drivers = (
        select(
            RouteStop.order_id.label("order_id"),
            func.max(Route.driver_id).label("driver_id"),
        )
        .join(Route, Route.id == RouteStop.route_id)
        .where(RouteStop.order_id.is_not(None), Route.status.in_(sorted(ROUTES_DRIVEN)))
        .group_by(RouteStop.order_id)
        .subquery("drivers")
    )
    vehicle = func.coalesce(Order.vehicle_id, 0)
    driver = func.coalesce(drivers.c.driver_id, 0)
    stmt = (
        select(
            Order.service_date.label("day"),
            Order.depot_id.label("depot_id"),
            vehicle.label("vehicle_id"),
            driver.label("driver_id"),
            func.count().label("ratings"),
            func.coalesce(func.sum(DeliveryRating.rating), 0.0).label("rating_sum"),
        )
        .select_from(DeliveryRating)
        .join(Order, Order.id == DeliveryRating.order_id)
        .outerjoin(drivers, drivers.c.order_id == Order.id)
        .group_by(Order.service_date, Order.depot_id, vehicle, driver)
    )
    return cast("Select[Any]", stmt)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate: its table (or view) shape, its select, and the columns that key a row."""

    table: Table
    build: Callable[[], Select[Any]]
    keys: tuple[str, ...]

    @property
    def name(self) -> str:
        """The table's (or materialized view's) name."""
        return self.table.name


AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate(performance, performance_select, ("day", "depot_id", "vehicle_id")),
    Aggregate(route_daily, route_daily_select, ("day", "depot_id", "vehicle_id", "driver_id")),
    Aggregate(
        order_daily, order_daily_select, ("day", "depot_id", "vehicle_id", "status", "reason")
    ),
    Aggregate(rating_daily, rating_daily_select, ("day", "depot_id", "vehicle_id", "driver_id")),
)
AGGREGATE_BY_NAME = {a.name: a for a in AGGREGATES}


def _index_name(aggregate: Aggregate, suffix: str) -> str:
    return f"ix_{aggregate.name}_{suffix}"


def _named(names: Sequence[str] | None) -> tuple[Aggregate, ...]:
    if names is None:
        return AGGREGATES
    return tuple(AGGREGATE_BY_NAME[name] for name in names)


def create_aggregates(connection: Connection, names: Sequence[str] | None = None) -> None:
    """Create the aggregates `names` (all when None) with their indexes: materialized views on
    PostgreSQL, tables on SQLite.

    Called by migrations 0003 and 0005, each naming its own; the views are built from today's
    selects, which is what a materialized view is: a stored query.
    """
    postgres = connection.dialect.name == "postgresql"
    for aggregate in _named(names):
        keys = ", ".join(aggregate.keys)
        if postgres:
            sql = aggregate.build().compile(
                dialect=connection.dialect, compile_kwargs={"literal_binds": True}
            )
            connection.execute(text(f"CREATE MATERIALIZED VIEW {aggregate.name} AS {sql}"))
        else:
            aggregate.table.create(connection)
        # The unique key lets REFRESH ... CONCURRENTLY match rows; day-first serves range scans.
        connection.execute(
            text(
                f"CREATE UNIQUE INDEX {_index_name(aggregate, 'key')} ON {aggregate.name} ({keys})"
            )
        )
        connection.execute(
            text(
                f"CREATE INDEX {_index_name(aggregate, 'depot_day')} "
                f"ON {aggregate.name} (depot_id, day)"
            )
        )


def drop_aggregates(connection: Connection, names: Sequence[str] | None = None) -> None:
    """Drop what `create_aggregates` made (the migrations' downgrades)."""
    postgres = connection.dialect.name == "postgresql"
    for aggregate in reversed(_named(names)):
        kind = "MATERIALIZED VIEW" if postgres else "TABLE"
        connection.execute(text(f"DROP {kind} IF EXISTS {aggregate.name}"))


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """How long each aggregate took to refresh, and how many rows it holds."""

    seconds: dict[str, float]
    rows: dict[str, int]

    @property
    def total_seconds(self) -> float:
        """The whole refresh."""
        return sum(self.seconds.values())


def _engine_of(target: Any) -> Engine:
    engine = getattr(target, "engine", target)
    if not isinstance(engine, Engine):
        raise TypeError("refresh_aggregates needs a Database or an Engine")
    return engine


def refresh_aggregates(
    database: Database | Engine, *, days: Sequence[date] | None = None, concurrently: bool = True
) -> RefreshReport:
    """Bring every aggregate up to date with the tables it reads (call after a day closes).

    PostgreSQL: `REFRESH MATERIALIZED VIEW CONCURRENTLY` (readers keep reading the old rows
    until it commits). SQLite: the rows of `days` (all rows when None) are deleted and rebuilt
    from the same select in one transaction. Takes a Database or an Engine, so a job can call
    it with nothing but settings.
    """
    engine = _engine_of(database)
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for aggregate in AGGREGATES:
        started = _time.perf_counter()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                how = "CONCURRENTLY " if concurrently else ""
                connection.execute(text(f"REFRESH MATERIALIZED VIEW {how}{aggregate.name}"))
            else:
                _rebuild_sqlite(connection, aggregate, days)
            count = connection.execute(select(func.count()).select_from(aggregate.table))
            rows[aggregate.name] = int(count.scalar_one())
        seconds[aggregate.name] = _time.perf_counter() - started
    return RefreshReport(seconds, rows)


def _rebuild_sqlite(
    connection: Connection, aggregate: Aggregate, days: Sequence[date] | None
) -> None:
    table = aggregate.table
    stmt = aggregate.build()
    delete = table.delete()
    if days is not None:
        wanted = sorted(set(days))
        delete = delete.where(table.c.day.in_(wanted))
        fresh = stmt.subquery("fresh")
        stmt = select(fresh).where(fresh.c.day.in_(wanted))
    connection.execute(delete)
    names = [c.name for c in table.columns]
    connection.execute(table.insert().from_select(names, stmt))
