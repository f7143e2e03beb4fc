"""A server-side paged and sorted table (dash_table.DataTable) with the app's look."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dash_table

from backend.db.models import RouteStatus
from components.ui import STATUS_COLOURS

# Status cells get the pill colours of components/ui.py (text colour on a tint).
_PILL_TINTS = {
    "new": ("#f1f5f9", "#334155"),
    "planned": ("#e0e7ff", "#3730a3"),
    "dispatched": ("#e0f2fe", "#075985"),
    "en_route": ("#fef3c7", "#92400e"),
    "arrived": ("#ccfbf1", "#115e59"),
    "delivered": ("#dcfce7", "#166534"),
    RouteStatus.COMPLETED: ("#dcfce7", "#166534"),
    "failed": ("#fee2e2", "#991b1b"),
    "cancelled": ("#f3f4f6", "#4b5563"),
    "pending": ("#f1f5f9", "#334155"),
    "running": ("#e0f2fe", "#075985"),
}


def status_styles(column_id: str = "status") -> list[dict[str, Any]]:
    """Conditional styles colouring a status column like the pills."""
    return [
        {
            "if": {"column_id": column_id, "filter_query": f'{{{column_id}}} = "{status}"'},
            "backgroundColor": bg,
            "color": fg,
            "fontWeight": 600,
        }
        for status, (bg, fg) in _PILL_TINTS.items()
        if status in STATUS_COLOURS or status in ("running",)
    ]


def create_server_table(
    table_id: str,
    columns: Sequence[Mapping[str, Any]],
    *,
    page_size: int = 25,
    sort_by: Sequence[Mapping[str, str]] = (),
    numeric: Sequence[str] = (),
    status_column: str | None = "status",
    selectable: bool = False,
    row_selectable: str | bool = False,
) -> Any:
    """A DataTable whose paging and sorting are done by a server callback (custom actions)."""
    numeric_styles = [{"if": {"column_id": c}, "textAlign": "right"} for c in numeric]
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=table_id,
        columns=[dict(c) for c in columns],
        data=[],
        page_action="custom",
        page_current=0,
        page_size=page_size,
        page_count=1,
        sort_action="custom",
        sort_mode="single",
        sort_by=[dict(s) for s in sort_by],
        cell_selectable=selectable,
        row_selectable=row_selectable,
        selected_rows=[],
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_header={
            "backgroundColor": "#f8fafc",
            "color": "#475569",
            "fontWeight": 600,
            "fontSize": "12px",
            "borderBottom": "1px solid #e2e8f0",
            "textAlign": "left",
            "padding": "9px 10px",
        },
        style_cell={
            "fontFamily": "inherit",
            "fontSize": "13px",
            "padding": "8px 10px",
            "textAlign": "left",
            "border": "none",
            "borderBottom": "1px solid #e2e8f0",
            "color": "#0f172a",
            "whiteSpace": "nowrap",
            "overflow": "hidden",
            "textOverflow": "ellipsis",
            "maxWidth": "280px",
        },
        style_cell_conditional=numeric_styles,
        style_data_conditional=status_styles(status_column) if status_column else [],
    )


def sort_key(sort_by: Sequence[Mapping[str, str]] | None, default: str) -> str:
    """A DataTable `sort_by` as a "col" / "-col" key for the query functions."""
    if not sort_by:
        return default
    first = sort_by[0]
    prefix = "-" if first.get("direction") == "desc" else ""
    return f"{prefix}{first.get('column_id')}"


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows fill (at least one)."""
    return max(1, -(-total // max(1, page_size)))
