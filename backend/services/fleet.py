"""Fleet verbs: create, update, deactivate and reactivate vehicles and depots.

Nothing is ever deleted: a vehicle or depot that leaves service is deactivated (`active=false`)
so that its routes, positions and orders keep their history. Scope works as for orders: rows
outside `depot_ids` (None = every depot) are reported as not found.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import time
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db.models import ORDERS_ON_BOARD, Depot, Order, Vehicle
from backend.db.queries.depots import DepotOut
from backend.db.queries.vehicles import VehicleOut
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

MAX_CAPACITY_UNITS = 10

VehicleName = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=64), STORABLE
]
VehicleType = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=64), STORABLE
]
Plate = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, max_length=32), STORABLE]
DepotName = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=120), STORABLE
]
TimezoneName = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=64)]
Capacity = Annotated[dict[Unit, NonNegative], Field(min_length=1, max_length=MAX_CAPACITY_UNITS)]
PositiveKm = Annotated[float, Strict(), Field(gt=0, le=100_000, allow_inf_nan=False)]
PositiveMinutes = Annotated[int, Strict(), Field(gt=0, le=7 * 24 * 60)]
Cost = Annotated[float, Strict(), Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Fuel = Annotated[float, Strict(), Field(ge=0, le=10, allow_inf_nan=False)]


_CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
# A local time of day; the document says so with this pattern rather than `format: time`,
# which JSON Schema reads as RFC 3339's full-time (offset required).
ShiftTime = Annotated[time, WithJsonSchema({"type": "string", "pattern": _CLOCK_TIME})]


def _clock_time(value: Any) -> Any:
    # Only local "HH:MM[:SS[.ffffff]]" text (or a time). Lax pydantic would also take seconds as
    # a number, and an offset ("07:00Z") that the column would drop or compare naive times with.
    if isinstance(value, time) or (isinstance(value, str) and re.fullmatch(_CLOCK_TIME, value)):
        return value
    raise ValueError("must be a local time of day, HH:MM or HH:MM:SS")


def _known_timezone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"unknown IANA timezone {value!r}")
    return value


class _ShiftOrdered(BaseModel):
    @model_validator(mode="after")
    def _shift_ordered(self) -> Any:
        start, end = getattr(self, "shift_start", None), getattr(self, "shift_end", None)
        if start is not None and end is not None and end <= start:
            raise ValueError("shift_end: must be after shift_start")
        return self


class VehicleCreate(_ShiftOrdered):
    """A new vehicle; start and end depot default to its home depot."""

    model_config = ConfigDict(extra="forbid")

    name: VehicleName
    vehicle_type: VehicleType
    plate: Plate = ""
    depot_id: Id
    start_depot_id: Id | None = None
    end_depot_id: Id | None = None
    capacity: Capacity = Field(description='per unit, e.g. {"kg": 1200, "m3": 10}')
    fuel_l_per_km: Fuel
    co2_kg_per_l: Annotated[float, Strict(), Field(ge=0, le=10, allow_inf_nan=False)] = 2.68
    cost_per_km: Cost
    cost_per_hour: Cost
    fixed_cost: Cost = 0.0
    shift_start: ShiftTime
    shift_end: ShiftTime
    max_route_km: PositiveKm | None = None
    max_route_minutes: PositiveMinutes | None = None
    skills: Skills = Field(default_factory=list)

    _check_times = field_validator("shift_start", "shift_end", mode="before")(_clock_time)


_VEHICLE_NULLABLE = frozenset({"max_route_km", "max_route_minutes"})


class VehicleUpdate(_ShiftOrdered):
    """Fields to change on a vehicle; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: VehicleName | None = None
    vehicle_type: VehicleType | None = None
    plate: Plate | None = None
    depot_id: Id | None = None
    start_depot_id: Id | None = None
    end_depot_id: Id | None = None
    capacity: Capacity | None = None
    fuel_l_per_km: Fuel | None = None
    co2_kg_per_l: Annotated[float, Strict(), Field(ge=0, le=10, allow_inf_nan=False)] | None = None
    cost_per_km: Cost | None = None
    cost_per_hour: Cost | None = None
    fixed_cost: Cost | None = None
    shift_start: ShiftTime | None = None
    shift_end: ShiftTime | None = None
    max_route_km: PositiveKm | None = None
    max_route_minutes: PositiveMinutes | None = None
    skills: Skills | None = None

    _check_times = field_validator("shift_start", "shift_end", mode="before")(_clock_time)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key not in _VEHICLE_NULLABLE:
                    raise ValueError(f"{key}: may not be null")
        return data


class DepotCreate(BaseModel):
    """A new depot."""

    model_config = ConfigDict(extra="forbid")

    name: DepotName
    address: Address = ""
    lat: Latitude
    lon: Longitude
    timezone: TimezoneName = "UTC"

    _check_tz = field_validator("timezone")(_known_timezone)


class DepotUpdate(BaseModel):
    """Fields to change on a depot; omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: DepotName | None = None
    address: Address | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    timezone: TimezoneName | None = None

    _check_tz = field_validator("timezone")(_known_timezone)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key}: may not be null")
        return data


def _in_scope(depot_ids: Collection[int] | None, depot_id: int) -> bool:
    return depot_ids is None or depot_id in depot_ids


def _check_depots(
    session: Session, *, depot_ids: Collection[int] | None, fields: dict[str, int]
) -> None:
    """Each named depot exists, is active and lies inside the scope (one query)."""
    wanted = set(fields.values())
    found = {
        row.id: row.active
        for row in session.execute(select(Depot.id, Depot.active).where(Depot.id.in_(wanted)))
    }
    for field, depot_id in fields.items():
        if depot_id not in found or not _in_scope(depot_ids, depot_id):
            raise InvalidInputError(f"unknown depot {depot_id}", field=field)
        if not found[depot_id]:
            raise InvalidInputError(f"depot {depot_id} is inactive", field=field)


def _unique_name(
    session: Session, model: type[Vehicle] | type[Depot], name: str, row_id: int | None
) -> None:
    stmt = select(func.count()).where(model.name == name)
    if row_id is not None:
        stmt = stmt.where(model.id != row_id)
    if session.scalar(stmt):
        raise ConflictError(f"name {name!r} already exists", field="name")


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # Lost a race with a concurrent insert of the same name.
        session.rollback()
        raise ConflictError("name already exists", field="name") from exc


def _load_vehicle(session: Session, vehicle_id: int, depot_ids: Collection[int] | None) -> Vehicle:
    stmt = select(Vehicle).where(Vehicle.id == vehicle_id)
    if depot_ids is not None:
        stmt = stmt.where(Vehicle.depot_id.in_(sorted(depot_ids)))
    vehicle = session.scalar(stmt.with_for_update())
    if vehicle is None:
        raise NotFoundError(f"vehicle {vehicle_id} not found")
    return vehicle


def _load_depot(session: Session, depot_id: int, depot_ids: Collection[int] | None) -> Depot:
    if not _in_scope(depot_ids, depot_id):
        raise NotFoundError(f"depot {depot_id} not found")
    depot = session.scalar(select(Depot).where(Depot.id == depot_id).with_for_update())
    if depot is None:
        raise NotFoundError(f"depot {depot_id} not found")
    return depot


def create_vehicle(
    session: Session, *, depot_ids: Collection[int] | None, data: VehicleCreate
) -> VehicleOut:
    """Add a vehicle to a depot inside the caller's scope."""
    values = data.model_dump()
    values["start_depot_id"] = data.start_depot_id or data.depot_id
    values["end_depot_id"] = data.end_depot_id or data.depot_id
    _check_depots(
        session,
        depot_ids=depot_ids,
        fields={k: values[k] for k in ("depot_id", "start_depot_id", "end_depot_id")},
    )
    _unique_name(session, Vehicle, data.name, None)
    vehicle = Vehicle(**values)
    session.add(vehicle)
    _flush(session)
    out = VehicleOut.model_validate(vehicle)
    return out


def update_vehicle(
    session: Session, *, depot_ids: Collection[int] | None, vehicle_id: int, data: VehicleUpdate
) -> VehicleOut:
    """Change a vehicle's fields; moving it to another depot needs that depot in scope."""
    vehicle = _load_vehicle(session, vehicle_id, depot_ids)
    changes = data.model_dump(exclude_unset=True)
    shift_start = changes.get("shift_start", vehicle.shift_start)
    shift_end = changes.get("shift_end", vehicle.shift_end)
    if shift_end <= shift_start:
        raise InvalidInputError("must be after shift_start", field="shift_end")
    depots: dict[str, int] = {
        k: changes[k]
        for k in ("depot_id", "start_depot_id", "end_depot_id")
        if k in changes and changes[k] != getattr(vehicle, k)
    }
    if depots:
        _check_depots(session, depot_ids=depot_ids, fields=depots)
    if "name" in changes:
        _unique_name(session, Vehicle, changes["name"], vehicle.id)
    for key, value in changes.items():
        setattr(vehicle, key, value)
    _flush(session)
    out = VehicleOut.model_validate(vehicle)
    return out


def set_vehicle_active(
    session: Session, *, depot_ids: Collection[int] | None, vehicle_id: int, active: bool
) -> VehicleOut:
    """Deactivate (never delete) or reactivate a vehicle; idempotent."""
    vehicle = _load_vehicle(session, vehicle_id, depot_ids)
    if not active and vehicle.active:
        on_road = session.scalar(
            select(func.count()).where(
                Order.vehicle_id == vehicle.id, Order.status.in_(ORDERS_ON_BOARD)
            )
        )
        if on_road:
            raise ConflictError(
                f"vehicle {vehicle_id} carries {on_road} order(s) on the road", field="active"
            )
    if active and not vehicle.active:
        _check_depots(session, depot_ids=depot_ids, fields={"depot_id": vehicle.depot_id})
    vehicle.active = active
    _flush(session)
    out = VehicleOut.model_validate(vehicle)
    return out


def create_depot(
    session: Session, *, depot_ids: Collection[int] | None, data: DepotCreate
) -> DepotOut:
    """Add a depot (depot-scoped callers cannot: a new depot is outside any scope)."""
    if depot_ids is not None:
        raise ConflictError("only unscoped users may add depots", field="depot_ids")
    _unique_name(session, Depot, data.name, None)
    depot = Depot(**data.model_dump())
    session.add(depot)
    _flush(session)
    out = DepotOut.model_validate(depot)
    return out


def update_depot(
    session: Session, *, depot_ids: Collection[int] | None, depot_id: int, data: DepotUpdate
) -> DepotOut:
    """Change a depot's fields."""
    depot = _load_depot(session, depot_id, depot_ids)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        _unique_name(session, Depot, changes["name"], depot.id)
    for key, value in changes.items():
        setattr(depot, key, value)
    _flush(session)
    out = DepotOut.model_validate(depot)
    return out


def set_depot_active(
    session: Session, *, depot_ids: Collection[int] | None, depot_id: int, active: bool
) -> DepotOut:
    """Deactivate (never delete) or reactivate a depot; its active vehicles must go first."""
    depot = _load_depot(session, depot_id, depot_ids)
    if not active and depot.active:
        vehicles = session.scalar(
            select(func.count()).where(Vehicle.depot_id == depot.id, Vehicle.active.is_(True))
        )
        if vehicles:
            raise ConflictError(
                f"depot {depot_id} still has {vehicles} active vehicle(s)", field="active"
            )
    depot.active = active
    _flush(session)
    out = DepotOut.model_validate(depot)
    return out
