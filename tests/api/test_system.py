"""The API as a whole: the OpenAPI document lists every route, /me, and malformed requests.

Malformed JSON, non-object bodies, wrong content types, huge or deeply nested bodies all get a
JSON 4xx that names the body, and nothing stored changes.
"""

from __future__ import annotations

import json
import re

import pytest

from backend.db.models import Order

from .api_helpers import assert_error, count_rows, order_body, stored_order


def test_openapi_document_lists_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")  # public: no token
    assert response.status_code == 200
    spec = response.get_json()
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    served = set()
    for rule in app.server.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("openapi"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served <= documented, served - documented
    for path in ("/api/v1/orders", "/api/v1/vehicles", "/api/v1/depots", "/api/v1/me"):
        assert (path, "GET") in documented
    assert ("/api/v1/orders/{order_id}/status", "POST") in documented
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/orders"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]


def test_openapi_document_describes_the_order_body(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    order_create = schemas["OrderCreate"]
    assert order_create["additionalProperties"] is False
    assert {"reference", "depot_id", "lat", "lon", "time_windows"} <= set(order_create["required"])
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    cancel = paths["/api/v1/orders/{order_id}/cancel"]["post"]
    assert cancel["requestBody"]["required"] is False


def test_me_for_a_scoped_dispatcher(as_role, world):
    me = as_role("dispatcher").get("/me").get_json()
    assert me["username"] == "disp-north"
    assert me["role"] == "dispatcher"
    assert me["depot_ids"] == [world.depots["north"]]
    assert "order:write" in me["permissions"]


def test_me_for_a_manager_has_no_depot_scope(as_role, world):
    me = as_role("manager").get("/me").get_json()
    assert me["depot_ids"] is None
    assert "order:write" not in me["permissions"]


def test_me_anonymous(as_role, world):
    assert_error(as_role(None).get("/me"), 401)


def test_health_is_admin_only(as_role, world):
    assert as_role("admin").get("/health").status_code == 200
    assert_error(as_role("dispatcher").get("/health"), 403)


RAW_BODIES = [
    ("malformed", b'{"reference": "X-1", ', 400),
    ("trailing garbage", b'{"a": 1} x', 400),
    ("not utf-8", b'{"reference": "\xff\xfe"}', 400),
    ("deeply nested", b'{"notes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400),
    ("huge integer", b'{"priority": ' + b"9" * 5000 + b"}", 400),
    ("array", b"[1, 2, 3]", 422),
    ("string", b'"{\\"reference\\": \\"X\\"}"', 422),
    ("number", b"42", 422),
    ("null", b"null", 422),
]


@pytest.mark.parametrize(("case", "raw", "status"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
def test_malformed_bodies_name_the_body(as_role, world, runtime, case, raw, status):
    api = as_role("dispatcher")
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    headers = {"Content-Type": "application/json"}
    assert_error(api.post("/orders", data=raw, headers=headers), status, "body")
    assert_error(api.patch(f"/orders/{order_id}", data=raw, headers=headers), status, "body")
    assert count_rows(runtime, Order) == 6
    assert stored_order(runtime, order_id) == before


def test_empty_body_names_the_body(as_role, world, runtime):
    assert_error(as_role("dispatcher").post("/orders"), 422, "body")
    assert count_rows(runtime, Order) == 6


def test_nan_and_infinity_are_refused(as_role, world, runtime):
    raw = json.dumps(order_body()).replace('"lat": 52.52', '"lat": NaN')
    response = as_role("dispatcher").post(
        "/orders", data=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "lat")
    raw = json.dumps(order_body(demand={"kg": 1})).replace('"kg": 1', '"kg": Infinity')
    response = as_role("dispatcher").post(
        "/orders", data=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "demand.kg")
    assert count_rows(runtime, Order) == 6


def test_form_encoded_body_is_unsupported(as_role, world, runtime):
    response = as_role("dispatcher").post("/orders", data={"reference": "X"})
    assert_error(response, 415, "body")
    assert count_rows(runtime, Order) == 6


def test_huge_body_is_refused_before_it_is_read(as_role, world, runtime):
    body = order_body(notes="x" * 300_000)
    response = as_role("dispatcher").post("/orders", json=body)
    error = assert_error(response, 413, "body")
    assert error["code"] == "body_too_large"
    assert count_rows(runtime, Order) == 6


def test_unknown_api_route_and_method_are_json(as_role, world):
    api = as_role("dispatcher")
    assert_error(api.get("/nothing-here"), 404)
    assert_error(api.request("DELETE", "/orders"), 405)
    assert_error(api.request("PUT", f"/orders/{world.orders['N-001']}", json={}), 405)


def test_validation_error_lists_every_field(as_role, world):
    body = order_body(lat=100, lon=200, priority=0)
    error = assert_error(as_role("dispatcher").post("/orders", json=body), 422)
    assert {d["field"] for d in error["details"]} == {"lat", "lon", "priority"}
    assert error["field"] == error["details"][0]["field"]
