"""Running a stored planning request: claim it, re-check the requester, solve, store the plan."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.permissions import Principal
from backend.auth.users import get_principal
from backend.cache import ResultCache, request_hash
from backend.clock import Clock
from backend.config import Settings
from backend.db.engine import Database
from backend.db.models import (
    OptimizationRequest,
    PlanStatus,
)
from backend.db.queries.optimization import upsert_request
from backend.planning.problem import (
    PlanningInput,
    build_problem,
)
from backend.planning.request import PlanningError, PlanOutcome, PlanRequest, stored_request
from backend.planning.store import (
    add_event,
    claim_request,
    fail_request,
    record_pending,
    request_values,
    store_plan,
    validate_request,
)
from backend.solver import (
    MatrixProvider,
    ProblemError,
    plan_from_json,
    plan_to_json,
    solve,
)
from backend.solver.live import reoptimize

log = logging.getLogger(__name__)
ProgressCallback = Callable[[dict[str, Any]], None]


class _Throttle:
    """Lets a progress report through at most every `interval` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = 0.0
        self.lock = threading.Lock()

    def ready(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now - self.last < self.interval:
                return False
            self.last = now
            return True


def run_plan(
    database: Database,
    cache: ResultCache | None,
    *,
    request_id: str,
    clock: Clock,
    principal: Principal | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PlanOutcome:
    """Run the stored pending request `request_id`: solve (or hit the cache), store the plan.

    Everything but the id is read from the database, and the requester's right to plan that
    depot with those vehicles is checked again (`principal` only for in-process callers that
    are trusted, like the demo start-up). Raises PlanningError only when the request is unknown
    or not pending (a second job for the same id); any later failure ends the request "failed".
    """
    with database.session() as session:
        claim_request(session, request_id=request_id, now=clock.now())
    try:
        return _run_claimed(
            database,
            cache,
            request_id=request_id,
            clock=clock,
            principal=principal,
            on_progress=on_progress,
            cancel=cancel,
        )
    except (PlanningError, ProblemError) as exc:
        return fail_request(database, request_id, f"{exc.field}: {exc.message}", now=clock.now())
    except Exception as exc:  # noqa: BLE001 - a crashed job is recorded as failed, never lost
        log.exception("planning job %s failed", request_id)
        return fail_request(
            database, request_id, f"planning error: {type(exc).__name__}", now=clock.now()
        )


def plan_in_process(
    database: Database,
    cache: ResultCache | None,
    *,
    request: PlanRequest,
    principal: Principal,
    clock: Clock,
    cancel: Callable[[], bool] | None = None,
) -> PlanOutcome:
    """Validate, record and run a request in this process (demo start-up, scripts, tests)."""
    request_id = uuid.uuid4().hex
    with database.session() as session:
        record_pending(
            session, request_id=request_id, request=request, principal=principal, now=clock.now()
        )
    return run_plan(
        database, cache, request_id=request_id, clock=clock, principal=principal, cancel=cancel
    )


NO_LEARNED_TRAVEL_TIMES = (
    "no learned travel times are available (train the ETA model); planned with haversine"
)


def choose_travel_times(
    session: Session, settings: Settings, request: PlanRequest, planning: PlanningInput
) -> tuple[PlanningInput, MatrixProvider | None]:
    """The matrix provider the request asks for (None: the solver's haversine default).

    "learned" uses the active ETA version's factors for the hour the first shift starts (or
    now, re-planning a live day) and the service date's weekday; without them the plan falls
    back to haversine and carries a warning instead of failing. The payload (the cache key)
    records which was used.
    """
    used, warnings, matrix = "haversine", [], None
    if request.travel_times == "learned":
        # Here, not at the top: pandas and the ML registry load only when a plan asks for them.
        from backend.ml.learned_matrix import LearnedMatrixProvider, active_factors

        active = active_factors(session, settings)
        if active is None:
            warnings.append(NO_LEARNED_TRAVEL_TIMES)
        else:
            version, factors = active
            starts = [v.shift_start for v in planning.problem.vehicles]
            hour = min(starts) / 3600 if starts else 9.0
            if planning.live_state is not None:
                hour = max(hour, planning.live_state.now / 3600)
            matrix = LearnedMatrixProvider(
                factors, depart_hour=hour, weekday=request.service_date.weekday()
            )
            used = f"learned (ETA v{version})"
    payload = {**planning.payload, "travel_times_used": used, "warnings": warnings}
    return replace(planning, payload=payload), matrix


def _requester(session: Session, row: OptimizationRequest) -> Principal:
    user_id = (row.meta or {}).get("requested_by_id")
    principal = get_principal(session, user_id=int(user_id)) if user_id else None
    if principal is None:
        raise PlanningError("requested_by", "the user who asked for this plan is no longer active")
    return principal


def _run_claimed(
    database: Database,
    cache: ResultCache | None,
    *,
    request_id: str,
    clock: Clock,
    principal: Principal | None,
    on_progress: ProgressCallback | None,
    cancel: Callable[[], bool] | None,
) -> PlanOutcome:
    started = time.monotonic()
    with database.session() as session:
        row = session.get(OptimizationRequest, request_id)
        assert row is not None  # claimed above
        request = stored_request(row)
        requester = principal or _requester(session, row)
        validate_request(session, request=request, principal=requester)
        now = clock.now()
        planning = build_problem(session, request=request, now=now)
        planning, matrix = choose_travel_times(session, database.settings, request, planning)
        values = request_values(planning, request, PlanStatus.RUNNING, requester)
        values["meta"] = {**(row.meta or {}), **values["meta"]}  # keep who asked, and how
        upsert_request(session, request_id=request_id, values=values, now=now)
        add_event(session, request_id, "created", {"orders": len(planning.problem.orders)}, at=now)
        for warning in planning.payload.get("warnings", []):
            add_event(
                session,
                request_id,
                "warning",
                {"field": "travel_times", "message": warning},
                at=now,
            )
    key = request_hash(planning.payload)
    # A live day changes by the minute: only from-scratch plans are worth caching.
    cache = cache if request.mode == "full" else None
    cached = cache.get_response(key) if cache else None
    if cached is not None and "plan" in cached:
        plan = plan_from_json(cached["plan"])
        return store_plan(
            database,
            planning,
            request,
            request_id,
            plan,
            started,
            cache_hit=True,
            status="completed",
            now=clock.now(),
        )

    throttle = _Throttle(1.0)
    improved: list[dict[str, Any]] = []

    def on_improve(best_cost: float, elapsed: float) -> None:
        report = {
            "best_cost": round(best_cost, 2),
            "elapsed_s": round(elapsed, 2),
            "engine": request.engine,
            "time_limit_s": request.time_limit_s,
        }
        improved.append(report)
        if on_progress is not None and throttle.ready():
            on_progress(report)

    with database.session() as session:
        add_event(
            session,
            request_id,
            "started",
            {"engine": request.engine, "time_limit_s": request.time_limit_s},
            at=clock.now(),
        )
    options: dict[str, Any] = {
        "engine": request.engine,
        "time_limit": request.time_limit_s,
        "on_improve": on_improve,
        "cancel": cancel,
        "seed": request.seed,
        "matrix": matrix,
    }
    if planning.active_plan is not None and planning.live_state is not None:
        plan = reoptimize(planning.problem, planning.active_plan, planning.live_state, **options)
    else:
        plan = solve(planning.problem, **options)
    cancelled = bool(cancel and cancel())
    if improved:
        with database.session() as session:
            add_event(
                session,
                request_id,
                "improved",
                {"count": len(improved), "best": improved[-1], "first": improved[0]},
                at=clock.now(),
            )
    outcome = store_plan(
        database,
        planning,
        request,
        request_id,
        plan,
        started,
        cache_hit=False,
        status="cancelled" if cancelled else "completed",
        now=clock.now(),
    )
    if cache and not cancelled and outcome.response_id:
        cache.put_request(key, planning.payload)
        cache.put_response(
            key,
            {
                "optimization_score": plan.score,
                "plan": plan_to_json(plan),
                "response_id": outcome.response_id,
            },
        )
    return outcome
