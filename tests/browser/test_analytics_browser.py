"""The Analytics page in headless Chromium: the overview from a shared link, a row and a chart
point drilling down to the routes behind them, the view kept in the address bar, no console
error. Screenshots go to the session's screenshot folder."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser
TIMEOUT_MS = 45_000


def _refresh(live_app) -> None:
    from backend.analytics.aggregates import refresh_aggregates
    from backend.config import load_settings
    from backend.db.engine import Database

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    refresh_aggregates(database)
    database.engine.dispose()


def test_overview_and_drill_down(browser, live_app, screenshot_dir) -> None:
    _refresh(live_app)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", live_app.dispatcher[0])
    page.fill("#login-password", live_app.dispatcher[1])
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    errors.clear()  # only this page's errors count here (the landing page has its own tests)

    start = (live_app.today - timedelta(days=3)).isoformat()
    end = (live_app.today - timedelta(days=1)).isoformat()
    page.goto(f"{live_app.url}/analytics?from={start}&to={end}&grain=day")
    try:
        page.wait_for_selector("#analytics-kpis .kpi")
    except Exception:
        page.screenshot(path=str(screenshot_dir / "analytics-failed.png"), full_page=True)
        raise
    assert "target 98.0%" in page.locator("#analytics-kpis").inner_text()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.analytics-charts .js-plotly-plot'))"
        ".filter((p) => p.querySelector('.trace')).length === 8"
    )
    page.wait_for_selector("#analytics-table td[data-dash-column='name']")
    page.screenshot(path=str(screenshot_dir / "analytics-overview.png"), full_page=True)

    # A row of the depot table drills down: the URL says so and the routes are that depot's.
    depot = page.locator("#analytics-table td[data-dash-column='name']").first.inner_text()
    page.locator("#analytics-table td[data-dash-column='name']").first.click()
    page.wait_for_url("**drill=depot*")
    page.wait_for_function(
        f"document.querySelector('#analytics-drill-title').textContent.includes({depot!r})"
    )
    page.wait_for_selector("#analytics-drill-routes td[data-dash-column='vehicle']")
    page.wait_for_selector("#analytics-drill-scorecard .kpi")  # the depot's scorecard
    page.locator("#analytics-drill").screenshot(path=str(screenshot_dir / "analytics-row.png"))
    depots = page.locator("#analytics-drill-routes td[data-dash-column='depot']").all_inner_texts()
    assert depots and set(depots) == {depot}
    query = parse_qs(urlparse(page.url).query)
    assert query["from"] == [start] and query["to"] == [end]

    # A point of the on-time chart drills down into its day.
    # (Plotly turns a hover-then-click into `plotly_click`; synthetic mouse events do not
    # reliably hover in headless Chromium, so the test emits the event plotly would emit.)
    chart = page.locator("#analytics-chart-on-time .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    chart.evaluate(
        """(gd) => { const t = gd.data[0]; const i = t.x.length - 1;
        gd.emit('plotly_click', {points: [{x: t.x[i], y: t.y[i], curveNumber: 0,
        pointNumber: i, pointIndex: i}]}); }"""
    )
    page.wait_for_url("**drill=period*")
    page.wait_for_function(
        "document.querySelector('#analytics-drill-title').textContent.includes('Routes of day')"
    )
    page.wait_for_selector("#analytics-drill-routes td[data-dash-column='vehicle']")
    page.locator("#analytics-drill").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "analytics-drill.png"), full_page=True)

    # The link is the view: opened afresh, it shows the same drill-down.
    shared = page.url
    other = context.new_page()
    other.goto(shared)
    other.wait_for_selector("#analytics-drill-routes td[data-dash-column='vehicle']")
    context.close()
    assert errors == []


def test_refresh_figures_runs_a_job_and_reports_it(browser, live_app) -> None:
    """A manager's "Refresh figures" submits the refresh job; the poll reports it done."""
    from backend.auth.users import create_user
    from backend.config import load_settings
    from backend.db.engine import Database

    database = Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))
    with database.session() as session:
        create_user(session, username="refresh-manager", password="manager-pass-1", role="manager")
    database.engine.dispose()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", "refresh-manager")
    page.fill("#login-password", "manager-pass-1")
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    errors.clear()
    page.goto(f"{live_app.url}/analytics")
    page.wait_for_selector("#analytics-kpis .kpi, #analytics-kpis .empty-state")
    page.click("#analytics-refresh")
    page.wait_for_function(
        "document.querySelector('#analytics-refresh-status').textContent"
        ".startsWith('Figures refreshed in')"
    )
    context.close()
    assert errors == []
