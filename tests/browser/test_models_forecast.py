"""The Models page's forecast section in a real browser: a manager starts the forecast job,
follows its progress to its end (the 3-day demo history is too short, so it fails and says
why) and sees the learned travel times card, with no console or page error."""

from __future__ import annotations

import pytest

# The smoke test's fixtures: a context that fails the test on any console or page error.
from test_smoke import TIMEOUT_MS, context, login, page  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_manager_runs_the_forecast_and_follows_it(page, live_app) -> None:  # noqa: F811
    from backend.auth.users import create_user
    from backend.config import load_settings
    from backend.db.engine import Database

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    with database.session() as session:
        create_user(session, username="forecast-boss", password="pw-long-enough", role="manager")
    database.engine.dispose()
    login(page, live_app, "forecast-boss", "pw-long-enough")
    page.goto(f"{live_app.url}/models")
    page.wait_for_selector("#models-forecast-content >> text=No forecast yet")
    page.wait_for_selector("text=Learned travel times")
    page.click("#models-forecast-button")
    page.wait_for_selector("#models-forecast-cancel-button:not([disabled])")
    page.wait_for_selector(
        "#models-forecast-progress >> text=days of order history", timeout=TIMEOUT_MS
    )
    assert page.is_disabled("#models-forecast-cancel-button")
    assert "Failed" in page.inner_text("#models-forecast-progress")


def test_a_stored_forecast_is_charted_with_its_suggestion(page, live_app) -> None:  # noqa: F811
    from datetime import UTC, datetime, time, timedelta

    from sqlalchemy import select

    from backend.auth.users import create_user
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.models import Depot
    from backend.ml import forecast, registry

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    now = datetime.now(UTC)
    start = live_app.today + timedelta(days=1)
    with database.session() as session:
        create_user(session, username="chart-boss", password="pw-long-enough", role="manager")
        depot = session.scalars(select(Depot).order_by(Depot.id)).first()
        run = registry.create_version(session, name=forecast.FORECAST_MODEL, now=now)
        rows = [
            {
                "model_version_id": run.id, "kind": kind, "depot_id": depot.id, "zone": "1:1",
                "day": start + timedelta(days=d), "hour": h, "p10": 2.0, "p50": 4.0, "p90": 7.0,
            }
            for kind, days in (("backtest", range(-7, 0)), ("forecast", range(7)))
            for d in days
            for h in (8, 9, 13)
        ]  # fmt: skip
        suggestion = {
            "model_version_id": run.id, "depot_id": depot.id, "service_date": start,
            "shift_start": time(7), "shift_end": time(17), "vehicles_used": 5,
            "vehicles_available": 8, "orders_sampled": 12, "orders_unassigned": 0,
            "orders_p50": 12.0, "orders_p90": 21.0, "created_at": now,
        }  # fmt: skip
        forecast.store_forecast(session, rows, [suggestion])
        registry.mark_ready(
            session, run, metrics={"forecast_start": start.isoformat(), "wape_model": 0.2},
            data_from=None, data_to=None, now=now,
        )  # fmt: skip
        registry.activate(session, run)
        name = depot.name
    database.engine.dispose()
    login(page, live_app, "chart-boss", "pw-long-enough")
    page.goto(f"{live_app.url}/models")
    page.wait_for_selector(f"text={name} needs 5 of its 8 vehicles")
    page.wait_for_selector(f"#models-forecast-content .js-plotly-plot >> text={name}")
