"""Fleet: vehicles with type, capacity, costs, shift, skills and status; and the drivers."""

import dash
from dash import dcc, html

from components import ids
from components.ui import create_card, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/fleet",
    name="Fleet",
    title="Fleet",
    order=20,
    permission="vehicle:read",
)


def layout(**_kwargs: object) -> html.Div:
    """The fleet page."""
    return html.Div(
        className="page page-fleet",
        children=[
            dcc.Store(id=ids.FLEET_LOAD, data=0),
            create_page_header("Fleet", "Vehicles and drivers of your depots."),
            create_loading(html.Div(id=ids.FLEET_KPIS, className="kpi-slot")),
            create_card(html.Div(id=ids.FLEET_VEHICLES_TABLE), title="Vehicles"),
            create_card(html.Div(id=ids.FLEET_DRIVERS_TABLE), title="Drivers"),
        ],
    )
