"""Tooltips built in Python escape every user value: the map shows them as text, never as HTML.

dash-leaflet hands a feature's `tooltip` to Leaflet's bindTooltip, which parses it as HTML, so a
customer named `<img onerror=...>` must arrive as `&lt;img ...&gt;`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from backend.db.queries.dispatch import DepotMarker, OrderMarker, RouteLine, VehicleMarker
from components.dispatch import (
    depot_tooltip,
    depots_geojson,
    order_tooltip,
    orders_geojson,
    route_tooltip,
    routes_geojson,
    vehicle_tooltip,
    vehicles_geojson,
)
from components.markup import escape_text, tooltip_html

EVIL = '<img src=x onerror="window.__xss=1">'
ESCAPED = "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def test_escape_text() -> None:
    assert escape_text(EVIL) == ESCAPED
    assert escape_text("Tom & Jerry's") == "Tom &amp; Jerry&#x27;s"
    assert escape_text(None) == "" and escape_text(42) == "42"


def test_tooltip_html_escapes_every_piece_and_skips_empty_lines() -> None:
    html = tooltip_html("<b>t</b>", "<i>l1</i>", None, "", tag="<s>")
    assert html == "<b>&lt;b&gt;t&lt;/b&gt;</b> · &lt;s&gt;<br>&lt;i&gt;l1&lt;/i&gt;"


def test_order_tooltip_shows_user_text_literally() -> None:
    order = OrderMarker(
        1, f"R{EVIL}", EVIL, f"1 {EVIL} St", 41.9, -87.6, "new", 5, 1, 2, EVIL, T0, T0, "UTC",
    )  # fmt: skip
    tip = order_tooltip(order)
    assert "<img" not in tip and tip.count(ESCAPED) == 4
    assert tip.startswith("<b>R&lt;img") and "Window 15:00–15:00" in tip
    assert orders_geojson([order])["features"][0]["properties"]["tooltip"] == tip


def test_depot_vehicle_and_route_tooltips_escape() -> None:
    depot = DepotMarker(1, EVIL, EVIL, 41.9, -87.6, "UTC")
    vehicle = VehicleMarker(
        1, EVIL, EVIL, "P", 1, EVIL, "UTC", 41.9, -87.6, None, 3.0, "idle", T0, 1, 0, 1, "moving",
    )  # fmt: skip
    route = RouteLine(1, 1, EVIL, "active", [(41.9, -87.6), (41.8, -87.5)])
    for tip in (depot_tooltip(depot), vehicle_tooltip(vehicle), route_tooltip(route)):
        assert "<img" not in tip and ESCAPED in tip
    assert "Moving" in vehicle_tooltip(vehicle)
    for data in (depots_geojson([depot]), vehicles_geojson([vehicle]), routes_geojson([route])):
        assert "<img" not in data["features"][0]["properties"]["tooltip"]
