"""Orders that arrive during the day: into the routes in force by the insertion fast path.

Not a solve: the live day (where each vehicle is, what it has done) is built like a
re-optimization of the remaining stops, each new order goes to its cheapest feasible place
after the done stops (`backend.solver.insert_live`), and the result is stored and accepted like
any plan, so drivers get the change pushed. Milliseconds, so the caller runs it in its request.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from datetime import date

from backend.auth.permissions import Principal
from backend.clock import Clock
from backend.db.engine import Database
from backend.planning.accept import AcceptedPlan, accept_plan
from backend.planning.problem import build_problem
from backend.planning.request import MIN_TIME_LIMIT_S, PlanningError, PlanRequest
from backend.planning.store import claim_request, fail_request, record_pending, store_plan
from backend.solver import ProblemError, insert_live

log = logging.getLogger(__name__)

INSERTION_SOURCE = "new_order"


def insert_new_orders(
    database: Database,
    *,
    depot_id: int,
    service_date: date,
    principal: Principal,
    clock: Clock,
) -> AcceptedPlan | None:
    """Put the depot's new orders of the day into its routes in force, and accept the result.

    None when there is nothing to do or the caller may not change the plan (no routes in
    force for that day, nothing new, a role without plan:write): the orders then wait for
    the next optimization, as before.
    """
    request = PlanRequest(
        depot_id=depot_id,
        service_date=service_date,
        mode="remaining",
        engine="auto",
        time_limit_s=MIN_TIME_LIMIT_S,
    )
    request_id = uuid.uuid4().hex
    started = time.monotonic()
    now = clock.now()
    with database.session() as session:
        try:
            planning = build_problem(session, request=request, now=now)
        except PlanningError:
            return None  # no routes in force that day: the next optimization plans it
        state, active = planning.live_state, planning.active_plan
        if state is None or active is None or not state.new_orders:
            return None  # nothing new for the routes in force
        try:
            record_pending(
                session,
                request_id=request_id,
                request=request,
                principal=principal,
                now=now,
                source=INSERTION_SOURCE,
            )
        except PlanningError as exc:
            # Not this caller's plan to change: the orders wait for a dispatcher.
            log.info("new orders of depot %s wait for an optimization: %s", depot_id, exc)
            return None
        claim_request(session, request_id=request_id, now=now)
    try:
        plan = insert_live(
            planning.problem, active, replace(state, new_orders=()), state.new_orders
        )
    except ProblemError as exc:
        fail_request(database, request_id, str(exc), now=clock.now())
        return None
    outcome = store_plan(
        database,
        planning,
        request,
        request_id,
        plan,
        started,
        cache_hit=False,
        status="completed",
        now=clock.now(),
    )
    if outcome.response_id is None:
        return None
    with database.session() as session:
        return accept_plan(
            session, response_id=outcome.response_id, principal=principal, now=clock.now()
        )
