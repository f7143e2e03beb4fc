"""End to end in headless Chromium: log in, open every page through the nav, see real data.

A dispatcher sees the Dispatch map with its markers and vehicle list, pages through orders,
and opens Fleet, Plans, Analytics (not Models: that needs model:read); a driver lands on
/driver with its stops and is sent away from /analytics. Any browser console error or uncaught
page error fails the test. No map tiles are loaded at all (there is no internet here), so no
network error needs filtering.
Screenshots go to a temp dir (printed), or to FLEET_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# Generous: a loaded CI machine can be slow; nothing here waits this long when all is well.
TIMEOUT_MS = 45_000


class ConsoleWatch:
    """Collects console errors and uncaught page errors."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location}")


@pytest.fixture
def context(browser) -> Iterator[object]:
    # Playwright's wait_for_function evaluates strings, which our CSP (no 'unsafe-eval')
    # refuses; test_csp.py drives every page under the real policy.
    context = browser.new_context(viewport={"width": 1440, "height": 960}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    watches: list[ConsoleWatch] = []
    # Every page of the context (new tabs included) is watched for console and page errors.
    context.on("page", lambda p: watches.append(ConsoleWatch(p)))
    yield context
    context.close()
    errors = [e for w in watches for e in w.errors]
    assert errors == [], "browser errors:\n" + "\n".join(errors)


@pytest.fixture
def page(context) -> object:
    return context.new_page()


def open_in_new_tab(context, url: str) -> object:
    """Open `url` in a new tab of the same session.

    Role redirects are checked in a fresh tab rather than by navigating away from a page whose
    realtime socket is open: under the development server, a socket closed by navigation can
    race with werkzeug writing an HTTP response onto it ("Invalid frame header"), which is the
    realtime endpoint's to fix, not these pages'.
    """
    tab = context.new_page()
    tab.goto(url)
    return tab


def login(page, live_app, username: str, password: str) -> None:
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def wait_for_count(page, requests: list[str], expected: int) -> None:
    """Wait until `expected` requests were seen, then a little more to catch any extra one."""
    for _ in range(TIMEOUT_MS // 250):
        if len(requests) >= expected:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(1500)
    assert len(requests) == expected, requests


def shot(page, directory: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def open_via_nav(page, nav_id: str, path: str) -> None:
    page.click(f"#{nav_id}")
    page.wait_for_url(re.compile(re.escape(path) + r"$"))
    page.wait_for_selector(f"#{nav_id}[aria-current='page']")


def test_dispatcher_opens_every_page(context, page, live_app, screenshot_dir) -> None:
    login(page, live_app, *live_app.dispatcher)
    assert page.url.rstrip("/") == live_app.url

    # Dispatch: a tile-less map with depots, stops (one by one or in clusters), vehicles and
    # the orders no route serves; the KPI strip; the vehicle list drawn in the browser.
    page.wait_for_selector(".depot-marker")
    page.wait_for_selector("path.stop-marker, .stop-cluster")
    # Unassigned orders outside the fitted view are drawn too, just not visible.
    page.wait_for_selector("path.order-marker.order-unassigned", state="attached")
    page.wait_for_selector("#dispatch-kpis .kpi")
    page.wait_for_selector("#dispatch-vehicle-list .vehicle-row")
    assert page.locator(".leaflet-tile").count() == 0
    vehicle_rows = page.locator("#dispatch-vehicle-list .vehicle-row")
    names = vehicle_rows.locator("button.vehicle-name").all_text_contents()
    assert len(names) == vehicle_rows.count() > 1 and all(n.strip() for n in names)
    shot(page, screenshot_dir, "01-dispatch")
    # The search filters the list in the browser, without a server round trip.
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "_dash-update-component" in r.url else None,
    )
    visible = (
        "() => document.querySelectorAll("
        "'#dispatch-vehicle-list .vehicle-row:not([hidden])').length"
    )
    page.fill("#dispatch-search", "no such vehicle zz")
    page.wait_for_function(f"{visible} === 0")
    page.wait_for_selector("#dispatch-vehicle-list .panel-no-match:not([hidden])")
    page.fill("#dispatch-search", names[0].lower())
    page.wait_for_function(f"{visible} > 0")
    shown = page.locator("#dispatch-vehicle-list .vehicle-row:not([hidden]) button.vehicle-name")
    assert names[0] in shown.all_text_contents() and shown.count() < len(names)
    assert callbacks == []
    # A click on its name flies the map to the vehicle and draws its marker.
    shown.filter(has_text=names[0]).first.click()
    page.locator(".vehicle-marker", has_text=names[0]).first.wait_for()
    page.fill("#dispatch-search", "")
    page.wait_for_function(f"{visible} === {len(names)}")

    # Orders: rows, paging, search.
    open_via_nav(page, "nav-orders", "/orders")
    page.wait_for_selector("#orders-table td[data-dash-column='reference']")
    summary = page.locator("#orders-summary")
    page.wait_for_function(
        "(document.querySelector('#orders-summary')?.textContent || '').startsWith('Orders 1')"
    )
    first_page = summary.text_content()
    total = int(re.search(r"of ([\d,]+)", first_page).group(1).replace(",", ""))
    rows = page.locator("#orders-table td[data-dash-column='reference']")
    assert rows.count() == min(25, total)
    first_ref = rows.first.text_content()
    shot(page, screenshot_dir, "02-orders")
    if total > 25:
        page.click("#orders-table button.next-page")
        page.wait_for_function(
            "(document.querySelector('#orders-summary')?.textContent || '').startsWith('Orders 26')"
        )
        assert rows.first.text_content() != first_ref
    # A click on a row shows that order in full.
    rows.nth(1).click()
    second_ref = rows.nth(1).text_content()
    page.wait_for_selector(f"#orders-details h3:text-is('{second_ref}')")
    assert "Time windows" in page.locator("#orders-details").text_content()
    page.fill("#orders-search", first_ref)
    page.press("#orders-search", "Enter")
    page.wait_for_function(
        "(document.querySelector('#orders-summary')?.textContent || '') === 'Orders 1–1 of 1'"
    )
    assert rows.count() == 1 and rows.first.text_content() == first_ref

    # Fleet: vehicles and drivers.
    open_via_nav(page, "nav-fleet", "/fleet")
    page.wait_for_selector("#fleet-vehicles tbody tr")
    assert page.locator("#fleet-vehicles tbody tr").count() > 0
    page.wait_for_selector("#fleet-drivers tbody tr")
    shot(page, screenshot_dir, "03-fleet")

    # Plans: the optimization history.
    open_via_nav(page, "nav-plans", "/plans")
    page.wait_for_selector("#plans-table td[data-dash-column='request_id']")
    page.wait_for_selector("#plans-summary .kpi")
    shot(page, screenshot_dir, "04-plans")

    # Analytics: KPI tiles and eight charts with data (from the aggregates, refreshed after a
    # day closes; the seeded history is refreshed here).
    from backend.analytics.aggregates import refresh_aggregates
    from backend.config import load_settings
    from backend.db.engine import Database

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    refresh_aggregates(database)
    database.engine.dispose()
    open_via_nav(page, "nav-analytics", "/analytics")
    page.wait_for_selector("#analytics-kpis .kpi")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter((p) => p.querySelector('.trace')).length === 8"
    )
    assert "%" in page.locator("#analytics-kpis .kpi-value").first.text_content()
    shot(page, screenshot_dir, "05-analytics")

    # Models need `model:read`, which dispatchers don't have (managers do): no link for them.
    assert page.locator("#nav-models").count() == 0

    # The Dispatch KPIs link to the orders behind them.
    open_via_nav(page, "nav-dispatch", "/")
    page.click("#dispatch-kpis a.kpi-link:has-text('Unassigned')")
    page.wait_for_url(re.compile(r"/orders\?date=.*status=new&vehicle=unassigned$"))
    page.wait_for_function(
        "(document.querySelector('#orders-summary')?.textContent || '').startsWith('Orders 1')"
    )
    statuses = page.locator("#orders-table td[data-dash-column='status']").all_text_contents()
    vehicles = page.locator("#orders-table td[data-dash-column='vehicle_id']").all_text_contents()
    assert statuses and set(statuses) == {"new"} and set(vehicles) == {"unassigned"}

    # The driver page is not for dispatchers: no nav link, and the URL sends them home.
    assert page.locator("#nav-driver").count() == 0
    tab = open_in_new_tab(context, f"{live_app.url}/driver")
    tab.wait_for_url(re.compile(re.escape(live_app.url) + "/?$"))
    tab.wait_for_selector("#dispatch-vehicle-list .vehicle-row")


def test_live_positions_move_vehicles_without_a_server_round_trip(page, live_app) -> None:
    login(page, live_app, *live_app.dispatcher)
    row = page.locator("#dispatch-vehicle-list .vehicle-row").first
    row.wait_for()
    vehicle_id = int(row.get_attribute("id").rsplit("-", 1)[1])
    name = row.locator("button.vehicle-name").text_content()
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "_dash-update-component" in r.url else None,
    )
    # Clicking the vehicle in the list flies the map to it (zoom 15, clusters expanded), in
    # the browser.
    page.click(f"#dispatch-vehicle-{vehicle_id} button.vehicle-name")
    page.wait_for_function(
        "() => document.querySelector('.leaflet-control-scale-line').textContent.trim()"
        " .match(/^(\\d+) m$/)"
    )
    marker = page.locator(".vehicle-marker", has_text=name)
    marker.wait_for()
    page.wait_for_timeout(1500)  # let the fly-to animation end
    assert callbacks == []
    first_transform = marker.evaluate("el => el.style.transform")
    # Stand in for assets/js/realtime.js: a batch of positions, as it hands them to the page.
    page.evaluate(
        """([id]) => { const [lat, lon] = window.fleetMap.position(String(id));
        window.dispatchEvent(new CustomEvent('fleet:positions', {detail: {snapshot: false,
            positions: [{vehicleId: id, lat: lat + 0.001, lon: lon + 0.001, heading: 45,
                         speed: 9, recordedAt: new Date().toISOString()}]}})); }""",
        [vehicle_id],
    )
    page.wait_for_function(
        "([name, t]) => { const m = Array.from(document.querySelectorAll('.vehicle-marker'))"
        ".find((el) => el.textContent.includes(name)); return m && m.style.transform !== t; }",
        arg=[name, first_transform],
    )
    assert callbacks == [], "live positions must not go through the server"
    scale = page.locator(".leaflet-control-scale-line").first.text_content()
    # Route and order changes over the socket reload the day once, however many arrive
    # (throttled in the browser), and the map stays where the dispatcher left it: the day's
    # data and alerts, then the timeline and the stop cards that follow the reloaded rows.
    for kind in ("route_optimization_update", "order_update", "route_optimization_update"):
        page.evaluate(
            "(kind) => window.dispatchEvent(new CustomEvent('fleet:message',"
            " {detail: {type: kind}}))",
            kind,
        )
    wait_for_count(page, callbacks, 4)
    assert page.locator(".leaflet-control-scale-line").first.text_content() == scale


def test_driver_sees_own_route_and_nothing_else(context, page, live_app, screenshot_dir) -> None:
    page.set_viewport_size({"width": 400, "height": 860})
    login(page, live_app, *live_app.driver)
    assert page.url == f"{live_app.url}/driver"
    page.wait_for_selector(".driver-head")
    assert page.locator(".stop").count() == live_app.driver_stops > 0
    sequence = [int(t) for t in page.locator(".stop-seq").all_text_contents()]
    assert sequence == sorted(sequence)
    shot(page, screenshot_dir, "07-driver")
    # A route message from the realtime client reloads the route at once (one server call).
    reloads: list[str] = []
    page.on("request", lambda r: reloads.append(r.url) if "_dash-update" in r.url else None)
    page.evaluate(
        "() => window.dispatchEvent(new CustomEvent('fleet:message',"
        " {detail: {type: 'route_optimization_update'}}))"
    )
    wait_for_count(page, reloads, 1)
    assert page.locator(".stop").count() == live_app.driver_stops
    assert page.locator("#nav-analytics").count() == 0
    tab = open_in_new_tab(context, f"{live_app.url}/analytics")
    tab.wait_for_url(f"{live_app.url}/driver")
    tab.wait_for_selector(".driver-head")
