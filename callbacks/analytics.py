"""Analytics callbacks: the view goes into the URL; cards, charts, tables and drill-down come out.

Flow: a filter, a chart click or a table click -> `write_url` puts the new view in the query
string -> `sync_view` parses it into the view store (a shared link does the same through the
page's layout) -> the store fires `draw_overview`, `draw_breakdown` and `draw_drill`, each one
backend call of a few set-based queries on the daily aggregates.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import dash
from dash import Input, Output, State, no_update

from backend.analytics.kpis import KPIS, LATENESS_BINS, Measures, Targets
from backend.analytics.queries import (
    effective_depots,
    get_breakdown,
    get_overview,
    list_drill_orders,
    list_drill_routes,
    measures_by,
    period_start,
    previous_range,
)
from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import get_local_today
from backend.jobs.runner import FINAL_STATES
from backend.jobs.schedule import REFRESH_KIND
from backend.jobs.tickets import sign_ticket, verify_ticket
from backend.runtime import current_runtime
from callbacks._common import (
    InvalidInput,
    as_choice,
    as_int_list,
    db_session,
    parse_date,
    require_principal,
    triggered_id,
)
from components import ids
from components.analytics import (
    CHARTS,
    CSV_TARGETS,
    DRILL_ORDER_COLUMNS,
    DRILL_ROUTE_COLUMNS,
    FILTERS_STORE,
    GRAINS,
    REFRESH_DONE_STORE,
    REFRESH_JOB_STORE,
    REFRESH_POLL,
    SCORECARD_ID,
    SCORECARD_KPIS,
    TAB_DIMENSION,
    TABLE_TITLES,
    TABS,
    TIME_CHARTS,
    UNITS,
    breakdown_columns,
    breakdown_record,
    chart_id,
    chart_rows,
    create_figures,
    create_kpi_cards,
    create_url_message,
    csv_id,
    describe_refresh,
    kpi_cards_data,
    parse_drill,
    parse_search,
    table_csv,
    to_csv,
    view_filters,
    view_to_search,
)
from components.filters import depot_options

ROLES = ("dispatcher", "manager", "admin")
REFRESH_ROLES = ("manager", "admin")
DEFAULT_DAYS = 28


def check_view(view: object) -> dict[str, Any]:
    """The view store as the browser sent it, checked (400 for anything our page never makes).

    An empty store (None) is the default view.
    """
    if view is None:
        view = {}
    if not isinstance(view, Mapping):
        raise InvalidInput("view", "must be an object")
    out: dict[str, Any] = {}
    for name in ("from", "to"):
        value = view.get(name)
        if value is not None and parse_date(value) is None:
            raise InvalidInput(f"view.{name}", "must be a date")
        out[name] = parse_date(value)
    out["depots"] = as_int_list(view.get("depots"), "view.depots", max_items=50)
    out["grain"] = as_choice(view.get("grain"), "view.grain", GRAINS) or "day"
    out["units"] = as_choice(view.get("units"), "view.units", UNITS) or "km"
    out["tab"] = as_choice(view.get("tab"), "view.tab", TABS) or "overview"
    drill = view.get("drill")
    if drill is not None and (not isinstance(drill, str) or parse_drill(drill) is None):
        raise InvalidInput("view.drill", "must be like period:2026-03-02 or vehicle:7")
    out["drill"] = drill
    return out


def _range(
    session: Any, view: Mapping[str, Any], scope: frozenset[int] | None
) -> tuple[date, date]:
    if view["from"] and view["to"]:
        return view["from"], view["to"]
    today = get_local_today(session, depot_ids=scope, now=current_runtime().clock.now())
    end = view["to"] or today - timedelta(days=1)
    return view["from"] or end - timedelta(days=DEFAULT_DAYS - 1), end


def set_depot_options(_: Any) -> list[dict[str, Any]]:
    """The depots this user may pick (a dispatcher: only their own)."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        depots = list_depots(session, depot_ids=principal.depot_ids, page_size=500).items
    return depot_options(depots)


def write_url(
    depots: Any,
    start: Any,
    end: Any,
    grain: Any,
    units: Any,
    tab: Any,
    active_cell: Any,
    _clear: Any,
    view: Any,
    *clicks: Any,
) -> str:
    """The query string of the view the controls, a chart click or a row click ask for."""
    require_principal(*ROLES)
    current = check_view(view)
    trigger = triggered_id()
    new: dict[str, Any] = {
        "from": (parse_date(start) or current["from"]),
        "to": (parse_date(end) or current["to"]),
        "depots": as_int_list(depots, "depots", max_items=50),
        "grain": as_choice(grain, "grain", GRAINS) or "day",
        "units": as_choice(units, "units", UNITS) or "km",
        "tab": as_choice(tab, "tab", TABS) or "overview",
        "drill": current["drill"],
    }
    charts = {chart_id(key): i for i, (key, _) in enumerate(CHARTS)}
    if trigger in charts:
        new["drill"] = _chart_drill(CHARTS[charts[trigger]][0], clicks[charts[trigger]])
    elif trigger == ids.ANALYTICS_TABLE:
        new["drill"] = _row_drill(current["tab"], active_cell)
    elif trigger == ids.ANALYTICS_DRILL_CLEAR:
        new["drill"] = None
    elif trigger in (ids.ANALYTICS_TAB, ids.ANALYTICS_DEPOT, ids.ANALYTICS_DATES):
        new["drill"] = None
    if new["from"] and new["to"] and new["to"] < new["from"]:
        new["from"], new["to"] = new["to"], new["from"]
    search = view_to_search(
        {k: v.isoformat() if isinstance(v, date) else v for k, v in new.items()}
    )
    if new == current:
        raise dash.exceptions.PreventUpdate
    return search


def sync_view(search: Any, current: Any) -> tuple[Any, Any, Any]:
    """The view store from the query string write_url (or the back button) just set.

    The location also reports the search it was loaded with; that view is the layout's own
    already, and writing it again would only redraw everything a second time.
    """
    require_principal(*ROLES)
    if search is not None and not isinstance(search, str):
        raise InvalidInput("search", "must be a query string")
    view, problems = parse_search(search)
    if view == current:
        raise dash.exceptions.PreventUpdate
    same_filters = isinstance(current, Mapping) and view_filters(view) == view_filters(current)
    filters = no_update if same_filters else view_filters(view)
    return view, filters, create_url_message(problems)


def _chart_drill(chart: str, data: Any) -> str | None:
    if chart not in TIME_CHARTS or data is None:
        return None
    try:
        day = parse_date(str(data["points"][0]["x"]))
    except (TypeError, KeyError, IndexError):
        raise InvalidInput("clickData", "must hold a point with an x date") from None
    return f"period:{day.isoformat()}" if day else None


def _row_drill(tab: str, active_cell: Any) -> str | None:
    if not isinstance(active_cell, Mapping):
        return None
    row_id = active_cell.get("row_id")
    if isinstance(row_id, bool) or not isinstance(row_id, int) or row_id < 0:
        raise InvalidInput("active_cell", "must name a row of the table")
    return f"{TAB_DIMENSION[tab]}:{row_id}"


def _series(trend: list[Any], keys: tuple[str, ...]) -> dict[str, list[float | None]]:
    by_key = {k.key: k for k in KPIS}
    out: dict[str, list[float | None]] = {}
    for key in keys:
        if key in by_key:
            out[key] = [by_key[key].value(p.measures) for p in trend]
        else:  # a plain sum (None for a period with no route)
            out[key] = [getattr(p.measures, key) if p.measures.routes else None for p in trend]
    return out


SERIES_KEYS = (
    "on_time_rate", "cost_per_km", "cost_per_mile", "fleet_utilization", "load_utilization",
    "mpg", "l_per_100km", "planning_minutes", "km", "km_planned", "eta_error_min",
)  # fmt: skip


def overview_data(view: Mapping[str, Any]) -> dict[str, Any]:
    """The overview of a checked view, as JSON: cards, series per period, lateness, reasons."""
    principal = require_principal(*ROLES)
    scope = effective_depots(principal.depot_ids, view["depots"])
    targets = Targets.from_settings(current_runtime().settings).as_dict()
    with db_session() as session:
        date_from, date_to = _range(session, view, principal.depot_ids)
        try:
            overview = get_overview(
                session, depot_ids=scope, date_from=date_from, date_to=date_to,
                grain=view["grain"],
            )  # fmt: skip
        except ValueError as exc:
            raise InvalidInput("view", str(exc)) from None
    m = overview.current
    reasons = [
        {"status": status, "reason": reason or "unknown", "orders": n}
        for status, found in (("failed", m.failed_reasons), ("cancelled", m.cancelled_reasons))
        for reason, n in sorted(found.items(), key=lambda kv: -kv[1])
    ]
    has_data = bool(m.routes or m.orders or m.requests)
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "units": view["units"],
        "cards": kpi_cards_data(m, overview.previous, targets, view["units"]) if has_data else [],
        "periods": [p.start.isoformat() for p in overview.trend],
        "series": _series(overview.trend, SERIES_KEYS),
        "targets": targets,
        "lateness": {label: getattr(m, field) for label, field in LATENESS_BINS},
        "reasons": reasons,
    }


def draw_overview(view: Any, _refreshed: Any = None) -> tuple[Any, ...]:
    """KPI cards and every chart; fills the date pickers when the URL had no range.

    Drawn again when a refresh job ends (`_refreshed`, the done store).
    """
    checked = check_view(view)
    data = overview_data(checked)
    dates: tuple[Any, Any] = (no_update, no_update)
    if not (checked["from"] and checked["to"]):
        dates = (data["from"], data["to"])
    return create_kpi_cards(data["cards"]), *create_figures(data), *dates


def breakdown_data(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of the tab's table: per depot, driver or vehicle, with a sparkline."""
    principal = require_principal(*ROLES)
    scope = effective_depots(principal.depot_ids, view["depots"])
    tab = view["tab"]
    grain: Any
    with db_session() as session:
        date_from, date_to = _range(session, view, principal.depot_ids)
        span = (date_to - date_from).days
        grain = "day" if span <= 31 else "week" if span <= 190 else "month"
        rows = get_breakdown(
            session, dimension=TAB_DIMENSION[tab], depot_ids=scope, date_from=date_from,
            date_to=date_to, grain=grain,
        )  # fmt: skip
    records = []
    for row in rows:
        record = breakdown_record(tab, row.key, row.name, row.measures, row.series, view["units"])
        record["id"] = row.key
        records.append(record)
    return records


def draw_breakdown(view: Any, _refreshed: Any = None) -> tuple[Any, ...]:
    """The breakdown table of the tab, its columns and title (again after a refresh)."""
    checked = check_view(view)
    return (
        breakdown_data(checked),
        breakdown_columns(checked["tab"], checked["units"]),
        TABLE_TITLES[checked["tab"]],
    )


def drill_data(view: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """A title, the routes and the failed/cancelled orders behind the drilled point or row."""
    principal = require_principal(*ROLES)
    scope = effective_depots(principal.depot_ids, view["depots"])
    drill = parse_drill(view["drill"])
    with db_session() as session:
        date_from, date_to = _range(session, view, principal.depot_ids)
        dimension: Any = None
        key = None
        title = f"Routes from {date_from:%b %-d} to {date_to:%b %-d, %Y} (latest 200)"
        if drill and drill[0] == "period":
            start = date.fromisoformat(drill[1])
            start = max(period_start(start, view["grain"]), date_from)
            end = min(_period_end(start, view["grain"]), date_to)
            date_from, date_to = start, max(start, end)
            title = f"Routes of {view['grain']} {start:%b %-d, %Y}"
        elif drill:
            dimension, key = drill[0], int(drill[1])
            title = f"Routes of {dimension} #{key}"
        kwargs: dict[str, Any] = {
            "depot_ids": scope,
            "date_from": date_from,
            "date_to": date_to,
            "dimension": dimension,
            "key": key,
        }
        routes = list_drill_routes(session, **kwargs)
        orders = list_drill_orders(session, **kwargs)
    if dimension is not None and routes:
        name = {"depot": routes[0].depot, "vehicle": routes[0].vehicle,
                "driver": routes[0].driver}[dimension]  # fmt: skip
        title = f"Routes of {name} ({dimension}), latest 200"
    route_rows = [
        {"id": r.route_id, "day": r.day.isoformat(), "depot": r.depot, "vehicle": r.vehicle,
         "driver": r.driver, "stops": r.stops, "on_time": r.on_time, "failed": r.failed,
         "planned_km": r.planned_km, "actual_km": r.actual_km, "planned_min": r.planned_min,
         "actual_min": r.actual_min, "eta_error_min": r.eta_error_min}
        for r in routes
    ]  # fmt: skip
    order_rows = [
        {"id": o.order_id, "day": o.day.isoformat(), "reference": o.reference,
         "customer": o.customer, "status": o.status, "reason": o.reason, "vehicle": o.vehicle}
        for o in orders
    ]  # fmt: skip
    return title, route_rows, order_rows


def _period_end(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def scorecard_data(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The drilled driver's, vehicle's or depot's cards over the range (none for a period)."""
    drill = parse_drill(view["drill"])
    if not drill or drill[0] == "period":
        return []
    principal = require_principal(*ROLES)
    scope = effective_depots(principal.depot_ids, view["depots"])
    dimension, key = drill[0], int(drill[1])
    column = {"depot": "depot_id", "vehicle": "vehicle_id", "driver": "driver_id"}[dimension]
    targets = Targets.from_settings(current_runtime().settings).as_dict()
    with db_session() as session:
        date_from, date_to = _range(session, view, principal.depot_ids)
        prev_from, prev_to = previous_range(date_from, date_to)
        now, before = (
            measures_by(session, keys=(column,), date_from=a, date_to=b, depot_ids=scope)
            for a, b in ((date_from, date_to), (prev_from, prev_to))
        )
    current = now.get((key,))
    if current is None:
        return []
    previous = before.get((key,)) or Measures()
    return kpi_cards_data(current, previous, targets, view["units"], SCORECARD_KPIS[dimension])


def draw_drill(view: Any) -> tuple[Any, ...]:
    """The drill-down card: scorecard, title, routes (plan vs actual), failed/cancelled orders."""
    checked = check_view(view)
    cards = scorecard_data(checked)
    return *drill_data(checked), create_kpi_cards(cards) if cards else None


def download_csv(view: Any, *clicks: Any) -> Any:
    """The clicked chart or table as a CSV file (the same rows the page shows)."""
    buttons = {csv_id(target): target for target in CSV_TARGETS}
    trigger = triggered_id()
    if trigger not in buttons or not any(clicks):
        raise dash.exceptions.PreventUpdate
    target = buttons[trigger]
    checked = check_view(view)
    if target == "table":
        text = table_csv(
            breakdown_columns(checked["tab"], checked["units"]), breakdown_data(checked)
        )
    elif target in ("routes", "orders"):
        _, routes, orders = drill_data(checked)
        columns = DRILL_ROUTE_COLUMNS if target == "routes" else DRILL_ORDER_COLUMNS
        text = table_csv(columns, routes if target == "routes" else orders)
    elif target in {key for key, _ in CHARTS}:
        text = to_csv(*chart_rows(str(target), overview_data(checked)))
    else:
        raise InvalidInput("target", "must be a chart or a table of this page")
    return {"content": text, "filename": f"analytics-{target}.csv", "type": "text/csv"}


def refresh_figures(n_clicks: Any) -> tuple[Any, Any, Any]:
    """Submit an `analytics_refresh` job (managers and admins); the poll follows it from here.

    The browser holds a ticket (the job id, signed for this user), never a bare id.
    """
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    if principal.role not in REFRESH_ROLES:
        return "Only managers can refresh the figures.", no_update, no_update
    runtime = current_runtime()
    job_id = runtime.jobs.submit(REFRESH_KIND, f"{REFRESH_KIND}-{uuid.uuid4().hex}")
    ticket = sign_ticket(runtime.settings.effective_secret_key, job_id, principal.user_id)
    return describe_refresh("queued", None), ticket, False


def poll_refresh(_n: Any, ticket: Any, done: Any) -> tuple[Any, Any, Any]:
    """The refresh job's state; once it has ended, stop polling and redraw the figures."""
    principal = require_principal(*ROLES)
    runtime = current_runtime()
    job_id = verify_ticket(runtime.settings.effective_secret_key, ticket, principal.user_id)
    if job_id is None:
        return no_update, True, no_update
    status = runtime.jobs.status(job_id)
    if status not in FINAL_STATES:
        return describe_refresh(status, None), False, no_update
    redraw = (done or 0) + 1 if isinstance(done, int) and not isinstance(done, bool) else 1
    return describe_refresh(status, runtime.jobs.result(job_id)), True, redraw


def register(app: dash.Dash) -> None:
    """Register the Analytics callbacks on `app`."""
    # Plain ids, one per chart: the app's request check allows no wildcard inputs.
    figures = [Output(chart_id(key), "figure") for key, _ in CHARTS]
    app.callback(
        Output(ids.ANALYTICS_DEPOT, "options"),
        Input(FILTERS_STORE, "data"),
    )(set_depot_options)
    app.callback(
        Output(ids.ANALYTICS_URL, "search"),
        Input(ids.ANALYTICS_DEPOT, "value"),
        Input(ids.ANALYTICS_DATES, "start_date"),
        Input(ids.ANALYTICS_DATES, "end_date"),
        Input(ids.ANALYTICS_GRAIN, "value"),
        Input(ids.ANALYTICS_UNITS, "value"),
        Input(ids.ANALYTICS_TAB, "value"),
        Input(ids.ANALYTICS_TABLE, "active_cell"),
        Input(ids.ANALYTICS_DRILL_CLEAR, "n_clicks"),
        State(ids.ANALYTICS_VIEW, "data"),
        *(Input(chart_id(key), "clickData") for key, _ in CHARTS),
        prevent_initial_call=True,
    )(write_url)
    app.callback(
        Output(ids.ANALYTICS_VIEW, "data"),
        Output(FILTERS_STORE, "data"),
        Output(ids.ANALYTICS_MESSAGE, "children"),
        Input(ids.ANALYTICS_URL, "search"),
        State(ids.ANALYTICS_VIEW, "data"),
        prevent_initial_call=True,
    )(sync_view)
    app.callback(
        Output(ids.ANALYTICS_KPIS, "children"),
        *figures,
        Output(ids.ANALYTICS_DATES, "start_date"),
        Output(ids.ANALYTICS_DATES, "end_date"),
        Input(FILTERS_STORE, "data"),
        Input(REFRESH_DONE_STORE, "data"),
    )(draw_overview)
    app.callback(
        Output(ids.ANALYTICS_TABLE, "data"),
        Output(ids.ANALYTICS_TABLE, "columns"),
        Output(ids.ANALYTICS_TABLE_TITLE, "children"),
        Input(FILTERS_STORE, "data"),
        Input(REFRESH_DONE_STORE, "data"),
    )(draw_breakdown)
    app.callback(
        Output(ids.ANALYTICS_DRILL_TITLE, "children"),
        Output(ids.ANALYTICS_DRILL_ROUTES, "data"),
        Output(ids.ANALYTICS_DRILL_ORDERS, "data"),
        Output(SCORECARD_ID, "children"),
        Input(ids.ANALYTICS_VIEW, "data"),
    )(draw_drill)
    app.callback(
        Output(ids.ANALYTICS_DOWNLOAD, "data"),
        State(ids.ANALYTICS_VIEW, "data"),
        *(Input(csv_id(target), "n_clicks") for target in CSV_TARGETS),
        prevent_initial_call=True,
    )(download_csv)
    app.callback(
        Output(ids.ANALYTICS_REFRESH_STATUS, "children"),
        Output(REFRESH_JOB_STORE, "data"),
        Output(REFRESH_POLL, "disabled"),
        Input(ids.ANALYTICS_REFRESH, "n_clicks"),
        prevent_initial_call=True,
    )(refresh_figures)
    app.callback(
        Output(ids.ANALYTICS_REFRESH_STATUS, "children", allow_duplicate=True),
        Output(REFRESH_POLL, "disabled", allow_duplicate=True),
        Output(REFRESH_DONE_STORE, "data"),
        Input(REFRESH_POLL, "n_intervals"),
        State(REFRESH_JOB_STORE, "data"),
        State(REFRESH_DONE_STORE, "data"),
        prevent_initial_call=True,
    )(poll_refresh)
