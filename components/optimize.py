"""The "plan the day" panel: optimize / re-optimize controls, live progress, the proposed plan."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from backend.planning.request import TRAVEL_TIMES
from components import ids
from components.ui import create_kpi_card, create_kpi_row, fmt_number, fmt_percent

ENGINE_OPTIONS = [
    {"label": "Best of both (auto)", "value": "auto"},
    {"label": "OR-Tools", "value": "ortools"},
    {"label": "PyVRP", "value": "pyvrp"},
]
TRAVEL_TIME_LABELS = {
    "haversine": "Haversine (straight line × detour)",
    "learned": "Learned from history",
}
TRAVEL_TIME_OPTIONS = [{"label": TRAVEL_TIME_LABELS[v], "value": v} for v in TRAVEL_TIMES]
BUDGET_OPTIONS = [{"label": f"{s} s", "value": s} for s in (5, 15, 30, 60, 120)]
REASON_LABELS = {
    "skill": "needs a skill no vehicle has",
    "capacity": "too big for any vehicle",
    "time_window": "time window unreachable in any shift",
    "shift_length": "does not fit in any shift",
    "max_distance": "beyond every route's distance limit",
    "pair": "its pickup/delivery partner cannot be served",
    "no_room": "no room left in the fleet",
    "dropped_for_cost": "left out: serving it costs more than it is worth",
}


def create_optimize_panel() -> html.Div:
    """Controls to plan a depot's day, a progress bar and a slot for the proposed plan."""
    return html.Div(
        className="optimize-panel card",
        children=[
            html.Div(
                className="optimize-controls",
                children=[
                    html.H3("Plan the day", className="card-title"),
                    _labelled(
                        "Depot",
                        dcc.Dropdown(id=ids.OPTIMIZE_DEPOT, clearable=False, placeholder="Depot"),
                        ids.OPTIMIZE_DEPOT,
                    ),
                    _labelled(
                        "Engine",
                        dcc.Dropdown(
                            id=ids.OPTIMIZE_ENGINE,
                            options=ENGINE_OPTIONS,
                            value="auto",
                            clearable=False,
                        ),
                        ids.OPTIMIZE_ENGINE,
                    ),
                    _labelled(
                        "Travel times",
                        dcc.Dropdown(
                            id=ids.OPTIMIZE_TRAVEL_TIMES,
                            options=TRAVEL_TIME_OPTIONS,
                            value="haversine",
                            clearable=False,
                        ),
                        ids.OPTIMIZE_TRAVEL_TIMES,
                    ),
                    _labelled(
                        "Time budget",
                        dcc.Dropdown(
                            id=ids.OPTIMIZE_BUDGET,
                            options=BUDGET_OPTIONS,
                            value=30,
                            clearable=False,
                        ),
                        ids.OPTIMIZE_BUDGET,
                    ),
                    dcc.Checklist(
                        id=ids.OPTIMIZE_BREAKS,
                        options=[{"label": " 30-min driver break", "value": "breaks"}],
                        value=[],
                        className="optimize-breaks",
                    ),
                    html.Div(
                        className="optimize-buttons",
                        children=[
                            html.Button(
                                "Optimize", id=ids.OPTIMIZE_RUN, className="btn btn-primary"
                            ),
                            html.Button(
                                "Re-optimize remaining stops",
                                id=ids.OPTIMIZE_REMAINING,
                                className="btn",
                            ),
                            html.Button(
                                "Stop",
                                id=ids.OPTIMIZE_STOP,
                                className="btn btn-danger",
                                disabled=True,
                            ),
                        ],
                    ),
                ],
            ),
            html.Div(
                id=ids.OPTIMIZE_PROGRESS,
                className="optimize-progress",
                style={"display": "none"},
                children=[
                    html.Div(
                        className="progress-track",
                        children=html.Div(
                            id=ids.OPTIMIZE_PROGRESS_BAR,
                            className="progress-bar",
                            style={"width": "0%"},
                        ),
                    ),
                    html.Div(
                        id=ids.OPTIMIZE_PROGRESS_TEXT,
                        className="progress-text",
                        children="Starting…",
                    ),
                ],
            ),
            html.Div(id=ids.OPTIMIZE_MESSAGE, className="optimize-message", role="status"),
            html.Div(id=ids.OPTIMIZE_RESULT_VIEW),
            # Session storage: the job is followed again after navigating away and back.
            dcc.Store(id=ids.OPTIMIZE_TICKET, storage_type="session"),
            # Set once when the page mounts with a ticket (assets/js/optimize.js).
            dcc.Store(id=ids.OPTIMIZE_RESUME),
            dcc.Store(id=ids.OPTIMIZE_RESULT),
        ],
    )


def _labelled(label: str, control: Any, control_id: str) -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=control_id, className="field-label"), control], className="field"
    )


def progress_figures(report: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The progress bar width and its caption from a solver progress report."""
    limit = float(report.get("time_limit_s") or 1)
    elapsed = float(report.get("elapsed_s") or 0)
    share = max(0.0, min(1.0, elapsed / limit))
    caption = (
        f"Best cost ${fmt_number(report.get('best_cost'), 0)} · "
        f"{elapsed:.1f} s of {limit:.0f} s · engine {report.get('engine', 'auto')}"
    )
    return {"width": f"{share * 100:.0f}%"}, caption


def create_plan_summary(result: dict[str, Any], unassigned: Sequence[dict[str, Any]]) -> html.Div:
    """The proposed plan: KPIs, how it was found, unassigned orders with reasons, Accept."""
    status = result.get("status", "completed")
    badges = [html.Span(f"Version {result.get('version', 1)}", className="pill")]
    if result.get("cache_hit"):
        badges.append(
            html.Span(
                "From cache",
                className="pill pill-info",
                title="The same request was planned before; reused its plan.",
            )
        )
    if status == "cancelled":
        badges.append(html.Span("Stopped early: best plan so far", className="pill pill-warn"))
    if str(result.get("travel_times", "")).startswith("learned"):
        badges.append(html.Span("Learned travel times", className="pill pill-info"))
    for warning in result.get("warnings") or ():
        badges.append(html.Span(str(warning), className="pill pill-warn"))
    cards = [
        create_kpi_card("Score", fmt_percent(result.get("score")), "lower bound / plan cost"),
        create_kpi_card(
            "Distance",
            fmt_number(result.get("distance_km"), 1, " km"),
            f"{fmt_number((result.get('distance_km') or 0) * 0.621371, 1)} mi",
        ),
        create_kpi_card(
            "Driving + service", fmt_number((result.get("duration_min") or 0) / 60, 1, " h")
        ),
        create_kpi_card("Cost", f"${fmt_number(result.get('cost'), 0)}"),
        create_kpi_card(
            "Fuel · CO2",
            fmt_number(result.get("fuel_l"), 0, " l"),
            fmt_number(result.get("co2_kg"), 0, " kg CO2"),
        ),
        create_kpi_card(
            "Vehicles",
            f"{result.get('vehicles_used', 0)} / {result.get('vehicles', 0)}",
            f"{result.get('orders', 0)} orders",
            tone="warn" if unassigned else "",
        ),
    ]
    rows = [
        html.Tr(
            [
                html.Td(u.get("reference") or u["order_id"]),
                html.Td(REASON_LABELS.get(u["reason"], u["reason"])),
                html.Td(u.get("detail", ""), className="muted"),
            ]
        )
        for u in unassigned
    ]
    return html.Div(
        className="plan-summary",
        children=[
            html.Div(
                className="plan-summary-head",
                children=[
                    html.Strong("Proposed plan"),
                    html.Span(badges, className="plan-badges"),
                    html.Span(
                        f"{result.get('engine', '')} · solved in "
                        f"{fmt_number(result.get('solve_s'), 1)} s, planned in "
                        f"{fmt_number(result.get('planning_s'), 1)} s",
                        className="muted",
                    ),
                ],
            ),
            create_kpi_row(cards),
            html.Details(
                # A handful is worth reading at once; a long list stays folded.
                open=0 < len(rows) <= 5,
                children=[
                    html.Summary(f"{len(rows)} unassigned order(s)"),
                    html.Div(
                        className="unassigned-scroll",
                        children=html.Table(
                            [
                                html.Thead(
                                    html.Tr([html.Th("Order"), html.Th("Why"), html.Th("Detail")])
                                ),
                                html.Tbody(rows),
                            ],
                            className="table compact",
                        ),
                    ),
                ],
            )
            if rows
            else html.P("Every order is planned.", className="muted"),
            html.Button(
                "Accept plan",
                id=ids.OPTIMIZE_ACCEPT,
                className="btn btn-primary",
                disabled=status == "failed",
            ),
        ],
    )
