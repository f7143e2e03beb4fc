"""The demand forecast as a job: forecast the next days, backtest the last ones, size the fleet.

A forecast run is a `model_version` of the model "demand" (the registry's lifecycle: created
`training` with its job id, then `active`, the previous run `retired`, or `failed` with a
message). Its job (kind "forecast" on the one runner) reads the history, forecasts orders per
depot, zone and local hour for `HORIZON_DAYS` days from tomorrow with P10-P90 intervals
(backend.ml.demand), forecasts the `HORIZON_DAYS` days up to today from a model that did not
see them (the backtest the Models page sets against the actuals), stores both set-based in
`demand_forecast`, then sizes tomorrow's fleet per depot and shift (backend.ml.fleet_size)
into `fleet_suggestion`. scikit-learn and the solver only: no TensorFlow here.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.db.models import (
    DemandForecast,
    Depot,
    FleetSuggestion,
    Order,
)
from backend.jobs.context import JobContext
from backend.jobs.runner import JobRunner
from backend.ml import demand, fleet_size, registry

log = logging.getLogger(__name__)

FORECAST_MODEL = "demand"
FORECAST_JOB = "forecast"
FORECAST, BACKTEST = "forecast", "backtest"
# The weekly lags need four whole weeks before the first day a model learns from.
MIN_HISTORY_DAYS = 7 * max(demand.LAGS_WEEKS) + 7
DEFAULT_SEED = 7


class ForecastCancelled(Exception):
    """The forecast job was asked to stop."""


def local_today(now: datetime, timezones: list[str]) -> date:
    """Today's date where the depots are (the earliest, when their time zones disagree)."""
    if not timezones:
        return now.date()
    return min(now.astimezone(ZoneInfo(tz or "UTC")).date() for tz in timezones)


def start_forecast(
    session: Session, runner: JobRunner, *, started_by: int | None, now: datetime
) -> tuple[int, str]:
    """Create a forecast run (a `demand` version) and start its job; returns (version id, job id).

    The row is committed before the job is submitted: the job reads it by its job id.
    """
    registry.fail_stale_trainings(session, now=now)
    job_id = uuid.uuid4().hex
    row = registry.create_version(
        session,
        name=FORECAST_MODEL,
        now=now,
        job_id=job_id,
        started_by=started_by,
        config={"horizon_days": demand.HORIZON_DAYS, "seed": DEFAULT_SEED},
    )
    session.commit()
    runner.submit(FORECAST_JOB, job_id)
    return row.id, job_id


def run_forecast_job(ctx: JobContext) -> dict[str, Any]:
    """Forecast, backtest and size the fleet for the run whose `job_id` is `ctx.job_id`."""
    with ctx.database.session() as session:
        row = registry.get_version_for_job(session, job_id=ctx.job_id)
        if row is None:
            raise LookupError(f"no model_version row for job {ctx.job_id}")
        version_id = row.id
        config = dict(row.config or {})
    seed = int(config.get("seed", DEFAULT_SEED))
    # An iteration cap makes the solve the same on any machine (tests); the default is time.
    cap = config.get("fleet_max_iterations")
    try:
        summary = _run(ctx, version_id, seed=seed, max_iterations=int(cap) if cap else None)
    except (ForecastCancelled, demand.DemandError) as exc:
        return _fail(ctx, version_id, str(exc))
    except BaseException as exc:
        _fail(ctx, version_id, f"{type(exc).__name__}: {exc}")
        log.error("forecast job %s failed:\n%s", ctx.job_id, traceback.format_exc())
        raise
    ctx.report({"stage": "done", "promoted": True, **summary})
    return {"status": "active", **summary}


def _check(ctx: JobContext) -> None:
    if ctx.cancelled():
        raise ForecastCancelled("cancelled")


def _run(
    ctx: JobContext, version_id: int, *, seed: int, max_iterations: int | None
) -> dict[str, Any]:
    ctx.report({"stage": "loading"})
    now = ctx.clock.now()
    with ctx.database.session() as session:
        depots = list(
            session.scalars(select(Depot).where(Depot.active.is_(True)).order_by(Depot.id))
        )
        depot_ids = [d.id for d in depots]
        counts = demand.load_order_counts(session, depot_ids=depot_ids)
        today = local_today(now, [d.timezone for d in depots])
        start = today + timedelta(days=1)
        since, until = fleet_size.template_range(start)
        templates = fleet_size.load_templates(
            session, depot_ids=depot_ids, since=since, until=until
        )
        fleet = fleet_size.active_fleet(session, depot_ids=depot_ids)
        # Detached with their loaded values: the solve below runs outside any session.
        session.expunge_all()
    history = counts[counts["day"] < pd.Timestamp(start)] if len(counts) else counts
    days = history["day"].nunique() if len(history) else 0
    if days < MIN_HISTORY_DAYS:
        raise demand.DemandError(
            f"only {days} days of order history; the demand forecast needs {MIN_HISTORY_DAYS}"
        )
    _check(ctx)
    ctx.report({"stage": "forecasting"})
    ahead = demand.forecast(history, start=start)
    _check(ctx)
    ctx.report({"stage": "backtesting"})
    back_start = start - timedelta(days=demand.HORIZON_DAYS)
    backtest = demand.forecast(history[history["day"] < pd.Timestamp(back_start)], start=back_start)
    scores = backtest_scores(backtest, history)
    rows = [
        *_forecast_rows(version_id, FORECAST, ahead),
        *_forecast_rows(version_id, BACKTEST, backtest),
    ]
    _check(ctx)
    suggestions = []
    tomorrow = ahead[ahead["day"] == pd.Timestamp(start)]
    sampled = fleet_size.sample_day(tomorrow, templates, seed=seed)
    for i, depot in enumerate(depots):
        ctx.report({"stage": "sizing", "depot": depot.name, "step": i + 1, "of": len(depots)})
        slots = tomorrow[tomorrow["depot_id"] == depot.id]
        sizing = fleet_size.size_depot(
            depot,
            depots,
            fleet.get(depot.id, []),
            sampled[sampled["depot_id"] == depot.id] if len(sampled) else sampled,
            service_date=start,
            seed=seed,
            max_iterations=max_iterations,
            cancel=ctx.cancelled,
        )
        _check(ctx)
        suggestions.extend(
            suggestion_rows(
                version_id,
                sizing,
                orders_p50=float(slots["p50"].sum()),
                orders_p90=float(slots["p90"].sum()),
                now=now,
            )
        )
    first = history["day"].min().date()
    last = history["day"].max().date()
    total = float(ahead["p50"].sum())
    message = (
        f"{start:%b %d}–{start + timedelta(days=demand.HORIZON_DAYS - 1):%b %d}: "
        f"{total:,.0f} orders forecast; backtest WAPE {scores['wape_model']:.3f} "
        f"vs {scores['wape_seasonal_naive']:.3f} for last week's counts"
    )
    with ctx.database.session() as session:
        store_forecast(session, rows, suggestions)
        row = registry.get_version(session, version_id=version_id)
        assert row is not None
        registry.mark_ready(
            session,
            row,
            metrics={
                **scores,
                "forecast_start": start.isoformat(),
                "orders_p50": round(total, 1),
                "fleet": [
                    {
                        k: v.isoformat() if isinstance(v, date | time) else v
                        for k, v in s.items()
                        if k not in ("model_version_id", "created_at")
                    }
                    for s in suggestions
                ],
            },
            data_from=first,
            data_to=last,
            now=ctx.clock.now(),
            message=message,
        )
        # The newest complete forecast is the one in use.
        registry.activate(session, row)
    return {"message": message, "rows": len(rows), "suggestions": len(suggestions)}


def _forecast_rows(version_id: int, kind: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "model_version_id": version_id,
            "kind": kind,
            "depot_id": int(depot_id),
            "zone": str(zone),
            "day": day.date(),
            "hour": int(hour),
            "p10": round(float(p10), 4),
            "p50": round(float(p50), 4),
            "p90": round(float(p90), 4),
        }
        for day, depot_id, zone, hour, p10, p50, p90 in frame[
            ["day", "depot_id", "zone", "hour", "p10", "p50", "p90"]
        ].itertuples(index=False)
    ]


def suggestion_rows(
    version_id: int,
    sizing: fleet_size.DepotSizing,
    *,
    orders_p50: float,
    orders_p90: float,
    now: datetime,
) -> list[dict[str, Any]]:
    """One `fleet_suggestion` row per shift of the sized depot."""
    return [
        {
            "model_version_id": version_id,
            "depot_id": sizing.depot_id,
            "service_date": sizing.service_date,
            "shift_start": shift[0],
            "shift_end": shift[1],
            "vehicles_used": sizing.used[shift],
            "vehicles_available": available,
            "orders_sampled": sizing.orders_sampled,
            "orders_unassigned": sizing.orders_unassigned,
            "orders_p50": round(orders_p50, 2),
            "orders_p90": round(orders_p90, 2),
            "created_at": now,
        }
        for shift, available in sorted(sizing.available.items())
    ]


def store_forecast(
    session: Session, rows: list[dict[str, Any]], suggestions: list[dict[str, Any]]
) -> None:
    """Insert a run's forecast rows and fleet suggestions (two multi-row inserts)."""
    if rows:
        session.execute(insert(DemandForecast), rows)
    if suggestions:
        session.execute(insert(FleetSuggestion), suggestions)


def backtest_scores(backtest: pd.DataFrame, history: pd.DataFrame) -> dict[str, Any]:
    """WAPE and P10-P90 coverage of the backtest, and WAPE of last week's counts, on the actuals."""
    key = ["day", "depot_id", "zone", "hour"]
    actual = history[key + ["orders"]]
    scored = backtest.merge(actual, on=key, how="inner")
    naive = actual.assign(day=actual["day"] + pd.Timedelta(days=7)).rename(
        columns={"orders": "naive"}
    )
    scored = scored.merge(naive, on=key, how="left")
    truth = scored["orders"].to_numpy(float)
    # Zone-hours are sparse counts; the depot-hour (what the chart shows) is the fairer read.
    depot_hour = scored.groupby(["day", "depot_id", "hour"])[["orders", "p50", "naive"]].sum()
    inside = (truth >= scored["p10"].to_numpy()) & (truth <= scored["p90"].to_numpy())
    return {
        "backtest_days": int(scored["day"].nunique()),
        "wape_model": round(demand.wape(truth, scored["p50"].to_numpy(float)), 4),
        "wape_seasonal_naive": round(
            demand.wape(truth, scored["naive"].fillna(0.0).to_numpy(float)), 4
        ),
        "wape_depot_hour": round(
            demand.wape(depot_hour["orders"].to_numpy(float), depot_hour["p50"].to_numpy(float)), 4
        ),
        "wape_depot_hour_naive": round(
            demand.wape(depot_hour["orders"].to_numpy(float), depot_hour["naive"].to_numpy(float)),
            4,
        ),
        "coverage_p10_p90": round(float(np.mean(inside)) if len(scored) else float("nan"), 4),
    }


def _fail(ctx: JobContext, version_id: int, message: str) -> dict[str, Any]:
    with ctx.database.session() as session:
        row = registry.get_version(session, version_id=version_id)
        if row is not None:
            registry.mark_failed(session, row, message=message, now=ctx.clock.now())
    ctx.report({"stage": "failed", "message": message})
    return {"status": "failed", "message": message}


# --- What the Models page reads ------------------------------------------------------------


@dataclass(frozen=True)
class HourPoint:
    """One depot-hour: the forecast (zones summed) or the actual orders, at local time."""

    at: datetime
    kind: str
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Suggestion:
    """The fleet suggestion of one depot and shift."""

    depot_id: int
    depot: str
    service_date: date
    shift_start: time
    shift_end: time
    vehicles_used: int
    vehicles_available: int
    orders_sampled: int
    orders_unassigned: int
    orders_p50: float
    orders_p90: float


@dataclass(frozen=True)
class DepotForecast:
    """One depot's hourly forecast and backtest and the actual orders over the same hours."""

    depot_id: int
    name: str
    points: list[HourPoint]
    actual: dict[datetime, float]


@dataclass(frozen=True)
class ForecastView:
    """The active forecast run, per depot, with its suggestions and backtest figures."""

    version: int
    created_at: datetime
    forecast_start: date | None
    metrics: dict[str, Any]
    depots: list[DepotForecast]
    suggestions: list[Suggestion]


def get_forecast_view(
    session: Session, *, depot_ids: Collection[int] | None
) -> ForecastView | None:
    """The active forecast for the depots in scope, summed over zones per hour (four queries)."""
    run = registry.active_version(session, name=FORECAST_MODEL)
    if run is None:
        return None
    scope = [DemandForecast.model_version_id == run.id]
    if depot_ids is not None:
        scope.append(DemandForecast.depot_id.in_(depot_ids))
    hourly = session.execute(
        select(
            DemandForecast.depot_id,
            DemandForecast.kind,
            DemandForecast.day,
            DemandForecast.hour,
            func.sum(DemandForecast.p10),
            func.sum(DemandForecast.p50),
            func.sum(DemandForecast.p90),
        )
        .where(*scope)
        .group_by(
            DemandForecast.depot_id, DemandForecast.kind, DemandForecast.day, DemandForecast.hour
        )
        .order_by(DemandForecast.depot_id, DemandForecast.day, DemandForecast.hour)
    ).all()
    depot_query = select(Depot.id, Depot.name, Depot.timezone).order_by(Depot.id)
    if depot_ids is not None:
        depot_query = depot_query.where(Depot.id.in_(depot_ids))
    depots = {i: (name, tz) for i, name, tz in session.execute(depot_query).all()}
    days = [r[2] for r in hourly]
    actual = _actual_hourly(session, list(depots), min(days), max(days)) if days else {}
    points: dict[int, list[HourPoint]] = {}
    for depot_id, kind, day, hour, p10, p50, p90 in hourly:
        at = datetime.combine(day, time(int(hour)))
        points.setdefault(depot_id, []).append(
            HourPoint(at, kind, float(p10), float(p50), float(p90))
        )
    suggestions_query = (
        select(FleetSuggestion, Depot.name)
        .join(Depot, Depot.id == FleetSuggestion.depot_id)
        .where(FleetSuggestion.model_version_id == run.id)
        .order_by(FleetSuggestion.depot_id, FleetSuggestion.shift_start)
    )
    if depot_ids is not None:
        suggestions_query = suggestions_query.where(FleetSuggestion.depot_id.in_(depot_ids))
    suggestions = [
        Suggestion(
            depot_id=s.depot_id,
            depot=name,
            service_date=s.service_date,
            shift_start=s.shift_start,
            shift_end=s.shift_end,
            vehicles_used=s.vehicles_used,
            vehicles_available=s.vehicles_available,
            orders_sampled=s.orders_sampled,
            orders_unassigned=s.orders_unassigned,
            orders_p50=s.orders_p50,
            orders_p90=s.orders_p90,
        )
        for s, name in session.execute(suggestions_query).all()
    ]
    start = (run.metrics or {}).get("forecast_start")
    return ForecastView(
        version=run.version,
        created_at=run.created_at,
        forecast_start=date.fromisoformat(start) if start else None,
        metrics=dict(run.metrics or {}),
        depots=[
            DepotForecast(i, name, points.get(i, []), actual.get(i, {}))
            for i, (name, _tz) in depots.items()
            if i in points
        ],
        suggestions=suggestions,
    )


def _actual_hourly(
    session: Session, depot_ids: list[int], first: date, last: date
) -> dict[int, dict[datetime, float]]:
    """Actual orders per depot and local hour (of the window start) over `first`..`last`."""
    result = session.execute(
        select(Order.service_date, Order.depot_id, Order.window_start, Depot.timezone)
        .join(Depot, Depot.id == Order.depot_id)
        .where(
            Order.depot_id.in_(depot_ids),
            Order.service_date >= first,
            Order.service_date <= last,
        )
    )
    frame = pd.DataFrame(result.all(), columns=["day", "depot_id", "window_start", "timezone"])
    if frame.empty:
        return {}
    frame["hour"] = demand.local_hour(frame["window_start"], frame["timezone"])
    counts = frame.groupby(["depot_id", "day", "hour"]).size()
    out: dict[int, dict[datetime, float]] = {}
    for (depot_id, day, hour), n in counts.items():
        out.setdefault(int(depot_id), {})[datetime.combine(day, time(int(hour)))] = float(n)
    return out
