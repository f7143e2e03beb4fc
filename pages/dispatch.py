"""Dispatch: the dispatcher's live day — map, vehicle panel, alerts, unassigned pool, timeline."""

import dash
from dash import dcc, html

from components import ids
from components.dispatch import create_dispatch_map, create_map_legend, create_panel_filters
from components.optimize import create_optimize_panel
from components.timeline import create_timeline_slot
from components.ui import create_card, create_field, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/",
    name="Dispatch",
    title="Dispatch",
    order=0,
    permission="vehicle:read",
)


def layout(**_kwargs: object) -> html.Div:
    """The dispatch page: KPIs, the map beside the vehicle panel, alerts and pool, the timeline."""
    date_picker = dcc.DatePickerSingle(
        id=ids.DISPATCH_DATE, display_format="MMM D, YYYY", clearable=False
    )
    return html.Div(
        className="page page-dispatch",
        children=[
            create_page_header(
                "Dispatch",
                "Today's routes live: vehicles move as their positions arrive.",
                [create_field("Service date", date_picker, ids.DISPATCH_DATE)],
            ),
            html.Div(id=ids.DISPATCH_KPIS, className="kpi-slot"),
            html.Div(
                className="dispatch-grid",
                children=[
                    create_card([create_dispatch_map(), create_map_legend()], className="map-card"),
                    create_card(
                        [
                            create_panel_filters(),
                            html.Div(id=ids.DISPATCH_VEHICLE_LIST, className="vehicle-scroll"),
                        ],
                        title="Vehicles",
                        className="side-card",
                    ),
                ],
            ),
            create_optimize_panel(),
            html.Div(
                className="dispatch-lower",
                children=[
                    create_card(
                        html.Div(id=ids.DISPATCH_ALERTS, className="alerts-scroll"),
                        title="Alerts",
                        className="alerts-card",
                    ),
                    create_card(
                        html.Div(id=ids.DISPATCH_UNASSIGNED, className="pool-scroll"),
                        title="Unassigned orders",
                        className="pool-card",
                    ),
                ],
            ),
            create_card(
                [
                    dcc.Dropdown(
                        id=ids.DISPATCH_TIMELINE_PAGE,
                        options=[{"label": "Vehicles", "value": "0"}],
                        value="0",
                        clearable=False,
                        searchable=False,
                        className="timeline-page",
                    ),
                    create_loading(create_timeline_slot()),
                ],
                title="Route timeline",
                className="timeline-card",
            ),
            dcc.Store(id=ids.DISPATCH_REFRESH),
            dcc.Store(id=ids.DISPATCH_FILTER_APPLIED),
            dcc.Store(id=ids.DISPATCH_SELECTION),
            dcc.Store(id=ids.DISPATCH_LIVE),
            dcc.Store(id=ids.DISPATCH_VEHICLE_ROWS),
            dcc.Store(id=ids.DISPATCH_STOP_DETAILS),
            dcc.Store(id=ids.DISPATCH_DRAWN),
        ],
    )
