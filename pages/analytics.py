"""Analytics: KPIs against targets, trends, breakdowns, scorecards and drill-down, from the URL.

Every filter is a query parameter (`?from=2026-03-01&to=2026-03-31&depots=1,2&grain=week&
units=mi&tab=drivers&drill=vehicle:7`), so a view is bookmarkable and shareable; the page is
rebuilt from the URL into the view store that the page's figures are drawn from.
"""

import dash
from dash import dcc, html

from components import ids
from components.analytics import (
    CHARTS,
    DRILL_ORDER_COLUMNS,
    DRILL_ROUTE_COLUMNS,
    FILTERS_STORE,
    GRAINS,
    SCORECARD_ID,
    TABLE_TITLES,
    create_chart_card,
    create_data_table,
    create_refresh_stores,
    create_url_message,
    csv_button,
    parse_view,
    view_filters,
)
from components.ui import create_card, create_field, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/analytics",
    name="Analytics",
    title="Analytics",
    order=40,
    permission="analytics:read",
)


def layout(**params: object) -> html.Div:
    """The analytics page for the view in the query string (defaults: the last 28 days)."""
    view, problems = parse_view(params)
    depots = dcc.Dropdown(
        id=ids.ANALYTICS_DEPOT, options=[], value=view["depots"], multi=True,
        placeholder="All my depots",
    )  # fmt: skip
    dates = dcc.DatePickerRange(
        id=ids.ANALYTICS_DATES, start_date=view["from"], end_date=view["to"],
        display_format="MMM D, YYYY", clearable=False,
    )  # fmt: skip
    grain = dcc.RadioItems(
        id=ids.ANALYTICS_GRAIN, value=view["grain"], inline=True, className="units-toggle",
        options=[{"label": f" {g}", "value": g} for g in GRAINS],
    )  # fmt: skip
    units = dcc.RadioItems(
        id=ids.ANALYTICS_UNITS, value=view["units"], inline=True, className="units-toggle",
        options=[{"label": " km", "value": "km"}, {"label": " miles", "value": "mi"}],
    )  # fmt: skip
    tabs = dcc.Tabs(
        id=ids.ANALYTICS_TAB, value=view["tab"], className="analytics-tabs",
        children=[
            dcc.Tab(label="Overview", value="overview"),
            dcc.Tab(label="Drivers", value="drivers"),
            dcc.Tab(label="Vehicles", value="vehicles"),
        ],
    )  # fmt: skip
    return html.Div(
        className="page page-analytics",
        children=[
            dcc.Location(id=ids.ANALYTICS_URL, refresh=False),
            dcc.Store(id=ids.ANALYTICS_VIEW, data=view),
            dcc.Store(id=FILTERS_STORE, data=view_filters(view)),
            dcc.Download(id=ids.ANALYTICS_DOWNLOAD),
            *create_refresh_stores(),
            create_page_header(
                "Analytics",
                "How the fleet performed against its targets. Click a point or a row for the "
                "routes behind it; the address bar holds the view to share.",
                [
                    create_field("Depots", depots, ids.ANALYTICS_DEPOT),
                    create_field("Service dates", dates, ids.ANALYTICS_DATES),
                    html.Fieldset([html.Legend("Trend per", className="field-label"), grain],
                                  className="field field-set"),
                    html.Fieldset([html.Legend("Distance unit", className="field-label"), units],
                                  className="field field-set"),
                    html.Div(
                        [html.Button("Refresh figures", id=ids.ANALYTICS_REFRESH,
                                     className="btn btn-small", n_clicks=0),
                         html.Span(id=ids.ANALYTICS_REFRESH_STATUS, className="field-hint")],
                        className="field",
                    ),
                ],
            ),  # fmt: skip
            html.Div(create_url_message(problems), id=ids.ANALYTICS_MESSAGE),
            tabs,
            create_loading(html.Div(id=ids.ANALYTICS_KPIS, className="kpi-slot")),
            html.Div(className="grid-2 analytics-charts",
                     children=[create_chart_card(key, title) for key, title in CHARTS]),
            create_card(
                [
                    html.Div([html.H2(TABLE_TITLES[view["tab"]], id=ids.ANALYTICS_TABLE_TITLE,
                                      className="card-title"), csv_button("table")],
                             className="analytics-card-tools"),
                    create_data_table(ids.ANALYTICS_TABLE),
                ],
                className="analytics-breakdown",
            ),
            create_card(
                [
                    html.Div([html.H2("Routes behind the figures", id=ids.ANALYTICS_DRILL_TITLE,
                                      className="card-title"),
                              csv_button("routes", "Routes CSV"),
                              csv_button("orders", "Orders CSV"),
                              html.Button("Clear", id=ids.ANALYTICS_DRILL_CLEAR,
                                          className="btn btn-small", n_clicks=0)],
                             className="analytics-card-tools"),
                    html.Div(id=SCORECARD_ID, className="analytics-scorecard"),
                    create_data_table(ids.ANALYTICS_DRILL_ROUTES, DRILL_ROUTE_COLUMNS),
                    html.H3("Failed and cancelled orders", className="card-subtitle"),
                    create_data_table(ids.ANALYTICS_DRILL_ORDERS, DRILL_ORDER_COLUMNS),
                ],
                className="analytics-drill",
                card_id=ids.ANALYTICS_DRILL,
            ),
        ],
    )  # fmt: skip
