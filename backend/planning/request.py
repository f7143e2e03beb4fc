"""What a planning request is: its fields and limits, its errors, and its outcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.db.models import OptimizationRequest
from backend.services import ForbiddenError, NotFoundError, ServiceError
from backend.solver import EngineName  # the engines are listed once, by the solver

log = logging.getLogger(__name__)


Mode = Literal["full", "remaining"]
MODES: tuple[str, ...] = get_args(Mode)
# Where the solver's travel times come from: the haversine default, or the factors by hour and
# zone learned from the fleet's history (backend.ml.learned_matrix; haversine when none).
TravelTimes = Literal["haversine", "learned"]
TRAVEL_TIMES: tuple[str, ...] = get_args(TravelTimes)


MIN_TIME_LIMIT_S, MAX_TIME_LIMIT_S = 1, 300


MAX_ID = 2**31 - 1  # the database's integer ids
MAX_VEHICLE_IDS = 500


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


# Strict where a JSON client could slip a wrong type through lax coercion (`true` as a time
# limit, "5" as an id); dates stay lax so ISO strings parse.
PositiveId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class PlanRequest(BaseModel):
    """What to plan: one depot's day, with which engine and time budget.

    The one request model: REST validates its body through it, and the panel, the socket and a
    job reading a stored request go through `parse_plan_request`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Ids outside the database's integer range are refused here for every path, before a
    # query could overflow on them.
    depot_id: PositiveId
    service_date: date
    vehicle_ids: tuple[PositiveId, ...] = Field(default=(), max_length=MAX_VEHICLE_IDS)
    engine: EngineName = "auto"
    time_limit_s: float = Field(default=15.0, ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S, strict=True)
    # Off by default: OR-Tools plans with breaks are markedly longer (see the README).
    breaks: bool = Field(default=False, strict=True)
    priority: int = Field(default=5, ge=1, le=10, strict=True)
    seed: int = Field(default=0, ge=0, le=MAX_ID, strict=True)
    mode: Mode = Field(
        default="full", description="full: plan open orders; remaining: re-plan the live day"
    )
    travel_times: TravelTimes = "haversine"


def parse_plan_request(fields: Mapping[str, Any]) -> PlanRequest:
    """Validate `fields` through PlanRequest; a PlanningError names the first bad field."""
    try:
        return PlanRequest.model_validate(dict(fields))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        loc = first.get("loc") or ("request",)
        raise PlanningError(str(loc[0]), str(first.get("msg", "invalid"))) from None


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
    """A request's options as JSON (what the stored request records)."""
    return request.model_dump(mode="json", exclude={"seed"})


def stored_request(row: OptimizationRequest) -> PlanRequest:
    """The PlanRequest a stored (pending) request row describes."""
    if row.depot_id is None:
        raise PlanningError("request_id", "the stored request names no depot")
    fields = {**(row.constraints or {}), "depot_id": row.depot_id, "priority": row.priority}
    try:
        return parse_plan_request(fields)
    except PlanningError as exc:
        raise PlanningError("request_id", f"the stored request is unreadable: {exc}") from None
