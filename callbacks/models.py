"""Models page callbacks: the registry and charts, the Train button, live progress and cancel."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, no_update

from backend.db.queries.analytics import get_training_data
from backend.jobs.control import JobControl
from backend.ml import forecast, launch, registry
from backend.ml.overview import list_registry, version_detail
from backend.runtime import current_runtime
from callbacks._common import db_session, require_principal
from components import ids
from components.models import (
    MODELS_CANCEL,
    MODELS_FORECAST_CANCEL,
    MODELS_FORECAST_CONTENT,
    MODELS_FORECAST_JOB,
    MODELS_FORECAST_POLL,
    MODELS_FORECAST_PROGRESS,
    MODELS_FORECAST_RUN,
    MODELS_JOB,
    MODELS_POLL,
    MODELS_PROGRESS,
    MODELS_TRAIN,
    create_forecast_view,
    create_models_view,
    describe_forecast_progress,
    describe_progress,
)

ROLES = ("dispatcher", "manager", "admin")
# Training is heavy (a CPU for a minute or more): managers and admins start it.
TRAIN_ROLES = ("manager", "admin")
FINAL_STAGES = frozenset({"done", "failed"})


def show_models(_load: Any) -> Any:
    """The registry with the newest usable version's charts, and the training data counts."""
    principal = require_principal(*ROLES)
    settings = current_runtime().settings
    with db_session() as session:
        data = get_training_data(session, depot_ids=principal.depot_ids)
        versions = list_registry(session)
        active = registry.active_version(session, name="eta")
    shown = active.version if active is not None else None
    if shown is None:
        shown = next((v.version for v in versions if v.name == "eta" and v.status == "ready"), None)
    detail = version_detail(settings, "eta", shown) if shown is not None else None
    travel = (active.metrics or {}).get("travel_times") if active is not None else None
    return create_models_view(
        data, versions, detail, travel, active.version if active is not None else None
    )


def start_training(n_clicks: int | None) -> Any:
    """Create a training version and start its job; the poll follows it from here."""
    if not n_clicks:
        return no_update, no_update, no_update, no_update
    principal = require_principal(*TRAIN_ROLES)
    runtime = current_runtime()
    with db_session() as session:
        version_id, job_id = launch.start_training(
            session, runtime.jobs, started_by=principal.user_id, now=runtime.clock.now()
        )
    return {"job_id": job_id, "version_id": version_id}, False, False, "Starting…"


def cancel_training(n_clicks: int | None, job: dict[str, Any] | None) -> Any:
    """Ask the running job (a training or a forecast) to stop; it ends `failed`."""
    require_principal(*TRAIN_ROLES)
    if not n_clicks or not job or not isinstance(job.get("job_id"), str):
        return no_update
    current_runtime().jobs.cancel(job["job_id"][:64])
    return "Cancelling…"


def poll_progress(_n: int, job: dict[str, Any] | None, load: int | None) -> Any:
    """The job's latest report; when it has finished, stop polling and refresh the registry."""
    require_principal(*ROLES)
    if not job or not isinstance(job.get("job_id"), str):
        return no_update, True, True, no_update
    progress = JobControl(current_runtime().store).get_progress(job["job_id"][:64])
    finished = progress is not None and progress.get("stage") in FINAL_STAGES
    refresh = (load or 0) + 1 if finished else no_update
    return describe_progress(progress), finished, finished, refresh


def show_forecast(_load: Any) -> Any:
    """The active forecast of the depots in scope: suggestion, backtest figures, charts."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        view = forecast.get_forecast_view(session, depot_ids=principal.depot_ids)
    return create_forecast_view(view)


def start_forecast(n_clicks: int | None) -> Any:
    """Create a forecast run and start its job; the forecast poll follows it from here."""
    if not n_clicks:
        return no_update, no_update, no_update, no_update
    principal = require_principal(*TRAIN_ROLES)
    runtime = current_runtime()
    with db_session() as session:
        version_id, job_id = forecast.start_forecast(
            session, runtime.jobs, started_by=principal.user_id, now=runtime.clock.now()
        )
    return {"job_id": job_id, "version_id": version_id}, False, False, "Starting…"


def poll_forecast(_n: int, job: dict[str, Any] | None, load: int | None) -> Any:
    """The forecast job's latest report; when it has finished, stop polling and refresh."""
    require_principal(*ROLES)
    if not job or not isinstance(job.get("job_id"), str):
        return no_update, True, True, no_update
    progress = JobControl(current_runtime().store).get_progress(job["job_id"][:64])
    finished = progress is not None and progress.get("stage") in FINAL_STAGES
    refresh = (load or 0) + 1 if finished else no_update
    return describe_forecast_progress(progress), finished, finished, refresh


def register(app: dash.Dash) -> None:
    """Register the Models callbacks on `app`."""
    app.callback(Output(ids.MODELS_CONTENT, "children"), Input(ids.MODELS_LOAD, "data"))(
        show_models
    )
    app.callback(
        Output(MODELS_JOB, "data"),
        Output(MODELS_POLL, "disabled"),
        Output(MODELS_CANCEL, "disabled"),
        Output(MODELS_PROGRESS, "children"),
        Input(MODELS_TRAIN, "n_clicks"),
        prevent_initial_call=True,
    )(start_training)
    app.callback(
        Output(MODELS_PROGRESS, "children", allow_duplicate=True),
        Input(MODELS_CANCEL, "n_clicks"),
        State(MODELS_JOB, "data"),
        prevent_initial_call=True,
    )(cancel_training)
    app.callback(
        Output(MODELS_PROGRESS, "children", allow_duplicate=True),
        Output(MODELS_POLL, "disabled", allow_duplicate=True),
        Output(MODELS_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.MODELS_LOAD, "data"),
        Input(MODELS_POLL, "n_intervals"),
        State(MODELS_JOB, "data"),
        State(ids.MODELS_LOAD, "data"),
        prevent_initial_call=True,
    )(poll_progress)
    app.callback(Output(MODELS_FORECAST_CONTENT, "children"), Input(ids.MODELS_LOAD, "data"))(
        show_forecast
    )
    app.callback(
        Output(MODELS_FORECAST_JOB, "data"),
        Output(MODELS_FORECAST_POLL, "disabled"),
        Output(MODELS_FORECAST_CANCEL, "disabled"),
        Output(MODELS_FORECAST_PROGRESS, "children"),
        Input(MODELS_FORECAST_RUN, "n_clicks"),
        prevent_initial_call=True,
    )(start_forecast)
    app.callback(
        Output(MODELS_FORECAST_PROGRESS, "children", allow_duplicate=True),
        Input(MODELS_FORECAST_CANCEL, "n_clicks"),
        State(MODELS_FORECAST_JOB, "data"),
        prevent_initial_call=True,
    )(cancel_training)
    app.callback(
        Output(MODELS_FORECAST_PROGRESS, "children", allow_duplicate=True),
        Output(MODELS_FORECAST_POLL, "disabled", allow_duplicate=True),
        Output(MODELS_FORECAST_CANCEL, "disabled", allow_duplicate=True),
        Output(ids.MODELS_LOAD, "data", allow_duplicate=True),
        Input(MODELS_FORECAST_POLL, "n_intervals"),
        State(MODELS_FORECAST_JOB, "data"),
        State(ids.MODELS_LOAD, "data"),
        prevent_initial_call=True,
    )(poll_forecast)
