"""The route timeline: a Gantt of the day, one row per vehicle (plotly horizontal bars).

Planned blocks (drive, wait, service, break) fill the upper half of a row, actual blocks from
the stops' `actual_arrival_at`/`actual_departure_at` the lower half; each stop's window is a
faint band behind them; service that starts after the window's end is red; a vertical line
marks now; unassigned orders' windows sit in an "Unscheduled" lane. Each bar carries
`[stop_id, lat, lon]` as customdata, so a click selects that stop on the map.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import plotly.graph_objects as go
from dash import dcc, html

from backend.db.queries.dispatch import StopRow, UnassignedOrder
from components import ids
from components.palette import TIMELINE_COLOURS

UNSCHEDULED = "Unscheduled"
# Rows a page of the timeline shows; more vehicles page through TIMELINE_PAGE.
ROWS_PER_PAGE = 40
ROW_PX = 26
PLANNED = {"offset": -0.42, "width": 0.4}
ACTUAL = {"offset": 0.02, "width": 0.4}
WINDOW = {"offset": -0.45, "width": 0.9}


def _tz(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class _Trace:
    """Bars of one kind, collected then turned into one plotly trace."""

    def __init__(self, name: str, colour: str, geometry: dict[str, float], **extra: Any) -> None:
        self.name, self.colour, self.geometry, self.extra = name, colour, geometry, extra
        self.base: list[str] = []
        self.x: list[float] = []
        self.y: list[str] = []
        self.custom: list[list[Any]] = []
        self.text: list[str] = []

    def add(
        self, row: str, start: datetime, end: datetime, tz: ZoneInfo, custom: list[Any], text: str
    ) -> None:
        if end <= start:
            return
        self.base.append(start.astimezone(tz).replace(tzinfo=None).isoformat())
        self.x.append((end - start).total_seconds() * 1000.0)
        self.y.append(row)
        self.custom.append(custom)
        self.text.append(text)

    def trace(self) -> go.Bar:
        return go.Bar(
            name=self.name,
            orientation="h",
            base=self.base,
            x=self.x,
            y=self.y,
            customdata=self.custom,
            hovertext=self.text,
            hoverinfo="text",
            marker={"color": self.colour, "line": {"width": 0}},
            offset=self.geometry["offset"],
            width=self.geometry["width"],
            **self.extra,
        )


def timeline_rows(stops: Sequence[StopRow]) -> list[str]:
    """The vehicles that have a route, in the order their rows are drawn."""
    return sorted({s.vehicle_name for s in stops})


def create_timeline_figure(
    stops: Sequence[StopRow],
    unassigned: Sequence[UnassignedOrder],
    *,
    now: datetime,
    timezone: str = "UTC",
    rows: Sequence[str] | None = None,
) -> go.Figure:
    """The day's Gantt for the vehicles in `rows` (all of them when None)."""
    tz = _tz(timezone)
    shown = list(rows) if rows is not None else timeline_rows(stops)
    wanted = set(shown)
    c = TIMELINE_COLOURS
    window = _Trace("Window", c["window"], WINDOW, showlegend=False)
    drive = _Trace("Drive", c["drive"], PLANNED)
    wait = _Trace("Wait", c["wait"], PLANNED)
    service = _Trace("Service", c["service"], PLANNED)
    breaks = _Trace("Break", c["break"], PLANNED)
    late = _Trace("Late service", c["late"], PLANNED)
    actual = _Trace("Actual", c["actual"], ACTUAL)
    pool = _Trace("Unscheduled", c["unscheduled"], PLANNED)
    by_route: dict[int, list[StopRow]] = {}
    for s in stops:
        if s.vehicle_name in wanted:
            by_route.setdefault(s.route_id, []).append(s)
    for route_stops in by_route.values():
        route_stops.sort(key=lambda s: s.sequence)
        previous: StopRow | None = None
        for s in route_stops:
            row = s.vehicle_name
            custom = [s.stop_id, s.lat, s.lon]
            label = s.reference or ("Break" if s.kind == "break" else f"Stop {s.sequence}")
            if previous is not None:
                drive.add(
                    row,
                    previous.planned_departure_at,
                    s.planned_arrival_at,
                    tz,
                    custom,
                    f"Drive to {label}",
                )
            if s.kind == "break":
                breaks.add(row, s.planned_arrival_at, s.planned_departure_at, tz, custom, "Break")
            else:
                start = s.planned_arrival_at
                if s.window_start is not None and s.window_end is not None:
                    window.add(row, s.window_start, s.window_end, tz, custom, f"{label} window")
                    if s.window_start > start:
                        wait.add(row, start, s.window_start, tz, custom, f"Wait for {label}")
                        start = s.window_start
                is_late = s.window_end is not None and start > s.window_end
                (late if is_late else service).add(
                    row,
                    start,
                    s.planned_departure_at,
                    tz,
                    custom,
                    f"{label} · {s.customer_name or ''}",
                )
            if s.actual_arrival_at is not None:
                end = s.actual_departure_at or max(now, s.actual_arrival_at)
                is_late = s.window_end is not None and s.actual_arrival_at > s.window_end
                (late if is_late else actual).add(
                    row, s.actual_arrival_at, end, tz, custom, f"{label} (actual)"
                )
            previous = s
    for o in unassigned:
        pool.add(
            UNSCHEDULED,
            o.window_start,
            o.window_end,
            tz,
            [None, o.lat, o.lon],
            f"{o.reference} · unassigned",
        )
    categories = [*shown, *([UNSCHEDULED] if unassigned else [])]
    traces = [t.trace() for t in (window, drive, wait, service, breaks, late, actual, pool) if t.x]
    fig = go.Figure(traces)
    now_local = now.astimezone(tz).replace(tzinfo=None).isoformat()
    fig.update_layout(
        barmode="overlay",
        height=max(160, 70 + ROW_PX * len(categories)),
        margin={"l": 90, "r": 16, "t": 8, "b": 36},
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0, "font": {"size": 11}},
        font={"family": "Inter, Segoe UI, system-ui, sans-serif", "size": 11, "color": "#334155"},
        xaxis={"type": "date", "gridcolor": "#eef2f7", "tickformat": "%H:%M", "side": "top"},
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(reversed(categories)),
            "autorange": True,
            "gridcolor": "#f1f5f9",
        },
        shapes=[
            {
                "type": "line",
                "x0": now_local,
                "x1": now_local,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": c["now"], "width": 2},
            }
        ],
        annotations=[
            {
                "x": now_local,
                "y": 1,
                "yref": "paper",
                "text": "now",
                "showarrow": False,
                "font": {"color": c["now"], "size": 10},
                "yanchor": "bottom",
            }
        ],
        hovermode="closest",
        clickmode="event",
        uirevision="dispatch-timeline",
    )
    return fig


def create_timeline_graph(figure: go.Figure) -> dcc.Graph:
    """The timeline's graph, returned by its callback into the page's slot.

    It is not in the page's layout: mounting a graph loads plotly.js (3.5 MB to parse), which
    then waits until the map and the vehicle list are drawn.
    """
    return dcc.Graph(
        id=ids.DISPATCH_TIMELINE,
        figure=figure,
        config={"displayModeBar": False, "responsive": True},
        className="timeline-graph",
    )


def create_timeline_slot() -> html.Div:
    """Where the timeline graph goes, holding its place (and the page's height) until then."""
    return html.Div(
        id=ids.DISPATCH_TIMELINE_SLOT,
        className="timeline-slot",
        children=html.Div("Loading the route timeline…", className="muted timeline-wait"),
    )
