"""The Analytics page's parts: the report as JSON for a store, KPI tiles and plotly figures."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from backend.db.queries.analytics import KM_PER_MILE, AnalyticsReport, DailyKpis
from components.ui import (
    STATUS_COLOURS,
    create_empty_state,
    create_kpi_card,
    create_kpi_row,
    fmt_number,
    fmt_percent,
)

BRAND = "#4f46e5"
SECOND = "#0ea5e9"
GRID = "#e2e8f0"
FONT = "Inter, Segoe UI, system-ui, -apple-system, Roboto, Helvetica Neue, Arial, sans-serif"


def _day_record(k: DailyKpis) -> dict[str, Any]:
    # A day with neither orders nor routes has no figures at all (a gap, not a zero).
    if not k.orders and not k.routes:
        return {"day": k.day.isoformat(), "orders": 0, "routes": 0}
    return {
        "day": k.day.isoformat(),
        "orders": k.orders,
        "delivered": k.delivered,
        "failed": k.failed,
        "cancelled": k.cancelled,
        "visited": k.visited,
        "routes": k.routes,
        "vehicles": k.vehicles,
        "km": round(k.km, 3),
        "fuel_l": round(k.fuel_l, 3),
        "co2_kg": round(k.co2_kg, 3),
        "cost": round(k.cost, 2),
        "on_time_rate": k.on_time_rate,
        "failed_rate": k.failed_rate,
        "cost_per_km": k.cost_per_km,
        "cost_per_mile": k.cost_per_mile,
        "utilization": k.utilization,
        "vehicle_utilization": k.vehicle_utilization,
    }


def report_to_store(report: AnalyticsReport) -> dict[str, Any]:
    """The report as plain JSON for a dcc.Store (figures are drawn from it without a query)."""
    return {
        "date_from": report.date_from.isoformat(),
        "date_to": report.date_to.isoformat(),
        "days": [_day_record(k) for k in report.days],
        "totals": _day_record(report.totals),
        "failure_reasons": report.failure_reasons,
    }


def has_data(store: dict[str, Any] | None) -> bool:
    """Whether the report holds any order or route."""
    if not store:
        return False
    totals = store.get("totals", {})
    return bool(totals.get("orders") or totals.get("routes"))


def create_analytics_kpis(store: dict[str, Any] | None, units: str = "km") -> html.Div:
    """Tiles over the whole range: on-time, cost per distance, utilization, fuel, CO2, failures."""
    if not has_data(store):
        return create_empty_state(
            "No history in this range",
            "Pick another date range or depot: there are no orders or driven routes here yet.",
        )
    t = (store or {})["totals"]
    per = t["cost_per_mile"] if units == "mi" else t["cost_per_km"]
    distance = t["km"] / KM_PER_MILE if units == "mi" else t["km"]
    other = (f"${t['cost_per_km']:.2f}/km" if units == "mi" and t["cost_per_km"] else None) or (
        f"${t['cost_per_mile']:.2f}/mi" if t["cost_per_mile"] else ""
    )
    return create_kpi_row(
        [
            create_kpi_card(
                "On-time rate",
                fmt_percent(t["on_time_rate"]),
                f"{t['visited']:,} visited orders",
                "good",
            ),
            create_kpi_card(
                f"Cost per {'mile' if units == 'mi' else 'km'}",
                f"${per:.2f}" if per is not None else "–",
                f"{other} · ${fmt_number(t['cost'])} total",
            ),
            create_kpi_card(
                "Fleet utilization",
                fmt_percent(t["utilization"]),
                f"vehicles used {fmt_percent(t['vehicle_utilization'], 0)} of days",
            ),
            create_kpi_card(
                "Fuel",
                f"{fmt_number(t['fuel_l'])} l",
                f"{fmt_number(distance)} {units} driven",
            ),
            create_kpi_card("CO2", f"{fmt_number(t['co2_kg'] / 1000, 1)} t", "tank to wheel"),
            create_kpi_card(
                "Failed deliveries",
                f"{t['failed']:,}",
                f"{fmt_percent(t['failed_rate'])} of visited",
                "bad" if t["failed"] else "",
            ),
        ]
    )


def _style(fig: go.Figure, title: str, *, percent: bool = False, money: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 14, "color": "#0f172a"}},
        template="plotly_white",
        font={"family": FONT, "size": 12, "color": "#334155"},
        margin={"l": 48, "r": 16, "t": 44, "b": 36},
        height=300,
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        hovermode="x unified",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#ffffff",
    )
    fig.update_xaxes(showgrid=False, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, rangemode="tozero")
    if percent:
        fig.update_yaxes(tickformat=".0%")
    if money:
        fig.update_yaxes(tickprefix="$")
    return fig


def _active_days(store: dict[str, Any] | None) -> list[dict[str, Any]]:
    # Leading and trailing days without any activity are cut, so a short history fills the chart.
    days = (store or {}).get("days", [])
    active = [i for i, d in enumerate(days) if d.get("orders") or d.get("routes")]
    return days[active[0] : active[-1] + 1] if active else []


def _series(store: dict[str, Any] | None, key: str) -> tuple[list[str], list[Any]]:
    days = _active_days(store)
    return [d["day"] for d in days], [d.get(key) for d in days]


def figure_on_time(store: dict[str, Any] | None) -> go.Figure:
    """On-time rate per day."""
    x, y = _series(store, "on_time_rate")
    fig = go.Figure(
        go.Scatter(
            x=x, y=y, mode="lines+markers", name="On time", line={"color": BRAND, "width": 2}
        )
    )
    return _style(fig, "On-time rate", percent=True)


def figure_cost(store: dict[str, Any] | None, units: str = "km") -> go.Figure:
    """Cost per km (or mile) per day, with total cost per day as bars."""
    key = "cost_per_mile" if units == "mi" else "cost_per_km"
    x, per = _series(store, key)
    _, cost = _series(store, "cost")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=cost, name="Cost per day", marker_color="#c7d2fe", yaxis="y2"))
    fig.add_trace(
        go.Scatter(
            x=x, y=per, name=f"Cost per {units}", mode="lines", line={"color": BRAND, "width": 2}
        )
    )
    fig.update_layout(
        yaxis={"tickprefix": "$", "title": {"text": f"per {units}"}},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickprefix": "$",
            "tickformat": ",.0f",
        },
    )
    return _style(fig, f"Cost per {'mile' if units == 'mi' else 'km'}")


def figure_utilization(store: dict[str, Any] | None) -> go.Figure:
    """Time utilization and share of vehicles used per day."""
    x, time_use = _series(store, "utilization")
    _, vehicles = _series(store, "vehicle_utilization")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x, y=time_use, name="Shift time out", mode="lines", line={"color": BRAND, "width": 2}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=vehicles,
            name="Vehicles used",
            mode="lines",
            line={"color": SECOND, "width": 2, "dash": "dot"},
        )
    )
    return _style(fig, "Fleet utilization", percent=True)


def figure_emissions(store: dict[str, Any] | None) -> go.Figure:
    """Fuel (litres) and CO2 (kg) per day."""
    x, fuel = _series(store, "fuel_l")
    _, co2 = _series(store, "co2_kg")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=fuel, name="Fuel (l)", marker_color="#93c5fd"))
    fig.add_trace(
        go.Scatter(x=x, y=co2, name="CO2 (kg)", mode="lines", line={"color": "#15803d", "width": 2})
    )
    return _style(fig, "Fuel and CO2")


def figure_failures(store: dict[str, Any] | None) -> go.Figure:
    """Failed deliveries per day, and the reasons over the range."""
    x, failed = _series(store, "failed")
    reasons = (store or {}).get("failure_reasons", {})
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=failed, name="Failed", marker_color=STATUS_COLOURS["failed"]))
    fig = _style(fig, "Failed deliveries")
    if reasons:
        top = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in list(reasons.items())[:4])
        fig.update_layout(
            title={"subtitle": {"text": f"Top reasons: {top}", "font": {"size": 11}}},
            margin={"t": 60},
        )
    return fig


def figure_orders(store: dict[str, Any] | None) -> go.Figure:
    """Orders per day by outcome: delivered, failed, cancelled, still open."""
    days = _active_days(store)
    x = [d["day"] for d in days]
    fig = go.Figure()
    for key, label in (
        ("delivered", "Delivered"),
        ("failed", "Failed"),
        ("cancelled", "Cancelled"),
    ):
        fig.add_trace(
            go.Bar(x=x, y=[d.get(key) for d in days], name=label, marker_color=STATUS_COLOURS[key])
        )
    open_orders = [
        None
        if not d.get("orders")
        else d["orders"] - d.get("delivered", 0) - d.get("failed", 0) - d.get("cancelled", 0)
        for d in days
    ]
    fig.add_trace(go.Bar(x=x, y=open_orders, name="Open", marker_color=STATUS_COLOURS["new"]))
    fig.update_layout(barmode="stack")
    return _style(fig, "Orders per day")


def create_chart(graph_id: str) -> dcc.Graph:
    """A chart slot with the app's settings (no mode bar clutter, responsive)."""
    return dcc.Graph(
        id=graph_id,
        figure=_style(go.Figure(), ""),
        config={"displaylogo": False, "responsive": True},
        className="chart",
    )
