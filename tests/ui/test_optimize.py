"""The optimize panel's callbacks for real: ticket, background job, proposed plan, accept."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dash
import pytest
from dash.exceptions import PreventUpdate
from flask import g
from sqlalchemy import select

from backend.auth.permissions import make_principal
from backend.auth.users import create_user, principal_for
from backend.cache import make_store
from backend.clock import FixedClock
from backend.db.models import OptimizationRequest, Order, Route
from backend.jobs.control import JobControl
from backend.realtime import get_realtime
from callbacks.optimize import accept, make_run_job, show_result, start_optimize, stop_optimize
from factories import DAY, at_hour, build_app, seed_small_day


@pytest.fixture
def panel(data_dir: Path):
    # The morning of DAY, whatever today is.
    dash_app, runtime = build_app(data_dir, clock=FixedClock(at_hour(7)))
    depot_id = seed_small_day(runtime.db)
    yield dash_app.server, runtime, depot_id
    runtime.db.engine.dispose()


def _user(runtime, username: str, role: str, depot_ids) -> object:
    """A real user (the job checks the requester against the database)."""
    with runtime.db.session() as session:
        return principal_for(
            create_user(
                session,
                username=username,
                password="pw-long-enough",
                role=role,
                depot_ids=depot_ids,
            )
        )


def _start(server, runtime, principal, depot_id, engine="ortools"):
    context = _as(server, principal)
    try:
        return start_optimize(1, None, depot_id, DAY.isoformat(), engine, 1, [], runtime=runtime)
    finally:
        context.pop()


def _wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _as(server, principal):
    context = server.test_request_context("/")
    context.push()
    g.principal = principal
    return context


def test_optimize_then_accept_from_the_panel(panel) -> None:
    server, runtime, depot_id = panel
    dispatcher = _user(runtime, "disp", "dispatcher", [depot_id])
    heard: list[dict] = []
    get_realtime(runtime).bus.subscribe(lambda channel, text: heard.append(json.loads(text)))
    context = _as(server, dispatcher)
    try:
        ticket, message = start_optimize(
            1, None, depot_id, DAY.isoformat(), "ortools", 1, [], runtime=runtime
        )
        # The browser holds an id and its signature, nothing it could change to its advantage.
        assert set(ticket) == {"request_id", "signature"} and "Optimizing" in str(message)
        progress: list[tuple] = []
        result = make_run_job(runtime)(lambda figures: progress.append(figures), ticket)
        assert result["status"] == "completed" and result["orders"] == 12
        summary, _, routes = show_result(result, DAY.isoformat())
        assert "Proposed plan" in str(summary) and "Every order is planned" in str(summary)
        # The proposal is drawn as tentative lines, nothing of them driven yet.
        assert routes["features"] and all(
            f["properties"]["tentative"] and f["properties"]["driven"] is False
            for f in routes["features"]
        )
        note, active = accept(1, result, DAY.isoformat(), runtime)
        assert "Plan accepted" in str(note) and active["features"]
        # The runner announced the job's end itself, then accept told the depot which routes
        # became active (its dashboards and drivers).
        _wait_until(lambda: any(m["status"] == "completed" for m in heard))
        updates = [(m["type"], m["status"], m["depotId"]) for m in heard]
        assert set(updates) == {
            ("route_optimization_update", "completed", depot_id),
            ("route_optimization_update", "accepted", depot_id),
        }
        accepted = next(m for m in heard if m["status"] == "accepted")
        assert len(accepted["routeIds"]) == len(active["features"])
    finally:
        context.pop()
    with runtime.db.session() as session:
        assert {o.status for o in session.scalars(select(Order))} == {"planned"}
        assert {r.status for r in session.scalars(select(Route))} == {"active"}
    # Following the same ticket again shows the same plan and plans nothing new.
    again = make_run_job(runtime)(lambda figures: None, ticket)
    assert again["response_id"] == result["response_id"]
    with runtime.db.session() as session:
        assert len(session.scalars(select(OptimizationRequest)).all()) == 1


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
    server, runtime, depot_id = panel
    manager = make_principal(user_id=2, username="boss", role="manager")
    other = make_principal(user_id=3, username="d2", role="dispatcher", depot_ids=[depot_id + 1])
    for principal, words in ((manager, "may not"), (other, "Choose a depot")):
        context = _as(server, principal)
        try:
            ticket, message = start_optimize(
                1, None, depot_id, DAY.isoformat(), "auto", 5, [], runtime=runtime
            )
        finally:
            context.pop()
        assert words in str(message) and ticket is dash.no_update


def test_a_crafted_ticket_cannot_follow_another_users_job(panel) -> None:
    """The probe: a crafted update posts a ticket naming someone else's request."""
    server, runtime, depot_id = panel
    owner = _user(runtime, "owner", "dispatcher", [depot_id])
    ticket, _ = _start(server, runtime, owner, depot_id)
    other, _ = _start(server, runtime, owner, depot_id)
    # A made-up signature, another ticket's signature, none, or no ticket: nothing is shown.
    for crafted in (
        {**ticket, "signature": "0" * 64},
        {"request_id": ticket["request_id"], "signature": other["signature"]},
        {"request_id": ticket["request_id"]},
        "not-a-dict",
        None,
    ):
        with pytest.raises(PreventUpdate):
            make_run_job(runtime)(lambda figures: None, crafted)
    # Fields smuggled next to a genuine signature change nothing: the stored request ran.
    steered = {**ticket, "depot_id": depot_id + 1, "engine": "pyvrp", "by": "someone-else"}
    result = make_run_job(runtime)(lambda figures: None, steered)
    assert result["status"] == "completed"
    with runtime.db.session() as session:
        row = session.get(OptimizationRequest, ticket["request_id"])
        assert row.depot_id == depot_id and row.meta["requested_by"] == "owner"
        assert row.constraints["engine"] == "ortools" and row.meta["source"] == "panel"


def test_drivers_and_managers_cannot_start_and_stop_needs_scope(panel) -> None:
    """A driver gets no ticket; Stop of another depot's job is refused like REST's 404."""
    server, runtime, depot_id = panel
    owner = _user(runtime, "owner", "dispatcher", [depot_id])
    ticket, _ = _start(server, runtime, owner, depot_id)
    driver = make_principal(user_id=50, username="drv", role="driver", depot_ids=[depot_id])
    refused, message = _start(server, runtime, driver, depot_id)
    assert refused is dash.no_update and "may not" in str(message)
    stranger = make_principal(
        user_id=51, username="d2", role="dispatcher", depot_ids=[depot_id + 1]
    )
    control = JobControl(make_store(runtime.settings))
    for principal in (stranger, driver):
        context = _as(server, principal)
        try:
            try:
                stop_optimize(1, ticket, runtime)
            except PreventUpdate:
                pass
        finally:
            context.pop()
        assert not control.is_cancelled(ticket["request_id"])
    context = _as(server, owner)
    try:
        assert "Stopping" in str(stop_optimize(1, ticket, runtime))
    finally:
        context.pop()
    assert control.is_cancelled(ticket["request_id"])


def test_a_bad_engine_gets_a_form_message(panel) -> None:
    server, runtime, depot_id = panel
    owner = _user(runtime, "owner", "dispatcher", [depot_id])
    ticket, message = _start(server, runtime, owner, depot_id, engine="magic")
    assert ticket is dash.no_update and "engine" in str(message)


def test_back_on_the_page_only_an_open_job_or_a_plan_to_review_is_shown(panel) -> None:
    """The page mounting with the tab's last ticket follows it only while it is worth it."""
    server, runtime, depot_id = panel
    dispatcher = _user(runtime, "back", "dispatcher", [depot_id])
    context = _as(server, dispatcher)
    try:
        ticket, _ = start_optimize(
            1, None, depot_id, DAY.isoformat(), "ortools", 1, [], runtime=runtime
        )
        follow = make_run_job(runtime)
        # Proposed and not yet accepted: shown again for review.
        result = follow(lambda figures: None, ticket, resumed=True)
        assert result["status"] == "completed"
        accept(1, result, DAY.isoformat(), runtime)
        # Accepted: the page does not offer it again.
        with pytest.raises(PreventUpdate):
            follow(lambda figures: None, ticket, resumed=True)
    finally:
        context.pop()
