"""Planning a depot's day: one package for the optimize flow, used by the panel, REST and socket.

`request` says what may be asked; `store` validates and records a request before its job exists
and keeps its life in the database; `problem` builds the solver's problem from the database;
`run` is the job body (claim, re-check the requester, solve, store); `accept` makes a plan the
routes in force; `publish` tells the depot's sockets. Jobs get ids only (see backend/jobs).
"""

from backend.planning.accept import AcceptedPlan, accept_plan
from backend.planning.problem import PlanningInput, build_problem
from backend.planning.request import (
    MAX_ID,
    MAX_TIME_LIMIT_S,
    MIN_TIME_LIMIT_S,
    MODES,
    PlanningError,
    PlanOutcome,
    PlanRequest,
    parse_plan_request,
    request_fields,
    stored_request,
)
from backend.planning.run import plan_in_process, run_plan
from backend.planning.store import (
    ABANDONED_AFTER_S,
    reap_abandoned,
    record_pending,
    validate_request,
)
from backend.solver import ENGINES  # listed by the solver; re-exported for the UI's choices

__all__ = [
    "ABANDONED_AFTER_S",
    "ENGINES",
    "MAX_ID",
    "MAX_TIME_LIMIT_S",
    "MIN_TIME_LIMIT_S",
    "MODES",
    "AcceptedPlan",
    "PlanOutcome",
    "PlanRequest",
    "PlanningError",
    "PlanningInput",
    "accept_plan",
    "build_problem",
    "parse_plan_request",
    "plan_in_process",
    "reap_abandoned",
    "record_pending",
    "request_fields",
    "run_plan",
    "stored_request",
    "validate_request",
]
