"""Dispatch page callbacks: the day, the map layers, KPIs and the vehicle list."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output

from backend.db.queries.dispatch import (
    get_local_today,
    list_depot_markers,
    list_order_markers,
    list_route_lines,
    list_vehicle_markers,
)
from backend.runtime import current_runtime
from callbacks._common import db_session, parse_date, require_principal, triggered_id
from components import ids
from components.dispatch import (
    create_dispatch_kpis,
    create_vehicle_list,
    depots_geojson,
    map_viewport,
    orders_geojson,
    orders_viewport,
    routes_geojson,
    vehicles_geojson,
)

ROLES = ("dispatcher", "manager", "admin")


def set_today(_: Any) -> str:
    """Open the page on today's date in the depots' time zone."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        return get_local_today(
            session, depot_ids=principal.depot_ids, now=current_runtime().clock.now()
        ).isoformat()


def load_depots(value: str | None) -> tuple[dict[str, Any], Any]:
    """The depots layer and a viewport centred on them."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        depots = list_depot_markers(session, depot_ids=principal.depot_ids)
    return depots_geojson(depots), map_viewport(depots) or dash.no_update


def load_orders(value: str | None, _refresh: int | None = None) -> tuple[dict[str, Any], Any, Any]:
    """The orders layer, the KPIs of the day and, for a new day, a viewport fitting the orders."""
    day = parse_date(value)
    if day is None:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    with db_session() as session:
        orders = list_order_markers(session, depot_ids=principal.depot_ids, service_date=day)
    # A reload after a realtime change keeps the map where the dispatcher left it.
    new_day = triggered_id() in (None, ids.DISPATCH_DATE)
    viewport = (orders_viewport(orders) if new_day else None) or dash.no_update
    return orders_geojson(orders), create_dispatch_kpis(orders, day), viewport


def load_routes(value: str | None, _refresh: int | None = None) -> dict[str, Any]:
    """The routes layer of the day."""
    day = parse_date(value)
    if day is None:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    with db_session() as session:
        routes = list_route_lines(session, depot_ids=principal.depot_ids, service_date=day)
    return routes_geojson(routes)


def load_vehicles(value: str | None, _refresh: int | None = None) -> tuple[dict[str, Any], Any]:
    """Initial vehicle positions (from vehicle_state) and the side list."""
    day = parse_date(value)
    if day is None:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    with db_session() as session:
        vehicles = list_vehicle_markers(
            session,
            depot_ids=principal.depot_ids,
            service_date=day,
            now=current_runtime().clock.now(),
        )
    return vehicles_geojson(vehicles), create_vehicle_list(vehicles)


def register(app: dash.Dash) -> None:
    """Register the Dispatch callbacks on `app`."""
    app.callback(
        Output(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_DATE, "id"),
    )(set_today)
    app.callback(
        Output(ids.DISPATCH_DEPOTS_LAYER, "data"),
        Output(ids.DISPATCH_MAP, "viewport"),
        Input(ids.DISPATCH_DATE, "id"),
    )(load_depots)
    app.callback(
        Output(ids.DISPATCH_ORDERS_LAYER, "data"),
        Output(ids.DISPATCH_KPIS, "children"),
        Output(ids.DISPATCH_MAP, "viewport", allow_duplicate=True),
        Input(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_REFRESH, "data"),
        prevent_initial_call=True,
    )(load_orders)
    app.callback(
        Output(ids.DISPATCH_ROUTES_LAYER, "data"),
        Input(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_REFRESH, "data"),
    )(load_routes)
    app.callback(
        Output(ids.DISPATCH_VEHICLES_BASE, "data"),
        Output(ids.DISPATCH_VEHICLE_LIST, "children"),
        Input(ids.DISPATCH_DATE, "date"),
        Input(ids.DISPATCH_REFRESH, "data"),
    )(load_vehicles)
    # Status filter: restyle the orders layer through its hideout, no server round trip.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="statusHideout"),
        Output(ids.DISPATCH_ORDERS_LAYER, "hideout"),
        Input(ids.DISPATCH_STATUS_FILTER, "value"),
        dash.State(ids.DISPATCH_ORDERS_LAYER, "hideout"),
    )
    # A click on a vehicle's name flies the map to where the vehicles layer shows it.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="focusVehicle"),
        Output(ids.DISPATCH_MAP, "viewport", allow_duplicate=True),
        Input({"type": ids.DISPATCH_VEHICLE_FOCUS, "index": dash.ALL}, "n_clicks"),
        dash.State(ids.DISPATCH_VEHICLES_LAYER, "data"),
        prevent_initial_call=True,
    )
    # Route and order changes announced over the socket reload the layers (throttled in JS).
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="reloadOnChanges"),
        Output(ids.DISPATCH_REFRESH, "data"),
        Input(ids.DISPATCH_LIVE_TICK, "n_intervals"),
        prevent_initial_call=True,
    )
    # Live positions from window.fleetRealtime applied in the browser every tick.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDispatch", function_name="applyPositions"),
        Output(ids.DISPATCH_VEHICLES_LAYER, "data"),
        Input(ids.DISPATCH_LIVE_TICK, "n_intervals"),
        Input(ids.DISPATCH_VEHICLES_BASE, "data"),
        # The activity thresholds of backend.db.queries.fleet_state, for live fixes.
        dash.State(ids.DISPATCH_VEHICLES_LAYER, "hideout"),
    )
