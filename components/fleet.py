"""The Fleet page's parts: KPI tiles, the vehicles table and the drivers table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time
from typing import Any

from dash import html

from backend.db.queries.dispatch import VehicleMarker
from backend.db.queries.drivers import DriverRow
from backend.db.queries.fleet_state import VehicleActivity, count_on_the_road
from components.ui import (
    create_empty_state,
    create_kpi_card,
    create_kpi_row,
    create_status_pill,
    fmt_number,
    local_time,
)

VEHICLE_TYPE_LABELS = {"cargo_van": "Cargo van", "box_truck": "Box truck"}


def vehicle_type_label(key: str) -> str:
    """A vehicle type as people read it."""
    return VEHICLE_TYPE_LABELS.get(key, key.replace("_", " ").capitalize())


def fmt_capacity(capacity: Mapping[str, Any] | None) -> str:
    """Capacity per unit, e.g. "1,400 kg · 11 m3"."""
    if not capacity:
        return "–"
    return " · ".join(f"{fmt_number(float(v))} {unit}" for unit, v in sorted(capacity.items()))


def fmt_shift(start: time | None, end: time | None) -> str:
    """A shift as "07:00–17:00"."""
    if start is None or end is None:
        return "–"
    return f"{start:%H:%M}–{end:%H:%M}"


def _table(header: Sequence[tuple[str, str]], rows: list[html.Tr], table_id: str) -> html.Div:
    return html.Div(
        html.Table(
            [
                html.Thead(
                    html.Tr([html.Th(label, className=cls, scope="col") for label, cls in header])
                ),
                html.Tbody(rows),
            ],
            className="data-table",
            id=table_id,
        ),
        className="table-wrap",
    )


def create_vehicles_table(
    vehicles: Sequence[Any],
    live: Mapping[int, VehicleMarker],
    depot_names: Mapping[int, str],
    table_id: str = "fleet-vehicles",
) -> html.Div:
    """One row per vehicle: type, depot, capacity, costs, fuel, shift, skills, status, today."""
    if not vehicles:
        return create_empty_state("No vehicles", "No vehicles are registered in your depots.")
    rows = []
    for v in vehicles:
        state = live.get(v.id)
        # The same activity as on the Dispatch page (inactive vehicles have no live state).
        status = state.activity if state else (VehicleActivity.PARKED if v.active else "inactive")
        today = f"{state.orders_done}/{state.orders_total}" if state else "–"
        rows.append(
            html.Tr(
                [
                    html.Td([html.B(v.name), html.Div(v.plate, className="muted")]),
                    html.Td(vehicle_type_label(v.vehicle_type)),
                    html.Td(depot_names.get(v.depot_id, f"#{v.depot_id}")),
                    html.Td(fmt_capacity(v.capacity)),
                    html.Td(
                        f"${v.cost_per_km:.2f}/km · ${v.cost_per_hour:.0f}/h · ${v.fixed_cost:.0f}",
                    ),
                    html.Td(fmt_number(v.fuel_l_per_km * 100, 1), className="num"),
                    html.Td(fmt_shift(v.shift_start, v.shift_end)),
                    html.Td([html.Span(s, className="tag") for s in v.skills] or "–"),
                    html.Td(create_status_pill(status)),
                    html.Td(today, className="num"),
                ]
            )
        )
    header = [
        ("Vehicle", ""),
        ("Type", ""),
        ("Depot", ""),
        ("Capacity", ""),
        ("Costs", ""),
        ("Fuel l/100 km", "num"),
        ("Shift", ""),
        ("Skills", ""),
        ("Status", ""),
        ("Delivered today", "num"),
    ]
    return _table(header, rows, table_id)


def create_drivers_table(drivers: Sequence[DriverRow], table_id: str = "fleet-drivers") -> html.Div:
    """One row per driver: name, vehicle, depots, phone, account state, last login."""
    if not drivers:
        return create_empty_state("No drivers", "No driver accounts belong to your depots yet.")
    rows = [
        html.Tr(
            [
                html.Td([html.B(d.display_name), html.Div(d.username, className="muted")]),
                html.Td(d.vehicle_name or "–"),
                html.Td(", ".join(d.depot_names) or "–"),
                html.Td(d.phone or "–"),
                html.Td(create_status_pill("active" if d.active else "inactive")),
                html.Td(
                    local_time(d.last_login_at, fmt="%Y-%m-%d %H:%M")
                    if d.last_login_at
                    else "never"
                ),
            ]
        )
        for d in drivers
    ]
    header = [
        ("Driver", ""),
        ("Vehicle", ""),
        ("Depots", ""),
        ("Phone", ""),
        ("Account", ""),
        ("Last login (UTC)", ""),
    ]
    return _table(header, rows, table_id)


def create_fleet_kpis(vehicles: Sequence[Any], live: Mapping[int, VehicleMarker]) -> html.Div:
    """Fleet size, capacity, vehicles on the road and today's workload."""
    active = [v for v in vehicles if v.active]
    kg = sum(float((v.capacity or {}).get("kg", 0)) for v in active)
    on_road = count_on_the_road(s.activity for s in live.values())
    assigned = sum(s.orders_total for s in live.values())
    types: dict[str, int] = {}
    for v in active:
        types[v.vehicle_type] = types.get(v.vehicle_type, 0) + 1
    mix = " · ".join(f"{n} {vehicle_type_label(t).lower()}" for t, n in sorted(types.items()))
    return create_kpi_row(
        [
            create_kpi_card("Active vehicles", f"{len(active)}", mix or "none"),
            create_kpi_card("Capacity", f"{fmt_number(kg)} kg", "across active vehicles"),
            create_kpi_card(
                "On the road", f"{on_road}", "moving or stopped away from a depot", "good"
            ),
            create_kpi_card("Orders assigned today", f"{assigned:,}", "to vehicles"),
        ]
    )
