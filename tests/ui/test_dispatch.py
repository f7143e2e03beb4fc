"""components.dispatch: the live map's GeoJSON (escaped cards), panel, alerts, pool and KPIs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tree import by_class, by_id, text

from backend.db.queries.dispatch import (
    DepotMarker,
    DispatchKpis,
    EventLine,
    RouteRow,
    StopRow,
    UnassignedOrder,
    VehicleRow,
)
from backend.services.notifications import NotificationOut
from components import ids
from components.dispatch import (
    create_alerts_feed,
    create_dispatch_kpis,
    create_dispatch_map,
    create_unassigned_pool,
    depots_geojson,
    fmt_delay,
    map_viewport,
    points_viewport,
    routes_geojson,
    stop_details,
    stops_geojson,
    vehicle_list_rows,
    vehicles_geojson,
)

T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
EVIL = '<img src=x onerror="alert(1)">'


def vehicle(i: int, status: str = "on_route", **changes: object) -> VehicleRow:
    base = dict(
        id=i, name=f"VAN-{i}", vehicle_type="cargo_van", plate="IL 1", depot_id=1,
        depot_name="North", timezone="America/Chicago", lat=41.9, lon=-87.6, heading=90.0,
        speed=5.0, recorded_at=T0, activity="moving", status=status, driver_name="Dee",
        driver_phone="+1 312", capacity={"kg": 1000.0}, load={"kg": 250.0}, stops_done=2,
        stops_total=5, route_id=10 + i, route_index=i, next_stop_id=100, next_reference="R-3",
        next_eta=T0 + timedelta(minutes=20), next_lat=41.91, next_lon=-87.61, delay_min=12.0,
        depot_lat=41.8, depot_lon=-87.7, references=("R-3", "R-4"),
        events=(EventLine(i, "breakdown", T0, "R-2", True),),
        upcoming=(("R-3", T0 + timedelta(minutes=20)), ("R-4", None)),
    )  # fmt: skip
    base.update(changes)
    return VehicleRow(**base)  # type: ignore[arg-type]


def stop(i: int, state: str = "pending", **changes: object) -> StopRow:
    base = dict(
        stop_id=i, route_id=1, route_index=0, vehicle_id=7, vehicle_name="VAN-7", sequence=i,
        kind="delivery", lat=41.9 + i / 100, lon=-87.6, state=state, at_risk=False,
        eta=T0, planned_arrival_at=T0, planned_departure_at=T0 + timedelta(minutes=5),
        actual_arrival_at=None, actual_departure_at=None, order_id=i, reference=f"R-{i}",
        customer_name=f"C{i}", address="1 Main St", window_start=T0 - timedelta(hours=1),
        window_end=T0 + timedelta(hours=1), demand={"kg": 10.0}, timezone="America/Chicago",
        depot_id=1,
    )  # fmt: skip
    base.update(changes)
    return StopRow(**base)  # type: ignore[arg-type]


def test_stops_carry_state_risk_route_and_card_fields() -> None:
    data = stops_geojson([stop(1), stop(2, "next", at_risk=True, customer_name=EVIL)])
    first, second = data["features"]
    assert first["geometry"]["coordinates"] == [-87.6, 41.91]
    props = second["properties"]
    assert props["state"] == "next" and props["at_risk"] is True and props["ref"] == "R-2"
    assert first["properties"]["eta"] == "09:00"
    assert "at_risk" not in first["properties"]  # empty values are not sent
    # The card's details follow once the map is drawn; assets/js/dispatch.js escapes them.
    details = stop_details([stop(1), stop(2, customer_name=EVIL)])
    row = dict(zip(details["fields"], details["rows"]["2"], strict=True))
    assert row["customer"] == EVIL and row["window"] == "08:00–10:00" and row["seq"] == 2


def test_vehicles_carry_status_route_colour_index_and_card_fields() -> None:
    data = vehicles_geojson([vehicle(3), vehicle(4, "idle", route_id=None)])
    props = data["features"][0]["properties"]
    assert props["status"] == "on_route" and props["route"] == 3
    assert props["recorded_at"] == "2026-11-27T15:00:00.000Z"
    assert props["stops_left"] == 3 and props["next"] == [41.91, -87.61]
    assert props["load"] == "250 / 1,000 kg" and props["delay"] == "+12 min"
    assert props["events"] == [["09:00", "Breakdown", "R-2", True]]
    assert props["upcoming"] == "R-3 09:20 · R-4"
    assert "has_route" not in data["features"][1]["properties"]


def test_routes_split_into_driven_and_remaining() -> None:
    points = [(41.9, -87.6), (41.91, -87.61), (41.92, -87.62), (41.93, -87.63)]
    data = routes_geojson(
        [
            RouteRow(1, 0, 7, "VAN-7", "active", points, 2, 10.0, None, 1),
            RouteRow(2, 1, 8, "VAN-8", "planned", points[:1], 1, 0.0, None, 1),
        ]
    )
    driven, remaining = data["features"]
    assert driven["properties"]["driven"] is True and remaining["properties"]["driven"] is False
    assert driven["geometry"]["coordinates"] == [[-87.6, 41.9], [-87.61, 41.91]]
    # The two parts meet at the last stop served.
    assert remaining["geometry"]["coordinates"][0] == [-87.61, 41.91]
    # Nothing driven yet: only the bold part.
    undriven = routes_geojson([RouteRow(3, 2, 9, "VAN-9", "planned", points, 1, 0.0, None, 1)])
    assert [f["properties"]["driven"] for f in undriven["features"]] == [False]
    assert undriven["features"][0]["properties"]["tentative"] is True


def test_map_layers_cluster_and_read_the_palette_from_hideout() -> None:
    fleet_map = create_dispatch_map()
    layers = {c.id: c for c in fleet_map.children if type(c).__name__ == "GeoJSON"}
    assert not [c for c in fleet_map.children if "Tile" in type(c).__name__]
    assert set(layers) == {
        ids.DISPATCH_ROUTES_LAYER,
        ids.DISPATCH_ORDERS_LAYER,
        ids.DISPATCH_STOPS_LAYER,
        ids.DISPATCH_DEPOTS_LAYER,
        ids.DISPATCH_VEHICLES_LAYER,
    }
    for key in (ids.DISPATCH_STOPS_LAYER, ids.DISPATCH_VEHICLES_LAYER):
        assert layers[key].cluster is True
        assert layers[key].superClusterOptions["maxZoom"] >= 13
    hideout = layers[ids.DISPATCH_VEHICLES_LAYER].hideout
    assert hideout["palette"]["routes"][0].startswith("#")
    assert hideout["rules"]["silentAfterS"] == 600
    assert (
        create_dispatch_map(silent_after_s=120).children[-1].hideout["rules"]["silentAfterS"] == 120
    )


def test_viewports() -> None:
    assert map_viewport([]) is None
    view = map_viewport(
        [DepotMarker(1, "A", "", 41.0, -87.0, "UTC"), DepotMarker(2, "B", "", 42.0, -88.0, "UTC")]
    )
    assert view["center"] == [41.5, -87.5]
    assert points_viewport([]) is None
    assert points_viewport([(41.0, -87.0), (42.0, -88.0)])["bounds"] == [
        [41.0, -88.0],
        [42.0, -87.0],
    ]
    depots = depots_geojson([DepotMarker(1, "North", "1 St", 41.9, -87.6, "UTC")])
    assert depots["features"][0]["geometry"]["coordinates"] == [-87.6, 41.9]


def test_kpi_strip() -> None:
    kpis = DispatchKpis(10, 6, 5, 1, 2, 3, 42.0, 120.0)
    strip = create_dispatch_kpis(kpis, 4, date(2026, 11, 27))
    values = [c.children for c in by_class(strip, "kpi-value")]
    assert values == ["5", "1", "2", "3", "42", "4"]
    assert "83% of served" in text(strip) and "35% of plan" in text(strip)
    hrefs = [c.href for c in by_class(strip, "kpi-link")]
    assert "/orders?date=2026-11-27&status=new&vehicle=unassigned" in hrefs


def test_vehicle_panel_rows_are_filterable_and_show_eta_and_delay() -> None:
    first, second = vehicle_list_rows([vehicle(1), vehicle(2, "offline", delay_min=None)])
    assert first["status"] == "on_route" and first["badge"] == "On route" and first["depot"] == 1
    assert "r-3" in first["search"] and "dee" in first["search"]
    assert first["next"] == "Next R-3 · ETA 09:20"
    assert first["delay"] == "+12 min" and first["delay_class"] == "slight"
    assert first["load"] == "250 / 1,000 kg" and first["load_pct"] == 25
    assert first["stops"] == "2/5 stops" and first["colour"].startswith("#")
    assert second["badge"] == "Offline" and "delay" not in second
    assert fmt_delay(-3.2) == "3 min early" and fmt_delay(0.2) == "on time"


def test_alerts_feed_links_and_acknowledge() -> None:
    note = NotificationOut(
        id=5, depot_id=1, route_event_id=9, kind="breakdown", severity="critical",
        title=EVIL, body="Engine", created_at=T0, acknowledged_at=None, acknowledged_by=None,
    )  # fmt: skip
    feed = create_alerts_feed([note], {9: (7, "VAN-7", 40, "R-40")}, "America/Chicago")
    item = by_class(feed, "alert-item")[0]
    assert getattr(item, "data-alert-id") == "5"
    assert EVIL in text(item)  # a Dash child: React shows it as text
    buttons = by_class(item, "link-button")
    assert getattr(buttons[0], "data-focus-vehicle") == "7"
    assert getattr(buttons[1], "data-focus-stop") == "40"
    assert getattr(by_class(item, "alert-ack")[0], "data-alert-ack") == "5"
    assert "No alerts" in text(create_alerts_feed([], {}))


def test_unassigned_pool_with_reasons_and_reoptimize() -> None:
    order = UnassignedOrder(
        1, "R-1", "C1", "1 St", 41.9, -87.6, T0, T0 + timedelta(hours=2), 1, "UTC", "capacity", None
    )
    pool = create_unassigned_pool([order])
    assert "Over capacity" in text(pool) and "15:00–17:00" in text(pool)
    assert by_id(pool, ids.DISPATCH_REOPTIMIZE) is not None
    assert "Every order" in text(create_unassigned_pool([]))
