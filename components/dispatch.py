"""The Dispatch page's parts: the live map's layers, the vehicle panel, alerts, the unassigned
pool and the KPI strip. Pure functions of the query rows (backend.db.queries.dispatch).

Every HTML string built here (map tooltips and detail cards, which Leaflet sets as innerHTML)
goes through components.markup; Dash components escape their children themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from backend.db.queries.dispatch import (
    DepotMarker,
    DispatchKpis,
    OrderMarker,
    RouteLine,
    RouteRow,
    StopRow,
    StopState,
    UnassignedOrder,
    VehicleRow,
)
from backend.db.queries.fleet_state import DispatchStatus, status_rules
from backend.realtime.protocol import format_timestamp
from backend.services.late_risk import REOPTIMIZE_ACTION, REOPTIMIZE_LABEL
from backend.services.notifications import NotificationOut
from components import ids
from components.markup import tooltip_html
from components.palette import STOP_COLOURS, delay_class, palette_for_js, route_colour
from components.ui import (
    create_kpi_card,
    create_kpi_row,
    fmt_number,
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
# Above this zoom stops and vehicles are drawn one by one, below it they gather in clusters.
CLUSTER_MAX_ZOOM = 14
CLUSTER_RADIUS_PX = 64
STOP_STATES = tuple(s.value for s in StopState)
VEHICLE_STATUSES = tuple(s.value for s in DispatchStatus)
STATUS_NAMES = {
    DispatchStatus.ON_ROUTE: "On route",
    DispatchStatus.AT_STOP: "At a stop",
    DispatchStatus.RETURNING: "Returning",
    DispatchStatus.IDLE: "Idle",
    DispatchStatus.OFFLINE: "Offline",
}


def _data(**attributes: object) -> dict[str, Any]:
    """data-* attributes as keyword arguments for html components (underscores -> dashes)."""
    return {f"data-{name.replace('_', '-')}": str(v) for name, v in attributes.items()}


def _js(name: str) -> dict[str, str]:
    return {"variable": f"{JS_NAMESPACE}.{name}"}


def _feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    # Six decimals are 0.1 m: enough for a marker, and a third less to send than seventeen.
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": properties,
    }


def _collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _iso(value: datetime | None) -> str | None:
    return format_timestamp(value) if value else None


def status_name(status: str) -> str:
    """A vehicle badge as people read it."""
    return STATUS_NAMES.get(status, status_label(status))  # type: ignore[call-overload]


def fmt_delay(delay_min: float | None) -> str:
    """A delay against plan: "+12 min", "on time", "3 min early"; an en dash when unknown."""
    if delay_min is None:
        return "–"
    minutes = round(delay_min)
    if minutes >= 1:
        return f"+{minutes} min"
    if minutes <= -1:
        return f"{-minutes} min early"
    return "on time"


def fmt_load(load: dict[str, float], capacity: dict[str, float]) -> tuple[str, float]:
    """The first capacity unit as "184 / 1,400 kg" and the share used (0..1)."""
    if not capacity:
        return "–", 0.0
    unit, cap = next(iter(capacity.items()))
    used = load.get(unit, 0.0)
    return f"{fmt_number(used)} / {fmt_number(cap)} {unit}", (used / cap if cap else 0.0)


def fmt_age(seconds: float) -> str:
    """How long ago, as the panel and the map say it ("just now", "4 min ago", "2 h ago")."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


# ----------------------------------------------------------------------------- map layers


def depots_geojson(depots: Sequence[DepotMarker]) -> dict[str, Any]:
    """Depots as GeoJSON points with a tooltip."""
    return _collection(
        _feature(d.lon, d.lat, {"id": d.id, "name": d.name, "tooltip": depot_tooltip(d)})
        for d in depots
    )


def depot_tooltip(d: DepotMarker) -> str:
    """A depot's tooltip (HTML; every value escaped)."""
    return tooltip_html(d.name, d.address)


def order_tooltip(o: OrderMarker | UnassignedOrder) -> str:
    """An order's tooltip: reference, customer, address, window (escaped)."""
    return tooltip_html(
        o.reference,
        o.customer_name,
        o.address,
        f"Window {fmt_window(o.window_start, o.window_end, o.timezone)}",
        tag="Unassigned",
    )


def _hm(value: datetime | None, timezone: str) -> str | None:
    return local_time(value, timezone) if value else None


def _compact(props: dict[str, Any]) -> dict[str, Any]:
    """Leave out empty values: 5,000 stops travel to the browser on every load."""
    return {k: v for k, v in props.items() if v not in (None, "", [])}


def stop_properties(s: StopRow) -> dict[str, Any]:
    """What a stop's marker and tooltip show; the rest of its card comes with `stop_details`
    after the map is drawn (the card is built by assets/js/dispatch.js with its escaper)."""
    return _compact(
        {
            "stop_id": s.stop_id,
            "route": s.route_index,
            "vehicle_id": s.vehicle_id,
            "state": s.state,
            "at_risk": s.at_risk or None,
            "ref": s.reference or ("Break" if s.kind == "break" else f"Stop {s.sequence}"),
            "eta": _hm(s.eta, s.timezone),
        }
    )


# The order of a stop's details in `stop_details` (assets/js/dispatch.js reads them by name).
STOP_DETAIL_FIELDS = (
    "customer", "address", "seq", "vehicle", "window", "planned", "arrived", "left",
)  # fmt: skip


def stop_details(stops: Sequence[StopRow]) -> dict[str, Any]:
    """The stops' card details by stop id, sent once the map is interactive (times in the
    depot's zone, preformatted)."""
    rows: dict[str, list[Any]] = {}
    for s in stops:
        if s.kind != "delivery":
            continue
        tz = s.timezone
        rows[str(s.stop_id)] = [
            s.customer_name,
            s.address,
            s.sequence,
            s.vehicle_name,
            fmt_window(s.window_start, s.window_end, tz) if s.window_start else None,
            _hm(s.planned_arrival_at, tz),
            _hm(s.actual_arrival_at, tz),
            _hm(s.actual_departure_at, tz),
        ]
    return {"fields": list(STOP_DETAIL_FIELDS), "rows": rows}


def stops_geojson(stops: Sequence[StopRow]) -> dict[str, Any]:
    """Delivery stops as points: `state`, `at_risk` and the route colour drive the marker."""
    return _collection(
        _feature(s.lon, s.lat, stop_properties(s)) for s in stops if s.kind == "delivery"
    )


def unassigned_geojson(orders: Sequence[UnassignedOrder]) -> dict[str, Any]:
    """Orders no route serves, as points (grey, hollow)."""
    return _collection(
        _feature(o.lon, o.lat, {"id": o.id, "state": "unassigned", "tooltip": order_tooltip(o)})
        for o in orders
    )


def vehicle_properties(v: VehicleRow) -> dict[str, Any]:
    """What a vehicle's marker and details card show.

    `activity`/`status` are the server's verdict on the fix of `recorded_at`; the browser
    judges only newer fixes, with `status_rules()` from the layer's hideout.
    """
    tz = v.timezone
    load, _share = fmt_load(v.load, v.capacity)
    return _compact(
        {
            "vehicle_id": v.id,
            "name": v.name,
            "activity": v.activity,
            "status": v.status,
            "route": v.route_index,
            "has_route": (v.route_id is not None and v.stops_total > 0) or None,
            "stops_left": v.stops_total - v.stops_done,
            "next": [v.next_lat, v.next_lon] if v.next_lat is not None else None,
            "recorded_at": _iso(v.recorded_at),
            "heading": v.heading,
            "depot": [v.depot_lat, v.depot_lon],
            "driver": v.driver_name,
            "phone": v.driver_phone,
            "depot_name": v.depot_name,
            "load": load,
            "stops": f"{v.stops_done} / {v.stops_total} done" if v.stops_total else "no route",
            "next_ref": v.next_reference,
            "upcoming": " · ".join(
                f"{ref} {local_time(eta, tz)}" if eta else ref for ref, eta in v.upcoming
            ),
            "eta": _hm(v.next_eta, tz),
            "delay": fmt_delay(v.delay_min) if v.delay_min is not None else None,
            "fix": _hm(v.recorded_at, tz) or "never",
            "events": [
                [
                    local_time(e.occurred_at, tz),
                    status_label(e.event_type),
                    e.order_reference,
                    e.significant,
                ]
                for e in v.events
            ],
        }
    )


def vehicles_geojson(vehicles: Sequence[VehicleRow]) -> dict[str, Any]:
    """Vehicles at their last known position; the browser moves them as live positions arrive."""
    return _collection(_feature(v.lon, v.lat, vehicle_properties(v)) for v in vehicles)


def routes_geojson(routes: Sequence[RouteRow]) -> dict[str, Any]:
    """Each route as two lines: the part driven (muted) and the part still to drive (bold)."""
    features = []
    for r in routes:
        if len(r.points) < 2:
            continue
        cut = min(max(r.driven_points, 1), len(r.points))
        parts = [(True, r.points[:cut]), (False, r.points[cut - 1 :])]
        for driven, points in parts:
            if len(points) < 2:
                continue
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        # Five decimals (1 m) for a drawn line: half the bytes of full floats.
                        "coordinates": [[round(lon, 5), round(lat, 5)] for lat, lon in points],
                    },
                    "properties": {
                        "route_id": r.id,
                        "vehicle_id": r.vehicle_id,
                        "route": r.index,
                        "driven": driven,
                        "tentative": r.status in ("planned", "proposed"),
                        "tooltip": tooltip_html(
                            f"Route of {r.vehicle_name}", tag=status_label(r.status)
                        ),
                    },
                }
            )
    return _collection(features)


def plan_routes_geojson(lines: Sequence[RouteLine]) -> dict[str, Any]:
    """A plan's routes (a proposal, or a stored plan): nothing driven, one colour each."""
    return routes_geojson(
        [
            RouteRow(
                id=line.id,
                index=index,
                vehicle_id=line.vehicle_id,
                vehicle_name=line.vehicle_name,
                status=line.status,
                points=line.points,
                driven_points=0,
                planned_km=0.0,
                actual_km=None,
                depot_id=0,
            )
            for index, line in enumerate(lines)
        ]
    )


def map_viewport(depots: Sequence[DepotMarker]) -> dict[str, Any] | None:
    """A viewport centred on the depots, or None when there are none."""
    if not depots:
        return None
    lat = sum(d.lat for d in depots) / len(depots)
    lon = sum(d.lon for d in depots) / len(depots)
    return {"center": [lat, lon], "zoom": DEFAULT_ZOOM, "options": NO_ANIMATION}


def points_viewport(points: Sequence[tuple[float, float]]) -> dict[str, Any] | None:
    """A viewport fitting these (lat, lon) points, or None when there are none."""
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    return {
        "bounds": [[min(lats), min(lons)], [max(lats), max(lons)]],
        "transition": "fitBounds",
        "options": NO_ANIMATION,
    }


def _empty() -> dict[str, Any]:
    return _collection([])


def map_hideout(silent_after_s: float | None = None) -> dict[str, Any]:
    """What every layer's style functions read: the palette and the status rules."""
    rules = (
        status_rules()
        if silent_after_s is None
        else status_rules(timedelta(seconds=silent_after_s))
    )
    return {
        "palette": palette_for_js(),
        "rules": rules,
        "states": list(STOP_STATES),
        "statusNames": {str(k): v for k, v in STATUS_NAMES.items()},
        "selected": None,
    }


def create_dispatch_map(silent_after_s: float | None = None) -> dl.Map:
    """The map without tiles (none load offline): a neutral background and five GeoJSON layers.

    Stops and vehicles cluster below CLUSTER_MAX_ZOOM (supercluster in the browser); zooming in
    expands them. Restyling goes through `hideout`, never through rebuilt data.
    """
    hideout = map_hideout(silent_after_s)
    cluster = {"radius": CLUSTER_RADIUS_PX, "maxZoom": CLUSTER_MAX_ZOOM}
    return dl.Map(
        id=ids.DISPATCH_MAP,
        center=list(DEFAULT_CENTER),
        zoom=DEFAULT_ZOOM,
        className="dispatch-map",
        preferCanvas=False,
        children=[
            dl.ScaleControl(position="bottomleft"),
            dl.GeoJSON(
                id=ids.DISPATCH_ROUTES_LAYER,
                data=_empty(),
                style=_js("routeStyle"),
                onEachFeature=_js("routeEach"),
                hideout=hideout,
            ),
            dl.GeoJSON(
                id=ids.DISPATCH_ORDERS_LAYER,
                data=_empty(),
                pointToLayer=_js("orderPoint"),
                hideout=hideout,
            ),
            dl.GeoJSON(
                id=ids.DISPATCH_STOPS_LAYER,
                data=_empty(),
                pointToLayer=_js("stopPoint"),
                clusterToLayer=_js("stopCluster"),
                cluster=True,
                superClusterOptions=cluster,
                zoomToBoundsOnClick=True,
                hideout=hideout,
            ),
            dl.GeoJSON(id=ids.DISPATCH_DEPOTS_LAYER, data=_empty(), pointToLayer=_js("depotPoint")),
            dl.GeoJSON(
                id=ids.DISPATCH_VEHICLES_LAYER,
                data=_empty(),
                pointToLayer=_js("vehiclePoint"),
                clusterToLayer=_js("vehicleCluster"),
                cluster=True,
                superClusterOptions=cluster,
                zoomToBoundsOnClick=True,
                hideout=hideout,
            ),
        ],
    )


def create_map_legend() -> html.Div:
    """The legend under the map: stop states (a ring = at risk) and vehicle badges."""
    stops = [
        html.Span(
            [html.Span(className=f"dot stop-dot-{s}"), status_label(s)], className="legend-item"
        )
        for s in STOP_COLOURS
    ]
    stops.append(
        html.Span([html.Span(className="dot stop-dot-risk"), "At risk"], className="legend-item")
    )
    badges = [html.Span(status_name(s), className=f"badge badge-{s}") for s in VEHICLE_STATUSES]
    return html.Div(
        [
            html.Div(
                [html.Span("Stops", className="legend-title"), *stops], className="legend-row"
            ),
            html.Div(
                [html.Span("Vehicles", className="legend-title"), *badges], className="legend-row"
            ),
        ],
        className="map-legend",
    )


# ----------------------------------------------------------------------------- KPI strip


def create_dispatch_kpis(kpis: DispatchKpis, unassigned: int, day: date | None = None) -> html.Div:
    """Today so far: on time, late, failed, at risk, km driven vs planned, unassigned."""
    link = (lambda query: f"/orders?date={day.isoformat()}{query}") if day else (lambda _q: None)
    on_time_share = (
        f"{kpis.on_time / kpis.served * 100:.0f}% of served" if kpis.served else "none served yet"
    )
    km_share = (
        f"{kpis.km_driven / kpis.km_planned * 100:.0f}% of plan" if kpis.km_planned else "no plan"
    )
    return create_kpi_row(
        [
            create_kpi_card("On time so far", f"{kpis.on_time:,}", on_time_share, "good"),
            create_kpi_card(
                "Late", f"{kpis.late:,}", "served after the window", "warn" if kpis.late else ""
            ),
            create_kpi_card(
                "Failed",
                f"{kpis.failed:,}",
                "delivery attempts",
                "bad" if kpis.failed else "",
                link("&status=failed"),
            ),
            create_kpi_card(
                "At risk",
                f"{kpis.at_risk:,}",
                "ETA past the window",
                "warn" if kpis.at_risk else "",
            ),
            create_kpi_card(
                "Km driven",
                f"{kpis.km_driven:,.0f}",
                f"of {kpis.km_planned:,.0f} planned · {km_share}",
            ),
            create_kpi_card(
                "Unassigned",
                f"{unassigned:,}",
                "no route serves them",
                "warn" if unassigned else "",
                link("&status=new&vehicle=unassigned"),
            ),
        ]
    )


# ----------------------------------------------------------------------------- side panel


def create_panel_filters(depots: Sequence[tuple[int, str]] = ()) -> html.Div:
    """Depot and status filters and the search box above the vehicle list (applied in JS)."""
    return html.Div(
        className="panel-filters",
        children=[
            dcc.Input(
                id=ids.DISPATCH_SEARCH,
                type="search",
                placeholder="Search vehicle, driver or order",
                debounce=False,
                className="panel-search",
            ),
            html.Div(
                className="panel-filter-row",
                children=[
                    dcc.Dropdown(
                        id=ids.DISPATCH_DEPOT_FILTER,
                        options=[{"label": name, "value": str(i)} for i, name in depots],
                        placeholder="All depots",
                        clearable=True,
                        className="panel-select",
                    ),
                    dcc.Dropdown(
                        id=ids.DISPATCH_VEHICLE_STATUS_FILTER,
                        options=[{"label": status_name(s), "value": s} for s in VEHICLE_STATUSES],
                        placeholder="Any status",
                        clearable=True,
                        className="panel-select",
                    ),
                ],
            ),
        ],
    )


def vehicle_list_rows(vehicles: Sequence[VehicleRow]) -> list[dict[str, Any]]:
    """The side list's rows as data: assets/js/dispatch.js draws them (500 rows would be
    7,000 Dash components) and filters them; every value is text, written with textContent."""
    rows = []
    for v in vehicles:
        load_text, share = fmt_load(v.load, v.capacity)
        if v.next_reference:
            next_line = f"Next {v.next_reference} · ETA {local_time(v.next_eta, v.timezone)}"
        else:
            next_line = "All stops done" if v.stops_total else "No route today"
        rows.append(
            _compact(
                {
                    "id": v.id,
                    "name": v.name,
                    "status": v.status,
                    "badge": status_name(v.status),
                    "depot": v.depot_id,
                    # For the live ETAs (assets/js/eta_live.js): the row follows its route.
                    "route_id": v.route_id,
                    "meta": f"{v.driver_name or 'No driver'} · {v.depot_name}",
                    "next": next_line,
                    "delay": fmt_delay(v.delay_min) if v.delay_min is not None else None,
                    "delay_class": delay_class(v.delay_min),
                    "load": load_text,
                    "load_pct": round(min(share, 1.0) * 100),
                    "stops": f"{v.stops_done}/{v.stops_total} stops",
                    "colour": route_colour(v.route_index) if v.route_index is not None else None,
                    "search": " ".join(
                        [v.name, v.plate, v.driver_name or "", *v.references]
                    ).lower(),
                    "fix_at": _iso(v.recorded_at),
                }
            )
        )
    return rows


def create_alerts_feed(
    notifications: Sequence[NotificationOut],
    links: dict[int, tuple[int | None, str | None, int | None, str | None]],
    timezone: str = "UTC",
) -> html.Div:
    """Notifications newest first, each with Acknowledge and a link to its vehicle or stop.

    `links` maps a notification's route event id to (vehicle id, vehicle name, stop id, order
    reference); an at-risk alert carries its own in `data`, with its suggested action (the
    planning panel's re-optimize remaining). Live ones are prepended by assets/js/dispatch.js
    (text only, never HTML).
    """
    items = []
    for n in notifications:
        vehicle_id, vehicle_name, stop_id, reference = links.get(
            n.route_event_id or 0,
            (
                n.data.get("vehicleId"),
                n.data.get("vehicleName"),
                n.data.get("stopId"),
                n.data.get("orderReference"),
            ),
        )
        actions: list[Any] = []
        if vehicle_id is not None:
            actions.append(
                html.Button(
                    f"Show {vehicle_name}",
                    className="link-button",
                    type="button",
                    **_data(focus_vehicle=str(vehicle_id)),
                )
            )
        if stop_id is not None:
            actions.append(
                html.Button(
                    f"Stop {reference}",
                    className="link-button",
                    type="button",
                    **_data(focus_stop=str(stop_id)),
                )
            )
        if n.data.get("action") == REOPTIMIZE_ACTION and n.resolved_at is None:
            actions.append(
                html.Button(
                    str(n.data.get("actionLabel") or REOPTIMIZE_LABEL),
                    className="btn btn-small btn-primary alert-action",
                    type="button",
                    **_data(reoptimize=REOPTIMIZE_ACTION),
                )
            )
        acknowledged = n.acknowledged_at is not None
        actions.append(
            html.Button(
                "Cleared"
                if n.resolved_at is not None
                else "Acknowledged"
                if acknowledged
                else "Acknowledge",
                className="btn btn-small alert-ack",
                type="button",
                disabled=acknowledged,
                **_data(alert_ack=str(n.id)),
            )
        )
        items.append(
            html.Li(
                className=f"alert-item alert-{n.severity}"
                + (" alert-read" if acknowledged else ""),
                **_data(alert_id=str(n.id)),
                children=[
                    html.Div(
                        [
                            html.Span(n.severity, className=f"pill pill-{n.severity}"),
                            html.Span(status_label(n.kind), className="alert-kind"),
                            html.Time(local_time(n.created_at, timezone), className="alert-time"),
                        ],
                        className="alert-head",
                    ),
                    html.Div(n.title, className="alert-title"),
                    html.Div(n.body, className="alert-body") if n.body else None,
                    html.Div(actions, className="alert-actions"),
                ],
            )
        )
    return html.Div(
        [
            html.Div("No alerts today." if not items else "", className="muted alerts-empty"),
            html.Ul(items, id=ids.DISPATCH_ALERTS_LIST, className="alerts-list"),
        ]
    )


REASON_TEXT = {
    "capacity": "Over capacity",
    "time_window": "Window cannot be met",
    "skills": "No vehicle with the skills",
    "no_vehicle": "No vehicle available",
    "unreachable": "Unreachable",
}


def create_unassigned_pool(orders: Sequence[UnassignedOrder]) -> html.Div:
    """Orders no route serves, with the solver's reason, and a re-optimize action."""
    if not orders:
        return html.Div("Every order of the day is on a route.", className="muted")
    rows = [
        html.Li(
            className="pool-row",
            **_data(order_id=str(o.id)),
            children=[
                html.Div(
                    [
                        html.B(o.reference),
                        html.Span(
                            REASON_TEXT.get(o.reason or "", status_label(o.reason))
                            if o.reason
                            else "Not planned yet",
                            className="pill pill-reason",
                            title=o.detail or "",
                        ),
                    ],
                    className="pool-row-top",
                ),
                html.Div(
                    f"{o.customer_name} · {fmt_window(o.window_start, o.window_end, o.timezone)}",
                    className="vehicle-meta",
                ),
            ],
        )
        for o in orders
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.Span(f"{len(orders)} orders without a route", className="list-summary"),
                    html.Button(
                        "Re-optimize",
                        id=ids.DISPATCH_REOPTIMIZE,
                        className="btn btn-small btn-primary",
                        type="button",
                        title="Plan the remaining stops again, these orders included",
                    ),
                ],
                className="pool-head",
            ),
            html.Ul(rows, className="pool-list"),
        ]
    )
