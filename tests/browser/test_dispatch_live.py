"""End to end on the Dispatch page in headless Chromium, with a fleet of two depots.

A simulated driver streams a fix over the real socket and its marker moves without any Dash
callback; a vehicle whose last fix ages past VEHICLE_SILENT_AFTER_MIN turns grey ("last seen");
a breakdown reported over the socket appears in the alerts feed and is acknowledged on the
server; the timeline shows planned and actual blocks and a click selects the stop on the map;
a dispatcher of depot A never sees depot B's vehicles, stops, alerts or timeline rows.
Screenshots at 1440x900 and 1280x720 go to the screenshot dir.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.dashboard import PASSWORD, seed_day

pytestmark = pytest.mark.browser

TIMEOUT_MS = 45_000
DISPATCHER_A = "dispatch-live-a"
DISPATCHER_B = "dispatch-live-b"
SECRET_B = "Depot B only: engine fire"


def _database(live_app):
    from backend.config import load_settings
    from backend.db.engine import Database

    return Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))


@pytest.fixture(scope="module")
def fleet(live_app) -> dict[str, Any]:
    """Two depots (A, B) of six vehicles each with today's routes; driver tokens; one vehicle
    of A about to fall silent; a notification for B only."""
    from sqlalchemy import select, update

    from backend.auth.tokens import issue_token
    from backend.db.models import Notification, User, Vehicle, VehicleState

    database = _database(live_app)
    now = datetime.now(UTC)
    try:
        with database.session() as session:
            seeded = seed_day(
                session,
                depots=2,
                vehicles=12,
                stops=144,
                now=now,
                today=live_app.today,
                prefix="L",
                dispatchers={DISPATCHER_A: [0], DISPATCHER_B: [1]},
            )
            depot_a, depot_b = seeded["depot_ids"]
            names = dict(session.execute(select(Vehicle.id, Vehicle.name)).all())
            a_ids, b_ids = seeded["vehicle_ids"][depot_a], seeded["vehicle_ids"][depot_b]
            # Fifteen seconds before the ten minutes of silence run out.
            session.execute(
                update(VehicleState)
                .where(VehicleState.vehicle_id == a_ids[1])
                .values(recorded_at=now - timedelta(seconds=585), speed=0.0)
            )
            driver = session.scalar(select(User).where(User.vehicle_id == a_ids[0]))
            token = issue_token(session, user=driver, name="browser-test")
            session.add(
                Notification(
                    depot_id=depot_b,
                    kind="accident",
                    severity="critical",
                    title=SECRET_B,
                    audience=["dispatcher", "manager"],
                    created_at=now,
                )
            )
    finally:
        database.engine.dispose()
    return {
        "a_names": [names[i] for i in a_ids],
        "b_names": [names[i] for i in b_ids],
        "moving": a_ids[0],
        "moving_name": names[a_ids[0]],
        "silent_name": names[a_ids[1]],
        "token": token,
    }


@pytest.fixture
def context(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    context.on("page", watch)
    yield context
    context.close()
    assert errors == [], "browser errors:\n" + "\n".join(errors)


def open_dispatch(context, live_app, username: str) -> Any:
    page = context.new_page()
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#dispatch-vehicle-list .vehicle-row")
    page.wait_for_function("window.fleetRealtime && window.fleetRealtime.state() === 'live'")
    return page


def focus(page, name: str) -> Any:
    """Fly to a vehicle from the list and return its marker (drawn, not clustered)."""
    page.fill("#dispatch-search", name.lower())
    page.click(
        f"#dispatch-vehicle-list .vehicle-row:not([hidden]) button.vehicle-name:text-is('{name}')"
    )
    marker = page.locator(".vehicle-marker", has_text=name)
    marker.wait_for()
    page.wait_for_timeout(1500)  # the fly-to animation
    return marker


def as_driver(live_app, token: str, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send frames as a driver over the real socket (in a thread: Playwright owns this loop)."""
    from backend.sim.driver_socket import WebSocketClient

    replies: list[dict[str, Any]] = []

    async def run() -> None:
        url = live_app.url.replace("http://", "ws://") + "/ws"
        client = await WebSocketClient.connect(url, headers={"Authorization": f"Bearer {token}"})
        for frame in frames:
            await client.send_text(json.dumps(frame))
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            try:
                message = await asyncio.wait_for(client.recv(), 1)
            except TimeoutError:
                continue
            if message is None:
                break
            reply = json.loads(message)
            replies.append(reply)
            if reply.get("type") in ("acknowledgment", "error") and sum(
                1 for r in replies if r.get("type") in ("acknowledgment", "error")
            ) >= len(frames):
                break
        await client.close()

    thread = threading.Thread(target=lambda: asyncio.run(run()))
    thread.start()
    thread.join(timeout=20)
    return replies


def test_a_driver_moves_and_its_marker_moves_without_a_callback(context, live_app, fleet) -> None:
    page = open_dispatch(context, live_app, DISPATCHER_A)
    marker = focus(page, fleet["moving_name"])
    before = marker.evaluate("el => el.style.transform")
    centre = page.evaluate(
        "(id) => { const p = window.fleetMap.position(String(id)); return p; }", fleet["moving"]
    )
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "_dash-update" in r.url else None)
    fix = {
        "type": "vehicle_location_update",
        "seq": 1000,
        "recordedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "lat": centre[0] + 0.0008,
        "lon": centre[1] + 0.0008,
        "speed": 9.0,
        "heading": 45.0,
    }
    replies = as_driver(live_app, fleet["token"], [fix])
    assert any(r.get("type") == "acknowledgment" for r in replies), replies
    page.wait_for_function(
        "([name, t]) => { const m = Array.from(document.querySelectorAll('.vehicle-marker'))"
        ".find((el) => el.textContent.includes(name)); return m && m.style.transform !== t; }",
        arg=[fleet["moving_name"], before],
    )
    page.wait_for_timeout(1000)
    assert callbacks == [], "live positions must not go through a Dash callback"


def test_a_silent_vehicle_turns_grey(context, live_app, fleet) -> None:
    page = open_dispatch(context, live_app, DISPATCHER_A)
    marker = focus(page, fleet["silent_name"])
    # Its last fix passes ten minutes while the page is open: greyed, "last seen 10 min ago".
    page.wait_for_function(
        "(name) => Array.from(document.querySelectorAll('.vehicle-marker.vehicle-silent'))"
        ".some((el) => el.textContent.includes(name))",
        arg=fleet["silent_name"],
        timeout=40_000,
    )
    assert "last seen 10 min ago" in marker.text_content()
    row = page.locator("#dispatch-vehicle-list .vehicle-row", has_text=fleet["silent_name"])
    assert "last seen" in row.locator(".vehicle-fix").text_content()


def test_a_breakdown_reaches_the_alerts_feed_and_is_acknowledged(context, live_app, fleet) -> None:
    from sqlalchemy import select

    from backend.db.models import Notification

    page = open_dispatch(context, live_app, DISPATCHER_A)
    event = {
        "type": "route_event",
        "eventType": "breakdown",
        "data": {"note": "Flat tyre <script>window.__xss=1</script>"},
        "clientEventId": "browser-breakdown-1",
    }
    replies = as_driver(live_app, fleet["token"], [event])
    assert any(r.get("type") == "acknowledgment" for r in replies), replies
    item = page.locator("#dispatch-alerts-list .alert-item").first
    item.wait_for()
    assert "breakdown" in item.text_content().lower()
    assert item.locator(f"[data-focus-vehicle='{fleet['moving']}']").count() == 1
    note_id = int(item.get_attribute("data-alert-id"))
    item.locator("[data-alert-ack]").click()
    page.wait_for_selector(f"#dispatch-alerts-list [data-alert-id='{note_id}'].alert-read")
    assert page.evaluate("() => window.__xss") is None
    database = _database(live_app)
    try:
        with database.session() as session:
            note = session.scalar(select(Notification).where(Notification.id == note_id))
            assert note.acknowledged_by is not None and note.acknowledged_at is not None
    finally:
        database.engine.dispose()


def test_the_timeline_shows_planned_and_actual_blocks(context, live_app, fleet) -> None:
    page = open_dispatch(context, live_app, DISPATCHER_A)
    page.wait_for_selector("#dispatch-timeline .trace.bars")
    legend = page.locator("#dispatch-timeline .legendtext").all_text_contents()
    assert {"Drive", "Service", "Actual"} <= set(legend), legend
    rows = page.locator("#dispatch-timeline .ytick text").all_text_contents()
    assert set(rows) == set(fleet["a_names"]), rows
    # A click on a block selects its stop on the map.
    actual = page.locator("#dispatch-timeline .trace.bars").nth(legend.index("Service") + 1)
    actual.locator("path").first.click(force=True)
    page.wait_for_selector("path.stop-selected", timeout=15_000)


def test_a_dispatcher_of_depot_a_never_sees_depot_b(
    context, live_app, fleet, screenshot_dir
) -> None:
    page = open_dispatch(context, live_app, DISPATCHER_A)
    page.wait_for_selector("#dispatch-timeline .trace.bars")
    listed = page.locator("#dispatch-vehicle-list .vehicle-name").all_text_contents()
    assert set(listed) == set(fleet["a_names"])
    layers = page.evaluate(
        "() => window.fleetMap.__vehiclesData.features.map((f) => f.properties.name)"
    )
    assert set(layers) == set(fleet["a_names"])
    page.wait_for_selector("#dispatch-alerts .alerts-list")
    assert SECRET_B not in page.locator("#dispatch-alerts").text_content()
    rows = set(page.locator("#dispatch-timeline .ytick text").all_text_contents())
    assert not rows & set(fleet["b_names"])
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot_dir / "dispatch-1440x900.png"))
    page.screenshot(path=str(screenshot_dir / "dispatch-1440x900-full.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_timeout(800)
    page.screenshot(path=str(screenshot_dir / "dispatch-1280x720.png"))
    other = open_dispatch(context, live_app, DISPATCHER_B)
    listed_b = other.locator("#dispatch-vehicle-list .vehicle-name").all_text_contents()
    assert set(listed_b) == set(fleet["b_names"])
    other.wait_for_selector("#dispatch-alerts-list .alert-item")
    assert SECRET_B in other.locator("#dispatch-alerts").text_content()
