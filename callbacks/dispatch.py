"""Dispatch page callbacks: the day's layers, panel, KPIs, alerts, pool and timeline.

Server callbacks load a day (one backend call each); everything live — positions, silence,
stop and route events, filters, focus, acknowledgments — is applied in the browser by
assets/js/dispatch.js without a round trip.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, State

from backend.db.queries.dispatch import (
    get_dispatch_day,
    get_local_today,
    get_timeline_day,
    list_alert_links,
    list_depot_markers,
    list_stop_rows,
    with_road_geometry,
)
from backend.road_geometry import route_geometry_for
from backend.runtime import current_runtime
from backend.services.notifications import list_notifications
from callbacks._common import db_session, parse_date, require_principal, triggered_id
from components import ids
from components.dispatch import (
    create_alerts_feed,
    create_dispatch_kpis,
    create_unassigned_pool,
    depots_geojson,
    map_hideout,
    points_viewport,
    routes_geojson,
    stop_details,
    stops_geojson,
    unassigned_geojson,
    vehicle_list_rows,
    vehicles_geojson,
)
from components.timeline import ROWS_PER_PAGE, create_timeline_figure, create_timeline_graph

ROLES = ("dispatcher", "manager", "admin")
# Alerts listed on the page (newest first).
ALERTS_SHOWN = 50


def _silent_after() -> timedelta:
    return timedelta(minutes=current_runtime().settings.vehicle_silent_after_min)


def load_depots(_value: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The depots layer and the depot filter's options."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        depots = list_depot_markers(session, depot_ids=principal.depot_ids)
    options = [{"label": d.name, "value": str(d.id)} for d in depots]
    return depots_geojson(depots), options


def load_day(value: str | None, _refresh: int | None = None) -> tuple[Any, ...]:
    """The day's map layers, vehicle panel, KPI strip and unassigned pool (one backend call).

    The page opens without a date: this callback picks today in the depots' time zone and
    sets the date picker itself, so the day loads in one round trip, not two.
    """
    principal = require_principal(*ROLES)
    now = current_runtime().clock.now()
    silent_after = _silent_after()
    with db_session() as session:
        day = parse_date(value) or get_local_today(session, depot_ids=principal.depot_ids, now=now)
        data = get_dispatch_day(
            session,
            depot_ids=principal.depot_ids,
            service_date=day,
            now=now,
            silent_after=silent_after,
        )
    routes = data.routes
    roads = route_geometry_for(current_runtime().settings.osrm_url)
    if roads is not None:
        routes = with_road_geometry(routes, data.stops, roads)
    # A reload after a realtime change keeps the map where the dispatcher left it.
    new_day = triggered_id() in (None, ids.DISPATCH_DATE) or value is None
    # A new day fits its stops (or, before any route, its vehicles).
    points = [(s.lat, s.lon) for s in data.stops] or [(v.lat, v.lon) for v in data.vehicles]
    viewport = (points_viewport(points) if new_day else None) or dash.no_update
    return (
        stops_geojson(data.stops),
        vehicles_geojson(data.vehicles),
        map_hideout(silent_after.total_seconds()),
        routes_geojson(routes),
        unassigned_geojson(data.unassigned),
        vehicle_list_rows(data.vehicles),
        create_dispatch_kpis(data.kpis, len(data.unassigned), day),
        create_unassigned_pool(data.unassigned),
        viewport,
        day.isoformat() if value is None else dash.no_update,
    )


def load_alerts(_value: Any, _refresh: int | None = None) -> Any:
    """The alerts feed: the user's notifications newest first, linked to vehicle and stop."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        notes = list_notifications(session, principal=principal, limit=ALERTS_SHOWN)
        links = list_alert_links(
            session,
            route_event_ids=[n.route_event_id for n in notes if n.route_event_id],
            depot_ids=principal.depot_ids,
        )
        depots = list_depot_markers(session, depot_ids=principal.depot_ids)
    return create_alerts_feed(notes, links, depots[0].timezone if depots else "UTC")


def load_timeline(_drawn: Any, page: int | str | None, value: str | None) -> tuple[Any, Any]:
    """One page of the route timeline (ROWS_PER_PAGE vehicles) as its graph, and the pages."""
    principal = require_principal(*ROLES)
    now = current_runtime().clock.now()
    try:
        index = max(0, int(page or 0))
    except (TypeError, ValueError):
        index = 0
    with db_session() as session:
        day = parse_date(value) or get_local_today(session, depot_ids=principal.depot_ids, now=now)
        data = get_timeline_day(
            session,
            depot_ids=principal.depot_ids,
            service_date=day,
            offset=index * ROWS_PER_PAGE,
            limit=ROWS_PER_PAGE,
        )
        depots = list_depot_markers(session, depot_ids=principal.depot_ids)
    pages = max(1, -(-data.total // ROWS_PER_PAGE))
    options = [
        {
            "label": f"Vehicles {i * ROWS_PER_PAGE + 1}–{min(data.total, (i + 1) * ROWS_PER_PAGE)}"
            f" of {data.total}",
            "value": str(i),
        }
        for i in range(pages)
    ]
    figure = create_timeline_figure(
        data.stops,
        data.unassigned,
        now=now,
        timezone=depots[0].timezone if depots else "UTC",
        rows=data.rows,
    )
    return create_timeline_graph(figure), options


def load_stop_details(_drawn: Any, value: str | None) -> dict[str, Any]:
    """The stops' card details, loaded once the map is drawn (one statement)."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        day = parse_date(value) or get_local_today(
            session, depot_ids=principal.depot_ids, now=current_runtime().clock.now()
        )
        stops = list_stop_rows(session, depot_ids=principal.depot_ids, service_date=day)
    return stop_details(stops)


def register(app: dash.Dash) -> None:
    """Register the Dispatch callbacks on `app`."""
    app.callback(
        Output(ids.DISPATCH_DEPOTS_LAYER, "data"),
        Output(ids.DISPATCH_DEPOT_FILTER, "options"),
        Input(ids.DISPATCH_DATE, "id"),
    )(load_depots)
    app.callback(
        Output(ids.DISPATCH_STOPS_LAYER, "data"),
        Output(ids.DISPATCH_VEHICLES_LAYER, "data"),
        Output(ids.DISPATCH_VEHICLES_LAYER, "hideout"),
        Output(ids.DISPATCH_ROUTES_LAYER, "data"),
        Output(ids.DISPATCH_ORDERS_LAYER, "data"),
        Output(ids.DISPATCH_VEHICLE_ROWS, "data"),
        Output(ids.DISPATCH_KPIS, "children"),
        Output(ids.DISPATCH_UNASSIGNED, "children"),
        Output(ids.DISPATCH_MAP, "viewport"),
        Output(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_REFRESH, "data"),
    )(load_day)
    app.callback(
        Output(ids.DISPATCH_ALERTS, "children"),
        Input(ids.DISPATCH_DATE, "id"),
        Input(ids.DISPATCH_REFRESH, "data"),
    )(load_alerts)
    # The timeline and the stops' card details wait until the browser has painted the day's
    # map and list (DISPATCH_DRAWN, set by assets/js/dispatch.js): asked for earlier, their
    # server work and plotly.js competed with drawing the map for the same CPU.
    app.callback(
        Output(ids.DISPATCH_TIMELINE_SLOT, "children"),
        Output(ids.DISPATCH_TIMELINE_PAGE, "options"),
        Input(ids.DISPATCH_DRAWN, "data"),
        Input(ids.DISPATCH_TIMELINE_PAGE, "value"),
        State(ids.DISPATCH_DATE, "date"),
        prevent_initial_call=True,
    )(load_timeline)
    app.callback(
        Output(ids.DISPATCH_STOP_DETAILS, "data"),
        Input(ids.DISPATCH_DRAWN, "data"),
        State(ids.DISPATCH_DATE, "date"),
        prevent_initial_call=True,
    )(load_stop_details)
    # The vehicle list is drawn in the browser from its rows; filters and search hide rows
    # there (no refetch). A click on a name flies the map to it (assets/js/dispatch.js).
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="renderVehicles"),
        Output(ids.DISPATCH_FILTER_APPLIED, "data"),
        Input(ids.DISPATCH_VEHICLE_ROWS, "data"),
        Input(ids.DISPATCH_SEARCH, "value"),
        Input(ids.DISPATCH_DEPOT_FILTER, "value"),
        Input(ids.DISPATCH_VEHICLE_STATUS_FILTER, "value"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="keepStopDetails"),
        Output(ids.DISPATCH_SELECTION, "data"),
        Input(ids.DISPATCH_STOP_DETAILS, "data"),
        prevent_initial_call=True,
    )
    # The browser keeps the loaded vehicles to fold live positions into the clusters' index.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="keepVehicles"),
        Output(ids.DISPATCH_LIVE, "data"),
        Input(ids.DISPATCH_VEHICLES_LAYER, "data"),
    )
    # A click on a timeline block selects its stop on the map.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="selectFromTimeline"),
        Output(ids.DISPATCH_MAP, "viewport", allow_duplicate=True),
        Output(ids.DISPATCH_STOPS_LAYER, "hideout"),
        Input(ids.DISPATCH_TIMELINE, "clickData"),
        State(ids.DISPATCH_STOPS_LAYER, "hideout"),
        prevent_initial_call=True,
    )
