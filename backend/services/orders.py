"""Order verbs: create, update, change status along ORDER_TRANSITIONS, cancel.

Each verb takes the caller's depot scope (`depot_ids`, None = every depot), validates everything
before it writes, commits, and returns the stored order as `OrderOut`. A row outside the scope
is reported as not found, so ids of other depots do not leak.

The lifecycle is one: `lifecycle_path` walks ORDER_TRANSITIONS for the REST API (one step at a
time) and for the drivers' route events over the socket (`advance_order_by_event`), which may
only pass through the steps a phone never reports on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import (
    FINAL_ORDER_STATUSES,
    ORDER_TRANSITIONS,
    Depot,
    Order,
    OrderStatus,
    Vehicle,
)
from backend.db.queries.orders import OrderOut, TimeWindow
from backend.db.queries.vehicles import capacity_units
from backend.services import (
    STORABLE,
    Address,
    ConflictError,
    Id,
    InvalidInputError,
    Latitude,
    Longitude,
    NonNegative,
    NotFoundError,
    Skills,
    Unit,
)

# Steps a driver's phone never reports on its own: taking the order along (dispatched) and
# heading for its stop (en_route) are implied by its report of arriving there. Arriving is
# never implied: "delivered" on an order nobody reported at its door is refused, as over REST.
EVENT_IMPLIED_STEPS = frozenset({OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE})

MAX_TIME_WINDOWS = 5
MAX_DEMAND_UNITS = 10

# The `<status>_at` column each status stamps ("new" has none: created_at says it).
STATUS_STAMPS = {
    status: f"{status.value}_at" for status in OrderStatus if hasattr(Order, f"{status.value}_at")
}

Reference = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=64), STORABLE
]
CustomerName = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=120), STORABLE
]
Notes = Annotated[str, Strict(), StringConstraints(max_length=2000), STORABLE]
Reason = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, max_length=120), STORABLE
]
Priority = Annotated[int, Strict(), Field(ge=1, le=10)]
ServiceMinutes = Annotated[float, Strict(), Field(ge=0, le=24 * 60, allow_inf_nan=False)]
Demand = Annotated[dict[Unit, NonNegative], Field(max_length=MAX_DEMAND_UNITS)]
Windows = Annotated[list[TimeWindow], Field(min_length=1, max_length=MAX_TIME_WINDOWS)]


def _iso_date(value: Any) -> Any:
    # Lax pydantic would read a number as a Unix timestamp; the API speaks ISO-8601 only.
    if not isinstance(value, str | date):
        raise ValueError("must be an ISO-8601 date (YYYY-MM-DD)")
    return value


def _sorted_disjoint(windows: list[TimeWindow]) -> list[TimeWindow]:
    ordered = sorted(windows, key=lambda w: w.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise ValueError("time windows must not overlap")
    return ordered


class OrderCreate(BaseModel):
    """A new order; it starts in status "new"."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference
    depot_id: Id
    service_date: date
    customer_name: CustomerName
    address: Address = ""
    lat: Latitude
    lon: Longitude
    demand: Demand = Field(description='per unit, e.g. {"kg": 12.5}; units the vehicles carry')
    service_minutes: ServiceMinutes = 5.0
    time_windows: Windows = Field(description="1 to 5 windows, ISO-8601 with offset")
    priority: Priority = 5
    required_skills: Skills = Field(default_factory=list)
    vehicle_id: Id | None = None
    pickup_order_id: Id | None = Field(
        default=None,
        description="pickup and delivery: the order (same depot and day) whose goods this "
        "one delivers; the planner serves both on one vehicle, the pickup first",
    )
    notes: Notes = ""

    _check_date = field_validator("service_date", mode="before")(_iso_date)
    _check_windows = field_validator("time_windows")(_sorted_disjoint)


# Columns that may not be set to null by an update.
_NOT_NULL = frozenset(
    {
        "reference",
        "depot_id",
        "service_date",
        "customer_name",
        "address",
        "lat",
        "lon",
        "demand",
        "service_minutes",
        "time_windows",
        "priority",
        "required_skills",
        "notes",
    }
)


class OrderUpdate(BaseModel):
    """Fields to change on an order; omitted fields keep their value, vehicle_id null unassigns."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference | None = None
    depot_id: Id | None = None
    service_date: date | None = None
    customer_name: CustomerName | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    demand: Demand | None = None
    service_minutes: ServiceMinutes | None = None
    time_windows: Windows | None = None
    priority: Priority | None = None
    required_skills: Skills | None = None
    vehicle_id: Id | None = None
    notes: Notes | None = None

    _check_date = field_validator("service_date", mode="before")(_iso_date)
    _check_windows = field_validator("time_windows")(_sorted_disjoint)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in _NOT_NULL:
                    raise ValueError(f"{key}: may not be null")
        return data


class StatusChange(BaseModel):
    """A move along the order lifecycle; `reason` is kept for failed and cancelled orders."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus
    reason: Reason | None = None


class CancelRequest(BaseModel):
    """Why an order is cancelled (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


def lifecycle_path(
    current: OrderStatus,
    target: OrderStatus,
    *,
    implied: Collection[OrderStatus] = frozenset(),
) -> list[OrderStatus] | None:
    """The statuses from `current` to `target` along ORDER_TRANSITIONS, or None if not allowed.

    Every step is an edge of the table; the walk may pass only through `implied` statuses (none
    for the API, so a change there is exactly one edge). Staying put is not a transition.
    """
    queue: deque[tuple[OrderStatus, list[OrderStatus]]] = deque([(current, [])])
    seen = {current}
    while queue:
        status, path = queue.popleft()
        for nxt in sorted(ORDER_TRANSITIONS[status]):
            if nxt == target:
                return [*path, nxt]
            if nxt in implied and nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*path, nxt]))
    return None


def _transition_error(current: OrderStatus, target: OrderStatus) -> ConflictError:
    allowed = ORDER_TRANSITIONS[current]
    return ConflictError(
        f"an order that is {current} cannot become {target}",
        field="status",
        current=current.value,
        allowed=sorted(s.value for s in allowed),
    )


def advance_order_by_event(
    order: Order, target: OrderStatus, *, at: datetime, reason: str | None = None
) -> list[OrderStatus]:
    """Move `order` to `target` for a driver's report, stamping each step with `at`.

    Raises ConflictError when the lifecycle does not lead there (nothing is changed then).
    The caller holds the order's row (loaded for update) and commits.
    """
    current = OrderStatus(order.status)
    path = lifecycle_path(current, target, implied=EVENT_IMPLIED_STEPS)
    if path is None:
        raise _transition_error(current, target)
    for status in path:
        order.status = status.value
        stamp = STATUS_STAMPS.get(status)
        if stamp is not None and getattr(order, stamp) is None:
            setattr(order, stamp, at)
    if target in (OrderStatus.FAILED, OrderStatus.CANCELLED) and reason:
        order.failure_reason = reason[:120]
    return path


def _windows_json(windows: list[TimeWindow]) -> list[dict[str, str]]:
    return [{"start": w.start.isoformat(), "end": w.end.isoformat()} for w in windows]


def _load_for_update(session: Session, order_id: int, depot_ids: Collection[int] | None) -> Order:
    stmt = select(Order).where(Order.id == order_id)
    if depot_ids is not None:
        stmt = stmt.where(Order.depot_id.in_(sorted(depot_ids)))
    order = session.scalar(stmt.with_for_update())
    if order is None:
        raise NotFoundError(f"order {order_id} not found")
    return order


def _check_depot(session: Session, depot_ids: Collection[int] | None, depot_id: int) -> None:
    depot = session.get(Depot, depot_id)
    if depot is None or (depot_ids is not None and depot_id not in depot_ids):
        raise InvalidInputError(f"unknown depot {depot_id}", field="depot_id")
    if not depot.active:
        raise InvalidInputError(f"depot {depot_id} is inactive", field="depot_id")


def _check_vehicle(
    session: Session, depot_ids: Collection[int] | None, vehicle_id: int, depot_id: int
) -> None:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or (depot_ids is not None and vehicle.depot_id not in depot_ids):
        raise InvalidInputError(f"unknown vehicle {vehicle_id}", field="vehicle_id")
    if vehicle.depot_id != depot_id:
        raise InvalidInputError(
            f"vehicle {vehicle_id} belongs to another depot", field="vehicle_id"
        )
    if not vehicle.active:
        raise InvalidInputError(f"vehicle {vehicle_id} is inactive", field="vehicle_id")


def _keep_pair_together(session: Session, order: Order, changes: dict[str, Any]) -> None:
    """Refuse moving one order of a pickup-and-delivery pair to another depot or day."""
    moved = [
        name
        for name in ("depot_id", "service_date")
        if name in changes and changes[name] != getattr(order, name)
    ]
    if not moved:
        return
    partner = order.pickup_order_id or session.scalar(
        select(Order.id).where(Order.pickup_order_id == order.id)
    )
    if partner is not None:
        raise ConflictError(
            f"order {order.id} is paired with order {partner}: they share depot and day",
            field=moved[0],
        )


def _check_pickup(session: Session, depot_ids: Collection[int] | None, data: OrderCreate) -> None:
    """The pickup a new delivery names: in scope, same depot and day, open, not yet paired."""
    field = "pickup_order_id"
    pickup = session.get(Order, data.pickup_order_id)
    if pickup is None or (depot_ids is not None and pickup.depot_id not in depot_ids):
        raise InvalidInputError(f"unknown order {data.pickup_order_id}", field=field)
    if pickup.depot_id != data.depot_id or pickup.service_date != data.service_date:
        raise InvalidInputError(
            f"order {pickup.id} is for another depot or day: a pair shares both", field=field
        )
    if pickup.pickup_order_id is not None:
        raise InvalidInputError(f"order {pickup.id} is itself the delivery of a pair", field=field)
    if OrderStatus(pickup.status) in FINAL_ORDER_STATUSES:
        raise ConflictError(f"order {pickup.id} is {pickup.status}", field=field)
    paired = session.scalar(select(Order.id).where(Order.pickup_order_id == pickup.id))
    if paired is not None:
        raise ConflictError(
            f"order {pickup.id} is already the pickup of order {paired}", field=field
        )


def _check_demand(session: Session, depot_id: int, demand: dict[str, float]) -> None:
    if not demand:
        return
    # The depot's own vehicles decide; a depot without vehicles yet falls back to the fleet.
    units = capacity_units(session, depot_id=depot_id) or capacity_units(session)
    unknown = sorted(set(demand) - units)
    if unknown:
        carried = ", ".join(sorted(units)) or "none"
        raise InvalidInputError(
            f"no vehicle carries unit {unknown[0]!r} (carried: {carried})",
            field=f"demand.{unknown[0]}",
        )


def _check_reference(session: Session, reference: str, order_id: int | None = None) -> None:
    taken = select(func.count()).where(Order.reference == reference)
    if order_id is not None:
        taken = taken.where(Order.id != order_id)
    if session.scalar(taken):
        raise ConflictError(f"reference {reference!r} already exists", field="reference")


def _flushed(session: Session, order: Order) -> OrderOut:
    # Services never commit: the caller's session context does, then publishes.
    try:
        session.flush()
    except IntegrityError as exc:
        # Lost a race with a concurrent insert of the same reference.
        session.rollback()
        raise ConflictError("reference already exists", field="reference") from exc
    out = OrderOut.model_validate(order)
    return out


def create_order(
    session: Session, *, depot_ids: Collection[int] | None, data: OrderCreate
) -> OrderOut:
    """Create an order in status "new" inside the caller's depot scope."""
    # Everything that needs the database is checked before anything is written.
    _check_depot(session, depot_ids, data.depot_id)
    if data.vehicle_id is not None:
        _check_vehicle(session, depot_ids, data.vehicle_id, data.depot_id)
    _check_demand(session, data.depot_id, data.demand)
    _check_reference(session, data.reference)
    if data.pickup_order_id is not None:
        _check_pickup(session, depot_ids, data)
    order = Order(
        reference=data.reference,
        depot_id=data.depot_id,
        service_date=data.service_date,
        customer_name=data.customer_name,
        address=data.address,
        lat=data.lat,
        lon=data.lon,
        demand=dict(data.demand),
        service_minutes=data.service_minutes,
        time_windows=_windows_json(data.time_windows),
        window_start=data.time_windows[0].start,
        window_end=max(w.end for w in data.time_windows),
        priority=data.priority,
        required_skills=list(data.required_skills),
        status=OrderStatus.NEW.value,
        vehicle_id=data.vehicle_id,
        pickup_order_id=data.pickup_order_id,
        notes=data.notes,
    )
    session.add(order)
    return _flushed(session, order)


def update_order(
    session: Session, *, depot_ids: Collection[int] | None, order_id: int, data: OrderUpdate
) -> OrderOut:
    """Change an order's fields; final orders (delivered, failed, cancelled) are history."""
    order = _load_for_update(session, order_id, depot_ids)
    if OrderStatus(order.status) in FINAL_ORDER_STATUSES:
        raise ConflictError(
            f"order {order_id} is {order.status} and can no longer be changed",
            field="status",
            status=order.status,
        )
    changes = data.model_dump(exclude_unset=True)
    _keep_pair_together(session, order, changes)
    depot_id = changes.get("depot_id", order.depot_id)
    vehicle_id = changes["vehicle_id"] if "vehicle_id" in changes else order.vehicle_id
    if vehicle_id is None and OrderStatus(order.status) not in (
        OrderStatus.NEW,
        OrderStatus.PLANNED,
    ):
        raise ConflictError(
            f"order {order_id} is {order.status}: it keeps its vehicle", field="vehicle_id"
        )
    # Only what changes is checked: a stored value stays valid even if, say, its vehicle
    # was deactivated since, so that editing the notes never fails on an untouched field.
    depot_changed = depot_id != order.depot_id
    if depot_changed:
        _check_depot(session, depot_ids, depot_id)
    if vehicle_id is not None and (depot_changed or vehicle_id != order.vehicle_id):
        _check_vehicle(session, depot_ids, vehicle_id, depot_id)
    if depot_changed or "demand" in changes:
        _check_demand(session, depot_id, changes.get("demand", order.demand))
    if changes.get("reference", order.reference) != order.reference:
        _check_reference(session, changes["reference"], order.id)
    if data.time_windows is not None:
        changes["time_windows"] = _windows_json(data.time_windows)
        changes["window_start"] = data.time_windows[0].start
        changes["window_end"] = max(w.end for w in data.time_windows)
    for key, value in changes.items():
        setattr(order, key, value)
    return _flushed(session, order)


def change_order_status(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    order_id: int,
    status: OrderStatus,
    reason: str | None = None,
    now: datetime,
) -> OrderOut:
    """Move an order one step along ORDER_TRANSITIONS and stamp `<status>_at` with `now`.

    Anything else conflicts. Callers pass their runtime's clock (`runtime.clock.now()`).
    """
    order = _load_for_update(session, order_id, depot_ids)
    current = OrderStatus(order.status)
    if lifecycle_path(current, status) is None:
        raise _transition_error(current, status)
    if status is OrderStatus.DISPATCHED and order.vehicle_id is None:
        raise ConflictError(
            "assign a vehicle before dispatching the order",
            field="vehicle_id",
            current=current.value,
        )
    values: dict[str, Any] = {"status": status.value}
    if status in STATUS_STAMPS:
        values[STATUS_STAMPS[status]] = now
    if status in (OrderStatus.FAILED, OrderStatus.CANCELLED) and reason:
        values["failure_reason"] = reason
    # Guarded on the status we read, so two concurrent changes cannot both succeed.
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current.value)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"order {order_id} changed meanwhile; reload it", field="status", current=None
        )
    session.refresh(order)
    out = OrderOut.model_validate(order)
    return out


def cancel_order(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    order_id: int,
    reason: str | None = None,
    now: datetime,
) -> OrderOut:
    """Cancel an order through the lifecycle (an arrived or final order cannot be cancelled)."""
    return change_order_status(
        session,
        depot_ids=depot_ids,
        order_id=order_id,
        status=OrderStatus.CANCELLED,
        reason=reason,
        now=now,
    )
