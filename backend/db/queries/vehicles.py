"""Vehicle read queries: list with filters, sorting and paging, get one, capacity units."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.db.models import Vehicle
from backend.db.queries.paging import (
    DEFAULT_PAGE_SIZE,
    QueryId,
    SearchText,
    SortedPageParams,
    check_paging,
    fetch_page,
    parse_sort,
    text_match,
)

# Shifts are local clock times, written as HH:MM:SS[.ffffff]. Not `format: time`: JSON Schema
# means RFC 3339's full-time there, which requires an offset ("07:00:00Z").
ShiftTimeOut = Annotated[
    time,
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"}
    ),
]


class VehicleOut(BaseModel):
    """A vehicle as the API and the pages see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    vehicle_type: str
    plate: str
    depot_id: int
    start_depot_id: int
    end_depot_id: int
    capacity: dict[str, float]
    fuel_l_per_km: float
    co2_kg_per_l: float
    cost_per_km: float
    cost_per_hour: float
    fixed_cost: float
    shift_start: ShiftTimeOut
    shift_end: ShiftTimeOut
    max_route_km: float | None
    max_route_minutes: int | None
    skills: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class VehiclePage(BaseModel):
    """One page of vehicles and the total matching the filters."""

    items: list[VehicleOut]
    total: int
    page: int
    page_size: int


VEHICLE_SORT_COLUMNS: Mapping[str, InstrumentedAttribute[Any]] = {
    "id": Vehicle.id,
    "name": Vehicle.name,
    "vehicle_type": Vehicle.vehicle_type,
    "plate": Vehicle.plate,
    "depot_id": Vehicle.depot_id,
    "active": Vehicle.active,
    "cost_per_km": Vehicle.cost_per_km,
    "shift_start": Vehicle.shift_start,
    "created_at": Vehicle.created_at,
    "updated_at": Vehicle.updated_at,
}


class VehicleListParams(SortedPageParams):
    """Filters for `list_vehicles` (also the query string of GET /api/v1/vehicles)."""

    depot_id: QueryId | None = None
    vehicle_type: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    q: SearchText | None = Field(default=None, description="name or plate")
    sort: str = Field(default="name", max_length=200)

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        parse_sort(value, VEHICLE_SORT_COLUMNS)
        return value


def _scope(depot_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if depot_ids is None else [Vehicle.depot_id.in_(sorted(depot_ids))]


def list_vehicles(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    depot_id: int | None = None,
    vehicle_type: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    sort: str = "name",
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> VehiclePage:
    """Vehicles of the depots in `depot_ids` (None = every depot), filtered, sorted and paged."""
    offset = check_paging(page, page_size)
    conditions = _scope(depot_ids)
    if depot_id is not None:
        conditions.append(Vehicle.depot_id == depot_id)
    if vehicle_type:
        conditions.append(Vehicle.vehicle_type == vehicle_type)
    if active is not None:
        conditions.append(Vehicle.active.is_(active))
    if q:
        conditions.append(text_match(q, Vehicle.name, Vehicle.plate))
    rows, total = fetch_page(
        session,
        select(Vehicle),
        conditions=conditions,
        order_by=parse_sort(sort, VEHICLE_SORT_COLUMNS),
        offset=offset,
        limit=page_size,
    )
    items = [VehicleOut.model_validate(row) for row in rows]
    return VehiclePage(items=items, total=total, page=page, page_size=page_size)


def get_vehicle(
    session: Session, *, vehicle_id: int, depot_ids: Collection[int] | None
) -> VehicleOut | None:
    """One vehicle if it exists inside the scope, else None (callers answer 404 either way)."""
    row = session.scalar(select(Vehicle).where(Vehicle.id == vehicle_id, *_scope(depot_ids)))
    return VehicleOut.model_validate(row) if row is not None else None


def capacity_units(session: Session, *, depot_id: int | None = None) -> frozenset[str]:
    """Units (kg, m3, pallets...) that active vehicles carry, of one depot or of the fleet."""
    stmt = select(Vehicle.capacity).where(Vehicle.active.is_(True))
    if depot_id is not None:
        stmt = stmt.where(Vehicle.depot_id == depot_id)
    units: set[str] = set()
    for capacity in session.scalars(stmt):
        units.update((capacity or {}).keys())
    return frozenset(units)
