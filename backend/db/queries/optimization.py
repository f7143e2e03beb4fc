"""Queries on optimization requests, responses and events (the original design's tables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.models import OptimizationEvent, OptimizationRequest, OptimizationResponse

ROUTE_HISTORY_LIMIT = 100
_UPSERT_COLUMNS = (
    "vehicle_id",
    "depot_id",
    "priority",
    "constraints",
    "delivery_locations",
    "time_windows",
    "vehicle_capacity",
    "special_requirements",
    "status",
    "metadata",
)


def upsert_request(
    session: Session, *, request_id: str, values: dict[str, Any], now: datetime
) -> None:
    """Insert a request or update it in place when request_id exists (one statement)."""
    row = {"request_id": request_id, **values}
    if "meta" in row:
        row["metadata"] = row.pop("meta")
    row.setdefault("created_at", now)
    row["updated_at"] = now
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OptimizationRequest.__table__
    assert isinstance(table, Table)
    stmt = insert(table).values(**row)
    updates = {col: stmt.excluded[col] for col in _UPSERT_COLUMNS if col in row}
    updates["updated_at"] = stmt.excluded.updated_at
    session.execute(stmt.on_conflict_do_update(index_elements=["request_id"], set_=updates))


def get_request(session: Session, *, request_id: str) -> OptimizationRequest | None:
    """One optimization request by id."""
    return session.get(OptimizationRequest, request_id)


def latest_response(session: Session, *, request_id: str) -> OptimizationResponse | None:
    """The newest response of a request, or None."""
    return session.scalar(
        select(OptimizationResponse)
        .where(OptimizationResponse.request_id == request_id)
        .order_by(OptimizationResponse.created_at.desc())
        .limit(1)
    )


def vehicle_route_history(
    session: Session, *, vehicle_id: int, limit: int = ROUTE_HISTORY_LIMIT
) -> Sequence[tuple[OptimizationRequest, OptimizationResponse]]:
    """A vehicle's requests with their responses, latest first (at most 100)."""
    rows = session.execute(
        select(OptimizationRequest, OptimizationResponse)
        .join(
            OptimizationResponse, OptimizationResponse.request_id == OptimizationRequest.request_id
        )
        .where(OptimizationRequest.vehicle_id == vehicle_id)
        .order_by(OptimizationResponse.created_at.desc())
        .limit(min(limit, ROUTE_HISTORY_LIMIT))
    )
    return [(req, resp) for req, resp in rows.all()]


def request_events(session: Session, *, request_id: str) -> Sequence[OptimizationEvent]:
    """Every event of a request in time order."""
    return session.scalars(
        select(OptimizationEvent)
        .where(OptimizationEvent.request_id == request_id)
        .order_by(OptimizationEvent.timestamp)
    ).all()
