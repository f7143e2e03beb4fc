"""The Analytics page: the view round-trips through the URL, CSV matches the table, the
callbacks are scoped (a dispatcher sees only their depots) and refuse forged input with a 400."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dash
import pytest
from flask import g
from sample_data import Sample, build_sample
from tree import text

from backend.analytics.kpis import Measures
from backend.auth.permissions import make_principal
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from callbacks._common import InvalidInput
from components.analytics import (
    CHARTS,
    breakdown_columns,
    create_figures,
    default_view,
    fmt_kpi,
    kpi_cards_data,
    parse_search,
    parse_view,
    sparkline,
    table_csv,
    to_csv,
    view_to_search,
)

FULL_VIEW = {
    "from": "2026-03-01",
    "to": "2026-03-31",
    "depots": [1, 3],
    "grain": "week",
    "units": "mi",
    "tab": "drivers",
    "drill": "vehicle:7",
}


def test_every_filter_round_trips_through_the_url() -> None:
    """view -> query string -> view gives back every filter; defaults stay out of the URL."""
    search = view_to_search(FULL_VIEW)
    assert search.startswith("?from=2026-03-01&to=2026-03-31&depots=1%2C3&grain=week")
    view, problems = parse_search(search)
    assert problems == [] and view == FULL_VIEW
    assert view_to_search(default_view()) == ""
    for drill in ("period:2026-03-02", "depot:1", "driver:12"):
        assert parse_search(view_to_search({**FULL_VIEW, "drill": drill}))[0]["drill"] == drill


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"depots": "1,<script>"}, "depots"),
        ({"grain": "hour"}, "grain"),
        ({"tab": "../admin"}, "tab"),
        ({"drill": "vehicle:x"}, "drill"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "days"),
    ],
)
def test_bad_url_values_become_a_message_and_a_default(params, field) -> None:
    """A hand-edited link never breaks the page: each bad value is named and reset."""
    view, problems = parse_view(params)
    assert len(problems) == 1 and field in problems[0]
    assert view["grain"] in ("day", "week", "month") and view["tab"] == "overview"


def test_csv_export_matches_the_table() -> None:
    """The CSV has the table's headers in order and its cells; formulas are defused."""
    columns = breakdown_columns("vehicles", "km")
    rows = [
        {"name": "VAN-1", "routes": 3, "distance": 120.5, "cost_per_km": 2.5, "trend": "▁▅█"},
        {"name": "=HYPERLINK(1)", "routes": 1},
    ]
    parsed = list(csv.reader(io.StringIO(table_csv(columns, rows))))
    assert parsed[0] == [c["name"] for c in columns]
    first = dict(zip(parsed[0], parsed[1], strict=True))
    assert (first["Vehicle"], first["Routes"], first["Distance, km"]) == ("VAN-1", "3", "120.5")
    assert first["Utilization trend"] == "▁▅█"
    assert parsed[2][0] == "'=HYPERLINK(1)"
    assert to_csv(["a", "b"], [[1, None]]) == "a,b\n1,\n"


def _measures() -> Measures:
    return Measures(
        routes=2, km=200.0, km_planned=190.0, route_min=900, shift_min=1200, cost=400.0,
        fuel_l=20.0, visited=10, on_time=9, planning_n=2, planning_min=1.0, orders=12,
        failed=1, failed_reasons={"customer_not_home": 1},
    )  # fmt: skip


def test_cards_show_value_change_and_target() -> None:
    """Each card: its value, the change against the previous period and the target."""
    previous = _measures()
    previous.on_time = 8
    targets = {"on_time_rate": 0.98, "cost_per_mile": 1.2, "planning_minutes": 1.0}
    cards = {c["key"]: c for c in kpi_cards_data(_measures(), previous, targets, "mi")}
    on_time = cards["on_time_rate"]
    assert on_time["value"] == "90.0%" and on_time["change"] == "▲ +10.0 pts vs previous"
    assert on_time["target"] == "98.0%" and on_time["tone"] == "bad"
    assert "cost_per_km" not in cards and cards["cost_per_mile"]["target"] == "$1.20"
    assert cards["planning_minutes"]["tone"] == "good"
    assert fmt_kpi("distance_km", 160.9344, "mi") == "100.0 mi"
    assert sparkline([0.1, None, 0.5, 0.9]) == "▁ ▄█"


def test_every_time_chart_has_title_units_and_target_line() -> None:
    """Titles, axis titles, and a dashed target line on the charts whose KPI has a target."""
    data = {
        "periods": ["2026-03-01", "2026-03-02"],
        "series": {"on_time_rate": [0.9, 0.95], "cost_per_km": [2.0, 1.5], "mpg": [7.0, 8.0]},
        "targets": {"on_time_rate": 0.98, "cost_per_km": 0.75, "fleet_utilization": 0.9,
                    "mpg": 7.8, "planning_minutes": 1.0},
        "lateness": {"on time": 5}, "reasons": [
            {"status": "failed", "reason": "<b>x</b>", "orders": 2}],
        "units": "km",
    }  # fmt: skip
    figures = dict(zip([k for k, _ in CHARTS], create_figures(data), strict=True))
    for key in ("on_time", "cost", "utilization", "fuel", "planning"):
        layout = figures[key]["layout"]
        assert layout["title"]["text"] and layout["yaxis"]["title"]["text"]
        (line,) = layout["shapes"]
        assert line["line"]["dash"] == "dash"
        assert layout["annotations"][0]["text"].startswith("target ")
    assert figures["on_time"]["layout"]["shapes"][0]["y0"] == 0.98
    assert figures["reasons"]["data"][0]["y"] == ["&lt;b&gt;x&lt;/b&gt;"]
    import plotly.graph_objects as go

    for fig in figures.values():  # every dict is a valid plotly figure
        go.Figure(fig)


# --- the callbacks in a request, as Dash runs them ----------------------------------------------


@pytest.fixture(scope="module")
def app_and_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dash.Dash, Sample]]:
    import app as app_module
    from backend.analytics.aggregates import refresh_aggregates

    settings = load_settings(DATA_DIR=tmp_path_factory.mktemp("analytics-app"), DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    clock = FixedClock(datetime(2026, 11, 27, 10, 30, tzinfo=ZoneInfo("America/Chicago")))
    with database.session() as session:
        sample = build_sample(session, today=date(2026, 11, 27))
    refresh_aggregates(database)
    database.engine.dispose()
    yield app_module.create_app(settings, clock=clock), sample


@pytest.fixture
def as_user(app_and_sample):
    app, sample = app_and_sample
    contexts: list = []

    def enter(role: str, depot_ids=()):
        ctx = app.server.test_request_context("/_dash-update-component", method="POST")
        ctx.push()
        g.principal = make_principal(user_id=1, username=role, role=role, depot_ids=depot_ids)
        contexts.append(ctx)
        return sample

    yield enter
    for ctx in reversed(contexts):
        ctx.pop()


def test_dispatcher_sees_only_their_depot_manager_sees_all(as_user) -> None:
    """Options, figures, tables and drill-down all stay inside the dispatcher's depots."""
    from callbacks import analytics

    sample = as_user("dispatcher", depot_ids=[sample_id := 2])
    assert [o["value"] for o in analytics.set_depot_options(None)] == [sample_id]
    # Even a forged pick of the other depot shows nothing of it.
    forged = analytics.check_view({**default_view(), "depots": [sample.north_id]})
    assert analytics.overview_data(forged)["cards"] == []
    view = analytics.check_view(default_view())
    data = analytics.overview_data(view)
    assert data["to"] == "2026-11-26" and data["from"] == "2026-10-30"
    rows = analytics.breakdown_data(view)
    assert [r["name"] for r in rows] == ["South depot"]
    _, routes, _ = analytics.drill_data(view)
    assert routes and {r["depot"] for r in routes} == {"South depot"}
    as_user("manager")
    rows = analytics.breakdown_data(analytics.check_view(default_view()))
    assert {r["name"] for r in rows} == {"North depot", "South depot"}


def test_overview_cards_charts_and_the_url(as_user) -> None:
    """The overview's cards and charts; a row click drills down through the URL."""
    from callbacks import analytics

    sample = as_user("manager")
    cards, *figures, start, end = analytics.draw_overview(default_view())
    assert "On-time rate" in text(cards) and "target 98.0%" in text(cards)
    assert len(figures) == len(CHARTS) and (start, end) == ("2026-10-30", "2026-11-26")
    view = {**default_view(), "from": start, "to": end}
    search = analytics.write_url([], start, end, "week", "km", "vehicles", None, 0, view)
    assert parse_search(search)[0] == {**view, "grain": "week", "tab": "vehicles"}
    title, routes, orders = analytics.drill_data(
        analytics.check_view({**view, "drill": f"depot:{sample.south_id}"})
    )
    assert "South depot" in title and {r["depot"] for r in routes} == {"South depot"}
    # One vehicle's scorecard: utilization, cost, fuel, incidents with change and target.
    *_, scorecard = analytics.draw_drill(
        {**view, "drill": f"vehicle:{sample.vehicle_ids['VAN-3']}"}
    )
    assert "Fleet utilization" in text(scorecard) and "Incidents" in text(scorecard)
    assert "target 90.0%" in text(scorecard)
    assert analytics.draw_drill({**view, "drill": "vehicle:9999"})[-1] is None
    week = analytics.drill_data(
        analytics.check_view({**view, "grain": "week", "drill": "period:2026-11-25"})
    )
    assert {r["day"] for r in week[1]} <= {f"2026-11-{d}" for d in range(23, 27)}


@pytest.mark.parametrize(
    "view",
    [
        "not a view",
        {**default_view(), "grain": "hour"},
        {**default_view(), "depots": ["1"]},
        {**default_view(), "drill": "vehicle:-1"},
        {**default_view(), "from": "nope"},
    ],
)
def test_forged_views_get_a_400(as_user, view) -> None:
    """A store the page never makes is refused with InvalidInput (HTTP 400), never a 500."""
    from callbacks import analytics

    as_user("manager")
    with pytest.raises(InvalidInput):
        analytics.draw_breakdown(view)


def test_a_drill_down_click_redraws_only_the_drill_down(as_user) -> None:
    """The URL's view reaches the stores; a new drill leaves the filters (cards, charts) be."""
    from callbacks import analytics

    as_user("manager")
    current = {**default_view(), "from": "2026-11-01", "to": "2026-11-26"}
    view, filters, message = analytics.sync_view(
        view_to_search({**current, "drill": "vehicle:3"}), current
    )
    assert view["drill"] == "vehicle:3" and filters is dash.no_update and message is None
    _, filters, _ = analytics.sync_view(view_to_search({**current, "grain": "week"}), current)
    assert filters["grain"] == "week" and "drill" not in filters
    with pytest.raises(dash.exceptions.PreventUpdate):
        analytics.sync_view(view_to_search(current), current)
    _, _, message = analytics.sync_view("?grain=hour", current)
    assert "grain" in text(message)


def test_downloaded_csv_is_the_table_on_screen(as_user, monkeypatch) -> None:
    """The CSV button of the table returns the rows draw_breakdown shows, in its columns."""
    from callbacks import analytics
    from components.analytics import CSV_TARGETS, csv_id

    as_user("manager")
    view = {**default_view(), "tab": "vehicles"}
    rows, columns, _ = analytics.draw_breakdown(view)
    clicks = [0] * len(CSV_TARGETS)
    clicks[CSV_TARGETS.index("table")] = 1
    monkeypatch.setattr(analytics, "triggered_id", lambda: csv_id("table"))
    download = analytics.download_csv(view, *clicks)
    parsed = list(csv.reader(io.StringIO(download["content"])))
    assert parsed[0] == [c["name"] for c in columns]
    assert [r[0] for r in parsed[1:]] == [r["name"] for r in rows]
    assert download["filename"] == "analytics-table.csv"
    monkeypatch.setattr(analytics, "triggered_id", lambda: csv_id("on_time"))
    chart = analytics.download_csv(view, *clicks)
    assert chart["content"].splitlines()[0] == "period,on_time_rate"
