"""Read queries behind the Plans page: the history of optimization requests and their results."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from backend.db.models import Depot, OptimizationRequest, OptimizationResponse, Route, Vehicle
from backend.db.queries.dispatch import RouteLine
from backend.db.queries.paging import check_paging, fetch_page

# Sort keys the page may ask for -> columns; anything else is refused.
PLAN_SORT_COLUMNS: dict[str, Any] = {
    "created_at": OptimizationRequest.created_at,
    "depot": Depot.name,
    "status": OptimizationRequest.status,
    "priority": OptimizationRequest.priority,
    "score": OptimizationResponse.optimization_score,
    "distance_km": OptimizationResponse.distance,
    "duration_min": OptimizationResponse.duration,
    "fuel_l": OptimizationResponse.fuel_consumption,
    "co2_kg": OptimizationResponse.carbon_emissions,
    "vehicle": Vehicle.name,
    "request_id": OptimizationRequest.request_id,
}


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One optimization request with one of its responses (None while unsolved)."""

    request_id: str
    response_id: str | None
    created_at: datetime
    depot_id: int | None
    depot_name: str | None
    vehicle_id: int | None
    vehicle_name: str | None
    status: str
    priority: int
    stops: int
    score: float | None
    distance_km: float | None
    duration_min: float | None
    fuel_l: float | None
    co2_kg: float | None
    # From request to finished plan: the "route planning time" the business tracks.
    planning_s: float | None = None


@dataclass(frozen=True, slots=True)
class PlanPage:
    """A page of plans and how many match in all."""

    items: list[PlanRow]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Totals over every plan that matches the filters."""

    requests: int
    solved: int
    avg_score: float | None
    distance_km: float
    duration_min: float
    fuel_l: float
    co2_kg: float


def _conditions(
    depot_ids: Collection[int] | None,
    depot_id: int | None,
    date_from: date | None,
    date_to: date | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if depot_ids is not None:
        conditions.append(OptimizationRequest.depot_id.in_(sorted(depot_ids)))
    if depot_id is not None:
        conditions.append(OptimizationRequest.depot_id == depot_id)
    if date_from is not None:
        start = datetime.combine(date_from, time.min, tzinfo=UTC)
        conditions.append(OptimizationRequest.created_at >= start)
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
        conditions.append(OptimizationRequest.created_at < end)
    return conditions


def _joined(stmt: Any) -> Any:
    return (
        stmt.outerjoin(
            OptimizationResponse, OptimizationResponse.request_id == OptimizationRequest.request_id
        )
        .outerjoin(Depot, Depot.id == OptimizationRequest.depot_id)
        .outerjoin(Vehicle, Vehicle.id == OptimizationRequest.vehicle_id)
    )


def parse_plan_sort(sort: str) -> list[Any]:
    """ORDER BY clauses for "key" / "-key" (comma-separated); ValueError("sort: ...") if unknown."""
    clauses: list[Any] = []
    for raw in (p.strip() for p in (sort or "").split(",")):
        if not raw:
            continue
        key = raw.lstrip("+-")
        column = PLAN_SORT_COLUMNS.get(key)
        if column is None:
            raise ValueError(
                f"sort: unknown column {key!r} (allowed: {', '.join(PLAN_SORT_COLUMNS)})"
            )
        clauses.append(column.desc() if raw.startswith("-") else column.asc())
    clauses += [OptimizationRequest.request_id.asc(), OptimizationResponse.response_id.asc()]
    return clauses


def list_plans(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    depot_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 25,
) -> PlanPage:
    """Plans inside the scope, filtered by depot and request date (UTC), sorted and paged.

    Two queries: the page, and the count under the same filters.
    """
    rows, total = fetch_page(
        session,
        _joined(select(OptimizationRequest, OptimizationResponse, Depot.name, Vehicle.name)),
        conditions=_conditions(depot_ids, depot_id, date_from, date_to),
        order_by=parse_plan_sort(sort),
        offset=check_paging(page, page_size),
        limit=page_size,
        scalars=False,
    )
    items = [
        PlanRow(
            request_id=req.request_id,
            response_id=resp.response_id if resp else None,
            created_at=req.created_at,
            depot_id=req.depot_id,
            depot_name=depot_name,
            vehicle_id=req.vehicle_id,
            vehicle_name=vehicle_name,
            status=req.status,
            priority=req.priority,
            stops=len(req.delivery_locations or []),
            score=resp.optimization_score if resp else None,
            distance_km=resp.distance if resp else None,
            duration_min=resp.duration if resp else None,
            fuel_l=resp.fuel_consumption if resp else None,
            co2_kg=resp.carbon_emissions if resp else None,
            planning_s=(req.updated_at - req.created_at).total_seconds() if resp else None,
        )
        for req, resp, depot_name, vehicle_name in rows
    ]
    return PlanPage(items=items, total=int(total or 0), page=page, page_size=page_size)


def summarize_plans(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    depot_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> PlanSummary:
    """Counts and totals over every plan matching the filters (one aggregate query)."""
    conditions = _conditions(depot_ids, depot_id, date_from, date_to)
    row = session.execute(
        _joined(
            select(
                func.count(func.distinct(OptimizationRequest.request_id)),
                func.count(OptimizationResponse.response_id),
                func.avg(OptimizationResponse.optimization_score),
                func.coalesce(func.sum(OptimizationResponse.distance), 0.0),
                func.coalesce(func.sum(OptimizationResponse.duration), 0.0),
                func.coalesce(func.sum(OptimizationResponse.fuel_consumption), 0.0),
                func.coalesce(func.sum(OptimizationResponse.carbon_emissions), 0.0),
            ).select_from(OptimizationRequest)
        ).where(*conditions)
    ).one()
    requests, solved, avg_score, distance, duration, fuel, co2 = row
    return PlanSummary(
        requests=int(requests or 0),
        solved=int(solved or 0),
        avg_score=float(avg_score) if avg_score is not None else None,
        distance_km=float(distance),
        duration_min=float(duration),
        fuel_l=float(fuel),
        co2_kg=float(co2),
    )


@dataclass(frozen=True, slots=True)
class PlanDetail:
    """One plan in full for comparison: its figures and its routes' lines."""

    response_id: str
    request_id: str
    created_at: datetime
    depot_name: str | None
    status: str
    score: float
    distance_km: float
    duration_min: float
    fuel_l: float
    co2_kg: float
    planning_s: float
    meta: dict[str, Any]
    routes: list[RouteLine]


def get_plan_details(
    session: Session, *, response_ids: Collection[str], depot_ids: Collection[int] | None
) -> list[PlanDetail]:
    """Plans (responses) in the caller's scope with their routes, in the order asked (2 queries)."""
    stmt = (
        select(OptimizationResponse, OptimizationRequest, Depot.name)
        .join(OptimizationRequest)
        .outerjoin(Depot, Depot.id == OptimizationRequest.depot_id)
        .where(OptimizationResponse.response_id.in_(list(response_ids)))
    )
    if depot_ids is not None:
        stmt = stmt.where(OptimizationRequest.depot_id.in_(sorted(depot_ids)))
    found = {resp.response_id: (resp, req, name) for resp, req, name in session.execute(stmt)}
    lines: dict[str, list[RouteLine]] = {rid: [] for rid in found}
    route_rows = session.execute(
        select(
            Route.response_id,
            Route.id,
            Route.vehicle_id,
            Vehicle.name,
            Route.status,
            Route.geometry,
        )
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Route.response_id.in_(list(found)))
        .order_by(Vehicle.name)
    )
    for rid, route_id, vehicle_id, vehicle_name, status, geometry in route_rows:
        points = [(float(p[0]), float(p[1])) for p in geometry or []]
        lines[rid].append(RouteLine(route_id, vehicle_id, vehicle_name, status, points))
    details = []
    for rid in response_ids:
        if rid not in found:
            continue
        resp, req, depot_name = found[rid]
        details.append(
            PlanDetail(
                response_id=rid,
                request_id=req.request_id,
                created_at=req.created_at,
                depot_name=depot_name,
                status=req.status,
                score=resp.optimization_score,
                distance_km=resp.distance,
                duration_min=resp.duration,
                fuel_l=resp.fuel_consumption,
                co2_kg=resp.carbon_emissions,
                planning_s=(req.updated_at - req.created_at).total_seconds(),
                meta=dict(resp.meta or {}),
                routes=lines[rid],
            )
        )
    return details
