"""The demo's morning: plan today's orders of every depot with the optimizer and accept them.

So the simulated drivers have real routes to drive when the app starts on the demo data;
a dispatcher can then watch them, re-optimize the remaining stops or plan again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from backend.auth.permissions import make_principal
from backend.cache import ResultCache
from backend.clock import Clock
from backend.db.engine import Database
from backend.db.models import Depot, Order, OrderStatus, Route, RouteStatus
from backend.planning import AcceptedPlan, PlanRequest, accept_plan, plan_in_process

log = logging.getLogger(__name__)
DEMO_PLANNER = make_principal(user_id=0, username="demo-planner", role="admin")
DEMO_TIME_LIMIT_S = 10.0


def plan_demo_day(
    database: Database,
    cache: ResultCache | None,
    *,
    today: date,
    clock: Clock,
    publish: Callable[[AcceptedPlan], Any] | None = None,
    time_limit_s: float = DEMO_TIME_LIMIT_S,
) -> list[AcceptedPlan]:
    """Plan and accept today for each depot that has open orders and no active routes yet."""
    with database.session() as session:
        active = set(
            session.scalars(
                select(Route.depot_id).where(
                    Route.service_date == today, Route.status == RouteStatus.ACTIVE
                )
            )
        )
        open_orders = dict(
            session.execute(
                select(Order.depot_id, func.count())
                .where(Order.service_date == today, Order.status == OrderStatus.NEW.value)
                .group_by(Order.depot_id)
            ).all()
        )
        depots = [
            d
            for d in session.scalars(select(Depot.id).where(Depot.active.is_(True)))
            if d not in active and open_orders.get(d)
        ]
    accepted = []
    for depot_id in depots:
        request = PlanRequest(depot_id=depot_id, service_date=today, time_limit_s=time_limit_s)
        outcome = plan_in_process(
            database, cache, request=request, principal=DEMO_PLANNER, clock=clock
        )
        if outcome.response_id is None:
            log.warning("demo planning failed for depot %s: %s", depot_id, outcome.error)
            continue
        with database.session() as session:
            plan = accept_plan(
                session,
                response_id=outcome.response_id,
                principal=DEMO_PLANNER,
                now=clock.now(),
            )
        accepted.append(plan)
        if publish is not None:
            publish(plan)
        log.info("demo day planned for depot %s: %s", depot_id, outcome.summary)
    return accepted
