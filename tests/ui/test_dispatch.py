"""components.dispatch: GeoJSON for the map layers, the viewport, KPIs and the vehicle list."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from tree import by_class, by_id, text

from backend.db.queries.dispatch import DepotMarker, OrderMarker, RouteLine, VehicleMarker
from components import ids
from components.dispatch import (
    create_dispatch_kpis,
    create_dispatch_map,
    create_vehicle_list,
    depots_geojson,
    map_viewport,
    orders_geojson,
    orders_viewport,
    routes_geojson,
    vehicles_geojson,
)

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def order(i: int, status: str, vehicle: int | None = None) -> OrderMarker:
    return OrderMarker(
        i, f"R{i}", f"C{i}", "1 Main St", 41.9 + i / 100, -87.6 - i / 100, status, 5, 1,
        vehicle, "VAN-1" if vehicle else None, T0, T1, "America/Chicago",
    )  # fmt: skip


def vehicle(i: int, activity: str = "moving", status: str = "idle") -> VehicleMarker:
    return VehicleMarker(
        i, f"VAN-{i}", "cargo_van", "IL 1", 1, "North", "America/Chicago", 41.9, -87.6, 90.0,
        5.0, status, T0, 4, 1, 3, activity,
    )  # fmt: skip


def test_orders_geojson_is_lon_lat_with_status_and_tooltip() -> None:
    data = orders_geojson([order(1, "new"), order(2, "delivered", vehicle=3)])
    assert data["type"] == "FeatureCollection"
    first, second = data["features"]
    assert first["geometry"]["coordinates"] == [-87.61, 41.91]
    assert first["properties"]["status"] == "new"
    assert "09:00–11:00" in first["properties"]["tooltip"]
    assert "Vehicle VAN-1" in second["properties"]["tooltip"]


def test_vehicles_depots_and_routes_geojson() -> None:
    vehicles = vehicles_geojson([vehicle(7), vehicle(8, "parked")])
    assert [f["properties"]["vehicle_id"] for f in vehicles["features"]] == [7, 8]
    assert vehicles["features"][1]["properties"]["parked"] is True
    first = vehicles["features"][0]["properties"]
    assert first["activity"] == "moving" and first["recorded_at"] == "2026-11-27T15:00:00.000Z"
    depots = depots_geojson([DepotMarker(1, "North", "1 St", 41.9, -87.6, "UTC")])
    assert depots["features"][0]["geometry"]["coordinates"] == [-87.6, 41.9]
    routes = routes_geojson(
        [
            RouteLine(1, 7, "VAN-7", "active", [(41.9, -87.6), (41.95, -87.65)]),
            RouteLine(2, 8, "VAN-8", "planned", [(41.9, -87.6)]),
        ]
    )
    assert len(routes["features"]) == 1
    assert routes["features"][0]["geometry"]["coordinates"] == [[-87.6, 41.9], [-87.65, 41.95]]
    props = routes["features"][0]["properties"]
    assert props["finished"] is False and props["tentative"] is False


def test_viewports() -> None:
    assert map_viewport([]) is None
    view = map_viewport(
        [DepotMarker(1, "A", "", 41.0, -87.0, "UTC"), DepotMarker(2, "B", "", 42.0, -88.0, "UTC")]
    )
    assert view["center"] == [41.5, -87.5]
    assert orders_viewport([]) is None
    bounds = orders_viewport([order(1, "new"), order(5, "new")])["bounds"]
    assert bounds[0] == pytest.approx([41.91, -87.65])
    assert bounds[1] == pytest.approx([41.95, -87.61])


def test_map_has_no_tile_layer_and_four_geojson_layers() -> None:
    fleet_map = create_dispatch_map()
    layers = [c for c in fleet_map.children if type(c).__name__ == "GeoJSON"]
    assert not [c for c in fleet_map.children if "Tile" in type(c).__name__]
    assert {layer.id for layer in layers} == {
        ids.DISPATCH_ROUTES_LAYER,
        ids.DISPATCH_ORDERS_LAYER,
        ids.DISPATCH_DEPOTS_LAYER,
        ids.DISPATCH_VEHICLES_LAYER,
    }
    orders_layer = next(c for c in layers if c.id == ids.DISPATCH_ORDERS_LAYER)
    assert orders_layer.pointToLayer == {"variable": "fleetMap.orderPoint"}
    assert "delivered" in orders_layer.hideout["statuses"]


def test_kpis_count_statuses() -> None:
    orders = [
        order(1, "new"),
        order(2, "delivered", 3),
        order(3, "failed", 3),
        order(4, "en_route", 3),
    ]
    kpis = create_dispatch_kpis(orders)
    values = [c.children for c in by_class(kpis, "kpi-value")]
    assert values == ["4", "1", "1", "1", "1"]
    assert "50% of finished" in text(kpis)
    assert not by_class(kpis, "kpi-link")
    linked = create_dispatch_kpis(orders, date(2026, 11, 27))
    hrefs = [c.href for c in by_class(linked, "kpi-link")]
    assert hrefs[0] == "/orders?date=2026-11-27"
    assert hrefs[1] == "/orders?date=2026-11-27&status=new&vehicle=unassigned"
    assert hrefs[-1] == "/orders?date=2026-11-27&status=failed"


def test_vehicle_list() -> None:
    listing = create_vehicle_list([vehicle(1), vehicle(2, "parked")])
    assert len(by_class(listing, "vehicle-row")) == 2
    assert "2 vehicles · 1 on the road · 1 parked" in text(listing)
    assert by_id(listing, "dispatch-vehicle-2") is not None
    assert "Parked" in text(by_id(listing, "dispatch-vehicle-2"))
    # Stopped away from the depot counts as on the road; offline does not.
    listing = create_vehicle_list([vehicle(3, "stopped"), vehicle(4, "offline")])
    assert "2 vehicles · 1 on the road · 0 parked" in text(listing)
    assert "Stopped" in text(listing) and "Offline" in text(listing)
    assert "No vehicles" in text(create_vehicle_list([]))
