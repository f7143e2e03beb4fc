"""End to end: a customer name that is HTML shows as text in the dispatch map's tooltip.

An order whose customer is `<img src=x onerror="window.__xss=1">` is created through the
order service (as the REST API does), the dispatcher opens the Dispatch page, finds it in the
unassigned pool, and the order's tooltip is opened on its (unassigned) marker: the name
appears literally, no <img> is created and the handler never runs. A screenshot of the open
tooltip goes to the screenshot dir.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 45_000
EVIL = '<img src=x onerror="window.__xss=1">'
REFERENCE = "XSS-0001"


def _create_evil_order(live_app) -> tuple[float, float]:
    from sqlalchemy import select

    from backend.config import load_settings
    from backend.db.engine import Database
    from backend.db.models import Depot, User
    from backend.services.orders import OrderCreate, create_order

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    try:
        with database.session() as session:
            user = session.scalar(select(User).where(User.username == live_app.dispatcher[0]))
            depot_ids = [d.id for d in user.depots] or list(session.scalars(select(Depot.id)))
            depot = session.get(Depot, depot_ids[0])
            start = datetime.now(UTC).replace(microsecond=0)
            # Off to the side of the depot, so its marker is not under another one.
            lat, lon = depot.lat + 0.03, depot.lon + 0.03
            create_order(
                session,
                depot_ids=None,
                data=OrderCreate(
                    reference=REFERENCE,
                    depot_id=depot.id,
                    service_date=live_app.today,
                    customer_name=EVIL,
                    address=f"1 {EVIL} Street",
                    lat=lat,
                    lon=lon,
                    demand={"kg": 1.0},
                    time_windows=[
                        {
                            "start": start.isoformat(),
                            "end": (start + timedelta(hours=2)).isoformat(),
                        }
                    ],
                ),
            )
    finally:
        database.engine.dispose()
    return lat, lon


def test_customer_name_is_shown_literally_in_the_tooltip(browser, live_app, screenshot_dir) -> None:
    lat, lon = _create_evil_order(live_app)
    # Without the app's Content-Security-Policy: it would stop an injected handler by itself,
    # and this test is about the markup being escaped (Playwright's waits also need eval).
    context = browser.new_context(viewport={"width": 1440, "height": 960}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_app.url}/login")
        page.fill("#login-username", live_app.dispatcher[0])
        page.fill("#login-password", live_app.dispatcher[1])
        page.click("#login-submit")
        # No route serves the new order: it is in the unassigned pool (a Dash component: text)
        # and on the map as an unassigned order, whose tooltip is HTML built in Python.
        pool_row = page.locator("#dispatch-unassigned .pool-row", has_text=REFERENCE)
        pool_row.wait_for(state="attached")
        assert EVIL in pool_row.text_content() and pool_row.locator("img").count() == 0
        page.wait_for_selector("path.order-marker.order-unassigned", state="attached")
        # The day's view fits its stops; bring the order's marker into view (no animation).
        page.evaluate(
            "([lat, lon]) => window.dash_clientside.set_props('dispatch-map',"
            " {viewport: {center: [lat, lon], zoom: 15, options: {animate: false}}})",
            [lat, lon],
        )
        page.wait_for_timeout(1000)
        _open_tooltip_by_hover(page)
        tooltip = page.locator(".leaflet-tooltip", has_text=REFERENCE)
        tooltip.wait_for()
        shown = tooltip.inner_text()
        assert EVIL in shown, shown
        assert tooltip.locator("img").count() == 0
        assert page.locator(".leaflet-tooltip img, #dispatch-map img[src='x']").count() == 0
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.__xss") == "undefined"
        page.screenshot(path=str(screenshot_dir / "xss-tooltip.png"))
    finally:
        context.close()
    assert errors == []


def _open_tooltip_by_hover(page) -> None:
    """Hover order markers until the one whose tooltip names our order shows its tooltip."""
    markers = page.locator("path.order-marker")
    for i in range(markers.count()):
        box = markers.nth(i).bounding_box()
        if box is None:
            continue
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if page.locator(".leaflet-tooltip", has_text=REFERENCE).count():
            return
    raise AssertionError("no order marker showed the tooltip of " + REFERENCE)
