"""The Plans page's parts: the table columns, its rows and the summary tiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_leaflet as dl
from dash import html

from backend.db.queries.plans import PlanDetail, PlanRow, PlanSummary
from components import ids
from components.dispatch import JS_NAMESPACE, plan_routes_geojson
from components.ui import create_empty_state, create_kpi_card, create_kpi_row, fmt_number

ROUTE_STYLE = {"variable": f"{JS_NAMESPACE}.routeStyle"}

PLAN_COLUMNS: list[dict[str, Any]] = [
    {"id": "created_at", "name": "Requested (UTC)"},
    {"id": "depot", "name": "Depot"},
    {"id": "vehicle", "name": "Vehicle"},
    {"id": "status", "name": "Status"},
    {"id": "stops", "name": "Stops", "type": "numeric"},
    {"id": "score", "name": "Score", "type": "numeric"},
    {"id": "distance_km", "name": "Distance (km)", "type": "numeric"},
    {"id": "duration_min", "name": "Duration (h)", "type": "numeric"},
    {"id": "fuel_l", "name": "Fuel (l)", "type": "numeric"},
    {"id": "co2_kg", "name": "CO2 (kg)", "type": "numeric"},
    {"id": "planning", "name": "Planning time"},
    {"id": "request_id", "name": "Request"},
]
PLAN_NUMERIC = ("stops", "score", "distance_km", "duration_min", "fuel_l", "co2_kg")


def fmt_planning_time(seconds: float | None) -> str:
    """Planning time as "42 s" or "38 min"."""
    if seconds is None:
        return "–"
    return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} min"


def _num(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def plan_rows(plans: Sequence[PlanRow]) -> list[dict[str, Any]]:
    """Table rows (already formatted) for plans."""
    return [
        {
            "created_at": p.created_at.strftime("%Y-%m-%d %H:%M"),
            "depot": p.depot_name or "–",
            "vehicle": p.vehicle_name or (f"#{p.vehicle_id}" if p.vehicle_id else "all"),
            "status": p.status,
            "stops": p.stops,
            "score": _num(p.score, 3),
            "distance_km": _num(p.distance_km, 1),
            "duration_min": _num(p.duration_min / 60 if p.duration_min is not None else None, 1),
            "fuel_l": _num(p.fuel_l, 1),
            "co2_kg": _num(p.co2_kg, 1),
            "planning": fmt_planning_time(p.planning_s),
            "request_id": p.request_id,
            # Not a column: what the compare view looks up when the row is ticked.
            "response_id": p.response_id,
        }
        for p in plans
    ]


def create_plan_summary(summary: PlanSummary) -> html.Div:
    """Tiles: plans, average score, distance, fuel and CO2 over the filtered history."""
    return create_kpi_row(
        [
            create_kpi_card("Plans", f"{summary.requests:,}", f"{summary.solved:,} solved"),
            create_kpi_card(
                "Average score",
                fmt_number(summary.avg_score, 3) if summary.avg_score is not None else "–",
                "higher is better",
            ),
            create_kpi_card(
                "Distance",
                f"{fmt_number(summary.distance_km)} km",
                f"{fmt_number(summary.duration_min / 60)} h driving",
            ),
            create_kpi_card("Fuel", f"{fmt_number(summary.fuel_l)} l", "planned"),
            create_kpi_card("CO2", f"{fmt_number(summary.co2_kg)} kg", "planned", "good"),
        ]
    )


KM_TO_MI = 0.621371
# (label, how to read it from a PlanDetail, digits, unit, lower is better)
COMPARE_ROWS: list[tuple[str, Any, int, str, bool]] = [
    ("Score", lambda d: d.score, 3, "", False),
    ("Distance", lambda d: d.distance_km, 1, " km", True),
    ("Distance", lambda d: d.distance_km * KM_TO_MI, 1, " mi", True),
    ("Driving + service", lambda d: d.duration_min / 60, 1, " h", True),
    ("Cost ($)", lambda d: d.meta.get("cost"), 0, "", True),
    ("Fuel", lambda d: d.fuel_l, 1, " l", True),
    ("CO2", lambda d: d.co2_kg, 1, " kg", True),
    ("Vehicles used", lambda d: d.meta.get("vehicles_used", len(d.routes)), 0, "", True),
    ("Unassigned orders", lambda d: d.meta.get("unassigned"), 0, "", True),
    ("Planning time", lambda d: d.planning_s / 60, 1, " min", True),
]


def _value(detail: PlanDetail, read: Any) -> float | None:
    value = read(detail)
    return None if value is None else float(value)


def create_plan_comparison(details: Sequence[PlanDetail]) -> html.Div:
    """Two plans side by side: their figures with the difference, and their routes on maps."""
    if len(details) != 2:
        return create_empty_state(
            "Compare two plans",
            "Tick two plans in the table to see their figures and routes side by side.",
        )
    a, b = details
    head = html.Tr([html.Th("")] + [html.Th(_plan_title(d)) for d in details] + [html.Th("B − A")])
    rows = []
    for label, read, digits, unit, lower_better in COMPARE_ROWS:
        va, vb = _value(a, read), _value(b, read)
        delta = html.Td("–")
        if va is not None and vb is not None and (vb - va) != 0:
            better = (vb < va) == lower_better
            delta = html.Td(
                f"{vb - va:+,.{digits}f}{unit}",
                className="delta-better" if better else "delta-worse",
            )
        rows.append(
            html.Tr(
                [html.Th(label)]
                + [html.Td("–" if v is None else f"{v:,.{digits}f}{unit}") for v in (va, vb)]
                + [delta]
            )
        )
    return html.Div(
        className="plan-compare",
        children=[
            html.Table([html.Thead(head), html.Tbody(rows)], className="table compare-table"),
            html.Div(
                className="compare-maps", children=[_plan_map(d, i) for i, d in enumerate(details)]
            ),
        ],
    )


def _plan_title(detail: PlanDetail) -> str:
    version = detail.meta.get("version")
    label = f"v{version} · " if version else ""
    return f"{label}{detail.depot_name or ''} · {detail.created_at:%b %d %H:%M}"


def _plan_map(detail: PlanDetail, index: int) -> html.Div:
    return html.Div(
        className="compare-map-card",
        children=[
            html.Div(_plan_title(detail), className="compare-map-title"),
            dl.Map(
                id={"type": ids.PLANS_COMPARE_MAP, "index": index},
                bounds=_bounds(detail),
                className="compare-map",
                children=[dl.GeoJSON(data=plan_routes_geojson(detail.routes), style=ROUTE_STYLE)],
            ),
        ],
    )


def _bounds(detail: PlanDetail) -> list[list[float]] | None:
    points = [p for r in detail.routes for p in r.points]
    if not points:
        return None
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]
