"""The optimize panel's callbacks for real: ticket, background job, proposed plan, accept."""

from __future__ import annotations

import json
from pathlib import Path

import dash
import pytest
from dash.exceptions import PreventUpdate
from flask import g
from sqlalchemy import select

from backend.auth.permissions import make_principal
from backend.config import load_settings
from backend.db.migrate import upgrade
from backend.db.models import OptimizationRequest, Order, Route
from backend.realtime import get_realtime
from callbacks.optimize import accept, make_run_job, show_result, start_optimize
from factories import DAY, seed_small_day


@pytest.fixture
def panel(data_dir: Path):
    from app import create_app

    dash_app = create_app(load_settings(DATA_DIR=str(data_dir), DEMO=False))
    runtime = dash_app.server.extensions["fleet"]
    upgrade(runtime.db.engine)
    depot_id = seed_small_day(runtime.db)
    yield dash_app.server, runtime, depot_id
    runtime.db.engine.dispose()


def _as(server, principal):
    context = server.test_request_context("/")
    context.push()
    g.principal = principal
    return context


def test_optimize_then_accept_from_the_panel(panel) -> None:
    server, runtime, depot_id = panel
    dispatcher = make_principal(user_id=1, username="disp", role="dispatcher", depot_ids=[depot_id])
    context = _as(server, dispatcher)
    try:
        ticket, message = start_optimize(1, None, depot_id, DAY.isoformat(), "ortools", 1, [])
        assert ticket["mode"] == "full" and "Optimizing" in str(message)
        progress: list[tuple] = []
        result = make_run_job(runtime)(lambda figures: progress.append(figures), ticket)
        assert result["status"] == "completed" and result["orders"] == 12
        summary, _, routes = show_result(result, DAY.isoformat())
        assert "Proposed plan" in str(summary) and "Every order is planned" in str(summary)
        assert routes["features"] and all(
            f["properties"]["status"] == "proposed" for f in routes["features"]
        )
        heard: list[dict] = []
        get_realtime(runtime).bus.subscribe(lambda channel, text: heard.append(json.loads(text)))
        note, active = accept(1, result, DAY.isoformat(), runtime)
        assert "Plan accepted" in str(note) and active["features"]
        # The depot's dashboards and drivers are told, with the routes that became active.
        assert [(m["type"], m["status"], m["depotId"]) for m in heard] == [
            ("route_optimization_update", "accepted", depot_id)
        ]
        assert len(heard[0]["routeIds"]) == len(active["features"])
    finally:
        context.pop()
    with runtime.db.session() as session:
        assert {o.status for o in session.scalars(select(Order))} == {"planned"}
        assert {r.status for r in session.scalars(select(Route))} == {"active"}
    # The same ticket cannot be run twice: its request is no longer pending.
    with pytest.raises(PreventUpdate):
        make_run_job(runtime)(lambda figures: None, ticket)


def test_a_forged_ticket_runs_nothing(panel) -> None:
    _, runtime, depot_id = panel
    forged = {
        "request_id": "f" * 32,
        "depot_id": depot_id,
        "date": DAY.isoformat(),
        "engine": "ortools",
        "time_limit_s": 1,
        "breaks": False,
        "mode": "full",
    }
    with pytest.raises(PreventUpdate):
        make_run_job(runtime)(lambda figures: None, forged)
    with runtime.db.session() as session:
        assert session.scalars(select(OptimizationRequest)).all() == []


def test_roles_and_scope_get_a_form_message(panel) -> None:
    server, _, depot_id = panel
    manager = make_principal(user_id=2, username="boss", role="manager")
    other = make_principal(user_id=3, username="d2", role="dispatcher", depot_ids=[depot_id + 1])
    for principal, words in ((manager, "may not"), (other, "Choose a depot")):
        context = _as(server, principal)
        try:
            ticket, message = start_optimize(1, None, depot_id, DAY.isoformat(), "auto", 5, [])
        finally:
            context.pop()
        assert words in str(message) and ticket is dash.no_update
