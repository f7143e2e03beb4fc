"""Depot read queries, plus the sorting and paging helpers the other list queries share."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.db.models import Depot
from backend.db.queries.paging import (
    DEFAULT_PAGE_SIZE,
    SearchText,
    SortedPageParams,
    check_paging,
    fetch_page,
    parse_sort,
    text_match,
)


class DepotOut(BaseModel):
    """A depot as the API and the pages see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    lat: float
    lon: float
    timezone: str
    active: bool
    created_at: datetime


class DepotPage(BaseModel):
    """One page of depots and the total matching the filters."""

    items: list[DepotOut]
    total: int
    page: int
    page_size: int


DEPOT_SORT_COLUMNS: Mapping[str, InstrumentedAttribute[Any]] = {
    "id": Depot.id,
    "name": Depot.name,
    "timezone": Depot.timezone,
    "active": Depot.active,
    "created_at": Depot.created_at,
}


class DepotListParams(SortedPageParams):
    """Filters for `list_depots` (also the query string of GET /api/v1/depots)."""

    active: bool | None = None
    q: SearchText | None = Field(default=None, description="name or address")
    sort: str = Field(default="name", max_length=200)

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        parse_sort(value, DEPOT_SORT_COLUMNS)
        return value


def _depot_scope(depot_ids: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if depot_ids is None else [Depot.id.in_(sorted(depot_ids))]


def list_depots(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    active: bool | None = None,
    q: str | None = None,
    sort: str = "name",
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> DepotPage:
    """Depots inside `depot_ids` (None = every depot), filtered, sorted and paged."""
    offset = check_paging(page, page_size)
    conditions = _depot_scope(depot_ids)
    if active is not None:
        conditions.append(Depot.active.is_(active))
    if q:
        conditions.append(text_match(q, Depot.name, Depot.address))
    rows, total = fetch_page(
        session,
        select(Depot),
        conditions=conditions,
        order_by=parse_sort(sort, DEPOT_SORT_COLUMNS),
        offset=offset,
        limit=page_size,
    )
    items = [DepotOut.model_validate(row) for row in rows]
    return DepotPage(items=items, total=total, page=page, page_size=page_size)


def get_depot(
    session: Session, *, depot_id: int, depot_ids: Collection[int] | None
) -> DepotOut | None:
    """One depot if it exists inside the scope, else None (callers answer 404 either way)."""
    row = session.scalar(select(Depot).where(Depot.id == depot_id, *_depot_scope(depot_ids)))
    return DepotOut.model_validate(row) if row is not None else None
