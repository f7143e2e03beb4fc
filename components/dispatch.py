"""The Dispatch page's parts: the map with its GeoJSON layers, the legend and the vehicle list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from backend.db.models import RouteStatus
from backend.db.queries.dispatch import (
    DepotMarker,
    OrderMarker,
    RouteLine,
    VehicleMarker,
)
from backend.db.queries.fleet_state import VehicleActivity, activity_rules, count_on_the_road
from backend.realtime.protocol import format_timestamp
from components import ids
from components.markup import tooltip_html
from components.ui import (
    ORDER_STATUSES,
    STATUS_COLOURS,
    aria,
    create_kpi_card,
    create_kpi_row,
    create_status_pill,
    fmt_window,
    local_time,
    status_label,
)

# Where the map opens before the depots arrive (replaced by a callback through `viewport`).
DEFAULT_CENTER = (41.88, -87.66)
DEFAULT_ZOOM = 11
# Views set by the server jump instead of animating: leaving the page mid-animation makes
# Leaflet throw ("_leaflet_pos" of a removed map).
NO_ANIMATION = {"animate": False}
# Style functions live in assets/js/dispatch.js under this namespace.
JS_NAMESPACE = "fleetMap"


def _js(name: str) -> dict[str, str]:
    return {"variable": f"{JS_NAMESPACE}.{name}"}


def _feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def _collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def depots_geojson(depots: Sequence[DepotMarker]) -> dict[str, Any]:
    """Depots as GeoJSON points with a tooltip."""
    return _collection(
        _feature(
            d.lon,
            d.lat,
            {"id": d.id, "name": d.name, "tooltip": depot_tooltip(d)},
        )
        for d in depots
    )


def depot_tooltip(d: DepotMarker) -> str:
    """A depot's tooltip (HTML; every value escaped)."""
    return tooltip_html(d.name, d.address)


def order_tooltip(o: OrderMarker) -> str:
    """An order's tooltip: reference, status, customer, address, window, vehicle (escaped)."""
    return tooltip_html(
        o.reference,
        o.customer_name,
        o.address,
        f"Window {fmt_window(o.window_start, o.window_end, o.timezone)}",
        f"Vehicle {o.vehicle_name}" if o.vehicle_name else None,
        tag=status_label(o.status),
    )


def vehicle_tooltip(v: VehicleMarker) -> str:
    """A vehicle's tooltip: name, type and what it is doing (escaped)."""
    return tooltip_html(v.name, status_label(v.activity), tag=v.vehicle_type)


def route_tooltip(r: RouteLine) -> str:
    """A route's tooltip: whose route and its status (escaped)."""
    return tooltip_html(f"Route of {r.vehicle_name}", tag=status_label(r.status))


def orders_geojson(orders: Sequence[OrderMarker]) -> dict[str, Any]:
    """Orders as GeoJSON points; `status` drives colour and the status filter via `hideout`."""
    return _collection(
        _feature(
            o.lon,
            o.lat,
            {
                "id": o.id,
                "status": o.status,
                "priority": o.priority,
                "tooltip": order_tooltip(o),
            },
        )
        for o in orders
    )


def vehicles_geojson(vehicles: Sequence[VehicleMarker]) -> dict[str, Any]:
    """Vehicles at their last known position; the browser moves them as live positions arrive.

    `activity` is the server's verdict on the fix of `recorded_at`; the browser judges only
    fixes newer than that one, with `activity_rules()` from the map's hideout.
    """
    return _collection(
        _feature(
            v.lon,
            v.lat,
            {
                "vehicle_id": v.id,
                "name": v.name,
                "activity": v.activity,
                "recorded_at": format_timestamp(v.recorded_at) if v.recorded_at else None,
                "heading": v.heading,
                "parked": v.parked,
                "depot": [v.depot_lat, v.depot_lon] if v.depot_lat is not None else None,
                "tooltip": vehicle_tooltip(v),
            },
        )
        for v in vehicles
    )


def routes_geojson(routes: Sequence[RouteLine]) -> dict[str, Any]:
    """Route geometries as GeoJSON lines (routes with fewer than two points are left out)."""
    return _collection(
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[lon, lat] for lat, lon in r.points],
            },
            "properties": {
                "id": r.id,
                "vehicle_id": r.vehicle_id,
                "status": r.status,
                # Drawn faded once driven, dashed while not started yet (assets/js/dispatch.js).
                "finished": r.status == RouteStatus.COMPLETED,
                "tentative": r.status in (RouteStatus.PLANNED, RouteStatus.PROPOSED),
                "tooltip": route_tooltip(r),
            },
        }
        for r in routes
        if len(r.points) >= 2
    )


def map_viewport(depots: Sequence[DepotMarker]) -> dict[str, Any] | None:
    """A viewport centred on the depots, or None when there are none."""
    if not depots:
        return None
    lat = sum(d.lat for d in depots) / len(depots)
    lon = sum(d.lon for d in depots) / len(depots)
    return {"center": [lat, lon], "zoom": DEFAULT_ZOOM, "options": NO_ANIMATION}


def orders_viewport(orders: Sequence[OrderMarker]) -> dict[str, Any] | None:
    """A viewport fitting every order of the day, or None when there are none."""
    if not orders:
        return None
    lats = [o.lat for o in orders]
    lons = [o.lon for o in orders]
    return {
        "bounds": [[min(lats), min(lons)], [max(lats), max(lons)]],
        "transition": "fitBounds",
        "options": NO_ANIMATION,
    }


def _empty() -> dict[str, Any]:
    return _collection([])


def create_dispatch_map() -> dl.Map:
    """The map without tiles (none load offline): a neutral background and four GeoJSON layers."""
    hideout = {
        "colors": STATUS_COLOURS,
        "statuses": list(ORDER_STATUSES),
        "activity": activity_rules(),
    }
    return dl.Map(
        id=ids.DISPATCH_MAP,
        center=list(DEFAULT_CENTER),
        zoom=DEFAULT_ZOOM,
        className="dispatch-map",
        children=[
            dl.ScaleControl(position="bottomleft"),
            dl.GeoJSON(
                id=ids.DISPATCH_ROUTES_LAYER,
                data=_empty(),
                style=_js("routeStyle"),
                hideout=hideout,
            ),
            dl.GeoJSON(
                id=ids.DISPATCH_ORDERS_LAYER,
                data=_empty(),
                pointToLayer=_js("orderPoint"),
                filter=_js("orderFilter"),
                hideout=hideout,
            ),
            dl.GeoJSON(
                id=ids.DISPATCH_DEPOTS_LAYER,
                data=_empty(),
                pointToLayer=_js("depotPoint"),
            ),
            dl.GeoJSON(
                id=ids.DISPATCH_VEHICLES_LAYER,
                data=_empty(),
                pointToLayer=_js("vehiclePoint"),
                filter=_js("vehicleFilter"),
                hideout=hideout,
            ),
        ],
    )


def create_status_filter(selected: Sequence[str] = ORDER_STATUSES) -> html.Fieldset:
    """Checkboxes that show or hide order statuses on the map (restyled, not refetched)."""
    return html.Fieldset(
        className="status-filter",
        children=[
            html.Legend("Order status on map", className="field-label"),
            dcc.Checklist(
                id=ids.DISPATCH_STATUS_FILTER,
                options=[
                    {
                        "label": html.Span(
                            [
                                html.Span(className=f"dot dot-{s}"),
                                status_label(s),
                            ],
                            className="legend-item",
                        ),
                        "value": s,
                    }
                    for s in ORDER_STATUSES
                ],
                value=list(selected),
                inline=True,
                className="legend",
            ),
        ],
    )


def create_dispatch_kpis(orders: Sequence[OrderMarker], day: date | None = None) -> html.Div:
    """KPIs of the day computed from its orders; with `day`, each links to those orders."""
    counts: dict[str, int] = {}
    for order in orders:
        counts[order.status] = counts.get(order.status, 0) + 1
    total = len(orders)
    delivered = counts.get("delivered", 0)
    failed = counts.get("failed", 0)
    unassigned = sum(1 for o in orders if o.vehicle_id is None and o.status == "new")
    in_progress = sum(counts.get(s, 0) for s in ("dispatched", "en_route", "arrived"))
    finished = delivered + failed

    def link(query: str = "") -> str | None:
        return f"/orders?date={day.isoformat()}{query}" if day else None

    return create_kpi_row(
        [
            create_kpi_card(
                "Orders today", f"{total:,}", f"{counts.get('cancelled', 0)} cancelled", "", link()
            ),
            create_kpi_card(
                "Unassigned",
                f"{unassigned:,}",
                "new, no vehicle",
                "warn" if unassigned else "",
                link("&status=new&vehicle=unassigned"),
            ),
            create_kpi_card(
                "In progress",
                f"{in_progress:,}",
                "dispatched · en route · arrived",
                "",
                link("&status=dispatched,en_route,arrived"),
            ),
            create_kpi_card(
                "Delivered",
                f"{delivered:,}",
                f"{delivered / finished * 100:.0f}% of finished"
                if finished
                else "none finished yet",
                "good",
                link("&status=delivered"),
            ),
            create_kpi_card(
                "Failed",
                f"{failed:,}",
                "delivery attempts",
                "bad" if failed else "",
                link("&status=failed"),
            ),
        ]
    )


def create_vehicle_list(vehicles: Sequence[VehicleMarker]) -> html.Div:
    """The side list: one row per vehicle with status, last fix and progress of the day."""
    if not vehicles:
        return html.Div("No vehicles in your depots.", className="muted")
    on_road = count_on_the_road(v.activity for v in vehicles)
    parked = sum(1 for v in vehicles if v.activity == VehicleActivity.PARKED)
    rows = []
    for v in vehicles:
        share = v.orders_done / v.orders_total if v.orders_total else 0.0
        rows.append(
            html.Li(
                className="vehicle-row",
                id=f"dispatch-vehicle-{v.id}",
                children=[
                    html.Div(
                        [
                            html.Button(
                                v.name,
                                id={"type": ids.DISPATCH_VEHICLE_FOCUS, "index": v.id},
                                className="vehicle-name link-button",
                                title=f"Show {v.name} on the map",
                                type="button",
                            ),
                            create_status_pill(v.activity),
                        ],
                        className="vehicle-row-top",
                    ),
                    html.Div(
                        f"{v.depot_name} · {v.plate or v.vehicle_type} · last fix "
                        f"{local_time(v.recorded_at, v.timezone) if v.recorded_at else 'none'}",
                        className="vehicle-meta",
                    ),
                    html.Div(
                        [
                            html.Div(
                                className="progress",
                                children=html.Div(
                                    className="progress-bar", style={"width": f"{share * 100:.0f}%"}
                                ),
                                role="progressbar",
                                **aria(
                                    valuenow=str(v.orders_done),
                                    valuemax=str(v.orders_total),
                                    label=f"{v.name} deliveries done",
                                ),
                            ),
                            html.Span(
                                f"{v.orders_done}/{v.orders_total} delivered",
                                className="vehicle-count",
                            ),
                        ],
                        className="vehicle-progress",
                    ),
                ],
            )
        )
    return html.Div(
        [
            html.Div(
                f"{len(vehicles)} vehicles · {on_road} on the road · {parked} parked at depots "
                "(not drawn on the map)",
                className="list-summary",
            ),
            html.Ul(rows, className="vehicle-list"),
        ]
    )
