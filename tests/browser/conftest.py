"""Fixtures for the browser tests: the real app on a loopback port, and headless Chromium."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "secret-pass-1"


@dataclass
class LiveApp:
    """The running app: its base URL, data dir and the logins the tests use."""

    url: str
    data_dir: Path
    dispatcher: tuple[str, str]
    driver: tuple[str, str]
    today: date
    seeded_by: str
    driver_stops: int


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing on CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI is not true")


def _seed(database, today: date) -> tuple[str, tuple[str, str], tuple[str, str]]:
    """Seed with the demo generator when it exists, else with the UI tests' sample fleet."""
    try:
        from backend.sim.demo import seed_demo
    except ImportError:
        seed_demo = None
    if seed_demo is not None:
        with database.session() as session:
            summary = seed_demo(session, seed=7, history_days=3)
        # The first dispatcher and the first driver of the roster.
        creds: dict[str, tuple[str, str]] = {}
        for role, user, password in summary.credentials:
            creds.setdefault(role, (user, password))
        return "demo", creds["dispatcher"], creds["driver"]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
    from sample_data import build_sample

    with database.session() as session:
        build_sample(session, today=today)
    return "sample", ("dispatch-north", PASSWORD), ("driver-van1", PASSWORD)


def _plan_driver_route(database, username: str, today: date) -> int:
    """Give the driver's vehicle a route of four of its depot's orders today; returns the count.

    The demo's today starts unplanned (dispatchers optimize it), so the driver would only see
    "no route yet"; the smoke test wants to see stops in order, as after an optimization.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from backend.db.models import Order, Route, RouteStop, User, Vehicle

    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        vehicle = session.get(Vehicle, user.vehicle_id)
        orders = list(
            session.scalars(
                select(Order)
                .where(Order.depot_id == vehicle.depot_id, Order.service_date == today)
                .order_by(Order.window_start, Order.id)
                .limit(4)
            )
        )
        if not orders:
            return 0
        start = orders[0].window_start
        route = Route(
            vehicle_id=vehicle.id,
            driver_id=user.id,
            depot_id=vehicle.depot_id,
            service_date=today,
            status="planned",
            planned_start_at=start - timedelta(minutes=30),
            planned_end_at=start + timedelta(hours=4),
            planned_distance_km=25.0,
            planned_duration_min=270.0,
            geometry=[[o.lat, o.lon] for o in orders],
        )
        for seq, order in enumerate(orders, start=1):
            order.vehicle_id = vehicle.id
            order.status = "planned"
            arrival = start + timedelta(minutes=30 * seq)
            route.stops.append(
                RouteStop(
                    order_id=order.id,
                    sequence=seq,
                    lat=order.lat,
                    lon=order.lon,
                    planned_arrival_at=arrival,
                    planned_departure_at=arrival + timedelta(minutes=5),
                )
            )
        session.add(route)
    return len(orders)


@pytest.fixture(scope="session")
def live_app() -> Iterator[LiveApp]:
    _chromium_or_skip()
    data_dir = Path(tempfile.mkdtemp(prefix="fleet-browser-"))
    # `import app` builds a module-level app from the environment: point it at the temp dir.
    saved = {key: os.environ.get(key) for key in ("DATA_DIR", "DEMO")}
    os.environ.update(DATA_DIR=str(data_dir), DEMO="false")
    try:
        import app as app_module
    finally:
        # Only the import needs it: other tests keep their own environment.
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    from werkzeug.serving import make_server

    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.migrate import upgrade
    from backend.db.queries.dispatch import get_local_today

    settings = load_settings(DATA_DIR=data_dir, DEMO=False)
    database = Database(settings)
    upgrade(database.engine)
    with database.session() as session:
        today = get_local_today(session, depot_ids=None, now=datetime.now(UTC))
    seeded_by, dispatcher, driver = _seed(database, today)
    with database.session() as session:
        today = get_local_today(session, depot_ids=None, now=datetime.now(UTC))
    driver_stops = _plan_driver_route(database, driver[0], today) if seeded_by == "demo" else 5
    database.engine.dispose()

    dash_app = app_module.create_app(settings)
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(
            url=f"http://127.0.0.1:{server.server_port}",
            data_dir=data_dir,
            dispatcher=dispatcher,
            driver=driver,
            today=today,
            seeded_by=seeded_by,
            driver_stops=driver_stops,
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(live_app: LiveApp) -> Iterator[object]:
    # Module scope: Playwright's sync API holds an event loop on the main thread while it is
    # open, and later test modules (the realtime ones) call asyncio.run().
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("FLEET_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="fleet-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path
