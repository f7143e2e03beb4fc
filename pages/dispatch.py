"""Dispatch: the live map of depots, vehicles and today's orders, with the day's KPIs."""

import dash
from dash import dcc, html

from components import ids
from components.dispatch import create_dispatch_map, create_status_filter
from components.optimize import create_optimize_panel
from components.ui import create_card, create_field, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/",
    name="Dispatch",
    title="Dispatch",
    order=0,
    roles=["dispatcher", "manager", "admin"],
)

# How often the browser applies the latest live positions to the vehicles layer.
LIVE_TICK_MS = 1000


def layout(**_kwargs: object) -> html.Div:
    """The dispatch page: KPIs on top, the map and the vehicle list side by side."""
    date_picker = dcc.DatePickerSingle(
        id=ids.DISPATCH_DATE, display_format="MMM D, YYYY", clearable=False
    )
    return html.Div(
        className="page page-dispatch",
        children=[
            create_page_header(
                "Dispatch",
                "Depots, vehicles and the day's orders. Vehicles move as live positions arrive.",
                [create_field("Service date", date_picker, ids.DISPATCH_DATE)],
            ),
            create_loading(html.Div(id=ids.DISPATCH_KPIS, className="kpi-slot")),
            create_optimize_panel(),
            html.Div(
                className="dispatch-grid",
                children=[
                    create_card(
                        [create_dispatch_map(), create_status_filter()],
                        className="map-card",
                    ),
                    create_card(
                        create_loading(html.Div(id=ids.DISPATCH_VEHICLE_LIST)),
                        title="Vehicles",
                        className="side-card",
                    ),
                ],
            ),
            dcc.Store(id=ids.DISPATCH_VEHICLES_BASE),
            dcc.Store(id=ids.DISPATCH_REFRESH),
            dcc.Interval(id=ids.DISPATCH_LIVE_TICK, interval=LIVE_TICK_MS),
        ],
    )
