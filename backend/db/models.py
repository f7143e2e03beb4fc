"""The tables of the fleet: depots, vehicles, users, orders, plans, routes, positions, events."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, utcnow


class Role(enum.StrEnum):
    """What a user is allowed to do; see backend.auth.permissions."""

    DRIVER = "driver"
    DISPATCHER = "dispatcher"
    MANAGER = "manager"
    ADMIN = "admin"


class OrderStatus(enum.StrEnum):
    """The order lifecycle: new -> planned -> dispatched -> en_route -> arrived -> final."""

    NEW = "new"
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_ORDER_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED})
# Orders still open for planning; the later statuses belong to a driver's live route.
PLANNABLE_ORDER_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PLANNED})
# Orders a vehicle has on board or is delivering: it cannot be deactivated under them.
ORDERS_ON_BOARD = frozenset({OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, OrderStatus.ARRIVED})

# Which status may follow which; anything else is refused by backend.services.orders.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.PLANNED, OrderStatus.CANCELLED}),
    OrderStatus.PLANNED: frozenset(
        {OrderStatus.NEW, OrderStatus.DISPATCHED, OrderStatus.CANCELLED}
    ),
    OrderStatus.DISPATCHED: frozenset(
        {OrderStatus.PLANNED, OrderStatus.EN_ROUTE, OrderStatus.CANCELLED}
    ),
    OrderStatus.EN_ROUTE: frozenset(
        {OrderStatus.ARRIVED, OrderStatus.FAILED, OrderStatus.CANCELLED}
    ),
    OrderStatus.ARRIVED: frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


# What a driver can report about a route; the significant ones raise notifications (the
# realtime layer, the REST API and the simulator all use these sets).
ROUTE_EVENT_TYPES = frozenset(
    {
        "departed",
        "arrived",
        "delivered",
        "failed",
        "break_started",
        "break_ended",
        "returned",
        "accident",
        "breakdown",
        "traffic_jam",
        "road_closure",
        "weather_alert",
        "delivery_issue",
        "customer_unavailable",
        "emergency",
    }
)
SIGNIFICANT_EVENT_TYPES = frozenset(
    {
        "accident",
        "breakdown",
        "traffic_jam",
        "road_closure",
        "weather_alert",
        "delivery_issue",
        "customer_unavailable",
        "emergency",
    }
)


class PlanStatus(enum.StrEnum):
    """Where an optimization request (a planning job) stands."""

    PENDING = "pending"  # validated and stored; its job has not started
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # stopped early; the best plan so far is stored
    FAILED = "failed"


# A job is still open (may run, may be reaped) until it reaches one of the final states.
PLANS_OPEN = frozenset({PlanStatus.PENDING, PlanStatus.RUNNING})
PLANS_FINAL = frozenset({PlanStatus.COMPLETED, PlanStatus.CANCELLED, PlanStatus.FAILED})
# The requests whose plan can be accepted (a stopped job keeps its best plan).
PLANS_WITH_A_PLAN = frozenset({PlanStatus.COMPLETED, PlanStatus.CANCELLED})


class RouteStatus(enum.StrEnum):
    """A route's lifecycle: proposed -> planned/active -> completed, or superseded.

    A plan's routes are stored `proposed`; accepting the plan makes them `active` (`planned` is
    an accepted route whose drive has not started) and supersedes the routes it replaces.
    """

    PROPOSED = "proposed"
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"


# Accepted and not finished: what drivers follow and the simulator drives.
ROUTES_IN_FORCE = frozenset({RouteStatus.PLANNED, RouteStatus.ACTIVE})
# Driven or being driven: what costs fuel and time in the analytics.
ROUTES_DRIVEN = frozenset({RouteStatus.ACTIVE, RouteStatus.COMPLETED})
# The day's accepted routes, finished ones included: the dispatch map and the driver's day.
# Proposals stay off until accepted (they are shown only when a plan is asked for by id).
ROUTES_ON_MAP = ROUTES_IN_FORCE | {RouteStatus.COMPLETED}


user_depot = Table(
    "user_depot",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("depot_id", ForeignKey("depot.id", ondelete="CASCADE"), primary_key=True),
)


class Depot(Base):
    """A place vehicles start and end their day."""

    __tablename__ = "depot"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
    )


class Vehicle(Base):
    """A vehicle with its capacities, costs, emissions, shift and skills."""

    __tablename__ = "vehicle"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    vehicle_type: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(32), default="")
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"), index=True)
    start_depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    end_depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    # Capacity per unit, e.g. {"kg": 1200, "m3": 10}; orders' demand uses the same units.
    capacity: Mapped[dict[str, Any]] = mapped_column()
    fuel_l_per_km: Mapped[float] = mapped_column(Float)
    co2_kg_per_l: Mapped[float] = mapped_column(Float, default=2.68)
    cost_per_km: Mapped[float] = mapped_column(Float)
    cost_per_hour: Mapped[float] = mapped_column(Float)
    fixed_cost: Mapped[float] = mapped_column(Float, default=0.0)
    shift_start: Mapped[time] = mapped_column(Time)
    shift_end: Mapped[time] = mapped_column(Time)
    max_route_km: Mapped[float | None] = mapped_column(Float)
    max_route_minutes: Mapped[int | None] = mapped_column(Integer)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    depot: Mapped[Depot] = relationship(foreign_keys=[depot_id])

    __table_args__ = (
        CheckConstraint("fuel_l_per_km >= 0", name="fuel_non_negative"),
        CheckConstraint("cost_per_km >= 0 AND cost_per_hour >= 0", name="cost_non_negative"),
    )


class User(Base):
    """A person who logs in: driver, dispatcher, manager or admin."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # A driver's own vehicle; drivers may only post for it.
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    # Depot scope for dispatchers and drivers; managers and admins see every depot.
    depots: Mapped[list[Depot]] = relationship(secondary=user_depot, lazy="selectin")
    vehicle: Mapped[Vehicle | None] = relationship()

    __table_args__ = (
        CheckConstraint("role IN ('driver', 'dispatcher', 'manager', 'admin')", name="role_known"),
    )


class ApiToken(Base):
    """A hashed bearer token for a driver app or device; the secret is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(lazy="joined")


class TrackerDevice(Base):
    """A tracker app (OsmAnd, Traccar Client) bound to a vehicle; its id is kept only hashed.

    Those apps authenticate by nothing but their device id, so the id is a secret like a token.
    """

    __tablename__ = "tracker_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()


class Order(Base):
    """A delivery to make: place, demand, service time, time windows, priority, skills."""

    __tablename__ = "delivery_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    service_date: Mapped[date] = mapped_column(Date)
    customer_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    demand: Mapped[dict[str, Any]] = mapped_column()
    service_minutes: Mapped[float] = mapped_column(Float, default=5.0)
    # [{"start": iso, "end": iso}, ...]; window_start/end bound them all, for filtering.
    time_windows: Mapped[list[Any]] = mapped_column()
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    priority: Mapped[int] = mapped_column(Integer, default=5)
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.NEW.value)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"))
    # Pickup and delivery: this order delivers what order `pickup_order_id` collects, on the
    # same vehicle, after it (one delivery per pickup: the unique index). No database foreign
    # key: SQLite can add or drop a referencing column only by rebuilding the order table, which
    # its own references forbid; backend.services.orders checks the pair (orders are never
    # deleted, only cancelled).
    pickup_order_id: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    failure_reason: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    planned_at: Mapped[datetime | None] = mapped_column()
    dispatched_at: Mapped[datetime | None] = mapped_column()
    en_route_at: Mapped[datetime | None] = mapped_column()
    arrived_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_delivery_order_depot_date_status", "depot_id", "service_date", "status"),
        # Analytics drill-down: the latest failed and cancelled orders of a range (migration 0003).
        Index(
            "ix_delivery_order_issues_date",
            "service_date",
            postgresql_where=text("status IN ('failed', 'cancelled')"),
            sqlite_where=text("status IN ('failed', 'cancelled')"),
        ),
        Index("ix_delivery_order_vehicle_id", "vehicle_id"),
        Index("uq_delivery_order_pickup", "pickup_order_id", unique=True),
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
        CheckConstraint("priority BETWEEN 1 AND 10", name="priority_range"),
        CheckConstraint("service_minutes >= 0", name="service_non_negative"),
        CheckConstraint("window_end >= window_start", name="window_ordered"),
        CheckConstraint(
            "status IN ('new', 'planned', 'dispatched', 'en_route', 'arrived', "
            "'delivered', 'failed', 'cancelled')",
            name="status_known",
        ),
    )


class OptimizationRequest(Base):
    """An optimization request as in the original design (upserted on request_id)."""

    __tablename__ = "route_optimization_requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vehicle_id: Mapped[int | None] = mapped_column(Integer, index=True)
    depot_id: Mapped[int | None] = mapped_column(Integer, index=True)
    priority: Mapped[int] = mapped_column(Integer, default=5, index=True)
    constraints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    delivery_locations: Mapped[list[Any]] = mapped_column(default=list)
    time_windows: Mapped[list[Any]] = mapped_column(default=list)
    vehicle_capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    special_requirements: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.PENDING.value, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    responses: Mapped[list[OptimizationResponse]] = relationship(back_populates="request")

    __table_args__ = (
        Index(
            "ix_route_optimization_requests_delivery_locations_gin",
            "delivery_locations",
            postgresql_using="gin",
        ),
    )


class OptimizationResponse(Base):
    """A solved plan's figures as in the original design."""

    __tablename__ = "route_optimization_responses"

    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("route_optimization_requests.request_id", ondelete="CASCADE"), index=True
    )
    optimization_score: Mapped[float] = mapped_column(Float, index=True)
    distance: Mapped[float] = mapped_column(Float)  # km
    duration: Mapped[float] = mapped_column(Float)  # minutes
    route_sequence: Mapped[list[Any]] = mapped_column(default=list)
    vehicle_load: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fuel_consumption: Mapped[float] = mapped_column(Float, default=0.0)  # litres
    carbon_emissions: Mapped[float] = mapped_column(Float, default=0.0)  # kg CO2
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    request: Mapped[OptimizationRequest] = relationship(back_populates="responses")

    __table_args__ = (
        Index(
            "ix_route_optimization_responses_route_sequence_gin",
            "route_sequence",
            postgresql_using="gin",
        ),
    )


class OptimizationEvent(Base):
    """Something that happened to an optimization: created, improved, accepted..."""

    __tablename__ = "route_optimization_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("route_optimization_requests.request_id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(32), index=True)
    event_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class Route(Base):
    """One vehicle's planned day: an ordered list of stops, from a plan (response)."""

    __tablename__ = "route"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str | None] = mapped_column(
        ForeignKey("route_optimization_responses.response_id", ondelete="SET NULL"), index=True
    )
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    service_date: Mapped[date] = mapped_column(Date)
    # One of RouteStatus; see there for the lifecycle.
    status: Mapped[str] = mapped_column(String(16), default=RouteStatus.PLANNED.value)
    planned_start_at: Mapped[datetime] = mapped_column()
    planned_end_at: Mapped[datetime] = mapped_column()
    actual_start_at: Mapped[datetime | None] = mapped_column()
    actual_end_at: Mapped[datetime | None] = mapped_column()
    planned_distance_km: Mapped[float] = mapped_column(Float, default=0.0)
    actual_distance_km: Mapped[float | None] = mapped_column(Float)
    planned_duration_min: Mapped[float] = mapped_column(Float, default=0.0)
    # Encoded as [[lat, lon], ...] so the map can draw the line without a query per stop.
    geometry: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    stops: Mapped[list[RouteStop]] = relationship(
        back_populates="route", order_by="RouteStop.sequence", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_route_vehicle_date", "vehicle_id", "service_date"),
        Index("ix_route_depot_date_status", "depot_id", "service_date", "status"),
    )


class RouteStop(Base):
    """A stop of a route with planned and actual arrival and departure."""

    __tablename__ = "route_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("route.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_order.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="delivery")  # start|delivery|break|end
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    planned_arrival_at: Mapped[datetime] = mapped_column()
    planned_departure_at: Mapped[datetime] = mapped_column()
    actual_arrival_at: Mapped[datetime | None] = mapped_column()
    actual_departure_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    load_after: Mapped[dict[str, Any]] = mapped_column(default=dict)

    route: Mapped[Route] = relationship(back_populates="stops")

    __table_args__ = (UniqueConstraint("route_id", "sequence"),)


class Position(Base):
    """One GPS fix from a vehicle's device; idempotent on (vehicle, seq)."""

    __tablename__ = "position"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)  # m/s
    heading: Mapped[float | None] = mapped_column(Float)  # degrees from north
    accuracy: Mapped[float | None] = mapped_column(Float)  # metres

    __table_args__ = (
        UniqueConstraint("vehicle_id", "seq"),
        Index("ix_position_vehicle_recorded", "vehicle_id", "recorded_at"),
    )


class VehicleState(Base):
    """The latest known position of each vehicle; never moved backwards in time."""

    __tablename__ = "vehicle_state"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicle.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column()
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="idle")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RouteEvent(Base):
    """Something a driver reported: arrived, delivered, failed, breakdown, traffic jam..."""

    __tablename__ = "route_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("route.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicle.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_order.id"))
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="info")
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_event_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_route_event_vehicle_occurred", "vehicle_id", "occurred_at"),
        Index("ix_route_event_depot_occurred", "depot_id", "occurred_at"),
        UniqueConstraint("vehicle_id", "client_event_id"),
    )


class Notification(Base):
    """An alert for dispatchers and managers, raised by a significant event."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))
    route_event_id: Mapped[int | None] = mapped_column(ForeignKey("route_event.id"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # Roles that should see it, e.g. ["dispatcher", "manager"].
    audience: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # The stop an alert is about (late_risk), and when its cause went away. No foreign key:
    # a re-plan may replace the stop, and the alert then clears on the next ETA pass.
    route_stop_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column()
    # What the screens need to link and act: vehicle, route, stop, order reference, action.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))

    __table_args__ = (
        Index("ix_notification_depot_created", "depot_id", "created_at"),
        # One open alert of a kind per stop: an idempotent insert, whatever the workers.
        Index(
            "uq_notification_open_stop",
            "kind",
            "route_stop_id",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )


class ModelStatus(enum.StrEnum):
    """A model version's lifecycle: training -> ready -> active -> retired, or failed."""

    TRAINING = "training"
    READY = "ready"
    ACTIVE = "active"
    FAILED = "failed"
    RETIRED = "retired"


class ModelVersion(Base):
    """One trained (or training) version of a named model; at most one per name is active.

    Its artifacts live in DATA_DIR/models/<name>/<version>/ (see backend.ml.registry).
    """

    __tablename__ = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ModelStatus.TRAINING.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    data_from: Mapped[date | None] = mapped_column(Date)
    data_to: Mapped[date | None] = mapped_column(Date)
    # Held-out figures (per target and overall), the training config and the job's progress.
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    __table_args__ = (
        UniqueConstraint("name", "version"),
        Index("ix_model_version_name_status", "name", "status"),
        CheckConstraint(
            "status IN ('training', 'ready', 'active', 'failed', 'retired')", name="status_known"
        ),
    )


class DeliveryRating(Base):
    """A customer's 1-5 rating of one delivered order (at most one per order)."""

    __tablename__ = "delivery_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_order.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)


class ScheduledRun(Base):
    """A claim on one scheduled job of one closed day: the unique key lets one worker win."""

    __tablename__ = "scheduled_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    job_id: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "day"),)


class DemandForecast(Base):
    """Forecast orders of one (depot, zone, local hour, day) slot, P10/P50/P90, of one run.

    A run is a `model_version` of "demand"; `kind` "backtest" rows forecast days just before
    the run from a model that did not see them, so they can be set against the actuals.
    """

    __tablename__ = "demand_forecast"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_version.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    zone: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[int] = mapped_column(Integer)
    p10: Mapped[float] = mapped_column(Float)
    p50: Mapped[float] = mapped_column(Float)
    p90: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_demand_forecast_version_depot_day", "model_version_id", "depot_id", "day"),
        CheckConstraint("kind IN ('forecast', 'backtest')", name="kind_known"),
        CheckConstraint("hour BETWEEN 0 AND 23", name="hour_range"),
    )


class FleetSuggestion(Base):
    """Vehicles the routing engine used, per depot and shift, on a day sampled from a forecast."""

    __tablename__ = "fleet_suggestion"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_version.id", ondelete="CASCADE")
    )
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    service_date: Mapped[date] = mapped_column(Date)
    shift_start: Mapped[time] = mapped_column(Time)
    shift_end: Mapped[time] = mapped_column(Time)
    vehicles_used: Mapped[int] = mapped_column(Integer)
    vehicles_available: Mapped[int] = mapped_column(Integer)
    # The sampled day's orders (of the whole depot) and the forecast's own total for it.
    orders_sampled: Mapped[int] = mapped_column(Integer)
    orders_unassigned: Mapped[int] = mapped_column(Integer)
    orders_p50: Mapped[float] = mapped_column(Float)
    orders_p90: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "model_version_id",
            "depot_id",
            "service_date",
            "shift_start",
            "shift_end",
            name="uq_fleet_suggestion_slot",
        ),
    )
