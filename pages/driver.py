"""Driver: a phone-sized view of the logged-in driver's route."""

import dash
from dash import html

dash.register_page(
    __name__,
    path="/driver",
    name="Driver",
    title="My route",
    order=90,
    roles=["driver", "admin"],
)


def layout(**_kwargs: object) -> html.Div:
    """The driver page."""
    return html.Div(html.H2("My route"), className="panel")
