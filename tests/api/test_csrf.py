"""Cross-site request forgery: a cookie-authenticated write needs a JSON body or the CSRF token.

The attacks reproduce what a page on another port of the same host did to the demo: an empty
`application/x-www-form-urlencoded` POST (what a plain <form> sends) with the victim's session
cookie cancelled an order and deactivated a vehicle, and `GET /logout` (an <img>) logged out.
"""

from __future__ import annotations

from typing import Any

from backend.db.models import Order, Vehicle

from .api_helpers import assert_error

FORM = "application/x-www-form-urlencoded"


def _login(client: Any, username: str = "disp-north", password: str = "pw-north") -> Any:
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _token(client: Any) -> str:
    with client.session_transaction() as session:
        token: str = session["csrf"]
    return token


def _order_status(runtime: Any, order_id: int) -> str:
    with runtime.db.session() as s:
        return str(s.get(Order, order_id).status)


def _vehicle_active(runtime: Any, vehicle_id: int) -> bool:
    with runtime.db.session() as s:
        return bool(s.get(Vehicle, vehicle_id).active)


def test_a_cross_site_form_post_cannot_cancel_an_order(client, world, runtime):
    _login(client)
    order_id = world.orders["N-002"]
    for body in ("", "reason=forged"):
        response = client.post(f"/api/v1/orders/{order_id}/cancel", data=body, content_type=FORM)
        error = assert_error(response, 403)
        assert error["code"] == "csrf_failed"
    plain = client.post(f"/api/v1/orders/{order_id}/cancel", data="{}", content_type="text/plain")
    assert_error(plain, 403)
    assert _order_status(runtime, order_id) != "cancelled"


def test_a_cross_site_form_post_cannot_deactivate_or_activate_a_vehicle(client, world, runtime):
    _login(client)
    vehicle_id = world.vehicles["n-bike"]
    response = client.post(f"/api/v1/vehicles/{vehicle_id}/deactivate", content_type=FORM)
    assert_error(response, 403)
    assert _vehicle_active(runtime, vehicle_id)
    # A multipart form and no content type at all are refused alike.
    multipart = client.post(f"/api/v1/vehicles/{vehicle_id}/deactivate", data={"x": "1"})
    assert_error(multipart, 403)
    bare = client.open(f"/api/v1/vehicles/{vehicle_id}/activate", method="POST")
    assert_error(bare, 403)
    assert _vehicle_active(runtime, vehicle_id)


def test_a_wrong_token_is_refused_and_the_right_one_or_json_works(client, world, runtime):
    _login(client)
    order_id, vehicle_id = world.orders["N-002"], world.vehicles["n-bike"]
    wrong = client.post(
        f"/api/v1/vehicles/{vehicle_id}/deactivate",
        content_type=FORM,
        headers={"X-CSRF-Token": "not-the-token"},
    )
    assert_error(wrong, 403)
    with_token = client.post(
        f"/api/v1/vehicles/{vehicle_id}/deactivate", headers={"X-CSRF-Token": _token(client)}
    )
    assert with_token.status_code == 200, with_token.get_data(as_text=True)
    assert not _vehicle_active(runtime, vehicle_id)
    as_json = client.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "asked"})
    assert as_json.status_code == 200, as_json.get_data(as_text=True)
    assert _order_status(runtime, order_id) == "cancelled"


def test_every_cookie_write_route_refuses_a_form_post(app, client, world):
    # Every POST/PUT/PATCH/DELETE rule the server has, outside the public paths and login.
    _login(client, "admin", "pw-admin-1")
    checked = 0
    for rule in app.server.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        path = rule.rule
        if not methods or path.startswith(("/login", "/_dash-", "/osmand")):
            continue
        url = path.replace("<", "").replace(">", "")
        url = "/".join(
            "1" if part.startswith(("int:", "path:")) or "_id" in part else part
            for part in url.split("/")
        )
        for method in methods:
            response = client.open(url, method=method, data="a=1", content_type=FORM)
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 8


def test_bearer_token_writes_need_no_csrf_token(as_role, world, runtime):
    vehicle_id = world.vehicles["n-bike"]
    response = as_role("dispatcher").post(f"/vehicles/{vehicle_id}/deactivate")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert not _vehicle_active(runtime, vehicle_id)


def test_get_logout_does_not_log_out_and_a_forged_post_neither(client, world):
    _login(client)
    page = client.get("/logout")
    assert page.status_code == 200 and b'name="csrf_token"' in page.data
    assert client.get("/api/v1/me").status_code == 200
    forged = client.post("/logout", data="", content_type=FORM)
    assert forged.status_code == 403
    assert client.get("/api/v1/me").status_code == 200


def test_logout_with_the_token_ends_the_session_for_every_copy(app, client, world):
    _login(client)
    cookie = client.get_cookie("fleet_session").value
    response = client.post("/logout", data={"csrf_token": _token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert_error(client.get("/api/v1/me"), 401)
    # The cookie copied before logout no longer works anywhere.
    thief = app.server.test_client()
    thief.set_cookie("fleet_session", cookie)
    assert_error(thief.get("/api/v1/me"), 401)
    assert thief.get("/orders").status_code == 302
    # The realtime socket reads the cookie itself: it sees nobody (and closes with 1008).
    from flask import g

    from backend.realtime.server import ANONYMOUS

    with thief:
        thief.get("/ws")
        assert g.principal is ANONYMOUS


def test_login_rotates_the_session(app, client, world):
    client.get("/login")
    _login(client)
    first = client.get_cookie("fleet_session").value
    first_token = _token(client)
    _login(client, "manager", "pw-manager")
    assert client.get_cookie("fleet_session").value != first
    assert _token(client) != first_token
    # The session of the first login ended when the second began in the same browser.
    old = app.server.test_client()
    old.set_cookie("fleet_session", first)
    assert_error(old.get("/api/v1/me"), 401)
    assert client.get("/api/v1/me").get_json()["username"] == "manager"


def test_dash_callbacks_are_json_and_keep_working_with_the_cookie(client, world):
    _login(client)
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200
    # The shell signs its logout form with this session's token.
    assert _token(client) in layout.get_data(as_text=True)
    form_post = client.post("/_dash-update-component", data="output=x", content_type=FORM)
    assert form_post.status_code == 403
