"""End to end in headless Chromium: log in, open every page through the nav, see real data.

Fails on any console error or uncaught page error. Screenshots go to a temp dir (printed), or to
FLEET_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


class ConsoleWatch:
    """Collects console errors and page errors of a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location}")


@pytest.fixture
def page(browser, live_app) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.watch = ConsoleWatch(page)
    yield page
    context.close()


def login(page, live_app, username: str, password: str) -> None:
    page.goto(f"{live_app.url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def shot(page, directory: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_dispatcher_sees_dispatch_map(page, live_app, screenshot_dir) -> None:
    login(page, live_app, *live_app.dispatcher)
    assert page.url.rstrip("/") == live_app.url
    page.wait_for_selector("path.order-marker")
    assert page.locator("path.order-marker").count() > 0
    page.wait_for_selector(".vehicle-marker")
    page.wait_for_selector(".depot-marker")
    page.wait_for_selector(".kpi")
    shot(page, screenshot_dir, "01-dispatch")
    assert page.watch.errors == []
