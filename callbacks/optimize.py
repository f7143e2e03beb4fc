"""Optimize and re-optimize from the Dispatch page: a background job with progress and stop."""

from __future__ import annotations

import uuid
from typing import Any

import dash
from dash import Input, Output, State, html
from sqlalchemy import select

from backend.cache import make_result_cache, make_store
from backend.db.models import Depot, OptimizationRequest, OptimizationResponse, Order
from backend.db.queries.dispatch import list_route_lines
from backend.jobs.control import JobControl
from backend.jobs.tickets import sign_ticket, verify_ticket
from backend.planning import (
    PlanningError,
    PlanRequest,
    accept_plan,
    record_pending,
    run_plan,
)
from backend.realtime.optimize import announce_accepted
from backend.runtime import Runtime
from callbacks._common import db_session, parse_date, require_principal, triggered_id
from components import ids
from components.dispatch import routes_geojson
from components.optimize import create_plan_summary, progress_figures

ROLES = ("dispatcher", "admin")
# The same permission the REST API and the socket check for planning.
PLAN_PERMISSION = "plan:write"


def load_depot_options(_: Any) -> tuple[list[dict[str, Any]], Any]:
    """The depots this user may plan, the first one selected."""
    principal = require_principal(*ROLES)
    query = select(Depot.id, Depot.name).where(Depot.active.is_(True)).order_by(Depot.id)
    if principal.depot_ids is not None:
        query = query.where(Depot.id.in_(principal.depot_ids))
    with db_session() as session:
        options = [{"label": name, "value": depot_id} for depot_id, name in session.execute(query)]
    return options, options[0]["value"] if options else None


def start_optimize(
    _run: Any,
    _remaining: Any,
    depot_id: int | None,
    day_value: str | None,
    engine: str,
    budget: int,
    breaks: list[str] | None,
    *,
    runtime: Runtime,
) -> tuple[Any, Any]:
    """Check the request in the web process, record it, and hand a signed ticket to the job."""
    principal = require_principal()
    if not principal.can(PLAN_PERMISSION):
        return dash.no_update, _message("Your role may not start an optimization.", "error")
    day = parse_date(day_value)
    if depot_id is None or day is None or not principal.sees_depot(depot_id):
        return dash.no_update, _message("Choose a depot and a service date first.", "error")
    mode = "remaining" if triggered_id() == ids.OPTIMIZE_REMAINING else "full"
    request_id = uuid.uuid4().hex
    try:
        request = PlanRequest(
            depot_id=int(depot_id),
            service_date=day,
            engine=str(engine),
            time_limit_s=float(budget),
            breaks=bool(breaks),
            mode=mode,
        )
        with runtime.db.session() as session:
            record_pending(
                session,
                request_id=request_id,
                request=request,
                principal=principal,
                now=runtime.clock.now(),
            )
    except (PlanningError, TypeError, ValueError) as exc:
        return dash.no_update, _message(str(exc), "error")
    ticket = sign_ticket(runtime.settings.effective_secret_key, request_id, principal.user_id)
    verb = "Re-optimizing the remaining stops" if mode == "remaining" else "Optimizing"
    return ticket, _message(f"{verb}…", "info")


def make_run_job(runtime: Runtime) -> Any:
    """The background job: run the ticket's stored request, reporting progress, honouring Stop.

    The job runs without a request (a forked process or a Celery worker): it trusts nothing
    of the ticket but the signed request id, and the planning service reads the request and
    checks the requester's scope from the database.
    """

    def run_job(set_progress: Any, ticket: Any) -> dict[str, Any]:
        request_id = ticket.get("request_id") if isinstance(ticket, dict) else None
        if not isinstance(request_id, str):
            raise dash.exceptions.PreventUpdate
        with runtime.db.session() as session:
            row = session.get(OptimizationRequest, request_id)
            requester = (row.meta or {}).get("requested_by_id") if row is not None else None
        secret = runtime.settings.effective_secret_key
        if requester is None or verify_ticket(secret, ticket, int(requester)) is None:
            raise dash.exceptions.PreventUpdate
        control = JobControl(make_store(runtime.settings))
        try:
            outcome = run_plan(
                runtime.db,
                make_result_cache(runtime.settings),
                request_id=request_id,
                clock=runtime.clock,
                on_progress=lambda report: set_progress(progress_figures(report)),
                cancel=control.cancel_checker(request_id),
            )
        except PlanningError:
            # Not pending any more (already run, or reaped): nothing to show.
            raise dash.exceptions.PreventUpdate from None
        return {
            "request_id": request_id,
            "response_id": outcome.response_id,
            "status": outcome.status,
            "error": outcome.error,
            **outcome.summary,
        }

    return run_job


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
        if row.status not in ("pending", "running"):
            return _message(f"The optimization is already {row.status}.", "info")
    JobControl(make_store(runtime.settings)).request_cancel(request_id)
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
        routes_geojson(lines),
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
    announce_accepted(runtime, accepted)
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
    return _message(text, "ok"), routes_geojson(lines)


def _message(text: str, tone: str) -> html.Div:
    return html.Div(text, className=f"message message-{tone}")


def register(app: dash.Dash) -> None:
    """Register the optimize panel's callbacks; the job gets the runtime, never a request."""
    runtime: Runtime = app.server.extensions["fleet"]
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
        prevent_initial_call=True,
    )(lambda *args: start_optimize(*args, runtime=runtime))
    app.callback(
        Output(ids.OPTIMIZE_RESULT, "data"),
        Input(ids.OPTIMIZE_TICKET, "data"),
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
    )(make_run_job(runtime))
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
