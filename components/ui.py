"""Small building blocks every page shares: page header, cards, KPI tiles, pills, empty states."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dash import dcc, html

from backend.db.models import RouteStatus
from backend.db.queries.fleet_state import VehicleActivity

# One colour per status everywhere (map markers, pills, charts); CSS mirrors these.
STATUS_COLOURS: dict[str, str] = {
    "new": "#64748b",
    "planned": "#6366f1",
    "dispatched": "#0ea5e9",
    "en_route": "#f59e0b",
    "arrived": "#14b8a6",
    "delivered": "#16a34a",
    "failed": "#dc2626",
    "cancelled": "#9ca3af",
    "pending": "#64748b",
    "skipped": "#9ca3af",
    "idle": "#64748b",
    "driving": "#0ea5e9",
    VehicleActivity.MOVING: "#0ea5e9",
    VehicleActivity.STOPPED: "#f59e0b",
    VehicleActivity.PARKED: "#64748b",
    VehicleActivity.OFFLINE: "#9ca3af",
    RouteStatus.PROPOSED: "#a855f7",
    RouteStatus.ACTIVE: "#0ea5e9",
    RouteStatus.COMPLETED: "#16a34a",
    RouteStatus.SUPERSEDED: "#9ca3af",
}
ORDER_STATUSES = (
    "new",
    "planned",
    "dispatched",
    "en_route",
    "arrived",
    "delivered",
    "failed",
    "cancelled",
)


def aria(**attributes: str) -> dict[str, Any]:
    """aria-* attributes as keyword arguments for html components."""
    return {f"aria-{name}": value for name, value in attributes.items()}


def status_label(status: str) -> str:
    """A status as people read it: "en_route" -> "En route"."""
    return (status or "unknown").replace("_", " ").capitalize()


def create_status_pill(status: str) -> html.Span:
    """A coloured pill for a status; the colour class is `pill-<status>`."""
    key = (status or "unknown").lower()
    return html.Span(status_label(key), className=f"pill pill-{key}")


def create_page_header(
    title: str, subtitle: str = "", actions: Sequence[Any] | None = None
) -> html.Div:
    """The title row of a page, with optional controls on the right."""
    return html.Div(
        className="page-header",
        children=[
            html.Div(
                [
                    html.H1(title, className="page-title"),
                    html.P(subtitle, className="page-subtitle"),
                ]
            ),
            html.Div(list(actions or []), className="page-actions"),
        ],
    )


def create_card(
    children: Any, title: str = "", className: str = "", card_id: str | None = None
) -> html.Section:
    """A white card with an optional title."""
    body = [html.H2(title, className="card-title")] if title else []
    kwargs: dict[str, Any] = {"id": card_id} if card_id else {}
    return html.Section(
        [*body, html.Div(children, className="card-body")],
        className=f"card {className}".strip(),
        **kwargs,
    )


def create_kpi_card(
    label: str, value: str, hint: str = "", tone: str = "", href: str | None = None
) -> html.Div | dcc.Link:
    """A KPI tile: a label, a big value and a small hint line; a link when `href` is given."""
    className = f"kpi {('kpi-' + tone) if tone else ''}".strip()
    children = [
        html.Div(label, className="kpi-label"),
        html.Div(value, className="kpi-value"),
        html.Div(hint, className="kpi-hint"),
    ]
    if href:
        return dcc.Link(
            children, href=href, className=f"{className} kpi-link", title=f"{label}: list them"
        )
    return html.Div(className=className, children=children)


def create_kpi_row(cards: Sequence[html.Div | dcc.Link]) -> html.Div:
    """KPI tiles side by side (wrapping on narrow screens)."""
    return html.Div(list(cards), className="kpi-row")


def create_empty_state(title: str, body: Any = "", icon: str = "○") -> html.Div:
    """A friendly message where there is nothing to show yet."""
    return html.Div(
        className="empty-state",
        children=[
            html.Div(icon, className="empty-icon", **aria(hidden="true")),
            html.H3(title),
            html.Div(body, className="empty-body"),
        ],
    )


def create_field(label: str, control: Any, control_id: str) -> html.Div:
    """A labelled form control (the label is tied to the control for screen readers)."""
    return html.Div(
        [html.Label(label, htmlFor=control_id, className="field-label"), control], className="field"
    )


def fmt_number(value: float | int | None, digits: int = 0, suffix: str = "") -> str:
    """A number with thousands separators, or an en dash when missing."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def fmt_percent(value: float | None, digits: int = 1) -> str:
    """A 0..1 fraction as a percentage, or an en dash when missing."""
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def local_time(value: datetime | None, timezone: str = "UTC", fmt: str = "%H:%M") -> str:
    """A UTC timestamp shown in a depot's local time."""
    if value is None:
        return "–"
    try:
        tz = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return value.astimezone(tz).strftime(fmt)


def fmt_window(start: datetime | None, end: datetime | None, timezone: str = "UTC") -> str:
    """A time window as "09:00–11:00" in local time."""
    return f"{local_time(start, timezone)}–{local_time(end, timezone)}"


def create_loading(children: Any) -> dcc.Loading:
    """A loading indicator that shows only when an update takes a noticeable time."""
    return dcc.Loading(children, type="dot", delay_show=300, color="#4f46e5")
