"""End to end: the shell's bell shows an unread notification, and acknowledging clears it.

A notification for the dispatcher's depot is stored before the page loads (as a driver's
breakdown report would store it); the bell counts it and lists it with its text shown
literally; "Acknowledge" marks it read on the server (acknowledged_at/_by) and removes it.
One stored while the page is open without being pushed comes back when the socket says
`welcome` again, as after a reconnect. Screenshots go to the screenshot dir.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 45_000
TITLE = 'Breakdown reported by <img src=x onerror="window.__xss=2">'


def _database(live_app):
    from backend.config import load_settings
    from backend.db.engine import Database

    return Database(load_settings(DATA_DIR=live_app.data_dir, DEMO=False))


def _store_notification(live_app, title: str) -> int:
    from sqlalchemy import select

    from backend.db.models import Notification, User

    database = _database(live_app)
    try:
        with database.session() as session:
            user = session.scalar(select(User).where(User.username == live_app.dispatcher[0]))
            note = Notification(
                depot_id=user.depots[0].id,
                kind="breakdown",
                severity="critical",
                title=title,
                body="Engine light on <script>window.__xss=3</script>",
                audience=["dispatcher", "manager"],
                created_at=datetime.now(UTC),
            )
            session.add(note)
            session.flush()
            return note.id
    finally:
        database.engine.dispose()


def _acknowledged_by(live_app, note_id: int) -> int | None:
    from backend.db.models import Notification

    database = _database(live_app)
    try:
        with database.session() as session:
            return session.get(Notification, note_id).acknowledged_by
    finally:
        database.engine.dispose()


def test_bell_shows_and_acknowledges_a_notification(browser, live_app, screenshot_dir) -> None:
    note_id = _store_notification(live_app, TITLE)
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
        item = page.locator(f"#shell-bell-list [data-notification-id='{note_id}']")
        page.wait_for_function(f"(window.fleetNotifications?.unread() || []).includes({note_id})")
        count = int(page.locator("#shell-bell-count").inner_text())
        assert count >= 1
        page.click("#shell-bell-button")
        item.wait_for()
        assert TITLE in item.inner_text()
        assert "<script>window.__xss=3</script>" in item.inner_text()
        assert page.locator("#shell-bell-list img, #shell-bell-list script").count() == 0
        page.wait_for_selector("#shell-connection.conn-live")
        page.screenshot(path=str(screenshot_dir / "notifications-open.png"))

        item.locator("button.bell-ack").click()
        item.wait_for(state="detached")
        assert int(page.locator("#shell-bell-count").inner_text()) == count - 1
        assert _acknowledged_by(live_app, note_id) is not None
        page.screenshot(path=str(screenshot_dir / "notifications-acknowledged.png"))

        # Stored but never pushed (as while the socket was down): back after a new welcome.
        missed = _store_notification(live_app, "Traffic jam reported while offline")
        page.evaluate(
            "window.dispatchEvent(new CustomEvent('fleet:message', {detail: {type: 'welcome'}}))"
        )
        page.locator(f"#shell-bell-list [data-notification-id='{missed}']").wait_for()
        assert page.evaluate("typeof window.__xss") == "undefined"
    finally:
        context.close()
    assert errors == []
