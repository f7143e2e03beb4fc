"""The Plans page's parts: the table columns, its rows and the summary tiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from backend.db.queries.plans import PlanRow, PlanSummary
from components.ui import create_kpi_card, create_kpi_row, fmt_number

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
    {"id": "request_id", "name": "Request"},
]
PLAN_NUMERIC = ("stops", "score", "distance_km", "duration_min", "fuel_l", "co2_kg")


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
            "request_id": p.request_id,
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
