"""Optimize and re-optimize from the Dispatch page: a background job with progress and stop."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State, html
from sqlalchemy import select

from backend.db.models import (
    PLANS_OPEN,
    PLANS_WITH_A_PLAN,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    RouteStatus,
)
from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import list_route_lines
from backend.jobs.tickets import sign_ticket, verify_ticket
from backend.planning import MAX_TIME_LIMIT_S, PlanningError, accept_plan, parse_plan_request
from backend.planning.publish import announce_accepted
from backend.planning.submit import submit_plan
from backend.runtime import Runtime, runtime_of
from callbacks._common import db_session, parse_date, require_principal, triggered_id
from components import ids
from components.dispatch import plan_routes_geojson
from components.filters import depot_options
from components.optimize import create_plan_summary, progress_figures

ROLES = ("dispatcher", "admin")
# The same permission the REST API and the socket check for planning.
PLAN_PERMISSION = "plan:write"
# How long past its budget the panel follows a job (building the problem, storing the plan).
JOB_GRACE_S = 120.0


def load_depot_options(_: Any) -> tuple[list[dict[str, Any]], Any]:
    """The active depots this user may plan, the first one selected."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        depots = list_depots(
            session, depot_ids=principal.depot_ids, active=True, page_size=500, sort="id"
        ).items
    options = depot_options(depots)
    return options, options[0]["value"] if options else None


def start_optimize(
    _run: Any,
    _remaining: Any,
    depot_id: int | None,
    day_value: str | None,
    engine: str,
    budget: int,
    breaks: list[str] | None,
    travel_times: str | None = "haversine",
    *,
    runtime: Runtime,
) -> tuple[Any, Any]:
    """Check and record the request, start its job on the runner, hand the browser a ticket."""
    principal = require_principal()
    if not principal.can(PLAN_PERMISSION):
        return dash.no_update, _message("Your role may not start an optimization.", "error")
    day = parse_date(day_value)
    if depot_id is None or day is None or not principal.sees_depot(depot_id):
        return dash.no_update, _message("Choose a depot and a service date first.", "error")
    mode = "remaining" if triggered_id() == ids.OPTIMIZE_REMAINING else "full"
    try:
        request = parse_plan_request(
            {
                "depot_id": depot_id,
                "service_date": day,
                "engine": engine,
                "time_limit_s": budget,
                "breaks": bool(breaks),
                "mode": mode,
                "travel_times": travel_times or "haversine",
            }
        )
        request_id = submit_plan(
            runtime.jobs,
            runtime.db,
            principal=principal,
            request=request,
            clock=runtime.clock,
            source="panel",
        )
    except PlanningError as exc:
        return dash.no_update, _message(str(exc), "error")
    ticket = sign_ticket(runtime.settings.effective_secret_key, request_id, principal.user_id)
    verb = "Re-optimizing the remaining stops" if mode == "remaining" else "Optimizing"
    return ticket, _message(f"{verb}…", "info")


def make_run_job(runtime: Runtime) -> Any:
    """The background callback: follow the ticket's job on the runner until it ends.

    The job itself runs on the job runner like every other planning job (started by
    `start_optimize`); this only reports its progress to the panel and returns its result. It
    trusts nothing of the ticket but the signed request id.
    """

    def run_job(set_progress: Any, ticket: Any, *, resumed: bool = False) -> dict[str, Any]:
        request_id = ticket.get("request_id") if isinstance(ticket, dict) else None
        if not isinstance(request_id, str):
            raise dash.exceptions.PreventUpdate
        with runtime.db.session() as session:
            row = session.get(OptimizationRequest, request_id)
            requester = (row.meta or {}).get("requested_by_id") if row is not None else None
            budget = float((row.constraints or {}).get("time_limit_s", 0)) if row else 0.0
            # Back on the page with this tab's last ticket: follow a job that kept running
            # while the dispatcher was elsewhere, or show a plan still waiting for review;
            # a plan already accepted or a failed job is not shown again.
            if resumed and (row is None or not awaits_review(session, row)):
                raise dash.exceptions.PreventUpdate
        secret = runtime.settings.effective_secret_key
        if requester is None or verify_ticket(secret, ticket, int(requester)) is None:
            raise dash.exceptions.PreventUpdate
        result = runtime.jobs.wait(
            request_id,
            timeout_s=min(budget, MAX_TIME_LIMIT_S) + JOB_GRACE_S,
            on_progress=lambda report: set_progress(progress_figures(report)),
        )
        if result is None or result.get("status") == "skipped":
            raise dash.exceptions.PreventUpdate
        return {"request_id": request_id, **result}

    return run_job


def awaits_review(session: Any, row: OptimizationRequest) -> bool:
    """Whether a request's job still runs or its plan is proposed and not yet accepted."""
    if row.status in PLANS_OPEN:
        return True
    if row.status not in PLANS_WITH_A_PLAN:
        return False
    proposed = session.scalar(
        select(Route.id)
        .join(OptimizationResponse, Route.response_id == OptimizationResponse.response_id)
        .where(
            OptimizationResponse.request_id == row.request_id,
            Route.status == RouteStatus.PROPOSED,
        )
        .limit(1)
    )
    return proposed is not None


def stop_optimize(_: Any, ticket: Any, runtime: Runtime) -> Any:
    """Ask the running job to stop; it keeps and stores the best plan found so far.

    The same rule as the REST cancel: only a job of a depot in the caller's scope.
    """
    principal = require_principal()
    request_id = ticket.get("request_id") if isinstance(ticket, dict) else None
    if not principal.can(PLAN_PERMISSION) or not isinstance(request_id, str):
        raise dash.exceptions.PreventUpdate
    with runtime.db.session() as session:
        row = session.get(OptimizationRequest, request_id)
        if row is None or not principal.sees_depot(row.depot_id):
            return _message("That optimization was not found.", "error")
        if row.status not in PLANS_OPEN:
            return _message(f"The optimization is already {row.status}.", "info")
    runtime.jobs.cancel(request_id)
    return _message("Stopping… the best plan so far will be kept.", "info")


def show_result(result: dict[str, Any] | None, day_value: str | None) -> tuple[Any, Any, Any]:
    """The proposed plan's summary and its routes drawn on the map."""
    if not result:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    if not isinstance(result, dict):
        raise dash.exceptions.PreventUpdate
    if result.get("status") == "failed" or not isinstance(result.get("response_id"), str):
        return None, _message(f"Planning failed: {result.get('error')}", "error"), dash.no_update
    with db_session() as session:
        response = session.get(OptimizationResponse, result["response_id"])
        if response is None or not principal.sees_depot(response.request.depot_id):
            raise dash.exceptions.PreventUpdate
        unassigned = list(response.meta.get("unassigned_orders", []))
        refs = dict(
            session.execute(
                select(Order.id, Order.reference).where(
                    Order.id.in_([u["order_id"] for u in unassigned])
                )
            ).all()
        )
        day = parse_date(day_value)
        lines = (
            list_route_lines(
                session,
                depot_ids=principal.depot_ids,
                service_date=day,
                response_id=result["response_id"],
            )
            if day
            else []
        )
    for item in unassigned:
        item["reference"] = refs.get(item["order_id"])
    summary = create_plan_summary(result, unassigned)
    return (
        summary,
        _message("Plan ready: review it and accept it to dispatch.", "ok"),
        plan_routes_geojson(lines),
    )


def accept(
    _: Any, result: dict[str, Any] | None, day_value: str | None, runtime: Runtime
) -> tuple[Any, Any]:
    """Make the proposed plan the active one and tell the depot's dispatchers and drivers."""
    principal = require_principal(*ROLES)
    if not isinstance(result, dict) or not isinstance(result.get("response_id"), str):
        raise dash.exceptions.PreventUpdate
    try:
        with runtime.db.session() as session:
            accepted = accept_plan(
                session,
                response_id=result["response_id"],
                principal=principal,
                now=runtime.clock.now(),
            )
    except PlanningError as exc:
        return _message(str(exc), "error"), dash.no_update
    announce_accepted(runtime.publisher(), accepted)
    day = parse_date(day_value)
    with db_session() as session:
        lines = (
            list_route_lines(session, depot_ids=principal.depot_ids, service_date=day)
            if day
            else []
        )
    text = (
        f"Plan accepted: {len(accepted.route_ids)} routes, "
        f"{accepted.orders_planned} orders planned. Drivers are notified."
    )
    return _message(text, "ok"), plan_routes_geojson(lines)


def _message(text: str, tone: str) -> html.Div:
    return html.Div(text, className=f"message message-{tone}")


def register(app: dash.Dash) -> None:
    """Register the optimize panel's callbacks; the job gets the runtime, never a request."""
    runtime = runtime_of(app.server)
    app.callback(
        Output(ids.OPTIMIZE_DEPOT, "options"),
        Output(ids.OPTIMIZE_DEPOT, "value"),
        Input(ids.OPTIMIZE_DEPOT, "id"),
    )(load_depot_options)
    app.callback(
        Output(ids.OPTIMIZE_TICKET, "data"),
        Output(ids.OPTIMIZE_MESSAGE, "children"),
        Input(ids.OPTIMIZE_RUN, "n_clicks"),
        Input(ids.OPTIMIZE_REMAINING, "n_clicks"),
        State(ids.OPTIMIZE_DEPOT, "value"),
        State(ids.DISPATCH_DATE, "date"),
        State(ids.OPTIMIZE_ENGINE, "value"),
        State(ids.OPTIMIZE_BUDGET, "value"),
        State(ids.OPTIMIZE_BREAKS, "value"),
        State(ids.OPTIMIZE_TRAVEL_TIMES, "value"),
        prevent_initial_call=True,
    )(lambda *args: start_optimize(*args, runtime=runtime))
    run_job = make_run_job(runtime)

    def follow_job(set_progress: Any, ticket: Any, resume: Any) -> dict[str, Any]:
        # The ticket is kept in the tab's session storage: when Dispatch mounts with one, the
        # resume store hands it over once (assets/js/optimize.js), so a job survives
        # navigating to another page and back. Only then does a job process start.
        # (A fresh ticket from the buttons differs from the one handed over at mount.)
        return run_job(set_progress, ticket, resumed=bool(resume) and resume == ticket)

    app.clientside_callback(
        ClientsideFunction(namespace="fleetOptimize", function_name="resume"),
        Output(ids.OPTIMIZE_RESUME, "data"),
        Input(ids.OPTIMIZE_RESUME, "id"),
        State(ids.OPTIMIZE_TICKET, "data"),
    )
    app.callback(
        Output(ids.OPTIMIZE_RESULT, "data"),
        Input(ids.OPTIMIZE_TICKET, "data"),
        Input(ids.OPTIMIZE_RESUME, "data"),
        background=True,
        running=[
            (Output(ids.OPTIMIZE_RUN, "disabled"), True, False),
            (Output(ids.OPTIMIZE_REMAINING, "disabled"), True, False),
            (Output(ids.OPTIMIZE_STOP, "disabled"), False, True),
            (Output(ids.OPTIMIZE_PROGRESS, "style"), {"display": "block"}, {"display": "none"}),
        ],
        progress=[
            Output(ids.OPTIMIZE_PROGRESS_BAR, "style"),
            Output(ids.OPTIMIZE_PROGRESS_TEXT, "children"),
        ],
        progress_default=[{"width": "0%"}, "Building the distance matrix…"],
        interval=500,
        prevent_initial_call=True,
    )(follow_job)
    app.callback(
        Output(ids.OPTIMIZE_MESSAGE, "children", allow_duplicate=True),
        Input(ids.OPTIMIZE_STOP, "n_clicks"),
        State(ids.OPTIMIZE_TICKET, "data"),
        prevent_initial_call=True,
    )(lambda clicks, ticket: stop_optimize(clicks, ticket, runtime))
    app.callback(
        Output(ids.OPTIMIZE_RESULT_VIEW, "children"),
        Output(ids.OPTIMIZE_MESSAGE, "children", allow_duplicate=True),
        Output(ids.DISPATCH_ROUTES_LAYER, "data", allow_duplicate=True),
        Input(ids.OPTIMIZE_RESULT, "data"),
        State(ids.DISPATCH_DATE, "date"),
        prevent_initial_call=True,
    )(show_result)
    app.callback(
        Output(ids.OPTIMIZE_MESSAGE, "children", allow_duplicate=True),
        Output(ids.DISPATCH_ROUTES_LAYER, "data", allow_duplicate=True),
        Input(ids.OPTIMIZE_ACCEPT, "n_clicks"),
        State(ids.OPTIMIZE_RESULT, "data"),
        State(ids.DISPATCH_DATE, "date"),
        prevent_initial_call=True,
    )(lambda clicks, result, day: accept(clicks, result, day, runtime))
