"""Driver page callbacks: the logged-in driver's route of the day, refreshed periodically."""

from __future__ import annotations

from typing import Any

import dash
from dash import ClientsideFunction, Input, Output, html

from backend.db.queries.driver import get_driver_day
from backend.runtime import current_runtime
from callbacks._common import db_session, require_principal
from components import ids
from components.driver import create_driver_view
from components.ui import create_empty_state


def show_route(store: dict[str, Any] | None, _n: int | None, _bump: int | None = None) -> html.Div:
    """The route of the driver's own vehicle (an admin may name one with ?vehicle=)."""
    principal = require_principal("driver", "admin")
    vehicle_id = principal.vehicle_id
    requested = (store or {}).get("vehicle")
    if principal.role == "admin" and requested:
        try:
            vehicle_id = int(requested)
        except ValueError:
            vehicle_id = None
    if vehicle_id is None:
        if principal.role == "admin":
            return create_empty_state(
                "Pick a vehicle",
                "Admins have no vehicle of their own: open /driver?vehicle=<id> to see a "
                "vehicle's route as its driver does.",
            )
        return create_driver_view(None)
    with db_session() as session:
        day = get_driver_day(session, vehicle_id=vehicle_id, now=current_runtime().clock.now())
    return create_driver_view(day)


def register(app: dash.Dash) -> None:
    """Register the Driver callbacks on `app`."""
    app.callback(
        Output(ids.DRIVER_CONTENT, "children"),
        Input(ids.DRIVER_LOAD, "data"),
        Input(ids.DRIVER_REFRESH, "n_intervals"),
        Input(ids.DRIVER_BUMP, "data"),
    )(show_route)
    # Route messages from the realtime client bump a store, which reloads the route.
    app.clientside_callback(
        ClientsideFunction(namespace="fleetDriver", function_name="routeChanged"),
        Output(ids.DRIVER_BUMP, "data"),
        Input(ids.DRIVER_LIVE_TICK, "n_intervals"),
        prevent_initial_call=True,
    )
