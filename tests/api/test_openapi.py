"""The OpenAPI document tells the truth: the error bodies, statuses, ids and times it promises.

Every error status an operation can answer is documented with the ErrorResponse body it really
gets (never flask-openapi3's default list of pydantic errors); a malformed id is a 422 naming it,
not a 405 from the catch-all route; shift times are local clock times, and those with an offset,
which used to be a 500, are refused like any other bad value.
"""

from __future__ import annotations

import re

import pytest

from backend.api.errors import complete_error_responses

from .api_helpers import assert_error, vehicle_body

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_status_is_documented_with_the_error_body(spec):
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        expected = {"401", "413", "422", "500"} | (
            {"400", "403", "415"} if method in WRITES else set()
        )
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR_REF, (method, path, status, schema)


def test_the_default_validation_list_is_gone(spec):
    assert "ValidationErrorModel" not in spec["components"]["schemas"]
    assert '"type": "array", "items": {"$ref": "#/components/schemas/Validation' not in str(spec)


def test_an_operation_that_names_no_422_gets_ours():
    spec = {
        "paths": {
            "/api/v1/things": {
                "post": {
                    "security": [{"bearer": []}],
                    "responses": {
                        "201": {"description": "Created"},
                        "422": {
                            "description": "Unprocessable Content",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"$ref": "#/x"}}
                                }
                            },
                        },
                    },
                }
            },
            "/login": {"post": {"responses": {"200": {"description": "OK"}}}},
        }
    }
    complete_error_responses(spec)
    responses = spec["paths"]["/api/v1/things"]["post"]["responses"]
    assert list(responses) == ["201", "400", "401", "403", "413", "415", "422", "500"]
    assert responses["422"]["content"]["application/json"]["schema"] == ERROR_REF
    assert list(spec["paths"]["/login"]["post"]["responses"]) == ["200"]


def test_no_format_time_and_shift_times_are_local(spec):
    assert '"format": "time"' not in str(spec).replace("'", '"')
    schemas = spec["components"]["schemas"]
    out = schemas["VehicleOut"]["properties"]["shift_start"]["pattern"]
    into = schemas["VehicleCreate"]["properties"]["shift_start"]["pattern"]
    assert re.fullmatch(out, "07:00:00") and re.fullmatch(out, "07:00:00.250000")
    assert all(re.fullmatch(into, t) for t in ("07:00", "07:00:00", "23:59:59.5"))
    assert not any(re.fullmatch(into, t) for t in ("07:00Z", "07:00:00+02:00", "24:00", "7:00"))


@pytest.mark.parametrize("shift_start", ["07:00:00Z", "07:00:00+02:00", "07:00:60", "7:00"])
def test_shift_times_the_document_refuses_are_a_422(as_role, world, shift_start):
    api = as_role("dispatcher")
    vehicle_id = world.vehicles["n-van"]
    assert_error(api.patch(f"/vehicles/{vehicle_id}", json={"shift_start": shift_start}), 422)
    body = vehicle_body(shift_start=shift_start, shift_end="16:00:00")
    assert_error(api.post("/vehicles", json=body), 422, "shift_start")


def test_shift_times_the_document_allows_are_taken(as_role, world):
    api = as_role("dispatcher")
    vehicle_id = world.vehicles["n-van"]
    response = api.patch(f"/vehicles/{vehicle_id}", json={"shift_start": "06:30"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["shift_start"] == "06:30:00"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/orders/abc", "order_id"),
        ("POST", "/orders/-1/cancel", "order_id"),
        ("PATCH", "/vehicles/1.5", "vehicle_id"),
        ("POST", "/depots/null/activate", "depot_id"),
        ("GET", "/depots/99999999999", "depot_id"),
    ],
)
def test_a_malformed_id_is_a_422_naming_it(as_role, world, method, path, field):
    response = as_role("admin").request(method, path, json={} if method != "GET" else None)
    assert_error(response, 422, field)


def test_a_plan_for_an_impossible_vehicle_id_is_a_422(as_role, world):
    body = {"depot_id": world.depots["north"], "service_date": "2026-03-02"}
    for vehicle_ids in ([2**64], [0]):
        response = as_role("dispatcher").post("/plans", json={**body, "vehicle_ids": vehicle_ids})
        error = assert_error(response, 422)
        assert error["field"].startswith("vehicle_ids"), error
