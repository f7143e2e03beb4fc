"""Plans: the history of optimization requests and their results."""

import dash
from dash import html

from components import ids
from components.filters import create_date_range, create_depot_filter
from components.plans import PLAN_COLUMNS, PLAN_NUMERIC
from components.tables import create_server_table
from components.ui import create_card, create_loading, create_page_header

dash.register_page(
    __name__,
    path="/plans",
    name="Plans",
    title="Plans",
    order=30,
    permission="plan:read",
)


def layout(**_kwargs: object) -> html.Div:
    """The plans page: filters, summary tiles and the paged table."""
    return html.Div(
        className="page page-plans",
        children=[
            create_page_header(
                "Plans",
                "Every optimization request with its score, distance, duration, fuel and CO2.",
                [
                    create_depot_filter(ids.PLANS_DEPOT),
                    create_date_range(ids.PLANS_DATES, "Requested between"),
                ],
            ),
            create_loading(html.Div(id=ids.PLANS_SUMMARY, className="kpi-slot")),
            create_card(
                create_server_table(
                    ids.PLANS_TABLE,
                    PLAN_COLUMNS,
                    sort_by=[{"column_id": "created_at", "direction": "desc"}],
                    numeric=PLAN_NUMERIC,
                    row_selectable="multi",
                ),
                title="Optimization history",
            ),
            create_card(
                create_loading(html.Div(id=ids.PLANS_COMPARE)),
                title="Compare plans",
            ),
        ],
    )
