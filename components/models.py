"""The Models page's parts: training controls, the registry, a version's charts, and the data
available to train on (an honest empty state until the first version exists)."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from backend.db.queries.analytics import TrainingData
from backend.ml.overview import VersionDetail, VersionRow
from components.ui import create_card, create_empty_state, create_status_pill, fmt_number

# Below these, training would not be meaningful; shown so people know what is missing.
MIN_ETA_STOPS = 1000
MIN_DEMAND_DAYS = 28

# This page's own component ids (kebab-case, <page>-<thing>[-<role>]).
MODELS_TRAIN = "models-train-button"
MODELS_CANCEL = "models-cancel-button"
MODELS_JOB = "models-job-store"
MODELS_POLL = "models-progress-poll"
MODELS_PROGRESS = "models-progress"


def create_training_controls() -> html.Div:
    """Train and Cancel buttons, the live progress line, and the stores that follow the job."""
    return html.Div(
        [
            html.Button("Train ETA model", id=MODELS_TRAIN, className="btn btn-primary"),
            html.Button("Cancel", id=MODELS_CANCEL, className="btn", disabled=True),
            html.Span(id=MODELS_PROGRESS, className="models-progress", role="status"),
            dcc.Store(id=MODELS_JOB),
            dcc.Interval(id=MODELS_POLL, interval=2000, disabled=True),
        ],
        className="models-controls",
    )


def describe_progress(progress: dict[str, Any] | None) -> str:
    """A job's latest report as one line."""
    if not progress:
        return "Starting…"
    stage = progress.get("stage", "")
    if stage == "training":
        return (
            f"Training: epoch {progress.get('epoch')} of {progress.get('epochs')}, "
            f"validation loss {progress.get('val_loss', float('nan')):.4f}"
        )
    if stage == "done":
        return "Done: " + ("promoted to active." if progress.get("promoted") else "kept as ready.")
    if stage == "failed":
        return f"Failed: {progress.get('message', '')}"
    return stage.capitalize() + "…"


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


def create_registry_table(rows: list[VersionRow]) -> html.Table:
    """Every version: status, when, what data, held-out accuracy and the job's last word."""
    head = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in ("Model", "Version", "Status", "Trained", "Data", "Leg MAE", "P10–P90")
            ]
            + [html.Th("Note")]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r.name.upper() if r.name == "eta" else r.name),
                    html.Td(f"v{r.version}"),
                    html.Td(create_status_pill(r.status)),
                    html.Td(f"{r.created_at:%b %d %H:%M}"),
                    html.Td(_span(r.data_from, r.data_to)),
                    html.Td(fmt_number(r.leg_mae, 2, " min")),
                    html.Td("–" if r.coverage is None else f"{r.coverage * 100:.0f}%"),
                    html.Td(r.message, className="models-note"),
                ]
            )
            for r in rows
        ]
    )
    return html.Table([head, body], className="table models-registry")


def _curves(history: dict[str, list[float]]) -> go.Figure:
    fig = go.Figure()
    for key, label in (("loss", "training"), ("val_loss", "validation")):
        if key in history:
            fig.add_scatter(y=history[key], x=list(range(1, len(history[key]) + 1)), name=label)
    fig.update_layout(title="Loss per epoch", xaxis_title="epoch", yaxis_title="pinball loss")
    return fig


def _predicted_vs_actual(sample: dict[str, Any], target: str) -> go.Figure:
    data = sample.get("targets", {}).get(target, {})
    actual = data.get("actual", [])
    predicted = data.get("predicted", [])
    mid = [p[len(p) // 2] for p in predicted]
    fig = go.Figure()
    fig.add_scatter(x=actual, y=mid, mode="markers", name="P50", marker={"size": 4})
    top = max(actual + mid, default=1.0)
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="perfect", line={"dash": "dot"})
    fig.update_layout(
        title=f"Predicted vs actual ({target.replace('_', ' ')})",
        xaxis_title="actual (min)",
        yaxis_title="predicted P50 (min)",
    )
    return fig


def _calibration(sample: dict[str, Any]) -> go.Figure:
    quantiles = sample.get("quantiles", [])
    fig = go.Figure()
    for target, data in sample.get("targets", {}).items():
        actual, predicted = data.get("actual", []), data.get("predicted", [])
        if not actual:
            continue
        observed = [
            sum(a <= p[k] for a, p in zip(actual, predicted, strict=True)) / len(actual)
            for k in range(len(quantiles))
        ]
        fig.add_scatter(x=quantiles, y=observed, mode="lines+markers", name=target)
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="ideal", line={"dash": "dot"})
    fig.update_layout(
        title="Calibration", xaxis_title="quantile level", yaxis_title="share of actuals below"
    )
    return fig


def _forecast(points: list[dict[str, Any]]) -> go.Figure:
    days = [p["day"] for p in points]
    fig = go.Figure()
    fig.add_scatter(x=days, y=[p["p90"] for p in points], name="P90", line={"width": 0})
    fig.add_scatter(
        x=days, y=[p["p10"] for p in points], name="P10", fill="tonexty", line={"width": 0}
    )
    fig.add_scatter(x=days, y=[p["p50"] for p in points], name="forecast")
    fig.update_layout(title="Orders per day, next 7 days", yaxis_title="orders")
    return fig


def create_version_detail(detail: VersionDetail) -> html.Div:
    """Charts of one version: curves, predicted vs actual, calibration, demand forecast."""
    graphs = []
    if detail.history:
        graphs.append(_curves(detail.history))
    if detail.sample:
        graphs.append(_predicted_vs_actual(detail.sample, "leg_min"))
        graphs.append(_calibration(detail.sample))
    if detail.forecast:
        graphs.append(_forecast(detail.forecast))
    if not graphs:
        return create_empty_state("No charts", "This version's files are not available.")
    return html.Div(
        [dcc.Graph(figure=g, config={"displayModeBar": False}) for g in graphs],
        className="models-charts",
    )


def create_models_view(
    data: TrainingData,
    versions: list[VersionRow] | None = None,
    detail: VersionDetail | None = None,
) -> html.Div:
    """The registry (or an empty state when no model exists yet) and the data to train on."""
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
    if versions:
        top: list[Any] = [create_card(create_registry_table(versions), title="Model registry")]
        if detail is not None:
            top.append(create_card(create_version_detail(detail), title=f"ETA v{detail.version}"))
    else:
        top = [
            create_empty_state(
                "No models trained yet",
                "The model registry is empty. The models below will appear here once they are "
                "trained, with their version, training date and accuracy.",
                icon="◇",
            )
        ]
    return html.Div([*top, html.Div([eta, demand], className="model-list")])
