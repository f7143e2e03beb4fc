"""Dispatch: the live map of depots, vehicles and today's orders."""

import dash
from dash import html

dash.register_page(
    __name__,
    path="/",
    name="Dispatch",
    title="Dispatch",
    order=0,
    roles=["dispatcher", "manager", "admin"],
)


def layout(**_kwargs: object) -> html.Div:
    """The dispatch page."""
    return html.Div(html.H2("Dispatch"), className="panel")
