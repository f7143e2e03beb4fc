"""The assembled app: login sets a safe cookie, the guard checks roles, ops endpoints answer."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from backend.auth.tokens import issue_token
from backend.auth.users import create_user
from backend.db.models import Depot
from factories import build_app


@pytest.fixture
def fleet_app(data_dir: Path):
    dash_app, runtime = build_app(data_dir)
    with runtime.db.session() as session:
        depot = Depot(name="North", lat=41.9, lon=-87.67)
        session.add(depot)
        session.flush()
        create_user(session, username="admin", password="admin-pass", role="admin")
        create_user(
            session, username="disp", password="disp-pass1", role="dispatcher", depot_ids=[depot.id]
        )
        driver = create_user(
            session, username="drv", password="drv-pass1", role="driver", depot_ids=[depot.id]
        )
        dash_app.driver_token = issue_token(session, user=driver)
    yield dash_app
    runtime.db.engine.dispose()


def _login(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def test_anonymous_pages_redirect_to_login_and_api_answers_401(fleet_app) -> None:
    client = fleet_app.server.test_client()
    page = client.get("/orders")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/orders")
    api = client.get("/api/v1/health")
    assert api.status_code == 401 and api.json["error"]["code"] == "unauthenticated"
    dash_call = client.post("/_dash-update-component", json={})
    assert dash_call.status_code == 401
    assert client.get("/login").status_code == 200


def test_login_sets_an_httponly_samesite_cookie(fleet_app) -> None:
    client = fleet_app.server.test_client()
    response = _login(client, "disp", "disp-pass1")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_shows_a_form_message(fleet_app) -> None:
    client = fleet_app.server.test_client()
    response = _login(client, "disp", "nope-nope")
    assert response.status_code == 401
    assert b"wrong password" in response.data
    assert "Set-Cookie" not in response.headers or "uid" not in response.headers["Set-Cookie"]


def test_login_never_redirects_off_site(fleet_app) -> None:
    client = fleet_app.server.test_client()
    response = client.post(
        "/login", data={"username": "disp", "password": "disp-pass1", "next": "//evil.example/x"}
    )
    assert response.headers["Location"] == "/"


def test_roles_decide_pages(fleet_app) -> None:
    client = fleet_app.server.test_client()
    response = _login(client, "drv", "drv-pass1")
    assert response.headers["Location"] == "/driver"
    assert client.get("/").headers["Location"] == "/driver"
    assert client.get("/driver").status_code == 200


def test_pages_need_the_same_permissions_as_the_api(fleet_app) -> None:
    """A dispatcher has no `model:read`: the Models page is closed to them, as /models's API."""
    client = fleet_app.server.test_client()
    _login(client, "disp", "disp-pass1")
    assert client.get("/").status_code == 200
    assert client.get("/models").status_code == 302
    from backend.auth.permissions import make_principal
    from components.shell import create_nav

    def links(role: str) -> set[str]:
        nav = create_nav(make_principal(user_id=1, username="u", role=role, depot_ids=[1]))
        return {link.href for link in nav.children}

    assert "/models" not in links("dispatcher") and "/models" in links("manager")


def test_admin_health_reports_database_pool_and_jobs(fleet_app) -> None:
    client = fleet_app.server.test_client()
    _login(client, "disp", "disp-pass1")
    assert client.get("/api/v1/health").status_code == 403
    admin = fleet_app.server.test_client()
    _login(admin, "admin", "admin-pass")
    body = admin.get("/api/v1/health").json
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["database"]["dialect"] == "sqlite"
    assert body["redis"] == {"configured": False}
    assert body["background_jobs"] == "diskcache"
    assert "dialect" in body["pool"]


def test_bearer_token_authenticates_api_calls(fleet_app) -> None:
    client = fleet_app.server.test_client()
    response = client.get(
        "/api/v1/health", headers={"Authorization": f"Bearer {fleet_app.driver_token}"}
    )
    assert response.status_code == 403  # authenticated, but drivers may not read health
    bad = client.get("/api/v1/health", headers={"Authorization": "Bearer fd_wrong"})
    assert bad.status_code == 401


def test_liveness_metrics_openapi_and_request_ids(fleet_app) -> None:
    client = fleet_app.server.test_client()
    health = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert health.json == {"status": "ok"} and health.headers["X-Request-ID"] == "abc123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "http_request_duration_seconds_bucket" in metrics
    assert 'route="/healthz"' in metrics
    assert "db_pool_checkedout" in metrics
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/v1/health" in spec["paths"]


def test_responses_are_gzip_compressed(fleet_app) -> None:
    client = fleet_app.server.test_client()
    _login(client, "disp", "disp-pass1")
    response = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(response.data).startswith(b"{")
