"""Orders: a server-side paged, sorted and filtered table of orders."""

import dash
from dash import dcc, html

from components import ids
from components.filters import create_date_filter, create_depot_filter, create_status_select
from components.orders import ORDER_COLUMNS, ORDER_NUMERIC
from components.tables import create_server_table
from components.ui import ORDER_STATUSES, create_card, create_field, create_page_header

dash.register_page(
    __name__,
    path="/orders",
    name="Orders",
    title="Orders",
    order=10,
    roles=["dispatcher", "manager", "admin"],
)

PAGE_SIZE = 25


def layout(**_kwargs: object) -> html.Div:
    """The orders page: filters above a paged table."""
    search = dcc.Input(
        id=ids.ORDERS_SEARCH,
        type="search",
        placeholder="Reference, customer or address",
        debounce=True,
        maxLength=100,
        className="search-input",
    )
    assignment = dcc.Dropdown(
        id=ids.ORDERS_ASSIGNMENT,
        options=[
            {"label": "Assigned", "value": "assigned"},
            {"label": "Unassigned", "value": "unassigned"},
        ],
        placeholder="Any",
    )
    return html.Div(
        className="page page-orders",
        children=[
            dcc.Store(id=ids.ORDERS_LOOKUP),
            create_page_header("Orders", "Every order of your depots; filter, sort and page."),
            create_card(
                [
                    html.Div(
                        className="filter-bar",
                        children=[
                            create_field("Search", search, ids.ORDERS_SEARCH),
                            create_status_select(ids.ORDERS_STATUS, ORDER_STATUSES),
                            create_date_filter(ids.ORDERS_DATE, "Service date"),
                            create_depot_filter(ids.ORDERS_DEPOT),
                            create_field("Vehicle", assignment, ids.ORDERS_ASSIGNMENT),
                        ],
                    ),
                ],
            ),
            create_card(
                [
                    html.Div(id=ids.ORDERS_SUMMARY, className="list-summary", role="status"),
                    create_server_table(
                        ids.ORDERS_TABLE,
                        ORDER_COLUMNS,
                        page_size=PAGE_SIZE,
                        sort_by=[{"column_id": "window_start", "direction": "asc"}],
                        numeric=ORDER_NUMERIC,
                        selectable=True,
                    ),
                ]
            ),
            create_card(
                html.Div(id=ids.ORDERS_DETAILS),
                title="Order details",
                card_id="orders-details-card",
            ),
        ],
    )
