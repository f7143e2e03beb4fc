"""What every list query shares: ids and search text types, sorting, paging, text search.

The REST list routes, the pages' tables and the plans history page through `fetch_page`, so
limits, sort syntax and counting are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

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
    scalars: bool = True,
) -> tuple[list[Any], int]:
    """One page of `stmt` rows and the total count under the same conditions (two queries).

    `scalars=False` returns whole rows, for statements that select several columns.
    """
    filtered = stmt.where(*conditions)
    page = filtered.order_by(*order_by).offset(offset).limit(limit)
    rows = list(session.scalars(page)) if scalars else list(session.execute(page).all())
    count_stmt = select(func.count()).select_from(filtered.order_by(None).subquery())
    total = int(session.scalar(count_stmt) or 0)
    return rows, total


class SortedPageParams(BaseModel):
    """Sort and paging parameters shared by every list (validated before any query runs)."""

    model_config = ConfigDict(extra="forbid")

    sort: str = Field(default="id", max_length=200, description='e.g. "-priority,window_start"')
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
