"""Orders: a server-side paged, sorted and filtered table of orders."""

import datetime as dt

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
    permission="order:read",
)

PAGE_SIZE = 25


def _initial_filters(
    date: str | None, status: str | None, vehicle: str | None
) -> tuple[str | None, list[str], str | None]:
    # Links from other pages (e.g. the Dispatch KPIs) pre-set the filters; junk is ignored.
    try:
        day = dt.date.fromisoformat(date).isoformat() if date else None
    except ValueError:
        day = None
    statuses = [s for s in (status or "").split(",") if s in ORDER_STATUSES]
    assignment = vehicle if vehicle in ("assigned", "unassigned") else None
    return day, statuses, assignment


def layout(
    date: str | None = None, status: str | None = None, vehicle: str | None = None, **_: object
) -> html.Div:
    """The orders page: filters above a paged table (`?date=&status=a,b&vehicle=` pre-set them)."""
    day, statuses, assignment_value = _initial_filters(date, status, vehicle)
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
        value=assignment_value,
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
                            create_status_select(ids.ORDERS_STATUS, ORDER_STATUSES, statuses),
                            create_date_filter(ids.ORDERS_DATE, "Service date", day),
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
