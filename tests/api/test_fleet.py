"""/api/v1/vehicles and /api/v1/depots: lists, get, create, update, deactivate, scope and roles.

Deactivation keeps the row (history); rejected writes leave the stored row as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from backend.db.models import Depot, Vehicle

from .api_helpers import assert_error, count_rows, order_body, vehicle_body


def stored(runtime: Any, model: Any, row_id: int) -> dict[str, Any]:
    with runtime.db.session() as s:
        row = s.get(model, row_id)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in model.__table__.columns}


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


# --- vehicles ------------------------------------------------------------------------------


def test_list_vehicles_in_scope_sorted_by_name(as_role, world):
    assert names(as_role("dispatcher").get("/vehicles")) == ["n-bike", "n-van"]
    assert names(as_role("manager").get("/vehicles")) == ["n-bike", "n-van", "s-truck"]


def test_vehicle_filters_sort_and_paging(as_role, world):
    api = as_role("admin")
    assert names(api.get("/vehicles?vehicle_type=truck")) == ["s-truck"]
    assert names(api.get(f"/vehicles?depot_id={world.depots['north']}&sort=-name")) == [
        "n-van",
        "n-bike",
    ]
    assert names(api.get("/vehicles?q=VAN")) == ["n-van"]
    body = api.get("/vehicles?sort=-cost_per_km,name&page=2&page_size=2").get_json()
    assert body["total"] == 3 and [v["name"] for v in body["items"]] == ["s-truck"]
    api.post(f"/vehicles/{world.vehicles['n-bike']}/deactivate")
    assert names(api.get("/vehicles?active=false")) == ["n-bike"]
    assert names(api.get("/vehicles?active=true")) == ["n-van", "s-truck"]
    assert_error(api.get("/vehicles?sort=secret"), 422, "sort")
    assert_error(api.get("/vehicles?page_size=1000"), 422, "page_size")


def test_get_vehicle(as_role, world):
    body = as_role("dispatcher").get(f"/vehicles/{world.vehicles['n-van']}").get_json()
    assert body["name"] == "n-van"
    assert body["capacity"] == {"kg": 1000, "m3": 8}
    assert body["shift_start"] == "07:00:00"


def test_vehicle_of_another_depot_is_not_found(as_role, world, runtime):
    vehicle_id = world.vehicles["s-truck"]
    before = stored(runtime, Vehicle, vehicle_id)
    api = as_role("dispatcher")
    assert_error(api.get(f"/vehicles/{vehicle_id}"), 404)
    assert_error(api.patch(f"/vehicles/{vehicle_id}", json={"plate": "X"}), 404)
    assert_error(api.post(f"/vehicles/{vehicle_id}/deactivate"), 404)
    assert stored(runtime, Vehicle, vehicle_id) == before


def test_create_vehicle(as_role, world, runtime):
    response = as_role("dispatcher").post("/vehicles", json=vehicle_body(name="n-van-2"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["start_depot_id"] == body["end_depot_id"] == world.depots["north"]
    assert body["active"] is True
    assert count_rows(runtime, Vehicle) == 4


def test_update_vehicle(as_role, world, runtime):
    vehicle_id = world.vehicles["n-bike"]
    response = as_role("dispatcher").patch(
        f"/vehicles/{vehicle_id}",
        json={"capacity": {"kg": 120}, "shift_end": "18:30", "max_route_km": 40.5},
    )
    assert response.status_code == 200, response.get_json()
    row = stored(runtime, Vehicle, vehicle_id)
    assert row["capacity"] == {"kg": 120}
    assert row["max_route_km"] == 40.5
    assert row["shift_end"].hour == 18 and row["shift_end"].minute == 30


BAD_VEHICLE = [
    ("negative capacity", {"capacity": {"kg": -1}}, "capacity.kg"),
    ("empty capacity", {"capacity": {}}, "capacity"),
    ("capacity as a list", {"capacity": [100]}, "capacity"),
    ("negative cost", {"cost_per_km": -0.1}, "cost_per_km"),
    ("cost as a string", {"cost_per_hour": "22"}, "cost_per_hour"),
    ("shift ends before it starts", {"shift_start": "16:00", "shift_end": "07:00"}, "shift_end"),
    ("shift as a number", {"shift_start": 3600}, "shift_start"),
    ("unknown depot", {"depot_id": 999}, "depot_id"),
    ("unknown end depot", {"end_depot_id": 999}, "end_depot_id"),
    ("unknown field", {"turbo": True}, "turbo"),
    ("empty name", {"name": ""}, "name"),
    ("name taken", {"name": "n-van"}, "name"),
]


@pytest.mark.parametrize(
    ("case", "override", "field"), BAD_VEHICLE, ids=[c[0] for c in BAD_VEHICLE]
)
def test_create_vehicle_rejects_bad_input(as_role, world, runtime, case, override, field):
    response = as_role("dispatcher").post("/vehicles", json=vehicle_body(**override))
    assert response.status_code in (409, 422)
    assert_error(response, response.status_code, field)
    assert count_rows(runtime, Vehicle) == 3


def test_dispatcher_cannot_add_a_vehicle_to_another_depot(as_role, world, runtime):
    body = vehicle_body(depot_id=world.depots["south"])
    assert_error(as_role("dispatcher").post("/vehicles", json=body), 422, "depot_id")
    assert count_rows(runtime, Vehicle) == 3


BAD_VEHICLE_UPDATE = [
    ("null name", {"name": None}, "name"),
    ("shift end before stored start", {"shift_end": "06:00"}, "shift_end"),
    ("move to another depot", {"depot_id": 2}, "depot_id"),
    ("name taken", {"name": "n-van"}, "name"),
    ("active is not patched", {"active": False}, "active"),
]


@pytest.mark.parametrize(
    ("case", "patch", "field"), BAD_VEHICLE_UPDATE, ids=[c[0] for c in BAD_VEHICLE_UPDATE]
)
def test_update_vehicle_rejects_bad_input(as_role, world, runtime, case, patch, field):
    vehicle_id = world.vehicles["n-bike"]
    before = stored(runtime, Vehicle, vehicle_id)
    response = as_role("dispatcher").patch(f"/vehicles/{vehicle_id}", json=patch)
    assert response.status_code in (409, 422)
    assert_error(response, response.status_code, field)
    assert stored(runtime, Vehicle, vehicle_id) == before


def test_deactivate_and_reactivate_vehicle(as_role, world, runtime):
    api = as_role("dispatcher")
    vehicle_id = world.vehicles["n-bike"]
    response = api.post(f"/vehicles/{vehicle_id}/deactivate")
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert count_rows(runtime, Vehicle) == 3  # kept, with its history
    assert api.post(f"/vehicles/{vehicle_id}/deactivate").status_code == 200  # idempotent
    assert api.post(f"/vehicles/{vehicle_id}/activate").get_json()["active"] is True


def test_inactive_vehicle_cannot_take_orders(as_role, world):
    api = as_role("dispatcher")
    api.post(f"/vehicles/{world.vehicles['n-bike']}/deactivate")
    response = api.patch(
        f"/orders/{world.orders['N-002']}", json={"vehicle_id": world.vehicles["n-bike"]}
    )
    assert_error(response, 422, "vehicle_id")


def test_vehicle_on_the_road_cannot_be_deactivated(as_role, world, runtime):
    api = as_role("dispatcher")
    order_id = world.orders["N-001"]
    for status in ("planned", "dispatched"):
        api.post(f"/orders/{order_id}/status", json={"status": status})
    assert_error(api.post(f"/vehicles/{world.vehicles['n-van']}/deactivate"), 409, "active")
    assert stored(runtime, Vehicle, world.vehicles["n-van"])["active"] is True


def test_vehicle_roles(as_role, world, runtime):
    assert_error(as_role("manager").post("/vehicles", json=vehicle_body()), 403)
    assert_error(as_role("manager").post(f"/vehicles/{world.vehicles['n-van']}/deactivate"), 403)
    assert_error(as_role("driver").get("/vehicles"), 403)
    assert_error(as_role(None).get("/vehicles"), 401)
    assert count_rows(runtime, Vehicle) == 3


# --- depots --------------------------------------------------------------------------------


def test_list_depots_in_scope(as_role, world):
    assert names(as_role("dispatcher").get("/depots")) == ["north"]
    assert names(as_role("manager").get("/depots")) == ["north", "south"]
    assert names(as_role("manager").get("/depots?sort=-name")) == ["south", "north"]
    assert names(as_role("manager").get("/depots?q=south%20st")) == ["south"]


def test_get_depot_and_scope(as_role, world):
    api = as_role("dispatcher")
    assert api.get(f"/depots/{world.depots['north']}").get_json()["name"] == "north"
    assert_error(api.get(f"/depots/{world.depots['south']}"), 404)
    assert_error(api.get("/depots/777"), 404)


def test_only_admin_writes_depots(as_role, world, runtime):
    body = {"name": "east", "lat": 50.1, "lon": 8.7, "timezone": "Europe/Berlin"}
    assert_error(as_role("dispatcher").post("/depots", json=body), 403)
    assert_error(as_role("manager").post("/depots", json=body), 403)
    assert count_rows(runtime, Depot) == 2
    response = as_role("admin").post("/depots", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["timezone"] == "Europe/Berlin"
    assert count_rows(runtime, Depot) == 3


BAD_DEPOT = [
    ("lat", {"lat": 90.1}, "lat"),
    ("lon", {"lon": -181}, "lon"),
    ("lat NaN-like string", {"lat": "NaN"}, "lat"),
    ("timezone", {"timezone": "Mars/Olympus"}, "timezone"),
    ("name taken", {"name": "north"}, "name"),
    ("unknown field", {"id": 5}, "id"),
]


@pytest.mark.parametrize(("case", "override", "field"), BAD_DEPOT, ids=[c[0] for c in BAD_DEPOT])
def test_create_depot_rejects_bad_input(as_role, world, runtime, case, override, field):
    body = {"name": "east", "lat": 50.1, "lon": 8.7, **override}
    response = as_role("admin").post("/depots", json=body)
    assert response.status_code in (409, 422)
    assert_error(response, response.status_code, field)
    assert count_rows(runtime, Depot) == 2


def test_update_depot(as_role, world, runtime):
    depot_id = world.depots["south"]
    response = as_role("admin").patch(f"/depots/{depot_id}", json={"address": "3 New Road"})
    assert response.status_code == 200
    assert stored(runtime, Depot, depot_id)["address"] == "3 New Road"
    before = stored(runtime, Depot, depot_id)
    assert_error(as_role("admin").patch(f"/depots/{depot_id}", json={"lat": 200}), 422, "lat")
    assert_error(as_role("admin").patch(f"/depots/{depot_id}", json={"name": None}), 422, "name")
    assert stored(runtime, Depot, depot_id) == before


def test_depot_with_active_vehicles_cannot_be_deactivated(as_role, world, runtime):
    api = as_role("admin")
    depot_id = world.depots["south"]
    assert_error(api.post(f"/depots/{depot_id}/deactivate"), 409, "active")
    api.post(f"/vehicles/{world.vehicles['s-truck']}/deactivate")
    response = api.post(f"/depots/{depot_id}/deactivate")
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert count_rows(runtime, Depot) == 2
    # An inactive depot takes no new orders or vehicles, and its vehicles stay parked.
    new_order = order_body(depot_id=depot_id, demand={"kg": 1})
    assert_error(api.post("/orders", json=new_order), 422, "depot_id")
    move = {"depot_id": depot_id}
    assert_error(api.patch(f"/orders/{world.orders['N-002']}", json=move), 422, "depot_id")
    assert_error(api.post(f"/vehicles/{world.vehicles['s-truck']}/activate"), 422, "depot_id")
    assert api.post(f"/depots/{depot_id}/activate").get_json()["active"] is True
