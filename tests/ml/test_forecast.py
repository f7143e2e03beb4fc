"""The forecast job on a small seeded history: it stores an hourly P10-P90 forecast per depot
and zone for the next seven days plus a backtest, and a fleet suggestion per depot and shift
that equals the vehicles the routing engine used on the sampled day; too short a history
fails the run with a message; the Models page's view reads it back with the actuals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from backend.clock import FixedClock
from backend.db.engine import Database
from backend.db.models import DemandForecast, Depot, FleetSuggestion, ModelVersion, Order
from backend.jobs.context import JobContext
from backend.jobs.control import JobControl
from backend.jobs.kinds import job_kind
from backend.ml import fleet_size, forecast, registry
from tests.factories import van
from tests.ml.test_ml_jobs import MemoryStore

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: today is Nov 27
TODAY = date(2026, 11, 27)
HISTORY_DAYS = 40
ZONES = ((41.87, -87.67), (41.93, -87.74))  # two demand zones near the depot


def _at(day: date, hour: float) -> datetime:
    return (datetime.combine(day, time(0), tzinfo=TZ) + timedelta(hours=hour)).astimezone(UTC)


def _seed(db: Database, *, days: int = HISTORY_DAYS) -> int:
    """One depot, four vans on two shifts, `days` days up to today of 6-14 orders a day."""
    rng = np.random.default_rng(5)
    with db.session() as session:
        depot = Depot(name="North", lat=41.90, lon=-87.66, timezone="America/Chicago")
        session.add(depot)
        session.flush()
        for i in range(4):
            vehicle = van(depot.id, f"VAN-{i}")
            if i % 2:
                vehicle.shift_start, vehicle.shift_end = time(7), time(16)
            session.add(vehicle)
        n = 0
        for d in range(days):
            day = TODAY - timedelta(days=days - 1 - d)
            count = 6 + (4 if day.weekday() < 5 else 0) + int(rng.integers(0, 5))
            for _ in range(count):
                lat, lon = ZONES[int(rng.integers(0, 2))]
                start = float(rng.choice([8, 10, 13]))
                session.add(
                    Order(
                        reference=f"H-{n}",
                        depot_id=depot.id,
                        service_date=day,
                        customer_name=f"C{n}",
                        lat=lat + rng.uniform(0, 0.01),
                        lon=lon + rng.uniform(0, 0.01),
                        demand={"kg": 30},
                        service_minutes=5,
                        priority=5,
                        required_skills=[],
                        status="delivered" if day < TODAY else "new",
                        time_windows=[
                            {
                                "start": _at(day, start).isoformat(),
                                "end": _at(day, start + 3).isoformat(),
                            }
                        ],
                        window_start=_at(day, start),
                        window_end=_at(day, start + 3),
                    )
                )
                n += 1
        return depot.id


@pytest.fixture()
def db(database):
    """The shared migrated database (SQLite and PostgreSQL)."""
    return database


def _context(db: Database, *, config: dict) -> tuple[JobContext, int]:
    with db.session() as session:
        row = registry.create_version(
            session, name=forecast.FORECAST_MODEL, now=NOW, job_id="forecast-job", config=config
        )
        version_id = row.id
    ctx = JobContext(
        job_id="forecast-job",
        settings=db.settings,
        database=db,
        clock=FixedClock(NOW),
        control=JobControl(MemoryStore()),  # type: ignore[arg-type]
    )
    return ctx, version_id


def test_the_forecast_kind_is_on_the_runner() -> None:
    """The runner knows the kind; a killed run is failed like a training."""
    kind = job_kind("forecast")
    assert kind.body == "backend.ml.forecast:run_forecast_job"
    assert kind.on_finished == "backend.ml.registry:training_finished"


def test_forecast_job_stores_forecast_and_the_fleet_the_solver_used(db, monkeypatch) -> None:
    """Seven days ahead and a backtest, hourly, P10<=P50<=P90; the suggestion is the plan's."""
    depot_id = _seed(db)
    plans = []
    real_solve = fleet_size.solve

    def spy(problem, **options):
        plan = real_solve(problem, **options)
        plans.append((problem, plan))
        return plan

    monkeypatch.setattr(fleet_size, "solve", spy)
    ctx, version_id = _context(db, config={"seed": 3, "fleet_max_iterations": 300})
    result = forecast.run_forecast_job(ctx)
    assert result["status"] == "active", result
    assert ctx.control.get_progress(ctx.job_id)["stage"] == "done"

    with db.session() as session:
        run = session.get(ModelVersion, version_id)
        assert run.status == "active" and run.data_to == TODAY
        assert run.metrics["forecast_start"] == "2026-11-28"
        assert 0 <= run.metrics["wape_model"] < 1
        rows = session.scalars(
            select(DemandForecast).where(DemandForecast.model_version_id == version_id)
        ).all()
        ahead = [r for r in rows if r.kind == "forecast"]
        back = [r for r in rows if r.kind == "backtest"]
        assert {r.day for r in ahead} == {TODAY + timedelta(days=k) for k in range(1, 8)}
        assert {r.day for r in back} == {TODAY - timedelta(days=k) for k in range(7)}
        assert {r.hour for r in ahead} == {8, 10, 13}
        assert len({r.zone for r in ahead}) == 2
        assert all(r.depot_id == depot_id and r.p10 <= r.p50 <= r.p90 for r in rows)
        stored = session.scalars(
            select(FleetSuggestion).where(FleetSuggestion.model_version_id == version_id)
        ).all()

    # One solve (one depot); its vehicles per shift are what was stored.
    assert len(plans) == 1
    problem, plan = plans[0]
    shift_of = {v.id: (v.shift_start, v.shift_end) for v in problem.vehicles}
    used: dict[tuple[float, float], int] = {}
    for route in plan.routes:
        if route.stops:
            key = shift_of[route.vehicle_id]
            used[key] = used.get(key, 0) + 1
    assert sorted((s.shift_start, s.shift_end) for s in stored) == [
        (time(7), time(16)),
        (time(8), time(17)),
    ]
    for s in stored:
        seconds = (s.shift_start.hour * 3600, s.shift_end.hour * 3600)
        assert s.vehicles_used == used.get(seconds, 0)
        assert s.vehicles_available == 2
        assert s.service_date == date(2026, 11, 28)
        assert s.orders_sampled == len(problem.orders) > 0
        assert s.orders_unassigned == len(plan.unassigned)
    assert sum(s.vehicles_used for s in stored) == plan.vehicles_used >= 1

    # The page's view: hourly sums per depot, actuals for the backtest days, the suggestion.
    with db.session() as session:
        view = forecast.get_forecast_view(session, depot_ids=None)
    assert view is not None and view.forecast_start == date(2026, 11, 28)
    (north,) = view.depots
    assert north.name == "North" and {p.kind for p in north.points} == {"forecast", "backtest"}
    assert set(north.actual) and max(north.actual) <= datetime.combine(TODAY, time(23))
    assert sum(s.vehicles_used for s in view.suggestions) == plan.vehicles_used


def test_the_same_seed_samples_the_same_day(db) -> None:
    """A sampled day is a Poisson draw per slot of real orders of that slot, repeatable."""
    depot_id = _seed(db, days=10)
    with db.session() as session:
        templates = fleet_size.load_templates(
            session, depot_ids=[depot_id], since=TODAY - timedelta(days=9), until=TODAY
        )
    slots = templates[["depot_id", "zone", "hour"]].drop_duplicates().assign(p50=2.0)
    first = fleet_size.sample_day(slots, templates, seed=1)
    again = fleet_size.sample_day(slots, templates, seed=1)
    pd.testing.assert_frame_equal(first, again)
    assert 0 < len(first) < 4 * len(slots)
    assert set(zip(first["zone"], first["hour"], strict=True)) <= set(
        zip(slots["zone"], slots["hour"], strict=True)
    )


def test_too_short_a_history_fails_the_run_with_a_message(db) -> None:
    """Under five weeks of orders the weekly lags cannot be learned: failed, nothing stored."""
    _seed(db, days=10)
    ctx, version_id = _context(db, config={})
    assert forecast.run_forecast_job(ctx)["status"] == "failed"
    with db.session() as session:
        run = session.get(ModelVersion, version_id)
        assert run.status == "failed" and "days of order history" in run.message
        assert session.scalar(select(func.count()).select_from(DemandForecast)) == 0


def test_the_models_page_forecast_section_shows_the_suggestion_and_charts() -> None:
    """Honest wording of the suggestion per shift; one titled chart per depot; an empty state."""
    from components.models import create_forecast_figure, create_forecast_view

    depot = forecast.DepotForecast(
        1,
        "North",
        [
            forecast.HourPoint(datetime(2026, 11, 27, 9), "backtest", 1.0, 2.0, 4.0),
            forecast.HourPoint(datetime(2026, 11, 28, 9), "forecast", 2.0, 3.0, 5.0),
        ],
        {datetime(2026, 11, 27, 9): 3.0},
    )
    shift = dict(
        depot_id=1, depot="North", service_date=date(2026, 11, 28), orders_sampled=41,
        orders_unassigned=0, orders_p50=39.6, orders_p90=55.2, vehicles_available=5,
    )  # fmt: skip
    view = forecast.ForecastView(
        version=2,
        created_at=NOW,
        forecast_start=date(2026, 11, 28),
        metrics={"wape_model": 0.21, "wape_seasonal_naive": 0.3, "coverage_p10_p90": 0.8},
        depots=[depot],
        suggestions=[
            forecast.Suggestion(shift_start=time(7), shift_end=time(16), vehicles_used=3, **shift),
            forecast.Suggestion(shift_start=time(8), shift_end=time(17), vehicles_used=1, **shift),
        ],
    )
    content = str(create_forecast_view(view))
    assert "Sat Nov 28: North needs 4 of its 10 vehicles (3 on 07:00–16:00, 1 on 08:00–17:00)" in (
        content
    )
    assert "sampled day of 41 orders (forecast P50 40; hourly P90s add up to 55)" in content
    figure = create_forecast_figure(depot, date(2026, 11, 28))
    assert figure.layout.title.text == "North: orders per hour, forecast vs actual"
    assert figure.layout.yaxis.title.text == "orders per hour"
    names = [t.name for t in figure.data]
    assert "forecast P10–P90" in names and "backtest P50" in names and "actual" in names
    assert len(figure.data[names.index("forecast P50")].x) == 24  # every hour of the day
    assert "No forecast yet" in str(create_forecast_view(None))


def test_a_cancelled_run_ends_failed_and_the_active_forecast_stays(db) -> None:
    """Cancel stops the job at its next step: failed, nothing stored, the previous run active."""
    _seed(db)
    with db.session() as session:
        previous = registry.create_version(session, name=forecast.FORECAST_MODEL, now=NOW)
        registry.activate(session, previous)
        previous_id = previous.id
    ctx, version_id = _context(db, config={})
    ctx.control.request_cancel(ctx.job_id)
    assert forecast.run_forecast_job(ctx)["status"] == "failed"
    with db.session() as session:
        assert session.get(ModelVersion, version_id).message == "cancelled"
        assert session.get(ModelVersion, previous_id).status == "active"
        assert session.scalar(select(func.count()).select_from(DemandForecast)) == 0
