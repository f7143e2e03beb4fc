"""HTML built from user text escapes every user value: the map shows it as text, never as HTML.

dash-leaflet hands a feature's `tooltip` to Leaflet's bindTooltip, which parses it as HTML, so a
customer named `<img onerror=...>` must arrive as `&lt;img ...&gt;`. The Dispatch page builds
two kinds of such HTML: tooltips built in Python (depots, unassigned orders, routes and plan
routes, through components.markup), and stop and vehicle tooltips, cards and labels that
assets/js/dispatch.js builds from the features' plain-text properties with its own escaper.
Both are checked here with the same string in every user field.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.db.queries.dispatch import (
    DepotMarker,
    EventLine,
    OrderMarker,
    RouteLine,
    RouteRow,
    StopRow,
    UnassignedOrder,
    VehicleRow,
)
from components.dispatch import (
    depot_tooltip,
    depots_geojson,
    map_hideout,
    order_tooltip,
    plan_routes_geojson,
    routes_geojson,
    stop_details,
    stop_properties,
    stops_geojson,
    unassigned_geojson,
    vehicle_properties,
    vehicles_geojson,
)
from components.markup import escape_text, tooltip_html

EVIL = '<img src=x onerror="window.__xss=1">'
ESCAPED = "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
POINTS = [(41.9, -87.6), (41.91, -87.61), (41.92, -87.62)]


def evil_stop() -> StopRow:
    return StopRow(
        stop_id=5, route_id=1, route_index=0, vehicle_id=7, vehicle_name=EVIL, sequence=2,
        kind="delivery", lat=41.9, lon=-87.6, state="next", at_risk=True, eta=T0,
        planned_arrival_at=T0, planned_departure_at=T0 + timedelta(minutes=5),
        actual_arrival_at=None, actual_departure_at=None, order_id=9, reference=EVIL,
        customer_name=EVIL, address=EVIL, window_start=T0 - timedelta(hours=1),
        window_end=T0 + timedelta(hours=1), demand={"kg": 10.0}, timezone="UTC", depot_id=1,
    )  # fmt: skip


def evil_vehicle() -> VehicleRow:
    return VehicleRow(
        id=7, name=EVIL, vehicle_type=EVIL, plate=EVIL, depot_id=1, depot_name=EVIL,
        timezone="UTC", lat=41.9, lon=-87.6, heading=90.0, speed=5.0, recorded_at=T0,
        activity="moving", status="on_route", driver_name=EVIL, driver_phone=EVIL,
        capacity={"kg": 1000.0}, load={"kg": 250.0}, stops_done=1, stops_total=3, route_id=1,
        route_index=0, next_stop_id=5, next_reference=EVIL, next_eta=T0, next_lat=41.91,
        next_lon=-87.61, delay_min=4.0, depot_lat=41.8, depot_lon=-87.7, references=(EVIL,),
        events=(EventLine(7, "breakdown", T0, EVIL, True),),
        upcoming=((EVIL, T0 + timedelta(minutes=20)),),
    )  # fmt: skip


def test_escape_text() -> None:
    assert escape_text(EVIL) == ESCAPED
    assert escape_text("Tom & Jerry's") == "Tom &amp; Jerry&#x27;s"
    assert escape_text(None) == "" and escape_text(42) == "42"


def test_tooltip_html_escapes_every_piece_and_skips_empty_lines() -> None:
    html = tooltip_html("<b>t</b>", "<i>l1</i>", None, "", tag="<s>")
    assert html == "<b>&lt;b&gt;t&lt;/b&gt;</b> · &lt;s&gt;<br>&lt;i&gt;l1&lt;/i&gt;"


def test_order_and_unassigned_tooltips_show_user_text_literally() -> None:
    order = OrderMarker(
        1, EVIL, EVIL, EVIL, 41.9, -87.6, "new", 5, 1, 2, EVIL, T0, T0, "UTC",
    )  # fmt: skip
    unassigned = UnassignedOrder(2, EVIL, EVIL, EVIL, 41.9, -87.6, T0, T0, 1, "UTC", EVIL, EVIL)
    for o in (order, unassigned):
        tip = order_tooltip(o)
        # Reference, customer and address: each escaped, none left as markup.
        assert "<img" not in tip and tip.count(ESCAPED) == 3
        assert tip.startswith(f"<b>{ESCAPED}</b>") and "Window 15:00–15:00" in tip
    feature = unassigned_geojson([unassigned])["features"][0]
    assert feature["properties"]["tooltip"] == order_tooltip(unassigned)
    # The unassigned layer carries nothing else a person typed.
    assert EVIL not in json.dumps(feature)


def test_depot_and_route_tooltips_escape() -> None:
    depot = DepotMarker(1, EVIL, EVIL, 41.9, -87.6, "UTC")
    tip = depot_tooltip(depot)
    assert "<img" not in tip and tip.count(ESCAPED) == 2
    assert depots_geojson([depot])["features"][0]["properties"]["tooltip"] == tip

    route = RouteRow(1, 0, 7, EVIL, "active", POINTS, 2, 10.0, None, 1)
    plan = RouteLine(2, 8, EVIL, "proposed", POINTS)
    for data in (routes_geojson([route]), plan_routes_geojson([plan])):
        assert data["features"]
        for feature in data["features"]:
            tip = feature["properties"]["tooltip"]
            assert "<img" not in tip and f"Route of {ESCAPED}" in tip
            assert EVIL not in json.dumps(feature)


def test_stop_and_vehicle_properties_are_plain_text_for_the_browser() -> None:
    """Stop and vehicle features build no HTML in Python: their values travel as text, once,
    and assets/js/dispatch.js escapes them (escaping here too would show `&lt;` on the map)."""
    stop = evil_stop()
    props = stop_properties(stop)
    assert "tooltip" not in props and props["ref"] == EVIL
    assert stops_geojson([stop])["features"][0]["properties"] == props
    details = stop_details([stop])
    row = dict(zip(details["fields"], details["rows"]["5"], strict=True))
    assert row["customer"] == row["address"] == row["vehicle"] == EVIL
    vehicle = vehicle_properties(evil_vehicle())
    assert "tooltip" not in vehicle
    assert vehicle["upcoming"] == f"{EVIL} 15:20" and vehicle["events"][0][2] == EVIL
    for key in ("name", "driver", "phone", "depot_name", "next_ref"):
        assert vehicle[key] == EVIL, key
    assert vehicles_geojson([evil_vehicle()])["features"][0]["properties"] == vehicle
    for text in (json.dumps(props), json.dumps(details), json.dumps(vehicle)):
        assert ESCAPED not in text


# Loads assets/js/dispatch.js with stand-ins for Leaflet and Dash, draws the features Python
# built, and prints every HTML string the page would hand to Leaflet.
NODE_SCRIPT = r"""
const fs = require("fs"), vm = require("vm");
const [path, hideoutJson, featuresJson] = process.argv.slice(1);
const source = fs.readFileSync(path, "utf8");
const hideout = JSON.parse(hideoutJson), f = JSON.parse(featuresJson);
const fake = (latlng, options) => ({ latlng, options, _map: {}, setLatLng() {}, once() {},
  getLatLng() { return { lat: latlng[0], lng: latlng[1] }; }, getElement() { return null; },
  bindTooltip(fn) { this.tooltip = fn; }, bindPopup(fn) { this.popup = fn; }, setStyle() {} });
const L = { circleMarker: fake, marker: fake, divIcon: (o) => o, latLng: (a, b) => [a, b] };
const window = { addEventListener() {}, dash_clientside: { no_update: null, set_props() {},
  callback_context: { triggered: [] } } };
const document = { addEventListener() {}, querySelectorAll: () => [], querySelector: () => null,
  getElementById: () => null };
vm.runInNewContext(source, { window, L, JSON, Object, Math, String, Number, Date, document,
  setInterval: () => 0, setTimeout: () => 0, isNaN });
const map = window.fleetMap, ctx = { hideout };
window.dash_clientside.fleetDispatch.keepStopDetails(f.details);
const stop = map.stopPoint(f.stop, [41.9, -87.6], ctx);
const van = map.vehiclePoint(f.vehicle, [41.9, -87.6], ctx);
const depot = map.depotPoint(f.depot, [41.9, -87.6], ctx);
let routeTip = null;
map.routeEach(f.route, { bindTooltip(t) { routeTip = t; } });
console.log(JSON.stringify({
  stop_tooltip: stop.tooltip(), stop_card: stop.popup(), vehicle_tooltip: van.tooltip(),
  vehicle_card: van.popup(), vehicle_icon: van.options.icon.html,
  depot_icon: depot.options.icon.html, route_tooltip: routeTip,
}));
"""


def browser_html() -> dict[str, Any]:
    features = {
        "stop": stops_geojson([evil_stop()])["features"][0],
        "details": stop_details([evil_stop()]),
        "vehicle": vehicles_geojson([evil_vehicle()])["features"][0],
        "depot": depots_geojson([DepotMarker(1, EVIL, EVIL, 41.9, -87.6, "UTC")])["features"][0],
        "route": routes_geojson([RouteRow(1, 0, 7, EVIL, "active", POINTS, 2, 1.0, None, 1)])[
            "features"
        ][0],
    }
    result = subprocess.run(
        [
            "node",
            "-e",
            NODE_SCRIPT,
            str(ROOT / "assets" / "js" / "dispatch.js"),
            json.dumps(map_hideout()),
            json.dumps(features),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_escapes_every_user_field_of_stops_vehicles_and_depots() -> None:
    html = browser_html()
    for name, markup in html.items():
        assert markup and "<img" not in markup, name
    # Each user field the string was put in shows up, escaped, where the page shows it.
    expected = {
        "stop_tooltip": 2,  # reference, customer
        "stop_card": 4,  # reference, customer, address, vehicle
        "vehicle_tooltip": 2,  # name, driver
        "vehicle_card": 7,  # name, driver, phone, depot, next, then, the event's order
        "vehicle_icon": 1,  # the label under the marker
        "depot_icon": 1,
        "route_tooltip": 1,  # Python's tooltip, handed over as is
    }
    assert {name: markup.count(ESCAPED) for name, markup in html.items()} == expected
