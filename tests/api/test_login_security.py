"""Login throttling per account and per address, with the time pinned by the runtime's clock.

The demo let 20 wrong passwords through and then logged in with the right one; now the sixth
try on an account within 15 minutes is refused (form message or 429), even with the right
password, until the window has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backend.clock import FixedClock
from backend.runtime import runtime_of

from .api_helpers import assert_error

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """The app's clock, pinned at START."""
    fixed = FixedClock(START)
    monkeypatch.setattr(runtime, "clock", fixed)
    return fixed


def _try(client: Any, password: str, username: str = "disp-north", addr: str = "10.0.0.1") -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_five_failures_lock_the_account_even_for_the_right_password(client, world, clock):
    for _ in range(5):
        assert _try(client, "wrong-password").status_code == 401
    locked = _try(client, "pw-north")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.data and b"15 minutes" in locked.data
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert client.get_cookie("fleet_session") is None or client.get("/api/v1/me").status_code == 401
    # Another address does not help: the account is what is locked.
    assert _try(client, "pw-north", addr="10.9.9.9").status_code == 429
    clock.advance(timedelta(minutes=15, seconds=1))
    assert _try(client, "pw-north").status_code == 302
    assert client.get("/api/v1/me").get_json()["username"] == "disp-north"


def test_twenty_attempts_from_one_address_lock_it_for_every_account(client, world, clock):
    for i in range(20):
        # Four accounts, five wrong passwords each: no account is over its own limit.
        username = ["disp-north", "disp-south", "manager", "driver"][i % 4]
        assert _try(client, "wrong-password", username=username).status_code == 401
    assert _try(client, "pw-admin-1", username="admin").status_code == 429
    assert _try(client, "pw-admin-1", username="admin", addr="10.0.0.2").status_code == 302


def test_json_clients_get_429_with_a_json_error(client, world, clock):
    for _ in range(5):
        bad = client.post("/login", json={"username": "manager", "password": "nope-nope"})
        assert_error(bad, 401)
    locked = client.post("/login", json={"username": "manager", "password": "pw-manager"})
    error = assert_error(locked, 429)
    assert error["code"] == "too_many_attempts" and locked.headers["Retry-After"]


def test_a_success_clears_the_account_and_does_not_use_up_the_address(client, world, clock):
    for _ in range(4):
        _try(client, "wrong-password")
    assert _try(client, "pw-north").status_code == 302
    for _ in range(4):
        assert _try(client, "wrong-password").status_code == 401
    # An office behind one address: 30 good sign-ins do not lock it.
    for _ in range(30):
        assert _try(client, "pw-manager", username="manager", addr="10.1.1.1").status_code == 302


def test_counters_are_shared_by_every_app_on_the_same_store(app, runtime, world, clock):
    # A second app over the same settings stands for a second worker: same store, own process
    # state; the counters live in the store, so its failures count here too.
    from app import create_app

    other = create_app(runtime.settings)
    runtime_of(other.server).clock = clock
    first, second = app.server.test_client(), other.server.test_client()
    for _ in range(3):
        _try(first, "wrong-password")
    for _ in range(2):
        _try(second, "wrong-password")
    assert _try(first, "pw-north").status_code == 429


def test_bad_login_bodies_get_a_message_not_a_500(client, world, clock):
    assert _try(client, "").status_code == 400
    assert client.post("/login", json=["x"]).status_code == 400
    assert client.post("/login", json={"username": 5, "password": ["x"]}).status_code == 400
    huge = client.post("/login", data={"username": "x", "password": "y" * (2 * 1024 * 1024)})
    assert huge.status_code == 413


def test_login_stamps_last_login_with_the_runtime_clock(client, world, runtime, clock):
    from sqlalchemy import select

    from backend.db.models import User

    assert _try(client, "pw-north").status_code == 302
    with runtime.db.session() as s:
        user = s.scalar(select(User).where(User.username == "disp-north"))
        assert user.last_login_at.replace(tzinfo=UTC) == START


def test_the_session_cookie_is_secure_in_production(tmp_path):
    from app import create_app
    from backend.config import load_settings

    production = load_settings(
        DATA_DIR=str(tmp_path), DEMO=False, APP_ENV="production", SECRET_KEY="k" * 40
    )
    assert create_app(production).server.config["SESSION_COOKIE_SECURE"] is True
    plain = load_settings(DATA_DIR=str(tmp_path), DEMO=False)
    assert create_app(plain).server.config["SESSION_COOKIE_SECURE"] is False
    forced = load_settings(DATA_DIR=str(tmp_path), DEMO=False, SESSION_COOKIE_SECURE="true")
    assert create_app(forced).server.config["SESSION_COOKIE_SECURE"] is True
