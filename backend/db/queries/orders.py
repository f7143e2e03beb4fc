"""Order read queries: list with filters, sorting and paging (the Orders page uses it), get one."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.db.models import Order, OrderStatus
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


class TimeWindow(BaseModel):
    """A delivery window: ISO-8601 timestamps with an offset, end after start."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # Lax pydantic would read a number as a Unix timestamp; the API speaks ISO-8601 only.
        if not isinstance(value, str | datetime):
            raise ValueError("must be an ISO-8601 timestamp with offset")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OrderOut(BaseModel):
    """An order as the API and the pages see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    depot_id: int
    service_date: date
    customer_name: str
    address: str
    lat: float
    lon: float
    demand: dict[str, float]
    service_minutes: float
    time_windows: list[TimeWindow]
    window_start: datetime
    window_end: datetime
    priority: int
    required_skills: list[str]
    status: OrderStatus
    vehicle_id: int | None
    pickup_order_id: int | None = None
    notes: str
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    planned_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    arrived_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    cancelled_at: datetime | None


class OrderPage(BaseModel):
    """One page of orders and the total matching the filters."""

    items: list[OrderOut]
    total: int
    page: int
    page_size: int


ORDER_SORT_COLUMNS: Mapping[str, InstrumentedAttribute[Any]] = {
    "id": Order.id,
    "reference": Order.reference,
    "customer_name": Order.customer_name,
    "depot_id": Order.depot_id,
    "service_date": Order.service_date,
    "window_start": Order.window_start,
    "window_end": Order.window_end,
    "priority": Order.priority,
    "status": Order.status,
    "vehicle_id": Order.vehicle_id,
    "created_at": Order.created_at,
    "updated_at": Order.updated_at,
}


class OrderListParams(SortedPageParams):
    """Filters for `list_orders` (also the query string of GET /api/v1/orders)."""

    status: list[OrderStatus] | None = Field(default=None, description="repeat for several")
    depot_id: QueryId | None = None
    service_date: date | None = None
    date_from: date | None = Field(default=None, description="service_date on or after")
    date_to: date | None = Field(default=None, description="service_date on or before")
    vehicle_id: QueryId | None = None
    unassigned: bool | None = Field(default=None, description="true: no vehicle yet")
    priority_min: int | None = Field(default=None, ge=1, le=10)
    priority_max: int | None = Field(default=None, ge=1, le=10)
    q: SearchText | None = Field(default=None, description="reference, customer or address")

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        parse_sort(value, ORDER_SORT_COLUMNS)
        return value


def _scope(depot_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if depot_ids is None else [Order.depot_id.in_(sorted(depot_ids))]


def list_orders(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    status: str | Collection[str] | None = None,
    depot_id: int | None = None,
    service_date: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    vehicle_id: int | None = None,
    unassigned: bool | None = None,
    priority_min: int | None = None,
    priority_max: int | None = None,
    q: str | None = None,
    sort: str = "id",
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> OrderPage:
    """Orders of the depots in `depot_ids` (None = every depot), filtered, sorted and paged.

    `sort` names whitelisted columns, "-" for descending, comma-separated
    (see ORDER_SORT_COLUMNS); an unknown column, page < 1 or page_size outside
    1..MAX_PAGE_SIZE raises ValueError naming the parameter.
    """
    offset = check_paging(page, page_size)
    conditions = _scope(depot_ids)
    if status:
        wanted = [status] if isinstance(status, str) else status
        conditions.append(Order.status.in_(sorted(OrderStatus(s).value for s in wanted)))
    if depot_id is not None:
        conditions.append(Order.depot_id == depot_id)
    if service_date is not None:
        conditions.append(Order.service_date == service_date)
    if date_from is not None:
        conditions.append(Order.service_date >= date_from)
    if date_to is not None:
        conditions.append(Order.service_date <= date_to)
    if vehicle_id is not None:
        conditions.append(Order.vehicle_id == vehicle_id)
    if unassigned is not None:
        conditions.append(
            Order.vehicle_id.is_(None) if unassigned else Order.vehicle_id.isnot(None)
        )
    if priority_min is not None:
        conditions.append(Order.priority >= priority_min)
    if priority_max is not None:
        conditions.append(Order.priority <= priority_max)
    if q:
        conditions.append(text_match(q, Order.reference, Order.customer_name, Order.address))
    rows, total = fetch_page(
        session,
        select(Order),
        conditions=conditions,
        order_by=parse_sort(sort, ORDER_SORT_COLUMNS),
        offset=offset,
        limit=page_size,
    )
    items = [OrderOut.model_validate(row) for row in rows]
    return OrderPage(items=items, total=total, page=page, page_size=page_size)


def get_order(
    session: Session, *, order_id: int, depot_ids: Collection[int] | None
) -> OrderOut | None:
    """One order if it exists inside the scope, else None (callers answer 404 either way)."""
    row = session.scalar(select(Order).where(Order.id == order_id, *_scope(depot_ids)))
    return OrderOut.model_validate(row) if row is not None else None
