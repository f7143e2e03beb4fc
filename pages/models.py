"""Models: the ML models (ETA, demand forecast) and the data available to train them."""

import dash
from dash import dcc, html

from components import ids
from components.models import create_forecast_section, create_training_controls
from components.ui import create_loading, create_page_header

dash.register_page(
    __name__,
    path="/models",
    name="Models",
    title="Models",
    order=50,
    permission="model:read",
)


def layout(**_kwargs: object) -> html.Div:
    """The models page."""
    return html.Div(
        className="page page-models",
        children=[
            dcc.Store(id=ids.MODELS_LOAD, data=0),
            create_page_header(
                "Models",
                "Machine-learning models and their training data.",
                actions=[create_training_controls()],
            ),
            create_loading(html.Div(id=ids.MODELS_CONTENT)),
            create_forecast_section(),
        ],
    )
