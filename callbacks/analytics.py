"""Analytics page callbacks: default range and depots, the report (one call), the charts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import Input, Output

from backend.db.queries.analytics import get_analytics
from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import get_local_today
from backend.runtime import current_runtime
from callbacks._common import InvalidInput, as_int, db_session, parse_date, require_principal
from components import ids
from components.analytics import (
    create_analytics_kpis,
    figure_cost,
    figure_emissions,
    figure_failures,
    figure_on_time,
    figure_orders,
    figure_utilization,
    report_to_store,
)
from components.filters import depot_options

ROLES = ("dispatcher", "manager", "admin")
DEFAULT_DAYS = 90
MAX_DAYS = 731


def set_defaults(_: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """The last 90 days up to yesterday, and the depots this user may pick."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        today = get_local_today(
            session, depot_ids=principal.depot_ids, now=current_runtime().clock.now()
        )
        depots = list_depots(session, depot_ids=principal.depot_ids, page_size=500).items
    end = today - timedelta(days=1)
    return (
        (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        end.isoformat(),
        depot_options(depots),
    )


def load_report(depot_id: int | None, start: str | None, end: str | None) -> dict[str, Any]:
    """The daily KPIs of the range (a few set-based queries), kept in a store."""
    date_from, date_to = parse_date(start), parse_date(end)
    if date_from is None or date_to is None:
        raise dash.exceptions.PreventUpdate
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    date_from = max(date_from, date_to - timedelta(days=MAX_DAYS - 1))
    principal = require_principal(*ROLES)
    depot = as_int(depot_id, "depot_id")
    with db_session() as session:
        report = get_analytics(
            session,
            depot_ids=principal.depot_ids,
            depot_id=depot,
            date_from=date_from,
            date_to=date_to,
        )
    return report_to_store(report)


def draw(store: dict[str, Any] | None, units: str | None) -> tuple[Any, ...]:
    """KPI tiles and charts from the stored report (no query)."""
    units = units if units in ("km", "mi") else "km"
    if store is not None and not _report_shape_ok(store):
        raise InvalidInput("report", "must be the report this page stored")
    return (
        create_analytics_kpis(store, units),
        figure_on_time(store),
        figure_cost(store, units),
        figure_utilization(store),
        figure_emissions(store),
        figure_failures(store),
        figure_orders(store),
    )


# The figures of a day with orders or routes (components.analytics._day_record writes them).
DAY_FIGURES = (
    "orders",
    "delivered",
    "failed",
    "cancelled",
    "visited",
    "routes",
    "vehicles",
    "km",
    "fuel_l",
    "co2_kg",
    "cost",
    "on_time_rate",
    "failed_rate",
    "cost_per_km",
    "cost_per_mile",
    "utilization",
    "vehicle_utilization",
)


def _is_number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _day_ok(record: object) -> bool:
    if not isinstance(record, dict) or not isinstance(record.get("day", ""), str):
        return False
    if record.get("orders") or record.get("routes"):
        return all(key in record and _is_number(record[key]) for key in DAY_FIGURES)
    return all(_is_number(record.get(key)) for key in ("orders", "routes"))


def _report_shape_ok(store: object) -> bool:
    # The report went through the browser; draw only what has the shape report_to_store made.
    if not isinstance(store, dict):
        return False
    days, reasons = store.get("days", []), store.get("failure_reasons", {})
    return (
        _day_ok(store.get("totals", {}))
        and isinstance(days, list)
        and all(_day_ok(day) and isinstance(day.get("day"), str) for day in days)
        and isinstance(reasons, dict)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in reasons.values())
    )


def register(app: dash.Dash) -> None:
    """Register the Analytics callbacks on `app`."""
    app.callback(
        Output(ids.ANALYTICS_DATES, "start_date"),
        Output(ids.ANALYTICS_DATES, "end_date"),
        Output(ids.ANALYTICS_DEPOT, "options"),
        Input(ids.ANALYTICS_REPORT, "id"),
    )(set_defaults)
    app.callback(
        Output(ids.ANALYTICS_REPORT, "data"),
        Input(ids.ANALYTICS_DEPOT, "value"),
        Input(ids.ANALYTICS_DATES, "start_date"),
        Input(ids.ANALYTICS_DATES, "end_date"),
    )(load_report)
    app.callback(
        Output(ids.ANALYTICS_KPIS, "children"),
        Output(ids.ANALYTICS_ON_TIME_CHART, "figure"),
        Output(ids.ANALYTICS_COST_CHART, "figure"),
        Output(ids.ANALYTICS_UTILIZATION_CHART, "figure"),
        Output(ids.ANALYTICS_EMISSIONS_CHART, "figure"),
        Output(ids.ANALYTICS_FAILED_CHART, "figure"),
        Output(ids.ANALYTICS_ORDERS_CHART, "figure"),
        Input(ids.ANALYTICS_REPORT, "data"),
        Input(ids.ANALYTICS_UNITS, "value"),
    )(draw)
