"""Every page works under the Content-Security-Policy, and the policy blocks injected script.

Each page is opened as the user who may see it; a `securitypolicyviolation` listener (added
before any page script runs) and the console must stay silent. Then an injected
`<img src=x onerror=...>` and an injected inline <script> are shown to be refused. Last, the
shell's "Sign out" button (a POST carrying the CSRF token) logs out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 45_000
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
# (path, a selector that shows the page drew its data)
DISPATCHER_PAGES = [
    # The vehicle list is drawn by assets/js/dispatch.js from the day's rows.
    ("/", "#dispatch-vehicle-list .vehicle-row"),
    ("/orders", "#orders-table td[data-dash-column='reference']"),
    ("/fleet", "#fleet-vehicles-table"),
    ("/plans", "#plans-summary"),
    ("/analytics", ".js-plotly-plot"),
]


@pytest.fixture
def context(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH)
    yield context
    context.close()


def _watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def _login(page, live_app, username: str, password: str) -> None:
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def _violations(page) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def test_every_page_runs_without_a_csp_violation(context, live_app) -> None:
    page = context.new_page()
    errors = _watch_console(page)
    response = page.goto(f"{live_app.url}/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    _login(page, live_app, *live_app.dispatcher)
    for path, ready in DISPATCHER_PAGES:
        page.goto(f"{live_app.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        assert _violations(page) == [], path
    assert errors == []

    driver = context.browser.new_context()
    driver.add_init_script(WATCH)
    driver_page = driver.new_page()
    driver_errors = _watch_console(driver_page)
    _login(driver_page, live_app, *live_app.driver)
    driver_page.wait_for_selector(".content")
    driver_page.wait_for_load_state("networkidle")
    assert driver_page.url.endswith("/driver")
    assert _violations(driver_page) == [] and driver_errors == []
    driver.close()


def test_injected_inline_script_is_blocked(context, live_app) -> None:
    page = context.new_page()
    _login(page, live_app, *live_app.dispatcher)
    page.goto(f"{live_app.url}/orders")
    page.wait_for_load_state("networkidle")
    page.evaluate(
        """() => {
        const box = document.createElement('div');
        box.innerHTML = '<img src="x" onerror="window.__pwned = 1">';
        document.body.appendChild(box);
        const s = document.createElement('script');
        s.textContent = 'window.__pwnedToo = 1';
        document.body.appendChild(s);
    }"""
    )
    page.wait_for_function("window.__cspViolations.length >= 2")
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__pwnedToo") is None
    directives = " ".join(_violations(page))
    assert "script-src" in directives


def test_sign_out_posts_the_token_and_ends_the_session(context, live_app) -> None:
    page = context.new_page()
    errors = _watch_console(page)
    _login(page, live_app, *live_app.dispatcher)
    page.goto(f"{live_app.url}/orders")
    page.wait_for_load_state("networkidle")
    page.click("form.logout-form button[type=submit]")
    page.wait_for_url(f"{live_app.url}/login")
    page.goto(f"{live_app.url}/orders")
    assert "/login" in page.url
    assert errors == [] and _violations(page) == []
