"""The Models page's parts: training controls, the registry, a version's charts, and the data
available to train on (an honest empty state until the first version exists)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from backend.db.queries.analytics import TrainingData
from backend.ml.forecast import DepotForecast, ForecastView, Suggestion
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
MODELS_FORECAST_RUN = "models-forecast-button"
MODELS_FORECAST_CANCEL = "models-forecast-cancel-button"
MODELS_FORECAST_JOB = "models-forecast-job-store"
MODELS_FORECAST_POLL = "models-forecast-progress-poll"
MODELS_FORECAST_PROGRESS = "models-forecast-progress"
MODELS_FORECAST_CONTENT = "models-forecast-content"

# The forecast chart's colours (backtest muted, forecast blue, actuals dark).
FORECAST_COLOURS = {
    "forecast": "#2563eb",
    "forecast_band": "rgba(37, 99, 235, 0.18)",
    "backtest": "#64748b",
    "backtest_band": "rgba(100, 116, 139, 0.18)",
    "actual": "#0f172a",
    "start": "#ef4444",
}


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


def create_travel_times_card(figures: dict[str, Any] | None, version: int | None) -> html.Section:
    """How close planned leg times come to actual ones: haversine, learned, the plan's own."""
    if not figures or figures.get("learned_mae_min") is None:
        body: list[Any] = [
            html.P(
                "Not measured yet: the learned travel times are fitted when the ETA model "
                "trains (the active version predates them, or none is active). Until then, "
                "plans asking for learned travel times use haversine and say so.",
                className="models-note",
            )
        ]
    else:
        plain, learned = figures.get("haversine_mae_min"), figures["learned_mae_min"]
        closer = (1 - learned / plain) * 100 if plain else None
        lead = (
            f"Planned leg times come {closer:.0f}% closer to actual times with the learned "
            f"matrix: mean absolute error {learned:.2f} min vs {plain:.2f} min with haversine"
            if closer is not None and closer >= 0
            else f"The learned matrix is not closer here: {learned:.2f} min vs "
            f"{fmt_number(plain, 2)} min with haversine"
        )
        body = [
            html.P(lead + f", on {figures.get('legs', 0):,.0f} legs of held-out days."),
            _facts(
                [
                    ("Haversine × detour (min)", fmt_number(plain, 2)),
                    ("Learned factors by hour and zone (min)", fmt_number(learned, 2)),
                    (
                        "The stored plans' own estimate (min)",
                        fmt_number(figures.get("plan_mae_min"), 2),
                    ),
                ]
            ),
        ]
    title = "Learned travel times" + (f" (ETA v{version})" if version is not None else "")
    return create_card([html.H3(title), *body], className="model-card")


def create_models_view(
    data: TrainingData,
    versions: list[VersionRow] | None = None,
    detail: VersionDetail | None = None,
    travel_times: dict[str, Any] | None = None,
    travel_version: int | None = None,
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
                "Forecasts orders per depot, zone and hour for the next 7 days (P10–P90) from "
                "the order history, weekday and the same hours of past weeks, to size the "
                "fleet and shifts ahead of time."
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
    travel = create_travel_times_card(travel_times, travel_version)
    return html.Div([*top, html.Div([eta, demand, travel], className="model-list")])


def create_forecast_controls() -> html.Div:
    """Run and Cancel buttons for the forecast job, its progress line and the job's stores."""
    return html.Div(
        [
            html.Button("Run demand forecast", id=MODELS_FORECAST_RUN, className="btn btn-primary"),
            html.Button("Cancel", id=MODELS_FORECAST_CANCEL, className="btn", disabled=True),
            html.Span(id=MODELS_FORECAST_PROGRESS, className="models-progress", role="status"),
            dcc.Store(id=MODELS_FORECAST_JOB),
            dcc.Interval(id=MODELS_FORECAST_POLL, interval=2000, disabled=True),
        ],
        className="models-controls",
    )


def create_forecast_section() -> html.Section:
    """The Forecast section: its controls and the slot its chart and suggestion go in."""
    return html.Section(
        [
            html.Div(
                [html.H2("Demand forecast and fleet size"), create_forecast_controls()],
                className="model-head",
            ),
            html.Div(id=MODELS_FORECAST_CONTENT),
        ],
        className="models-forecast",
    )


def describe_forecast_progress(progress: dict[str, Any] | None) -> str:
    """The forecast job's latest report as one line."""
    if not progress:
        return "Starting…"
    stage = progress.get("stage", "")
    if stage == "sizing":
        return (
            f"Sizing the fleet: routing a sampled day for {progress.get('depot', '')} "
            f"({progress.get('step')} of {progress.get('of')})…"
        )
    if stage == "done":
        return "Done: " + str(progress.get("message", "forecast stored."))
    if stage == "failed":
        return f"Failed: {progress.get('message', '')}"
    return {"forecasting": "Forecasting the next 7 days…", "backtesting": "Backtesting…"}.get(
        stage, stage.capitalize() + "…"
    )


def _hours(first: date, last: date) -> list[datetime]:
    start = datetime.combine(first, time(0))
    return [start + timedelta(hours=h) for h in range(((last - first).days + 1) * 24)]


def create_forecast_figure(depot: DepotForecast, start: date | None) -> go.Figure:
    """One depot's hourly orders: backtest and forecast P10–P90 bands and P50, and actuals."""
    fig = go.Figure()
    for kind, label in (("backtest", "backtest"), ("forecast", "forecast")):
        points = {p.at: p for p in depot.points if p.kind == kind}
        if not points:
            continue
        hours = _hours(min(points).date(), max(points).date())
        rows = [points.get(h) for h in hours]
        p10 = [r.p10 if r else 0.0 for r in rows]
        p50 = [r.p50 if r else 0.0 for r in rows]
        p90 = [r.p90 if r else 0.0 for r in rows]
        colour, band = FORECAST_COLOURS[kind], FORECAST_COLOURS[f"{kind}_band"]
        fig.add_scatter(
            x=hours, y=p90, name=f"{label} P90", line={"width": 0}, showlegend=False,
            hoverinfo="skip",
        )  # fmt: skip
        fig.add_scatter(
            x=hours, y=p10, name=f"{label} P10–P90", fill="tonexty", fillcolor=band,
            line={"width": 0},
        )  # fmt: skip
        fig.add_scatter(x=hours, y=p50, name=f"{label} P50", line={"color": colour})
    if depot.actual:
        days = sorted({a.date() for a in depot.actual})
        hours = [h for d in days for h in _hours(d, d)]
        fig.add_scatter(
            x=hours,
            y=[depot.actual.get(h, 0.0) for h in hours],
            name="actual",
            mode="lines+markers",
            line={"color": FORECAST_COLOURS["actual"], "width": 1},
            marker={"size": 3},
        )
    if start is not None:
        at = datetime.combine(start, time(0))
        fig.add_shape(
            type="line", x0=at, x1=at, y0=0, y1=1, yref="paper",
            line={"color": FORECAST_COLOURS["start"], "dash": "dot"},
        )  # fmt: skip
        fig.add_annotation(x=at, y=1, yref="paper", text="forecast from", showarrow=False)
    fig.update_layout(
        title=f"{depot.name}: orders per hour, forecast vs actual",
        xaxis_title="local time (hour the delivery window opens)",
        yaxis_title="orders per hour",
        legend={"orientation": "h"},
    )
    return fig


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


def describe_suggestions(suggestions: list[Suggestion]) -> list[str]:
    """One sentence per depot: vehicles needed per shift on the sampled day, and its demand."""
    by_depot: dict[int, list[Suggestion]] = {}
    for s in suggestions:
        by_depot.setdefault(s.depot_id, []).append(s)
    lines = []
    for rows in by_depot.values():
        first = rows[0]
        used = sum(r.vehicles_used for r in rows)
        available = sum(r.vehicles_available for r in rows)
        shifts = ", ".join(
            f"{r.vehicles_used} on {_clock(r.shift_start)}–{_clock(r.shift_end)}" for r in rows
        )
        text = (
            f"{first.service_date:%a %b %d}: {first.depot} needs {used} of its {available} "
            f"vehicles ({shifts}) for a sampled day of {first.orders_sampled} orders "
            f"(forecast P50 {first.orders_p50:.0f}; hourly P90s add up to {first.orders_p90:.0f})."
        )
        if first.orders_unassigned:
            text += f" Even so, {first.orders_unassigned} orders could not be planned."
        lines.append(text)
    return lines


def create_forecast_view(view: ForecastView | None) -> html.Div:
    """The active forecast's suggestion, backtest figures and one chart per depot."""
    if view is None:
        return create_empty_state(
            "No forecast yet",
            "Run the demand forecast to see orders per hour for the next 7 days, how last "
            "week's forecast compared with what came in, and the fleet tomorrow needs.",
        )
    metrics = view.metrics
    suggestion = describe_suggestions(view.suggestions)
    facts = _facts(
        [
            ("Forecast run", f"v{view.version}, {view.created_at:%b %d %H:%M}"),
            ("Backtest days", str(metrics.get("backtest_days", "–"))),
            (
                "Backtest WAPE per zone and hour (model / last week's counts)",
                f"{fmt_number(metrics.get('wape_model'), 3)} / "
                f"{fmt_number(metrics.get('wape_seasonal_naive'), 3)}",
            ),
            (
                "Backtest WAPE per depot and hour (model / last week's counts)",
                f"{fmt_number(metrics.get('wape_depot_hour'), 3)} / "
                f"{fmt_number(metrics.get('wape_depot_hour_naive'), 3)}",
            ),
            (
                "Backtest share of zone-hour actuals inside P10–P90",
                "–"
                if metrics.get("coverage_p10_p90") is None
                else f"{metrics['coverage_p10_p90'] * 100:.0f}%",
            ),
        ]
    )
    return html.Div(
        [
            create_card(
                [
                    html.H3("Tomorrow's fleet"),
                    *(html.P(line, className="models-suggestion") for line in suggestion),
                    html.P(
                        "Vehicles the routing engine used to plan one day sampled from the "
                        "forecast, with the depot's whole active fleet available; a shift is a "
                        "vehicle shift time. One sample: a busier day needs more.",
                        className="models-note",
                    ),
                    facts,
                ],
                className="model-card",
            ),
            *(
                dcc.Graph(
                    figure=create_forecast_figure(depot, view.forecast_start),
                    config={"displayModeBar": False},
                )
                for depot in view.depots
            ),
            html.P(
                "Bands are the zones' hourly P10 and P90 added up, so they are wider than the "
                "depot total's own interval.",
                className="models-note",
            ),
        ],
        className="models-charts",
    )
