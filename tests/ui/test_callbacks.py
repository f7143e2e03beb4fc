"""The page callbacks on a real app: each returns the user's real data, scoped to their depots.

The callbacks are plain functions; they run here inside a Flask request of the app with the
principal set, as Dash would run them after the login guard.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dash
import pytest
from flask import g
from sample_data import Sample, build_sample
from tree import by_class, text, walk

from backend.auth.permissions import make_principal
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app_and_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dash.Dash, Sample]]:
    data_dir = tmp_path_factory.mktemp("ui-app")
    # tests/conftest.py points DATA_DIR at a temporary folder before `app` is imported.
    import app as app_module

    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    # One pinned instant for the sample and the app, mid-morning in the city, whatever the
    # date and hour the suite runs at (the sample's depots are in Chicago).
    clock = FixedClock(datetime(2026, 11, 27, 10, 30, tzinfo=ZoneInfo("America/Chicago")))
    with database.session() as session:
        sample = build_sample(session, today=date(2026, 11, 27))
    database.engine.dispose()
    yield app_module.create_app(settings, clock=clock), sample


@pytest.fixture
def as_user(app_and_sample):
    app, sample = app_and_sample

    def enter(role: str, depot_ids=(), vehicle_id=None):
        ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        ctx.push()
        g.principal = make_principal(
            user_id=1, username=role, role=role, depot_ids=depot_ids, vehicle_id=vehicle_id
        )
        contexts.append(ctx)
        return sample

    contexts: list = []
    yield enter
    for ctx in reversed(contexts):
        ctx.pop()


def _depots_of_orders(order_ids) -> set[int]:
    from sqlalchemy import select

    from backend.db.models import Order
    from callbacks._common import db_session

    with db_session() as session:
        return set(session.scalars(select(Order.depot_id).where(Order.id.in_(order_ids))))


def _dispatch_view(dispatch) -> dict:
    """Everything the Dispatch callbacks show the current user for the sample's today."""
    depots, depot_options = dispatch.load_depots(None)
    # Opened without a date: today in the depots' zone, set on the date picker too.
    stops, vehicles, _hideout, routes, orders, rows, kpis, pool, viewport, day = dispatch.load_day(
        None
    )
    graph, pages = dispatch.load_timeline(rows, "0", day)
    figure = graph.figure
    details = dispatch.load_stop_details(rows, day)
    return {
        "day": day,
        "depots": [f["properties"]["id"] for f in depots["features"]],
        "depot_options": {o["label"] for o in depot_options},
        "vehicles": {f["properties"]["name"] for f in vehicles["features"]},
        "rows": {r["name"] for r in rows},
        "row_depots": {r["depot"] for r in rows},
        "stop_vehicles": {f["properties"]["vehicle_id"] for f in stops["features"]},
        "stop_ids": {str(f["properties"]["stop_id"]) for f in stops["features"]},
        "route_ids": {f["properties"]["route_id"] for f in routes["features"]},
        "unassigned": {f["properties"]["id"] for f in orders["features"]},
        "kpis": kpis,
        "pool": pool,
        "viewport": viewport,
        "timeline": set(figure.data[0].y) if figure.data else set(),
        "pages": pages,
        "details": set(details["rows"]),
    }


def test_dispatch_callbacks_scoped_to_the_dispatchers_depot(as_user) -> None:
    from callbacks import dispatch

    sample = as_user("dispatcher", depot_ids=[1])
    assert sample.north_id == 1
    north = _dispatch_view(dispatch)
    assert north["day"] == sample.today.isoformat()
    assert north["depots"] == [sample.north_id] and north["depot_options"] == {"North depot"}
    assert north["vehicles"] == north["rows"] == {"VAN-1", "VAN-2", "TRK-1"}
    assert north["row_depots"] == {sample.north_id}
    # VAN-1's route of five stops, their cards, and the timeline of that one vehicle.
    assert north["route_ids"] == {sample.route_id}
    assert north["stop_vehicles"] == {sample.vehicle_ids["VAN-1"]}
    assert len(north["stop_ids"]) == 5 and north["details"] == north["stop_ids"]
    assert north["timeline"] == {"VAN-1"} and north["pages"][0]["label"] == "Vehicles 1–1 of 1"
    # The orders no route serves are the north depot's only.
    assert north["unassigned"] and _depots_of_orders(north["unassigned"]) == {sample.north_id}
    assert by_class(north["kpis"], "kpi") and "orders without a route" in text(north["pool"])
    assert "bounds" in north["viewport"]

    # The dispatcher of the other depot sees none of it.
    as_user("dispatcher", depot_ids=[sample.south_id])
    south = _dispatch_view(dispatch)
    assert south["depots"] == [sample.south_id] and south["depot_options"] == {"South depot"}
    assert south["vehicles"] == south["rows"] == {"VAN-3"}
    assert south["row_depots"] == {sample.south_id}
    assert not south["route_ids"] and not south["stop_ids"] and not south["details"]
    assert south["unassigned"] and _depots_of_orders(south["unassigned"]) == {sample.south_id}
    assert "VAN-1" not in south["timeline"]

    # A manager sees every depot.
    as_user("manager")
    everything = _dispatch_view(dispatch)
    assert set(everything["depots"]) == {sample.north_id, sample.south_id}
    assert everything["depot_options"] == {"North depot", "South depot"}
    assert everything["vehicles"] == everything["rows"] == set(sample.vehicle_ids)
    assert everything["route_ids"] == {sample.route_id}
    assert everything["stop_ids"] == north["stop_ids"] == everything["details"]
    assert everything["unassigned"] == north["unassigned"] | south["unassigned"]


def test_drivers_cannot_run_dispatch_callbacks(as_user) -> None:
    from callbacks import dispatch

    as_user("driver", depot_ids=[1], vehicle_id=1)
    day = "2026-11-27"
    for call in (
        lambda: dispatch.load_depots(None),
        lambda: dispatch.load_day(day),
        lambda: dispatch.load_alerts(None),
        lambda: dispatch.load_timeline([], "0", day),
        lambda: dispatch.load_stop_details([], day),
    ):
        with pytest.raises(dash.exceptions.PreventUpdate):
            call()


def test_orders_page_filters_and_pages(as_user) -> None:
    from callbacks import orders

    sample = as_user("manager")
    lookup, options, day = orders.load_lookups(None)
    assert {o["label"] for o in options} == {"North depot", "South depot"}
    assert set(lookup["vehicles"].values()) == set(sample.vehicle_ids)
    rows, pages, _, summary = orders.show_page(0, None, None, None, day, None, None, lookup, 25)
    total = sample.today_orders_north + sample.today_orders_south
    assert summary == f"Orders 1–25 of {total}" and len(rows) == 25 and pages == 3
    rows, _, _, summary = orders.show_page(2, None, None, None, day, None, None, lookup, 25)
    assert summary == f"Orders 51–{total} of {total}"
    rows, _, _, _ = orders.show_page(
        0, [{"column_id": "priority", "direction": "desc"}], None, ["failed"], day, None, None,
        lookup, 25,
    )  # fmt: skip
    assert rows and {r["status"] for r in rows} == {"failed"}
    assert [r["priority"] for r in rows] == sorted((r["priority"] for r in rows), reverse=True)
    rows, _, _, summary = orders.show_page(
        0, None, "Customer 7", None, None, None, None, lookup, 25
    )
    assert {r["customer_name"] for r in rows} >= {"Customer 7"}
    rows, _, _, _ = orders.show_page(0, None, None, None, day, None, "unassigned", lookup, 25)
    assert {r["vehicle_id"] for r in rows} == {"unassigned"}
    details = orders.show_details({"row": 0, "column": 0, "row_id": rows[0]["id"]}, lookup)
    assert rows[0]["reference"] in text(details)
    assert "Select an order" in text(orders.show_details(None, lookup))


def test_fleet_plans_analytics_models(as_user) -> None:
    from callbacks import analytics, fleet, models, plans

    sample = as_user("dispatcher", depot_ids=[2])
    kpis, table = fleet.show_vehicles(None)
    assert "VAN-3" in text(table) and "VAN-1" not in text(table)
    assert "Sam South" in text(fleet.show_drivers(None))
    rows, pages, _, ticks = plans.show_page(0, 25, None, None, None, None)
    assert len(rows) == sample.history_days and pages == 1 and ticks == []
    assert {r["depot"] for r in rows} == {"South depot"}
    assert "Tick two plans" in text(plans.compare([0], rows))
    both = text(plans.compare([0, 1], rows))
    assert "Score" in both and "B − A" in both and "Planning time" in both
    # Another depot's plan id (forged into the rows) is not shown.
    forged = [dict(rows[0]), dict(rows[1], response_id="not-mine")]
    assert "Tick two plans" in text(plans.compare([0, 1], forged))
    from backend.analytics.aggregates import refresh_aggregates
    from backend.runtime import current_runtime

    refresh_aggregates(current_runtime().db)
    assert [o["label"] for o in analytics.set_depot_options(None)] == ["South depot"]
    view = {"depots": [], "grain": "day", "units": "mi", "tab": "overview"}
    data = analytics.overview_data(analytics.check_view(view))
    assert sum(o for o in data["series"]["km"] if o) > 0
    tiles, *figures, _, _ = analytics.draw_overview(view)
    assert len(figures) == 8 and "Cost per mile" in text(tiles)
    assert "No models trained yet" in text(models.show_models(None))


def test_driver_sees_own_route_and_admin_picks_a_vehicle(as_user) -> None:
    from callbacks import driver

    sample = as_user("driver", depot_ids=[1], vehicle_id=1)
    view = driver.show_route({"vehicle": "4"}, None)  # a driver cannot pick another vehicle
    assert "VAN-1" in text(view) and len(by_class(view, "stop")) == 5
    as_user("admin")
    assert "Pick a vehicle" in text(driver.show_route({"vehicle": None}, None))
    other = driver.show_route({"vehicle": str(sample.vehicle_ids["VAN-3"])}, None)
    assert "VAN-3" in text(other) and "No route yet" in text(other)


def test_pages_register_with_permissions_and_build_without_io(app_and_sample) -> None:
    registry = {page["path"]: page for page in dash.page_registry.values()}
    # The same permission names the REST API and the socket check.
    expected = {
        "/": "vehicle:read",
        "/orders": "order:read",
        "/fleet": "vehicle:read",
        "/plans": "plan:read",
        "/analytics": "analytics:read",
        "/models": "model:read",
        "/driver": "route:read_own",
    }
    for path, permission in expected.items():
        assert registry[path]["permission"] == permission, path
        layout = registry[path]["layout"].__wrapped__()  # the unguarded page layout
        ids = [c.id for c in walk(layout) if isinstance(getattr(c, "id", None), str)]
        assert len(ids) == len(set(ids)), path
        assert all(i == i.lower() and "_" not in i for i in ids), path


def test_orders_page_filters_come_from_the_link(app_and_sample) -> None:
    registry = {page["path"]: page for page in dash.page_registry.values()}
    layout = registry["/orders"]["layout"].__wrapped__
    linked = layout(date="2026-11-27", status="failed,bogus,new", vehicle="unassigned")
    values = {c.id: c for c in walk(linked) if isinstance(getattr(c, "id", None), str)}
    assert values["orders-date"].date == "2026-11-27"
    assert values["orders-status"].value == ["failed", "new"]
    assert values["orders-assignment"].value == "unassigned"
    junk = {
        c.id: c
        for c in walk(layout(date="yesterday", vehicle="x"))
        if isinstance(getattr(c, "id", None), str)
    }
    assert junk["orders-date"].date is None and junk["orders-assignment"].value is None


def test_ui_modules_never_import_tensorflow() -> None:
    code = (
        "import sys, pkgutil, importlib, components, callbacks\n"
        "for pkg in (components, callbacks):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(f'{pkg.__name__}.{m.name}')\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for page in (ROOT / "pages").glob("*.py"):
        assert "tensorflow" not in page.read_text(), page
