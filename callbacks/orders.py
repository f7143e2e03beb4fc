"""Orders page callbacks: lookups, today's date and the server-paged, sorted, filtered table."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State

from backend.db.queries.depots import list_depots
from backend.db.queries.dispatch import get_local_today
from backend.db.queries.orders import get_order, list_orders
from backend.db.queries.vehicles import list_vehicles
from backend.runtime import current_runtime
from callbacks._common import (
    InvalidInput,
    as_choice,
    as_choices,
    as_int,
    as_lookup,
    as_sort_by,
    as_text,
    db_session,
    parse_date,
    require_principal,
    triggered_id,
)
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
from components.ui import ORDER_STATUSES

ROLES = ("dispatcher", "manager", "admin")
MAX_LOOKUP = 500
MAX_PAGE_SIZE = 200
ASSIGNMENTS = ("assigned", "unassigned")
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
        today = get_local_today(session, depot_ids=scope, now=current_runtime().clock.now())
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
    clean_lookup = as_lookup(lookup)
    if clean_lookup is None:
        raise dash.exceptions.PreventUpdate
    principal = require_principal(*ROLES)
    size = as_int(page_size, "page_size", minimum=1, maximum=MAX_PAGE_SIZE) or 25
    filters_changed = triggered_id() in FILTERS
    page = 0 if filters_changed else as_int(page_current, "page_current") or 0
    sorting = as_sort_by(sort_by)
    if sorting and sorting[0]["column_id"] not in ORDER_SORTABLE:
        raise InvalidInput("sort_by", "cannot sort by that column")
    sort = sort_key(sorting, DEFAULT_ORDER_SORT)
    chosen = as_choices(statuses, "statuses", ORDER_STATUSES)
    unassigned = {"assigned": False, "unassigned": True}.get(
        as_choice(assignment, "assignment", ASSIGNMENTS) or ""
    )
    depot = as_int(depot_id, "depot_id")
    text = (as_text(search, "search") or "").strip()[:100]
    with db_session() as session:
        result = list_orders(
            session,
            depot_ids=principal.depot_ids,
            status=chosen or None,
            service_date=parse_date(day),
            depot_id=depot,
            unassigned=unassigned,
            q=text or None,
            sort=f"{sort},id",
            page=page + 1,
            page_size=size,
        )
    rows = order_rows(result.items, clean_lookup["vehicles"], clean_lookup["depots"])
    return (
        rows,
        page_count(result.total, size),
        page if filters_changed else dash.no_update,
        summary_text(result.total, page + 1, size),
    )


def show_details(active_cell: dict[str, Any] | None, lookup: dict[str, Any] | None) -> Any:
    """The clicked order in full (one query), or a hint when none is selected."""
    clean_lookup = as_lookup(lookup) or {"vehicles": {}, "depots": {}}
    if active_cell is not None and not isinstance(active_cell, dict):
        raise InvalidInput("active_cell", "must be an object")
    order = None
    order_id = as_int((active_cell or {}).get("row_id"), "active_cell.row_id")
    if order_id is not None:
        principal = require_principal(*ROLES)
        with db_session() as session:
            order = get_order(session, order_id=order_id, depot_ids=principal.depot_ids)
    return create_order_details(order, clean_lookup["vehicles"], clean_lookup["depots"])


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
