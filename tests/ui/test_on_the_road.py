"""The Fleet page and the Dispatch page agree on who is on the road, vehicle by vehicle.

Both run their real callbacks on the same database at the same pinned time (the runtime's
clock): the Fleet KPI "On the road", the Dispatch list's "N on the road", the status pill of
every vehicle on both pages and the map's vehicle features all come from one rule. The states
are the demo's: the position writer stores every fix as "idle", with its speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dash
import pytest
from flask import g
from sample_data import Sample, build_sample
from sqlalchemy import select
from tree import by_class, text

from backend.auth.permissions import make_principal
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import VehicleState
from backend.runtime import EXTENSION_KEY

TODAY = date(2026, 11, 27)
# 09:05 in Chicago: five minutes after the sample's fixes.
NOW = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def app_and_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dash.Dash, Sample]]:
    data_dir = tmp_path_factory.mktemp("ui-road")
    # tests/conftest.py points DATA_DIR at a temporary folder before `app` is imported.
    import app as app_module

    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    with database.session() as session:
        sample = build_sample(session, today=TODAY)
        states = {s.vehicle_id: s for s in session.scalars(select(VehicleState))}
        ids = sample.vehicle_ids
        # Driving at speed but stored "idle", as the position writer stores every fix.
        states[ids["VAN-2"]].status, states[ids["VAN-2"]].speed = "idle", 9.0
        # Standing still at a customer, away from the depot.
        states[ids["TRK-1"]].status, states[ids["TRK-1"]].speed = "idle", 0.0
        # Silent for an hour away from the depot.
        states[ids["VAN-1"]].recorded_at = NOW - timedelta(hours=1)
    database.engine.dispose()
    dash_app = app_module.create_app(settings)
    dash_app.server.extensions[EXTENSION_KEY].clock = FixedClock(NOW)
    yield dash_app, sample


@pytest.fixture
def as_user(app_and_sample):
    app, sample = app_and_sample
    contexts: list = []

    def enter(role: str, depot_ids=()) -> Sample:
        ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        ctx.push()
        g.principal = make_principal(user_id=1, username=role, role=role, depot_ids=depot_ids)
        contexts.append(ctx)
        return sample

    yield enter
    for ctx in reversed(contexts):
        ctx.pop()


def _fleet_figures() -> tuple[int, dict[str, str]]:
    from callbacks import fleet

    kpis, table = fleet.show_vehicles(None)
    card = next(c for c in by_class(kpis, "kpi") if "On the road" in text(c))
    on_road = int(by_class(card, "kpi-value")[0].children)
    rows = by_class(table, "data-table")[0].children[1].children
    pills = {text(row.children[0]).split()[0]: text(by_class(row, "pill")[0]) for row in rows}
    return on_road, pills


def _dispatch_figures(sample: Sample) -> tuple[int, dict[str, str], dict[str, str]]:
    from backend.db.queries.fleet_state import count_on_the_road
    from callbacks import dispatch

    stops, vehicles, *_rest, day = dispatch.load_day(None)
    assert day == TODAY.isoformat()
    # The map's vehicles carry the server's activity (one rule, backend/db/queries/fleet_state);
    # the Dispatch badge is that activity read against the vehicle's route.
    activities = {
        f["properties"]["name"]: f["properties"]["activity"] for f in vehicles["features"]
    }
    pills = {name: activity.title() for name, activity in activities.items()}
    return count_on_the_road(activities.values()), pills, activities


@pytest.mark.parametrize(("role", "depots"), [("manager", ()), ("dispatcher", (1,))])
def test_fleet_and_dispatch_agree(as_user, role: str, depots: tuple[int, ...]) -> None:
    sample = as_user(role, depot_ids=depots)
    fleet_on_road, fleet_pills = _fleet_figures()
    dispatch_on_road, dispatch_pills, activities = _dispatch_figures(sample)
    assert fleet_on_road == dispatch_on_road == 2
    assert fleet_pills == dispatch_pills
    assert fleet_pills["VAN-2"] == "Moving" and fleet_pills["TRK-1"] == "Stopped"
    assert fleet_pills["VAN-1"] == "Offline"
    assert {name: pill.lower() for name, pill in fleet_pills.items()} == activities
    if role == "manager":
        # VAN-3 has never reported: parked at its depot.
        assert fleet_pills["VAN-3"] == "Parked" and len(fleet_pills) == 4
    else:
        assert set(fleet_pills) == {"VAN-1", "VAN-2", "TRK-1"}
