"""The Models page's parts: an honest empty state per model and the training data available."""

from __future__ import annotations

from datetime import date

from dash import html

from backend.db.queries.analytics import TrainingData
from components.ui import create_card, create_empty_state, create_status_pill

# Below these, training would not be meaningful; shown so people know what is missing.
MIN_ETA_STOPS = 1000
MIN_DEMAND_DAYS = 28


def _span(first: date | None, last: date | None) -> str:
    if first is None or last is None:
        return "none yet"
    return f"{first:%b %d, %Y} – {last:%b %d, %Y}"


def _facts(items: list[tuple[str, str]]) -> html.Ul:
    return html.Ul(
        [
            html.Li([html.Span(label), html.Span(value, className="fact-value")])
            for label, value in items
        ],
        className="fact-list",
    )


def _readiness(ok: bool) -> html.Span:
    return create_status_pill("ready" if ok else "waiting")


def create_models_view(data: TrainingData) -> html.Div:
    """No models are trained yet: say which will appear and what data they would learn from."""
    eta_ready = data.stops_with_times >= MIN_ETA_STOPS
    demand_ready = data.order_days >= MIN_DEMAND_DAYS
    eta = create_card(
        [
            html.Div([html.H3("ETA model"), _readiness(eta_ready)], className="model-head"),
            html.P(
                "Predicts arrival times at stops from the plan, the time of day, the area and "
                "recent traffic, to replace the planner's travel-time estimate."
            ),
            _facts(
                [
                    (
                        "Completed stops with planned and actual arrival",
                        f"{data.stops_with_times:,}",
                    ),
                    ("Completed routes", f"{data.routes_completed:,}"),
                    ("Days covered", _span(data.first_day, data.last_day)),
                    ("GPS fixes", f"{data.positions:,}"),
                    ("Driver events", f"{data.events:,}"),
                    ("Needed to train", f"{MIN_ETA_STOPS:,} stops"),
                ]
            ),
        ],
        className="model-card",
    )
    demand = create_card(
        [
            html.Div(
                [html.H3("Demand forecast"), _readiness(demand_ready)], className="model-head"
            ),
            html.P(
                "Forecasts orders per depot and day from the order history, weekday and season, "
                "to size the fleet and shifts ahead of time."
            ),
            _facts(
                [
                    ("Orders in history", f"{data.orders_total:,}"),
                    ("Days with orders", f"{data.order_days:,}"),
                    ("Days covered", _span(data.first_order_day, data.last_order_day)),
                    ("Needed to train", f"{MIN_DEMAND_DAYS} days"),
                ]
            ),
        ],
        className="model-card",
    )
    return html.Div(
        [
            create_empty_state(
                "No models trained yet",
                "The model registry is empty. The models below will appear here once they are "
                "trained, with their version, training date and accuracy.",
                icon="◇",
            ),
            html.Div([eta, demand], className="model-list"),
        ]
    )
