"""Driver: a phone-sized view of the logged-in driver's route of the day."""

import dash
from dash import dcc, html

from components import ids
from components.ui import create_loading

dash.register_page(
    __name__,
    path="/driver",
    name="Driver",
    title="My route",
    order=90,
    permission="route:read_own",
)

# A periodic refresh as a fallback; route changes announced over the socket reload at once.
REFRESH_MS = 60_000
LIVE_TICK_MS = 1_000


def layout(vehicle: str | None = None, **_kwargs: object) -> html.Div:
    """The driver page; admins may look at any vehicle with `?vehicle=<id>`."""
    return html.Div(
        className="page page-driver",
        children=[
            dcc.Store(id=ids.DRIVER_LOAD, data={"vehicle": vehicle}),
            dcc.Interval(id=ids.DRIVER_REFRESH, interval=REFRESH_MS),
            dcc.Interval(id=ids.DRIVER_LIVE_TICK, interval=LIVE_TICK_MS),
            dcc.Store(id=ids.DRIVER_BUMP),
            create_loading(html.Div(id=ids.DRIVER_CONTENT)),
        ],
    )
