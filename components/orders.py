"""The Orders page's parts: the table columns, its rows and the result summary line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from components.ui import create_status_pill, fmt_window, local_time

ORDER_COLUMNS: list[dict[str, Any]] = [
    {"id": "reference", "name": "Reference"},
    {"id": "service_date", "name": "Date"},
    {"id": "customer_name", "name": "Customer"},
    {"id": "address", "name": "Address"},
    {"id": "window_start", "name": "Window"},
    {"id": "priority", "name": "Priority", "type": "numeric"},
    {"id": "status", "name": "Status"},
    {"id": "vehicle_id", "name": "Vehicle"},
    {"id": "depot_id", "name": "Depot"},
    {"id": "demand", "name": "Demand"},
]
ORDER_NUMERIC = ("priority",)
# Columns the table may sort on (the rest fall back to the default order).
ORDER_SORTABLE = frozenset(
    {
        "reference",
        "service_date",
        "customer_name",
        "window_start",
        "priority",
        "status",
        "vehicle_id",
        "depot_id",
    }
)
DEFAULT_ORDER_SORT = "window_start"


def _demand(demand: Mapping[str, Any] | None) -> str:
    if not demand:
        return "–"
    return " · ".join(f"{float(v):g} {unit}" for unit, v in sorted(demand.items()))


def order_rows(
    orders: Sequence[Any],
    vehicle_names: Mapping[str, str],
    depots: Mapping[str, Mapping[str, str]],
) -> list[dict[str, Any]]:
    """Table rows for orders; names come from lookups keyed by id as text (a JSON store)."""
    rows = []
    for o in orders:
        depot = depots.get(str(o.depot_id), {})
        tz = depot.get("timezone", "UTC")
        rows.append(
            {
                "id": o.id,
                "reference": o.reference,
                "service_date": o.service_date.isoformat(),
                "customer_name": o.customer_name,
                "address": o.address,
                "window_start": fmt_window(o.window_start, o.window_end, tz),
                "priority": o.priority,
                "status": str(getattr(o.status, "value", o.status)),
                "vehicle_id": vehicle_names.get(str(o.vehicle_id), "–")
                if o.vehicle_id
                else "unassigned",
                "depot_id": depot.get("name", f"#{o.depot_id}"),
                "demand": _demand(o.demand),
            }
        )
    return rows


def summary_text(total: int, page: int, page_size: int) -> str:
    """ "Orders 26–50 of 412" for 1-based `page`."""
    if total == 0:
        return "No orders match these filters."
    first = (page - 1) * page_size + 1
    last = min(total, page * page_size)
    return f"Orders {first:,}–{last:,} of {total:,}"


_TIMELINE = (
    ("created_at", "Created"),
    ("planned_at", "Planned"),
    ("dispatched_at", "Dispatched"),
    ("en_route_at", "En route"),
    ("arrived_at", "Arrived"),
    ("delivered_at", "Delivered"),
    ("failed_at", "Failed"),
    ("cancelled_at", "Cancelled"),
)


def create_order_details(
    order: Any | None,
    vehicle_names: Mapping[str, str],
    depots: Mapping[str, Mapping[str, str]],
) -> html.Div:
    """One order in full: customer, place, windows, demand, skills, notes and its timeline."""
    if order is None:
        return html.Div("Select an order in the table to see its details.", className="muted")
    depot = depots.get(str(order.depot_id), {})
    tz = depot.get("timezone", "UTC")
    windows = [fmt_window(w.start, w.end, tz) for w in order.time_windows] or [
        fmt_window(order.window_start, order.window_end, tz)
    ]
    status = str(getattr(order.status, "value", order.status))
    facts = [
        ("Customer", order.customer_name),
        ("Address", order.address or "–"),
        ("Depot", depot.get("name", f"#{order.depot_id}")),
        ("Service date", order.service_date.isoformat()),
        ("Time windows", ", ".join(windows)),
        ("Service time", f"{order.service_minutes:g} min"),
        ("Demand", _demand(order.demand)),
        ("Priority", str(order.priority)),
        ("Skills needed", ", ".join(order.required_skills) or "none"),
        (
            "Vehicle",
            vehicle_names.get(str(order.vehicle_id), f"#{order.vehicle_id}")
            if order.vehicle_id
            else "unassigned",
        ),
    ]
    if order.failure_reason:
        facts.append(("Failure reason", order.failure_reason.replace("_", " ")))
    if order.notes:
        facts.append(("Notes", order.notes))
    timeline = [
        html.Li(
            [
                html.Span(label),
                html.Span(local_time(stamp, tz, "%b %d %H:%M"), className="fact-value"),
            ]
        )
        for key, label in _TIMELINE
        if (stamp := getattr(order, key, None)) is not None
    ]
    return html.Div(
        className="order-details",
        children=[
            html.Div(
                [html.H3(order.reference), create_status_pill(status)], className="model-head"
            ),
            html.Div(
                [
                    html.Ul(
                        [
                            html.Li([html.Span(label), html.Span(value, className="fact-value")])
                            for label, value in facts
                        ],
                        className="fact-list",
                    ),
                    html.Div(
                        [
                            html.H4("Timeline (local time)"),
                            html.Ul(timeline, className="fact-list"),
                        ],
                    ),
                ],
                className="grid-2",
            ),
        ],
    )
