"""Depot read queries, plus the sorting and paging helpers the other list queries share."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.db.models import Depot

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
MAX_SEARCH_LENGTH = 100
MAX_ID = 2**31 - 1


def _searchable(value: str) -> str:
    # PostgreSQL rejects NUL in text and nothing can encode a lone surrogate.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]
SearchText = Annotated[str, Field(max_length=MAX_SEARCH_LENGTH), AfterValidator(_searchable)]


def parse_sort(sort: str, columns: Mapping[str, InstrumentedAttribute[Any]]) -> list[Any]:
    """ORDER BY clauses for "col" / "-col" keys, comma-separated; raises ValueError("sort: ...").

    Only the whitelisted `columns` may be named; the primary key is always appended so that
    paging is stable when the named columns tie.
    """
    clauses: list[Any] = []
    seen: set[str] = set()
    for raw in (part.strip() for part in (sort or "").split(",")):
        if not raw:
            continue
        descending = raw.startswith("-")
        key = raw.lstrip("+-")
        column = columns.get(key)
        if column is None:
            allowed = ", ".join(sorted(columns))
            raise ValueError(f"sort: unknown column {key!r} (allowed: {allowed})")
        if key in seen:
            continue
        seen.add(key)
        clauses.append(column.desc() if descending else column.asc())
    if "id" not in seen:
        clauses.append(columns["id"].asc())
    return clauses


def check_paging(page: int, page_size: int) -> int:
    """The row offset of `page`; raises ValueError naming page or page_size when out of range."""
    if page < 1:
        raise ValueError("page: must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size: must be between 1 and {MAX_PAGE_SIZE}")
    return (page - 1) * page_size


def like_pattern(text: str) -> str:
    """A case-insensitive LIKE pattern matching `text` anywhere, wildcards escaped.

    NUL and lone surrogates, which no database can take, are dropped rather than raised on,
    so a search box never turns into a server error.
    """
    text = text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_match(text: str, *columns: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """Any of `columns` contains `text` (case-insensitive, wildcards literal)."""
    pattern = like_pattern(text)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def fetch_page(
    session: Session,
    stmt: Select[Any],
    *,
    conditions: list[ColumnElement[bool]],
    order_by: list[Any],
    offset: int,
    limit: int,
) -> tuple[list[Any], int]:
    """One page of `stmt` rows and the total count under the same conditions (two queries)."""
    filtered = stmt.where(*conditions)
    rows = list(session.scalars(filtered.order_by(*order_by).offset(offset).limit(limit)))
    count_stmt = select(func.count()).select_from(filtered.order_by(None).subquery())
    total = int(session.scalar(count_stmt) or 0)
    return rows, total


class SortedPageParams(BaseModel):
    """Sort and paging parameters shared by every list (validated before any query runs)."""

    model_config = ConfigDict(extra="forbid")

    sort: str = Field(default="id", max_length=200, description='e.g. "-priority,window_start"')
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


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
