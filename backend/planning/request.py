"""What a planning request is: its fields and limits, its errors, and its outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backend.db.models import (
    OptimizationRequest,
    OrderStatus,
)
from backend.services import ForbiddenError, NotFoundError, ServiceError
from backend.solver import ENGINES  # the engines are listed once, by the solver

log = logging.getLogger(__name__)


MODES = ("full", "remaining")


MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S = 1, 300


MAX_ID = 2**31 - 1  # the database's integer ids


# Orders still open for planning; later statuses belong to a driver's live route.
PLANNABLE_STATUSES = (OrderStatus.NEW.value, OrderStatus.PLANNED.value)


class PlanningError(ServiceError):
    """A planning request that cannot be run; `field` names what is wrong (HTTP 422)."""

    code = "validation_error"

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message, field=field_name)
        self.field: str = field_name

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PlanningNotFound(PlanningError, NotFoundError):
    """An unknown depot or plan, or one outside the caller's scope (never says which)."""

    code = "not_found"


class PlanningForbidden(PlanningError, ForbiddenError):
    """The caller's role may not plan or accept."""

    code = "forbidden"


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: one depot's day, with which engine and time budget."""

    depot_id: int
    service_date: date
    vehicle_ids: tuple[int, ...] = ()
    engine: str = "auto"
    time_limit_s: float = 15.0
    # Off by default: OR-Tools plans with breaks are markedly longer (see the README).
    breaks: bool = False
    priority: int = 5
    seed: int = 0
    # "full" plans the open orders from scratch; "remaining" re-plans the live day.
    mode: str = "full"

    def __post_init__(self) -> None:
        # Ids outside the database's integer range are refused here for every path (REST,
        # socket, panel), before a query could overflow on them.
        if not 1 <= self.depot_id <= MAX_ID:
            raise PlanningError("depot_id", f"must be an id between 1 and {MAX_ID}")
        if any(not 1 <= v <= MAX_ID for v in self.vehicle_ids):
            raise PlanningError("vehicle_ids", f"ids must be between 1 and {MAX_ID}")
        if self.mode not in MODES:
            raise PlanningError("mode", f"must be one of {', '.join(MODES)}")
        if self.engine not in ENGINES:
            raise PlanningError("engine", f"must be one of {', '.join(ENGINES)}")
        if not MIN_TIME_LIMIT_S <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise PlanningError(
                "time_limit_s", f"must be between {MIN_TIME_LIMIT_S} and {MAX_TIME_LIMIT_S}"
            )
        if not 1 <= self.priority <= 10:
            raise PlanningError("priority", "must be between 1 and 10")


@dataclass(frozen=True)
class PlanOutcome:
    """What a planning job produced."""

    request_id: str
    response_id: str | None
    status: str  # completed | cancelled | failed
    cache_hit: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def request_fields(request: PlanRequest) -> dict[str, Any]:
    """A request's options as JSON (what a job receives and the stored request records)."""
    return {
        "depot_id": request.depot_id,
        "service_date": request.service_date.isoformat(),
        "vehicle_ids": list(request.vehicle_ids),
        "engine": request.engine,
        "time_limit_s": request.time_limit_s,
        "breaks": request.breaks,
        "priority": request.priority,
        "mode": request.mode,
    }


def stored_request(row: OptimizationRequest) -> PlanRequest:
    """The PlanRequest a stored (pending) request row describes."""
    fields = dict(row.constraints or {})
    if row.depot_id is None:
        raise PlanningError("request_id", "the stored request names no depot")
    try:
        return PlanRequest(
            depot_id=row.depot_id,
            service_date=date.fromisoformat(str(fields["service_date"])),
            vehicle_ids=tuple(int(v) for v in fields.get("vehicle_ids") or ()),
            engine=str(fields.get("engine", "auto")),
            time_limit_s=float(fields.get("time_limit_s", 15.0)),
            breaks=bool(fields.get("breaks", False)),
            priority=int(row.priority),
            mode=str(fields.get("mode", "full")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanningError("request_id", f"the stored request is unreadable: {exc}") from None
