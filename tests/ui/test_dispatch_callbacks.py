"""The Dispatch callbacks on a real app, inside a Flask request with a principal: the day's
layers, panel rows, KPIs, pool, alerts and timeline, scoped to the dispatcher's depots, in a
fixed number of statements; drivers are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dash
import pytest
from flask import g
from sample_data import Sample, build_sample
from sqlalchemy import event
from tree import by_class

from backend.auth.permissions import make_principal
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.runtime import EXTENSION_KEY


@pytest.fixture(scope="module")
def app_and_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dash.Dash, Sample]]:
    import app as app_module

    data_dir = tmp_path_factory.mktemp("ui-dispatch")
    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    clock = FixedClock(datetime(2026, 11, 27, 9, 5, tzinfo=ZoneInfo("America/Chicago")))
    with database.session() as session:
        sample = build_sample(session, today=date(2026, 11, 27))
    database.engine.dispose()
    yield app_module.create_app(settings, clock=clock), sample


@pytest.fixture
def as_user(app_and_sample):
    app, sample = app_and_sample
    contexts: list = []

    def enter(role: str, depot_ids=(), vehicle_id=None):
        ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        ctx.push()
        g.principal = make_principal(
            user_id=1, username=role, role=role, depot_ids=depot_ids, vehicle_id=vehicle_id
        )
        contexts.append(ctx)
        return app, sample

    yield enter
    for ctx in reversed(contexts):
        ctx.pop()


def test_the_day_is_scoped_and_costs_a_fixed_number_of_statements(as_user) -> None:
    from callbacks import dispatch

    app, sample = as_user("dispatcher", depot_ids=[1])
    engine = app.server.extensions[EXTENSION_KEY].db.engine
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        # Opened without a date: today in the depot's zone, set on the date picker too.
        first = dispatch.load_day(None)
        assert first[-1] == sample.today.isoformat()
        statements.clear()
        day = first[-1]
        loaded = dispatch.load_day(day)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    stops, vehicles, hideout, routes, orders, rows, kpis, pool, viewport, date_out = loaded
    assert date_out is dash.no_update
    assert len(statements) == 6
    assert day == sample.today.isoformat()
    assert {f["properties"]["name"] for f in vehicles["features"]} == {"VAN-1", "VAN-2", "TRK-1"}
    assert {r["name"] for r in rows} == {"VAN-1", "VAN-2", "TRK-1"}
    assert len(stops["features"]) == 5 and routes["features"]
    assert hideout["rules"]["silentAfterS"] == 600  # VEHICLE_SILENT_AFTER_MIN
    assert by_class(kpis, "kpi") and orders["features"]
    assert "bounds" in viewport


def test_alerts_and_timeline(as_user) -> None:
    from callbacks import dispatch

    _app, sample = as_user("dispatcher", depot_ids=[1])
    assert by_class(dispatch.load_alerts(None), "alerts-list")
    # The graph itself comes with the data (plotly.js loads only once the map is drawn).
    graph, options = dispatch.load_timeline(None, "0", sample.today.isoformat())
    assert options[0]["label"] == "Vehicles 1–1 of 1"
    assert graph.id == "dispatch-timeline"
    assert "VAN-1" in set(graph.figure.data[0].y)


def test_drivers_cannot_run_dispatch_callbacks(as_user) -> None:
    from callbacks import dispatch

    as_user("driver", depot_ids=[1], vehicle_id=1)
    with pytest.raises(dash.exceptions.PreventUpdate):
        dispatch.load_day("2026-11-27")
