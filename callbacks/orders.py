"""Orders page callbacks: lookups, today's date and the server-paged, sorted, filtered table."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State

from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import get_local_today
from backend.db.queries.orders import get_order, list_orders
from backend.db.queries.vehicles import list_vehicles
from callbacks._common import db_session, parse_date, require_principal, triggered_id
from components import ids
from components.filters import depot_options
from components.orders import (
    DEFAULT_ORDER_SORT,
    ORDER_SORTABLE,
    create_order_details,
    order_rows,
    summary_text,
)
from components.tables import page_count, sort_key

ROLES = ("dispatcher", "manager", "admin")
MAX_LOOKUP = 500
FILTERS = (
    ids.ORDERS_SEARCH,
    ids.ORDERS_STATUS,
    ids.ORDERS_DATE,
    ids.ORDERS_DEPOT,
    ids.ORDERS_ASSIGNMENT,
)


def load_lookups(
    _: Any, current_date: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """Vehicle and depot names, depot options, and today's date unless a link set one."""
    principal = require_principal(*ROLES)
    scope = principal.depot_ids
    with db_session() as session:
        depots = list_depots(session, depot_ids=scope, page_size=MAX_LOOKUP).items
        vehicles = list_vehicles(session, depot_ids=scope, page_size=MAX_LOOKUP).items
        today = get_local_today(session, depot_ids=scope)
    lookup = {
        "vehicles": {str(v.id): v.name for v in vehicles},
        "depots": {str(d.id): {"name": d.name, "timezone": d.timezone} for d in depots},
    }
    return lookup, depot_options(depots), dash.no_update if current_date else today.isoformat()


def show_page(
    page_current: int | None,
    sort_by: list[dict[str, str]] | None,
    search: str | None,
    statuses: list[str] | None,
    day: str | None,
    depot_id: int | None,
    assignment: str | None,
    lookup: dict[str, Any] | None,
    page_size: int | None,
) -> tuple[list[dict[str, Any]], int, Any, str]:
    """One page of orders (one list query: page and count); a filter change goes to page 1."""
    if lookup is None:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    size = page_size or 25
    filters_changed = triggered_id() in FILTERS
    page = 0 if filters_changed else page_current or 0
    sort = sort_key(sort_by, DEFAULT_ORDER_SORT)
    if sort.lstrip("-") not in ORDER_SORTABLE:
        sort = DEFAULT_ORDER_SORT
    unassigned = {"assigned": False, "unassigned": True}.get(assignment or "")
    with db_session() as session:
        result = list_orders(
            session,
            depot_ids=principal.depot_ids,
            status=statuses or None,
            service_date=parse_date(day),
            depot_id=depot_id,
            unassigned=unassigned,
            q=(search or "").strip()[:100] or None,
            sort=f"{sort},id",
            page=page + 1,
            page_size=size,
        )
    rows = order_rows(result.items, lookup.get("vehicles", {}), lookup.get("depots", {}))
    return (
        rows,
        page_count(result.total, size),
        page if filters_changed else dash.no_update,
        summary_text(result.total, page + 1, size),
    )


def show_details(active_cell: dict[str, Any] | None, lookup: dict[str, Any] | None) -> Any:
    """The clicked order in full (one query), or a hint when none is selected."""
    lookup = lookup or {}
    order = None
    if active_cell and active_cell.get("row_id") is not None:
        principal = require_principal(*ROLES)
        with db_session() as session:
            order = get_order(
                session, order_id=int(active_cell["row_id"]), depot_ids=principal.depot_ids
            )
    return create_order_details(order, lookup.get("vehicles", {}), lookup.get("depots", {}))


def register(app: dash.Dash) -> None:
    """Register the Orders callbacks on `app`."""
    app.callback(
        Output(ids.ORDERS_LOOKUP, "data"),
        Output(ids.ORDERS_DEPOT, "options"),
        Output(ids.ORDERS_DATE, "date"),
        Input(ids.ORDERS_LOOKUP, "id"),
        State(ids.ORDERS_DATE, "date"),
    )(load_lookups)
    app.callback(
        Output(ids.ORDERS_TABLE, "data"),
        Output(ids.ORDERS_TABLE, "page_count"),
        Output(ids.ORDERS_TABLE, "page_current"),
        Output(ids.ORDERS_SUMMARY, "children"),
        Input(ids.ORDERS_TABLE, "page_current"),
        Input(ids.ORDERS_TABLE, "sort_by"),
        Input(ids.ORDERS_SEARCH, "value"),
        Input(ids.ORDERS_STATUS, "value"),
        Input(ids.ORDERS_DATE, "date"),
        Input(ids.ORDERS_DEPOT, "value"),
        Input(ids.ORDERS_ASSIGNMENT, "value"),
        Input(ids.ORDERS_LOOKUP, "data"),
        State(ids.ORDERS_TABLE, "page_size"),
    )(show_page)
    app.callback(
        Output(ids.ORDERS_DETAILS, "children"),
        Input(ids.ORDERS_TABLE, "active_cell"),
        State(ids.ORDERS_LOOKUP, "data"),
    )(show_details)
