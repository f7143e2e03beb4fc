"""A planning job survives navigation: start Optimize, open Fleet, come back, still followed.

The panel's ticket lives in the tab's session storage and the follow callback runs when the
Dispatch page mounts, so the progress bar is back, Stop still stops the same job, and its plan
is shown for review. A plan already accepted is not shown again.
"""

from __future__ import annotations

import pytest

# The smoke test's fixtures: a context that fails the test on any console or page error.
from test_smoke import TIMEOUT_MS, context, login, open_via_nav, page  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_optimization_is_followed_again_after_navigating_away(
    page,  # noqa: F811 (the smoke test's fixture, imported above)
    live_app,
    screenshot_dir,
) -> None:
    login(page, live_app, *live_app.dispatcher)
    page.wait_for_selector("#optimize-run:not([disabled])", timeout=TIMEOUT_MS)
    page.click("#optimize-run")
    page.wait_for_selector("#optimize-progress[style*='block']", timeout=TIMEOUT_MS)
    ticket = page.evaluate("window.sessionStorage.getItem('optimize-ticket')")
    assert ticket and "request_id" in ticket

    open_via_nav(page, "nav-fleet", "/fleet")
    open_via_nav(page, "nav-dispatch", "/")
    # The same job again: progress shown, the run buttons held while it runs.
    page.wait_for_selector("#optimize-progress[style*='block']", timeout=TIMEOUT_MS)
    assert page.is_disabled("#optimize-run")
    page.screenshot(path=str(screenshot_dir / "optimize-after-navigation.png"), full_page=True)
    page.click("#optimize-stop")
    page.wait_for_selector("text=Plan ready", timeout=TIMEOUT_MS)
    assert page.evaluate("window.sessionStorage.getItem('optimize-ticket')") == ticket
