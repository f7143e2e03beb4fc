"""Live ETAs end to end in headless Chromium: a driver's fix over the real socket marks its
depot, the server's at-risk pass pushes an `eta_update` frame to the depot room, and
assets/js/eta_live.js rewrites the vehicle's next-stop line in the Dispatch list (P50 in the
depot's time zone, the source in its title) with no Dash callback; the other depot's
dispatcher never learns those stops' ETAs; no browser error on the way."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bench.dashboard import seed_day
from tests.browser.test_dispatch_live import as_driver, context, open_dispatch  # noqa: F401

pytestmark = pytest.mark.browser

DISPATCHER_A = "eta-live-a"
DISPATCHER_B = "eta-live-b"


@pytest.fixture(scope="module")
def fleet(live_app) -> dict[str, Any]:
    """Two depots of four vehicles each, 15 stops a route (five hours, started three hours
    ago); a driver token of depot A's first vehicle, its last fix and its stops ahead."""
    from backend.auth.tokens import issue_token
    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.models import Route, RouteStop, User, VehicleState

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    try:
        with database.session() as session:
            seeded = seed_day(
                session, depots=2, vehicles=8, stops=120, now=datetime.now(UTC),
                today=live_app.today, prefix="E",
                dispatchers={DISPATCHER_A: [0], DISPATCHER_B: [1]},
            )  # fmt: skip
            depot_a = seeded["depot_ids"][0]
            vehicle = seeded["vehicle_ids"][depot_a][0]
            driver = session.scalar(select(User).where(User.vehicle_id == vehicle))
            assert driver is not None
            token = issue_token(session, user=driver, name="eta-browser-test")
            state = session.get(VehicleState, vehicle)
            assert state is not None
            at = (state.lat, state.lon)
            open_stops = list(
                session.scalars(
                    select(RouteStop.id)
                    .join(Route, Route.id == RouteStop.route_id)
                    .where(Route.vehicle_id == vehicle, RouteStop.actual_departure_at.is_(None))
                    .order_by(RouteStop.sequence)
                )
            )
    finally:
        database.engine.dispose()
    assert open_stops, "the seeded route has stops ahead"
    return {
        "vehicle": vehicle,
        "token": token,
        "at": at,
        "open_stops": open_stops,
    }


def test_a_fix_pushes_live_etas_into_the_vehicle_list(context, live_app, fleet) -> None:  # noqa: F811
    page = open_dispatch(context, live_app, DISPATCHER_A)
    other = open_dispatch(context, live_app, DISPATCHER_B)
    line = f'#dispatch-vehicle-list [data-vehicle-id="{fleet["vehicle"]}"] .vehicle-next'
    assert page.text_content(line).startswith("Next ")
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "_dash-update" in r.url else None)
    fix = {
        "type": "vehicle_location_update",
        "seq": 5000,
        "recordedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "lat": fleet["at"][0] + 0.0005,
        "lon": fleet["at"][1] + 0.0005,
        "speed": 8.0,
        "heading": 90.0,
    }
    replies = as_driver(live_app, fleet["token"], [fix])
    assert any(r.get("type") == "acknowledgment" for r in replies), replies
    # The pass runs every 10 s: the frame lands within a couple of passes.
    last = fleet["open_stops"][-1]
    page.wait_for_function(
        "(sid) => window.fleetEta && window.fleetEta.stop(sid) !== null", arg=last, timeout=40_000
    )
    entry = page.evaluate("(sid) => window.fleetEta.stop(sid)", last)
    assert entry["source"] == "plan" and re.fullmatch(r"\d\d:\d\d", entry["text"])
    assert entry["timezone"] == "America/Chicago" and entry["vehicleId"] == fleet["vehicle"]
    # The row showing that vehicle's next stop now carries the live figure and its source.
    page.wait_for_function("(sel) => document.querySelector(sel).title !== ''", arg=line)
    assert page.get_attribute(line, "title") == "Plan estimate"
    assert re.match(r"Next \S+ · ETA \d\d:\d\d", page.text_content(line))
    assert callbacks == [], "live ETAs must not go through a Dash callback"
    # Depot B's dispatcher never got depot A's frame.
    assert other.evaluate("(sid) => window.fleetEta.stop(sid)", last) is None
