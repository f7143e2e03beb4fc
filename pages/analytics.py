"""Analytics: on-time rate, cost per km and mile, utilization, fuel, CO2 and failures over time."""

import dash
from dash import dcc, html

from components import ids
from components.analytics import create_chart
from components.filters import create_date_range, create_depot_filter
from components.ui import create_card, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/analytics",
    name="Analytics",
    title="Analytics",
    order=40,
    roles=["dispatcher", "manager", "admin"],
)


def layout(**_kwargs: object) -> html.Div:
    """The analytics page: filters, KPI tiles and trend charts."""
    units = dcc.RadioItems(
        id=ids.ANALYTICS_UNITS,
        options=[{"label": " km", "value": "km"}, {"label": " miles", "value": "mi"}],
        value="km",
        inline=True,
        className="units-toggle",
    )
    return html.Div(
        className="page page-analytics",
        children=[
            dcc.Store(id=ids.ANALYTICS_REPORT),
            create_page_header(
                "Analytics",
                "How the fleet performed, day by day.",
                [
                    create_depot_filter(ids.ANALYTICS_DEPOT),
                    create_date_range(ids.ANALYTICS_DATES, "Service dates"),
                    html.Fieldset(
                        [html.Legend("Distance unit", className="field-label"), units],
                        className="field field-set",
                    ),
                ],
            ),
            create_loading(html.Div(id=ids.ANALYTICS_KPIS, className="kpi-slot")),
            html.Div(
                className="grid-2",
                children=[
                    create_card(create_chart(ids.ANALYTICS_ON_TIME_CHART)),
                    create_card(create_chart(ids.ANALYTICS_COST_CHART)),
                    create_card(create_chart(ids.ANALYTICS_UTILIZATION_CHART)),
                    create_card(create_chart(ids.ANALYTICS_EMISSIONS_CHART)),
                    create_card(create_chart(ids.ANALYTICS_FAILED_CHART)),
                    create_card(create_chart(ids.ANALYTICS_ORDERS_CHART)),
                ],
            ),
        ],
    )
