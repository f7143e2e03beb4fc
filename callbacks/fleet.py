"""Fleet page callbacks: the vehicles (with live status and today's load) and the drivers."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import get_local_today, list_vehicle_markers
from backend.db.queries.drivers import list_drivers
from backend.db.queries.vehicles import list_vehicles
from backend.runtime import current_runtime
from callbacks._common import db_session, require_principal
from components import ids
from components.fleet import create_drivers_table, create_fleet_kpis, create_vehicles_table

ROLES = ("dispatcher", "manager", "admin")
MAX_VEHICLES = 500


def show_vehicles(_: Any) -> tuple[Any, Any]:
    """KPIs and the vehicles table (vehicles, depots and today's states: set-based queries)."""
    principal = require_principal(*ROLES)
    scope = principal.depot_ids
    now = current_runtime().clock.now()
    with db_session() as session:
        vehicles = list_vehicles(session, depot_ids=scope, page_size=MAX_VEHICLES).items
        depots = list_depots(session, depot_ids=scope, page_size=MAX_VEHICLES).items
        today = get_local_today(session, depot_ids=scope, now=now)
        markers = list_vehicle_markers(session, depot_ids=scope, service_date=today, now=now)
    live = {v.id: v for v in markers}
    depot_names = {d.id: d.name for d in depots}
    return create_fleet_kpis(vehicles, live), create_vehicles_table(vehicles, live, depot_names)


def show_drivers(_: Any) -> Any:
    """The drivers table."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        drivers = list_drivers(session, depot_ids=principal.depot_ids)
    return create_drivers_table(drivers)


def register(app: dash.Dash) -> None:
    """Register the Fleet callbacks on `app`."""
    app.callback(
        Output(ids.FLEET_KPIS, "children"),
        Output(ids.FLEET_VEHICLES_TABLE, "children"),
        Input(ids.FLEET_LOAD, "data"),
    )(show_vehicles)
    app.callback(
        Output(ids.FLEET_DRIVERS_TABLE, "children"),
        Input(ids.FLEET_LOAD, "data"),
    )(show_drivers)
