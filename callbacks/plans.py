"""Plans page callbacks: depot options, the summary tiles and the server-paged table."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State

from backend.db.queries.depots import list_depots
from backend.db.queries.plans import (
    PLAN_SORT_COLUMNS,
    get_plan_details,
    list_plans,
    summarize_plans,
)
from callbacks._common import (
    InvalidInput,
    as_int,
    as_int_list,
    as_records,
    as_sort_by,
    as_text,
    db_session,
    parse_date,
    require_principal,
    triggered_id,
)
from components import ids
from components.filters import depot_options
from components.plans import create_plan_comparison, create_plan_summary, plan_rows
from components.tables import page_count, sort_key

ROLES = ("dispatcher", "manager", "admin")
DEFAULT_SORT = "-created_at"
MAX_PAGE_SIZE = 200


def fill_depots(_: Any) -> list[dict[str, Any]]:
    """The depots this user may filter by."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        return depot_options(
            list_depots(session, depot_ids=principal.depot_ids, page_size=500).items
        )


def show_summary(depot_id: int | None, start: str | None, end: str | None) -> Any:
    """Totals over the filtered history."""
    principal = require_principal(*ROLES)
    with db_session() as session:
        summary = summarize_plans(
            session,
            depot_ids=principal.depot_ids,
            depot_id=as_int(depot_id, "depot_id"),
            date_from=parse_date(start),
            date_to=parse_date(end),
        )
    return create_plan_summary(summary)


def show_page(
    page_current: int | None,
    page_size: int | None,
    sort_by: list[dict[str, str]] | None,
    depot_id: int | None,
    start: str | None,
    end: str | None,
) -> tuple[list[dict[str, Any]], int, Any, list[int]]:
    """One page of plans; a filter change goes back to the first page."""
    principal = require_principal(*ROLES)
    size = as_int(page_size, "page_size", minimum=1, maximum=MAX_PAGE_SIZE) or 25
    filters_changed = triggered_id() in (ids.PLANS_DEPOT, ids.PLANS_DATES)
    page = 0 if filters_changed else as_int(page_current, "page_current") or 0
    sorting = as_sort_by(sort_by)
    if sorting and sorting[0]["column_id"] not in PLAN_SORT_COLUMNS:
        raise InvalidInput("sort_by", "cannot sort by that column")
    sort = sort_key(sorting, DEFAULT_SORT)
    depot = as_int(depot_id, "depot_id")
    with db_session() as session:
        result = list_plans(
            session,
            depot_ids=principal.depot_ids,
            depot_id=depot,
            date_from=parse_date(start),
            date_to=parse_date(end),
            sort=sort,
            page=page + 1,
            page_size=size,
        )
    pages = page_count(result.total, size)
    # Ticks are positions on the shown page: a new page starts with none.
    return plan_rows(result.items), pages, page if filters_changed else dash.no_update, []


def compare(selected: list[int] | None, rows: list[dict[str, Any]] | None) -> Any:
    """The two ticked plans side by side (the last two ticked when more are)."""
    principal = require_principal(*ROLES)
    table = as_records(rows, "rows")
    picked = [
        table[i].get("response_id")
        for i in as_int_list(selected, "selected_rows")[-2:]
        if i < len(table)
    ]
    # Response ids are text (hex); the query below checks each against the caller's depots.
    chosen = [
        text
        for rid in picked
        if rid is not None and (text := as_text(rid, "rows.response_id", max_length=64))
    ]
    with db_session() as session:
        details = get_plan_details(session, response_ids=chosen, depot_ids=principal.depot_ids)
    return create_plan_comparison(details)


def register(app: dash.Dash) -> None:
    """Register the Plans callbacks on `app`."""
    app.callback(Output(ids.PLANS_DEPOT, "options"), Input(ids.PLANS_DEPOT, "id"))(fill_depots)
    app.callback(
        Output(ids.PLANS_SUMMARY, "children"),
        Input(ids.PLANS_DEPOT, "value"),
        Input(ids.PLANS_DATES, "start_date"),
        Input(ids.PLANS_DATES, "end_date"),
    )(show_summary)
    app.callback(
        Output(ids.PLANS_TABLE, "data"),
        Output(ids.PLANS_TABLE, "page_count"),
        Output(ids.PLANS_TABLE, "page_current"),
        Output(ids.PLANS_TABLE, "selected_rows"),
        Input(ids.PLANS_TABLE, "page_current"),
        Input(ids.PLANS_TABLE, "page_size"),
        Input(ids.PLANS_TABLE, "sort_by"),
        Input(ids.PLANS_DEPOT, "value"),
        Input(ids.PLANS_DATES, "start_date"),
        Input(ids.PLANS_DATES, "end_date"),
    )(show_page)
    app.callback(
        Output(ids.PLANS_COMPARE, "children"),
        Input(ids.PLANS_TABLE, "selected_rows"),
        State(ids.PLANS_TABLE, "data"),
    )(compare)
