"""/api/v1/orders: happy paths, depot scope, roles, bad input and the order lifecycle.

Every rejected write is checked to leave the stored row exactly as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.db.models import Order

from .api_helpers import assert_error, count_rows, order_body, stored_order, window

# --- happy paths ---------------------------------------------------------------------------


def test_list_orders_returns_a_page_of_the_callers_depot(as_role, world):
    body = as_role("dispatcher").get("/orders").get_json()
    assert body["total"] == 4
    assert body["page"] == 1 and body["page_size"] == 50
    assert {o["reference"] for o in body["items"]} == {"N-001", "N-002", "N-003", "N-004"}


def test_manager_and_admin_see_every_depot(as_role, world):
    for role in ("manager", "admin"):
        assert as_role(role).get("/orders").get_json()["total"] == 6


def test_get_order(as_role, world):
    response = as_role("dispatcher").get(f"/orders/{world.orders['N-001']}")
    assert response.status_code == 200
    order = response.get_json()
    assert order["reference"] == "N-001"
    assert order["status"] == "new"
    assert order["time_windows"][0]["start"].startswith("2026-03-02T09:00:00")


def test_create_order_stores_it_with_windows_in_sync(as_role, world, runtime):
    body = order_body(time_windows=[window(6, 7), window(1, 2)], required_skills=["fridge"])
    response = as_role("dispatcher").post("/orders", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "new"
    assert created["reference"] == body["reference"]
    # Windows come back sorted; the bounds are the earliest start and the latest end.
    assert [w["start"][:16] for w in created["time_windows"]] == [
        "2026-03-02T09:00",
        "2026-03-02T14:00",
    ]
    assert created["window_start"].startswith("2026-03-02T09:00")
    assert created["window_end"].startswith("2026-03-02T15:00")
    row = stored_order(runtime, created["id"])
    assert row["required_skills"] == ["fridge"]
    assert row["demand"] == {"kg": 12.5}


def test_create_order_keeps_the_offset_given(as_role, world, runtime):
    windows = [{"start": "2026-03-02T10:00:00+02:00", "end": "2026-03-02T12:00:00+02:00"}]
    created = as_role("dispatcher").post("/orders", json=order_body(time_windows=windows))
    assert created.status_code == 201
    row = stored_order(runtime, created.get_json()["id"])
    assert row["time_windows"][0]["start"] == "2026-03-02T10:00:00+02:00"
    assert row["window_start"].isoformat() == "2026-03-02T08:00:00+00:00"


def test_update_order(as_role, world, runtime):
    order_id = world.orders["N-002"]
    response = as_role("dispatcher").patch(
        f"/orders/{order_id}",
        json={"priority": 9, "notes": "ring twice", "time_windows": [window(4, 5)]},
    )
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    assert updated["priority"] == 9 and updated["notes"] == "ring twice"
    row = stored_order(runtime, order_id)
    assert row["priority"] == 9
    assert row["window_start"].hour == 12 and row["window_end"].hour == 13
    assert row["customer_name"] == "Bob's Books"  # untouched fields keep their value


def test_assign_and_unassign_a_vehicle(as_role, world):
    api = as_role("dispatcher")
    order_id = world.orders["N-002"]
    assigned = api.patch(f"/orders/{order_id}", json={"vehicle_id": world.vehicles["n-bike"]})
    assert assigned.get_json()["vehicle_id"] == world.vehicles["n-bike"]
    unassigned = api.patch(f"/orders/{order_id}", json={"vehicle_id": None})
    assert unassigned.status_code == 200
    assert unassigned.get_json()["vehicle_id"] is None


def test_untouched_fields_are_not_rechecked(as_role, world, runtime):
    # N-001's vehicle leaves service: its notes can still be edited...
    api = as_role("dispatcher")
    assert api.post(f"/vehicles/{world.vehicles['n-van']}/deactivate").status_code == 200
    order_id = world.orders["N-001"]
    response = api.patch(f"/orders/{order_id}", json={"notes": "gate code 1234"})
    assert response.status_code == 200, response.get_json()
    # ...but it cannot be assigned to another order.
    other = api.patch(
        f"/orders/{world.orders['N-002']}", json={"vehicle_id": world.vehicles["n-van"]}
    )
    assert_error(other, 422, "vehicle_id")


def test_cancel_order_keeps_the_row(as_role, world, runtime):
    order_id = world.orders["N-003"]
    response = as_role("dispatcher").post(
        f"/orders/{order_id}/cancel", json={"reason": "customer moved"}
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    row = stored_order(runtime, order_id)
    assert row["status"] == "cancelled"
    assert row["cancelled_at"] is not None
    assert row["failure_reason"] == "customer moved"
    assert count_rows(runtime, Order) == 6


def test_cancel_without_a_body(as_role, world):
    response = as_role("dispatcher").post(f"/orders/{world.orders['N-003']}/cancel")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"


# --- scope and roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"priority": 1}),
        ("POST", "/status", {"status": "planned"}),
        ("POST", "/cancel", None),
    ],
)
def test_other_depots_order_is_not_found(as_role, world, runtime, method, suffix, body):
    order_id = world.orders["S-001"]
    before = stored_order(runtime, order_id)
    response = as_role("dispatcher").request(method, f"/orders/{order_id}{suffix}", json=body)
    error = assert_error(response, 404)
    assert error["code"] == "not_found"
    assert stored_order(runtime, order_id) == before


def test_missing_order_is_the_same_404_as_out_of_scope(as_role, world):
    missing = as_role("dispatcher").get("/orders/999999").get_json()
    hidden = as_role("dispatcher").get(f"/orders/{world.orders['S-001']}").get_json()
    assert missing["error"]["code"] == hidden["error"]["code"] == "not_found"


def test_dispatcher_cannot_create_in_another_depot(as_role, world, runtime):
    body = order_body(depot_id=world.depots["south"], demand={"kg": 1})
    assert_error(as_role("dispatcher").post("/orders", json=body), 422, "depot_id")
    assert count_rows(runtime, Order) == 6


def test_dispatcher_cannot_move_an_order_to_another_depot(as_role, world, runtime):
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    response = as_role("dispatcher").patch(
        f"/orders/{order_id}", json={"depot_id": world.depots["south"]}
    )
    assert_error(response, 422, "depot_id")
    assert stored_order(runtime, order_id) == before


def test_list_filter_on_another_depot_is_empty_not_an_error(as_role, world):
    body = as_role("dispatcher").get(f"/orders?depot_id={world.depots['south']}").get_json()
    assert body["total"] == 0 and body["items"] == []


def test_manager_can_read_but_not_write(as_role, world, runtime):
    api = as_role("manager")
    assert api.get(f"/orders/{world.orders['S-002']}").status_code == 200
    before = stored_order(runtime, world.orders["S-002"])
    assert_error(api.post("/orders", json=order_body()), 403)
    assert_error(api.patch(f"/orders/{world.orders['S-002']}", json={"priority": 1}), 403)
    assert_error(api.post(f"/orders/{world.orders['S-002']}/cancel"), 403)
    assert stored_order(runtime, world.orders["S-002"]) == before
    assert count_rows(runtime, Order) == 6


def test_forbidden_before_the_body_is_looked_at(as_role, world):
    # A caller without the right learns nothing about the body it sent.
    error = assert_error(as_role("manager").post("/orders", data="{not json"), 403)
    assert error["code"] == "permission_denied"


def test_driver_cannot_read_orders(as_role, world):
    assert_error(as_role("driver").get("/orders"), 403)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/orders"), ("GET", "/orders/1"), ("POST", "/orders"), ("PATCH", "/orders/1")],
)
def test_anonymous_gets_401(as_role, world, method, path):
    error = assert_error(as_role(None).request(method, path, json={}), 401)
    assert error["code"] == "unauthenticated"


def test_invalid_token_gets_401(client, world):
    response = client.get("/api/v1/orders", headers={"Authorization": "Bearer fd_nope"})
    assert_error(response, 401)


def test_session_cookie_login_works(client, world):
    login = client.post("/login", data={"username": "disp-north", "password": "pw-north"})
    assert login.status_code == 302
    assert client.get("/api/v1/orders").get_json()["total"] == 4


# --- bad input -----------------------------------------------------------------------------


BAD_CREATE = [
    ("lat", {"lat": 91.0}, "lat"),
    ("lat", {"lat": -90.5}, "lat"),
    ("lon", {"lon": 180.01}, "lon"),
    ("lat type", {"lat": "52.5"}, "lat"),
    ("negative demand", {"demand": {"kg": -1}}, "demand.kg"),
    ("demand unit nobody carries", {"demand": {"pallets": 1}}, "demand.pallets"),
    ("demand type", {"demand": {"kg": "ten"}}, "demand.kg"),
    ("window end before start", {"time_windows": [window(3, 2)]}, "time_windows.0"),
    ("window end equals start", {"time_windows": [window(3, 3)]}, "time_windows.0"),
    (
        "window without offset",
        {"time_windows": [{"start": "2026-03-02T09:00:00", "end": "2026-03-02T10:00:00"}]},
        "time_windows.0.start",
    ),  # noqa: E501
    (
        "window as a number",
        {"time_windows": [{"start": 1700000000, "end": 1700003600}]},
        "time_windows.0.start",
    ),  # noqa: E501
    ("overlapping windows", {"time_windows": [window(1, 3), window(2, 4)]}, "time_windows"),
    ("no window", {"time_windows": []}, "time_windows"),
    ("too many windows", {"time_windows": [window(h, h + 0.5) for h in range(6)]}, "time_windows"),
    ("window extra key", {"time_windows": [{**window(1, 2), "tz": "x"}]}, "time_windows.0.tz"),
    ("priority 0", {"priority": 0}, "priority"),
    ("priority 11", {"priority": 11}, "priority"),
    ("priority float", {"priority": 5.5}, "priority"),
    ("priority bool", {"priority": True}, "priority"),
    ("priority string", {"priority": "5"}, "priority"),
    ("unknown depot", {"depot_id": 4242}, "depot_id"),
    ("depot id too large", {"depot_id": 2**40}, "depot_id"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("status on create", {"status": "delivered"}, "status"),
    ("empty customer", {"customer_name": "   "}, "customer_name"),
    ("customer too long", {"customer_name": "x" * 121}, "customer_name"),
    ("NUL in address", {"address": "a\x00b"}, "address"),
    ("service date as number", {"service_date": 20260302}, "service_date"),
    ("bad service date", {"service_date": "2026-02-30"}, "service_date"),
    ("negative service minutes", {"service_minutes": -5}, "service_minutes"),
    ("unknown vehicle", {"vehicle_id": 4242}, "vehicle_id"),
    ("skills not a list", {"required_skills": "fridge"}, "required_skills"),
]


@pytest.mark.parametrize(("case", "override", "field"), BAD_CREATE, ids=[c[0] for c in BAD_CREATE])
def test_create_rejects_bad_input_naming_the_field(as_role, world, runtime, case, override, field):
    response = as_role("dispatcher").post("/orders", json=order_body(**override))
    error = assert_error(response, 422, field)
    assert field.split(".")[0] in error["message"] or error["field"] == field
    assert count_rows(runtime, Order) == 6


def test_create_rejects_missing_required_fields(as_role, world, runtime):
    body = order_body()
    del body["lat"], body["time_windows"]
    error = assert_error(as_role("dispatcher").post("/orders", json=body), 422)
    assert {d["field"] for d in error["details"]} == {"lat", "time_windows"}
    assert count_rows(runtime, Order) == 6


def test_vehicle_of_another_depot_is_refused(as_role, world, runtime):
    body = order_body(vehicle_id=world.vehicles["s-truck"])
    assert_error(as_role("admin").post("/orders", json=body), 422, "vehicle_id")
    assert count_rows(runtime, Order) == 6


def test_duplicate_reference_conflicts(as_role, world, runtime):
    response = as_role("dispatcher").post("/orders", json=order_body(reference="N-001"))
    assert_error(response, 409, "reference")
    assert count_rows(runtime, Order) == 6


def test_demand_unit_of_another_depots_vehicles_is_refused(as_role, world, runtime):
    # "pallets" is carried in the south, not by any vehicle of the north depot.
    body = order_body(demand={"kg": 1, "pallets": 2})
    assert_error(as_role("admin").post("/orders", json=body), 422, "demand.pallets")
    ok = order_body(depot_id=world.depots["south"], demand={"pallets": 2})
    assert as_role("admin").post("/orders", json=ok).status_code == 201


BAD_UPDATE = [
    ("lat", {"lat": 100}, "lat"),
    ("null customer", {"customer_name": None}, "customer_name"),
    ("null windows", {"time_windows": None}, "time_windows"),
    ("bad windows", {"time_windows": [window(5, 4)]}, "time_windows.0"),
    ("priority", {"priority": 42}, "priority"),
    ("negative demand", {"demand": {"kg": -0.1}}, "demand.kg"),
    ("unknown unit", {"demand": {"litres": 3}}, "demand.litres"),
    ("unknown field", {"status": "delivered"}, "status"),
    ("unknown depot", {"depot_id": 999}, "depot_id"),
    ("reference taken", {"reference": "N-001"}, "reference"),
]


@pytest.mark.parametrize(("case", "patch", "field"), BAD_UPDATE, ids=[c[0] for c in BAD_UPDATE])
def test_update_rejects_bad_input_and_changes_nothing(as_role, world, runtime, case, patch, field):
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    response = as_role("dispatcher").patch(f"/orders/{order_id}", json=patch)
    assert response.status_code in (409, 422)
    assert_error(response, response.status_code, field)
    assert stored_order(runtime, order_id) == before


def test_partly_valid_update_changes_nothing(as_role, world, runtime):
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    response = as_role("dispatcher").patch(
        f"/orders/{order_id}", json={"priority": 2, "demand": {"gold": 1}}
    )
    assert_error(response, 422, "demand.gold")
    assert stored_order(runtime, order_id) == before


def test_path_id_out_of_range_is_a_4xx(as_role, world):
    response = as_role("dispatcher").get(f"/orders/{2**63}")
    assert 400 <= response.status_code < 500 and response.is_json


# --- lifecycle -----------------------------------------------------------------------------


def move(api: Any, order_id: int, status: str, **extra: Any) -> Any:
    return api.post(f"/orders/{order_id}/status", json={"status": status, **extra})


def test_full_lifecycle_stamps_each_status(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-001"]  # assigned to n-van
    for status in ("planned", "dispatched", "en_route", "arrived", "delivered"):
        response = move(api, order_id, status)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
        assert response.get_json()[f"{status}_at"] is not None
    row = stored_order(runtime, order_id)
    assert row["status"] == "delivered"
    assert row["planned_at"] <= row["dispatched_at"] <= row["en_route_at"] <= row["delivered_at"]
    assert row["failed_at"] is None and row["cancelled_at"] is None


def test_failed_keeps_the_reason(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-004"]
    for status in ("planned", "dispatched", "en_route"):
        move(api, order_id, status)
    response = move(api, order_id, "failed", reason="nobody home")
    assert response.status_code == 200
    assert stored_order(runtime, order_id)["failure_reason"] == "nobody home"


def test_back_to_new_from_planned(as_role, world):
    api = as_role("dispatcher")
    order_id = world.orders["N-002"]
    assert move(api, order_id, "planned").status_code == 200
    assert move(api, order_id, "new").get_json()["status"] == "new"


ILLEGAL = [
    ("new", "delivered"),
    ("new", "en_route"),
    ("new", "new"),
    ("new", "arrived"),
    ("new", "failed"),
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_is_a_409_and_changes_nothing(as_role, world, runtime, current, target):
    order_id = world.orders["N-002"]
    before = stored_order(runtime, order_id)
    error = assert_error(move(as_role("dispatcher"), order_id, target), 409, "status")
    assert error["current"] == current
    assert "planned" in error["allowed"]
    assert stored_order(runtime, order_id) == before


def test_final_orders_cannot_move_or_change(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-003"]
    assert api.post(f"/orders/{order_id}/cancel").status_code == 200
    before = stored_order(runtime, order_id)
    assert_error(move(api, order_id, "new"), 409, "status")
    assert_error(api.post(f"/orders/{order_id}/cancel"), 409, "status")
    assert_error(api.patch(f"/orders/{order_id}", json={"priority": 1}), 409, "status")
    assert stored_order(runtime, order_id) == before


def test_arrived_order_cannot_be_cancelled(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-001"]
    for status in ("planned", "dispatched", "en_route", "arrived"):
        move(api, order_id, status)
    error = assert_error(api.post(f"/orders/{order_id}/cancel"), 409, "status")
    assert error["current"] == "arrived"
    assert stored_order(runtime, order_id)["status"] == "arrived"


def test_dispatch_needs_a_vehicle(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-002"]  # unassigned
    move(api, order_id, "planned")
    assert_error(move(api, order_id, "dispatched"), 409, "vehicle_id")
    assert stored_order(runtime, order_id)["status"] == "planned"


def test_dispatched_order_keeps_its_vehicle(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-001"]
    move(api, order_id, "planned")
    move(api, order_id, "dispatched")
    assert_error(api.patch(f"/orders/{order_id}", json={"vehicle_id": None}), 409, "vehicle_id")


def test_unknown_status_is_a_422(as_role, world):
    response = move(as_role("dispatcher"), world.orders["N-002"], "teleported")
    assert_error(response, 422, "status")


# --- lists: filtering, sorting, paging -----------------------------------------------------


def refs(api: Any, query: str) -> list[str]:
    response = api.get("/orders?" + query)
    assert response.status_code == 200, response.get_json()
    return [o["reference"] for o in response.get_json()["items"]]


def test_sort_descending_and_ascending(as_role, world):
    api = as_role("admin")
    assert refs(api, "sort=-priority") == ["N-004", "S-002", "N-002", "N-003", "N-001", "S-001"]
    assert refs(api, "sort=priority") == ["S-001", "N-001", "N-003", "N-002", "S-002", "N-004"]


def test_sort_on_several_columns(as_role, world):
    assert refs(as_role("admin"), "sort=depot_id,-window_start") == [
        "N-004",
        "N-003",
        "N-002",
        "N-001",
        "S-002",
        "S-001",
    ]


def test_sort_on_unknown_column_names_sort(as_role, world):
    error = assert_error(as_role("admin").get("/orders?sort=password_hash"), 422, "sort")
    assert "allowed" in error["message"]


def test_paging_walks_every_row_once(as_role, world):
    api = as_role("admin")
    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/orders?sort=reference&page={page}&page_size=2").get_json()
        assert body["total"] == 6 and body["page"] == page and body["page_size"] == 2
        seen += [o["reference"] for o in body["items"]]
    assert seen == ["N-001", "N-002", "N-003", "N-004", "S-001", "S-002"]
    past = api.get("/orders?page=9&page_size=2").get_json()
    assert past["items"] == [] and past["total"] == 6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=501", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("priority_min=0", "priority_min"),
        ("status=lost", "status.0"),
        ("service_date=yesterday", "service_date"),
        ("vehicle=1", "vehicle"),
    ],
)
def test_bad_list_parameters_name_the_parameter(as_role, world, query, field):
    assert_error(as_role("admin").get("/orders?" + query), 422, field)


def test_filters(as_role, world):
    api = as_role("admin")
    assert refs(api, "status=new&sort=reference&depot_id=2") == ["S-001", "S-002"]
    assert refs(api, f"vehicle_id={world.vehicles['n-van']}&sort=reference") == ["N-001", "N-004"]
    assert refs(api, "unassigned=true&sort=reference") == ["N-002", "N-003", "S-002"]
    assert refs(api, "priority_min=5&priority_max=9&sort=reference") == [
        "N-002",
        "N-003",
        "S-002",
    ]
    assert refs(api, "service_date=2026-03-02&page_size=1") == ["N-001"]
    assert refs(api, "service_date=2026-03-03") == []
    assert refs(api, "date_from=2026-03-01&date_to=2026-03-02&q=s-0&sort=reference") == [
        "S-001",
        "S-002",
    ]


def test_status_filter_takes_several_values(as_role, world):
    api = as_role("admin")
    move(api, world.orders["N-002"], "planned")
    api.post(f"/orders/{world.orders['N-003']}/cancel")
    assert refs(api, "status=planned&status=cancelled&sort=reference") == ["N-002", "N-003"]


def test_text_search_covers_reference_customer_and_address(as_role, world):
    api = as_role("admin")
    assert refs(api, "q=n-00&sort=reference") == ["N-001", "N-002", "N-003", "N-004"]
    assert refs(api, "q=bakery") == ["N-001"]
    assert refs(api, "q=MILL%20LANE&sort=reference") == ["N-001", "N-004"]
    # LIKE wildcards are literal, not patterns.
    assert refs(api, "q=%25") == []
    assert refs(api, "q=_") == []
