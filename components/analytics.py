"""The Analytics page's parts: the view in the URL, KPI cards, charts with targets, tables, CSV.

The view (dates, depots, grain, units, tab, drill-down) lives in the URL's query string, so a
view can be bookmarked and shared: `parse_view` reads it (bad values become a message and a
default, never an error page) and `view_to_search` writes it back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from dash import dash_table, dcc, html

from backend.analytics.kpis import KM_PER_MILE, KPI_BY_KEY, LATENESS_BINS, Measures, kpi_values
from backend.analytics.queries import DIMENSIONS, GRAINS, MAX_DAYS, Dimension
from components import ids
from components.markup import escape_text
from components.ui import create_empty_state, create_kpi_card, create_kpi_row

BRAND = "#4f46e5"
SECOND = "#0ea5e9"
TARGET = "#dc2626"
GRID = "#e2e8f0"
FONT = "Inter, Segoe UI, system-ui, -apple-system, Roboto, Helvetica Neue, Arial, sans-serif"
TABS = ("overview", "drivers", "vehicles")
UNITS = ("km", "mi")
SPARK = "▁▂▃▄▅▆▇█"
# The dimension each tab breaks down by.
TAB_DIMENSION: dict[str, Dimension] = {
    "overview": "depot",
    "drivers": "driver",
    "vehicles": "vehicle",
}

# (chart key, title) in the page's order; callbacks.analytics draws each from the overview.
CHARTS = (
    ("on_time", "On-time rate"),
    ("cost", "Cost per distance"),
    ("utilization", "Fleet and load utilization"),
    ("fuel", "Fuel economy"),
    ("planning", "Route-planning time"),
    ("plan_vs_actual", "Plan vs actual"),
    ("lateness", "Lateness of visited stops"),
    ("reasons", "Failed and cancelled deliveries"),
)
# Charts whose x axis is a period: a click there drills down into that period.
TIME_CHARTS = frozenset({"on_time", "cost", "utilization", "fuel", "planning", "plan_vs_actual"})


# --- the view in the URL ----------------------------------------------------------------------


def default_view() -> dict[str, Any]:
    """The view with nothing chosen: the callbacks fill in the last 28 days."""
    return {
        "from": None,
        "to": None,
        "depots": [],
        "grain": "day",
        "units": "km",
        "tab": "overview",
        "drill": None,
    }


def _iso_day(value: str) -> str | None:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def parse_drill(value: str | None) -> tuple[str, str] | None:
    """`day:2026-03-02`, `depot:3`, `vehicle:7` or `driver:12` as (kind, value), else None."""
    if not value or ":" not in value:
        return None
    kind, _, raw = value.partition(":")
    if kind == "period" and _iso_day(raw):
        return kind, raw
    if kind in DIMENSIONS and raw.isdigit() and len(raw) <= 10:
        return kind, raw
    return None


def parse_view(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The view from query parameters, and a message per value that was not understood."""
    view = default_view()
    problems: list[str] = []

    def one(name: str) -> str | None:
        value = params.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return value if isinstance(value, str) and value != "" else None

    for name in ("from", "to"):
        raw = one(name)
        if raw is not None:
            day = _iso_day(raw[:10]) if len(raw) <= 32 else None
            if day is None:
                problems.append(f"'{name}' must be a date like 2026-03-02")
            view[name] = day
    if view["from"] and view["to"] and view["to"] < view["from"]:
        view["from"], view["to"] = view["to"], view["from"]
    if view["from"] and view["to"]:
        span = (date.fromisoformat(view["to"]) - date.fromisoformat(view["from"])).days + 1
        if span > MAX_DAYS:
            problems.append(f"at most {MAX_DAYS} days at a time")
            view["from"] = None
    raw_depots = one("depots")
    if raw_depots is not None:
        parts = raw_depots.split(",")
        if len(parts) > 50 or not all(p.isdigit() and len(p) <= 9 for p in parts):
            problems.append("'depots' must be depot numbers separated by commas")
        else:
            view["depots"] = sorted({int(p) for p in parts})
    for name, allowed in (("grain", GRAINS), ("units", UNITS), ("tab", TABS)):
        raw = one(name)
        if raw is not None:
            if raw in allowed:
                view[name] = raw
            else:
                problems.append(f"'{name}' must be one of {', '.join(allowed)}")
    raw_drill = one("drill")
    if raw_drill is not None:
        if parse_drill(raw_drill) is None:
            problems.append("'drill' must be like period:2026-03-02 or vehicle:7")
        else:
            view["drill"] = raw_drill
    return view, problems


def parse_search(search: str | None) -> tuple[dict[str, Any], list[str]]:
    """The view from a `?a=b&...` string (what dcc.Location reports)."""
    params = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return parse_view({k: v for k, v in params.items()})


def view_to_search(view: Mapping[str, Any]) -> str:
    """The query string of a view (defaults left out, so short URLs stay short)."""
    defaults = default_view()
    params: dict[str, str] = {}
    for name in ("from", "to"):
        if view.get(name):
            params[name] = str(view[name])
    if view.get("depots"):
        params["depots"] = ",".join(str(d) for d in view["depots"])
    for name in ("grain", "units", "tab"):
        if view.get(name) and view[name] != defaults[name]:
            params[name] = str(view[name])
    if view.get("drill"):
        params["drill"] = str(view["drill"])
    return "?" + urlencode(params) if params else ""


def create_url_message(problems: Sequence[str]) -> html.Div | None:
    """The form message for filters of a link that were not understood (None when all were)."""
    if not problems:
        return None
    return html.Div(
        [html.Strong("Some filters in the link were not understood and were reset: "),
         "; ".join(problems) + "."],
        className="form-message form-error", role="alert",
    )  # fmt: skip


# --- formatting ----------------------------------------------------------------------------------


def fmt_kpi(key: str, value: float | None, units: str = "km") -> str:
    """A KPI value with its unit (distances in km or miles)."""
    if value is None:
        return "–"
    unit = KPI_BY_KEY[key].unit
    if key in ("distance_km", "distance_per_stop") and units == "mi":
        return f"{value / KM_PER_MILE:,.1f} mi"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "$":
        return f"${value:,.2f}"
    if unit == "":
        return f"{value:,.2f}" if key == "optimization_score" else f"{value:,.0f}"
    if unit == "/h":
        return f"{value:,.2f}/h"
    if unit == "/5":
        return f"{value:.2f}/5"
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
    return f"{value:,.{digits}f} {unit}"


def _change(key: str, now: float | None, before: float | None) -> tuple[str, str]:
    # The change against the previous period and whether it is an improvement.
    if now is None or before is None:
        return "no previous period", ""
    kpi = KPI_BY_KEY[key]
    delta = now - before
    if kpi.unit == "%":
        text = f"{delta * 100:+.1f} pts"
    elif before:
        text = f"{delta / abs(before) * 100:+.1f}%"
    else:
        text = f"{delta:+,.2f}"
    if abs(delta) < 1e-12:
        return "= vs previous", ""
    better = (delta > 0) == kpi.higher_is_better
    return f"{'▲' if delta > 0 else '▼'} {text} vs previous", "up" if better else "down"


# Cards in page order; distance KPIs follow the units toggle.
CARD_KPIS = (
    "on_time_rate", "cost_per_mile", "cost_per_km", "fleet_utilization", "load_utilization",
    "distance_km", "driving_hours", "stops_per_hour", "fuel_l", "mpg", "l_per_100km", "co2_t",
    "planning_minutes", "optimization_score", "failed", "cancelled", "eta_error_min",
    "km_vs_plan", "customer_rating",
)  # fmt: skip
# A card whose value is an average also says how many it averages: KPI -> (count KPI, noun).
CARD_COUNTS = {"customer_rating": ("ratings", "rating")}


# A scorecard's cards when the drill-down is one driver, vehicle or depot.
SCORECARD_KPIS = {
    "driver": ("on_time_rate", "stops_per_hour", "distance_per_stop", "failed_rate",
               "eta_error_min", "distance_km", "driving_hours", "customer_rating"),
    "vehicle": ("fleet_utilization", "load_utilization", "cost_per_mile", "cost_per_km",
                "distance_km", "fuel_l", "mpg", "l_per_100km", "incidents"),
    "depot": ("on_time_rate", "cost_per_mile", "cost_per_km", "fleet_utilization", "mpg",
              "planning_minutes", "failed", "cancelled", "customer_rating"),
}  # fmt: skip
SCORECARD_ID = f"{ids.ANALYTICS_DRILL}-scorecard"


def kpi_cards_data(
    current: Measures,
    previous: Measures,
    targets: Mapping[str, float],
    units: str,
    keys: Sequence[str] = CARD_KPIS,
) -> list[dict[str, Any]]:
    """Each card's label, value, change against the previous period and target, as JSON."""
    now, before = kpi_values(current), kpi_values(previous)
    cards = []
    for key in keys:
        if key == ("cost_per_km" if units == "mi" else "cost_per_mile"):
            continue  # the other unit's cost shows in the cost card's hint
        kpi = KPI_BY_KEY[key]
        change, trend = _change(key, now[key], before[key])
        target = targets.get(key)
        tone = ""
        value = now[key]
        if target is not None and value is not None:
            good = value >= target if kpi.higher_is_better else value <= target
            tone = "good" if good else "bad"
        if key in CARD_COUNTS:
            count_key, noun = CARD_COUNTS[key]
            n = int(now[count_key] or 0)
            change = f"{n:,} {noun}{'' if n == 1 else 's'} · {change}"
        cards.append(
            {
                "key": key,
                "label": kpi.label,
                "value": fmt_kpi(key, now[key], units),
                "change": change,
                "trend": trend,
                "target": None if target is None else fmt_kpi(key, target, units),
                "tone": tone,
            }
        )
    return cards


def create_kpi_cards(cards: Sequence[Mapping[str, Any]]) -> html.Div:
    """The KPI cards: value, change against the previous period, target."""
    if not cards:
        return create_empty_state(
            "No history in this range",
            "Pick another range or depot, or refresh the figures after a day closes.",
        )
    return create_kpi_row(
        [
            create_kpi_card(
                c["label"],
                c["value"],
                " · ".join(
                    part
                    for part in (c["change"], f"target {c['target']}" if c["target"] else "")
                    if part
                ),
                c["tone"],
            )
            for c in cards
        ]
    )


def sparkline(values: Sequence[float | None]) -> str:
    """A text sparkline (one block per period; a gap where there was no value)."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARK[int((v - low) / span * (len(SPARK) - 1))] if span else SPARK[3])
    return "".join(out)


# --- charts ---------------------------------------------------------------------------------


Figure = dict[str, Any]


def _style(
    traces: list[dict[str, Any]],
    title: str,
    y_title: str,
    *,
    tickformat: str | None = None,
    prefix: str = "",
    hovermode: str = "x unified",
) -> Figure:
    # Figures are plain dicts (what dcc.Graph sends anyway): building plotly objects validates
    # every property and cost more than the queries behind a chart.
    yaxis: dict[str, Any] = {
        "gridcolor": GRID, "zeroline": False, "rangemode": "tozero", "title": {"text": y_title},
        "tickprefix": prefix, "automargin": True,
    }  # fmt: skip
    if tickformat:
        yaxis["tickformat"] = tickformat
    return {
        "data": traces,
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 14, "color": "#0f172a"}},
            "template": "plotly_white",
            "font": {"family": FONT, "size": 12, "color": "#334155"},
            "margin": {"l": 60, "r": 16, "t": 48, "b": 44},
            "height": 300,
            "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"},
            "hovermode": hovermode,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "#ffffff",
            # Periods are categories: one label per day, week or month, thinned when many.
            "xaxis": {
                "showgrid": False,
                "linecolor": GRID,
                "automargin": True,
                "type": "category",
                "nticks": 12,
            },  # fmt: skip
            "yaxis": yaxis,
            "shapes": [],
            "annotations": [],
        },
    }


def _target_line(fig: Figure, target: float | None, label: str) -> Figure:
    if target is not None:
        fig["layout"]["shapes"].append(
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": target,
             "y1": target, "line": {"color": TARGET, "dash": "dash", "width": 1.5}}
        )  # fmt: skip
        fig["layout"]["annotations"].append(
            {"xref": "paper", "x": 0, "xanchor": "left", "yref": "y", "y": target,
             "yanchor": "bottom", "text": f"target {label}", "showarrow": False,
             "font": {"color": TARGET, "size": 11}}
        )  # fmt: skip
    return fig


def _line(x: list[str], y: list[Any], name: str, colour: str = BRAND, dash: str = "solid") -> Any:
    return {
        "type": "scatter", "x": x, "y": y, "name": name, "mode": "lines+markers",
        "line": {"color": colour, "width": 2, "dash": dash}, "marker": {"size": 5},
        "connectgaps": False,
    }  # fmt: skip


def _bar(x: list[Any], y: list[Any], name: str, colour: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "bar", "x": x, "y": y, "name": name, "marker": {"color": colour}, **extra}


def create_figures(data: Mapping[str, Any]) -> list[Figure]:
    """Every chart of CHARTS from the overview data the callback shaped (see `overview_data`)."""
    x = list(data.get("periods", []))
    s = data.get("series", {})
    t = data.get("targets", {})
    units = data.get("units", "km")
    dist = "mi" if units == "mi" else "km"
    cost_key = "cost_per_mile" if units == "mi" else "cost_per_km"

    def target(fig: Figure, key: str) -> Figure:
        return _target_line(fig, t.get(key), fmt_kpi(key, t.get(key), units))

    figs: dict[str, Figure] = {
        "on_time": target(_style([_line(x, s.get("on_time_rate", []), "On time")],
                                 "On-time rate (arrival within the window)", "% of stops",
                                 tickformat=".0%"), "on_time_rate"),
        "cost": target(_style([_line(x, s.get(cost_key, []), f"Cost per {dist}")],
                              f"Cost per {'mile' if units == 'mi' else 'km'}", f"$ per {dist}",
                              prefix="$"), cost_key),
        "utilization": target(_style(
            [_line(x, s.get("fleet_utilization", []), "Time on route / shift"),
             _line(x, s.get("load_utilization", []), "Load / capacity", SECOND, "dot")],
            "Fleet and load utilization", "%", tickformat=".0%"), "fleet_utilization"),
        "fuel": target(_style([_line(x, s.get("mpg", []), "MPG")], "Fuel economy",
                              "miles per US gallon"), "mpg"),
        "planning": target(_style([_line(x, s.get("planning_minutes", []), "Request → accepted")],
                                  "Route-planning time", "minutes"), "planning_minutes"),
    }  # fmt: skip
    factor = 1 / KM_PER_MILE if units == "mi" else 1.0
    planned = [None if v is None else v * factor for v in s.get("km_planned", [])]
    actual = [None if v is None else v * factor for v in s.get("km", [])]
    eta = {"type": "scatter", "x": x, "y": s.get("eta_error_min", []), "name": "ETA error (min)",
           "yaxis": "y2", "mode": "lines", "line": {"color": "#f59e0b", "width": 2}}  # fmt: skip
    fig = _style(
        [_bar(x, planned, f"Planned {dist}", "#c7d2fe"), _bar(x, actual, f"Driven {dist}", BRAND),
         eta],
        "Plan vs actual distance, and ETA error", dist,
    )  # fmt: skip
    fig["layout"]["barmode"] = "group"
    fig["layout"]["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "title": {"text": "ETA error, min"},
        "rangemode": "tozero",
    }
    figs["plan_vs_actual"] = fig

    lateness = data.get("lateness", {})
    labels = [label for label, _ in LATENESS_BINS]
    fig = _style(
        [_bar(labels, [lateness.get(label, 0) for label in labels], "Stops",
              ["#16a34a", "#facc15", "#f59e0b", "#f97316", "#dc2626"])],
        "Lateness of visited stops", "stops", hovermode="closest",
    )  # fmt: skip
    fig["layout"]["showlegend"] = False
    fig["layout"]["xaxis"]["title"] = {"text": "after the window's end"}
    figs["lateness"] = fig

    reasons = data.get("reasons", [])
    traces = []
    for status, colour in (("failed", "#dc2626"), ("cancelled", "#94a3b8")):
        rows = [r for r in reasons if r["status"] == status]
        # Reasons are typed by drivers; plotly reads tick labels as HTML-ish text.
        traces.append(_bar([r["orders"] for r in rows],
                           [escape_text(r["reason"].replace("_", " ")) for r in rows],
                           status.capitalize(), colour, orientation="h"))  # fmt: skip
    fig = _style(traces, "Failed and cancelled deliveries by reason", "", hovermode="closest")
    fig["layout"]["barmode"] = "stack"
    fig["layout"]["xaxis"] = {"title": {"text": "orders"}, "showgrid": True, "gridcolor": GRID,
                              "type": "linear", "automargin": True}  # fmt: skip
    fig["layout"]["yaxis"].update(rangemode="normal", autorange="reversed", type="category")
    figs["reasons"] = fig
    return [figs[key] for key, _ in CHARTS]


def chart_rows(key: str, data: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A chart's numbers as a header and rows, for its CSV export."""
    x = data.get("periods", [])
    s = data.get("series", {})
    if key == "lateness":
        lateness = data.get("lateness", {})
        return ["lateness", "stops"], [
            [label, lateness.get(label, 0)] for label, _ in LATENESS_BINS
        ]
    if key == "reasons":
        return ["status", "reason", "orders"], [
            [r["status"], r["reason"], r["orders"]] for r in data.get("reasons", [])
        ]
    columns = {
        "on_time": ["on_time_rate"],
        "cost": ["cost_per_km", "cost_per_mile"],
        "utilization": ["fleet_utilization", "load_utilization"],
        "fuel": ["mpg", "l_per_100km"],
        "planning": ["planning_minutes"],
        "plan_vs_actual": ["km_planned", "km", "eta_error_min"],
    }[key]
    return ["period", *columns], [
        [p, *(s.get(c, [None] * len(x))[i] for c in columns)] for i, p in enumerate(x)
    ]


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV text (formula-looking cells are prefixed with ' so spreadsheets show them as text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row]
        )
    return out.getvalue()


# --- tables --------------------------------------------------------------------------------------

# (column id, header, kind) per tab; kind picks the number format.
_BREAKDOWN = {
    "overview": (
        ("name", "Depot", "text"), ("routes", "Routes", "int"), ("distance", "Distance", "num"),
        ("cost_per_km", "Cost / km", "money"), ("on_time_rate", "On time", "pct"),
        ("fleet_utilization", "Utilization", "pct"), ("failed_rate", "Failed", "pct"),
        ("mpg", "MPG", "num"), ("trend", "On-time trend", "text"),
    ),
    "drivers": (
        ("name", "Driver", "text"), ("routes", "Routes", "int"), ("visited", "Stops", "int"),
        ("on_time_rate", "On time", "pct"), ("stops_per_hour", "Stops / h", "num"),
        ("distance_per_stop", "Distance / stop", "num"), ("failed_rate", "Failed", "pct"),
        ("eta_error_min", "ETA error, min", "num"), ("customer_rating", "Rating", "num"),
        ("ratings", "Ratings", "int"), ("trend", "On-time trend", "text"),
    ),
    "vehicles": (
        ("name", "Vehicle", "text"), ("routes", "Routes", "int"),
        ("fleet_utilization", "Utilization", "pct"), ("load_utilization", "Load", "pct"),
        ("distance", "Distance", "num"), ("cost", "Cost", "money"),
        ("cost_per_km", "Cost / km", "money"), ("fuel_l", "Fuel, l", "num"),
        ("mpg", "MPG", "num"), ("incidents", "Incidents", "int"),
        ("trend", "Utilization trend", "text"),
    ),
}  # fmt: skip
TABLE_TITLES = {
    "overview": "By depot",
    "drivers": "Driver scorecards",
    "vehicles": "Vehicles: utilization, cost, fuel, incidents",
}


def breakdown_columns(tab: str, units: str = "km") -> list[dict[str, Any]]:
    """DataTable columns of a tab's breakdown (numbers sort as numbers)."""
    formats = {
        "pct": {"specifier": ".1%"},
        "money": {"specifier": "$,.2f"},
        "num": {"specifier": ",.2f"},
        "int": {"specifier": ",d"},
    }
    columns = []
    for key, header, kind in _BREAKDOWN[tab]:
        if key == "distance":
            header = f"Distance, {units}"
        column: dict[str, Any] = {"id": key, "name": header}
        if kind != "text":
            column.update(type="numeric", format=formats[kind])
        columns.append(column)
    return columns


def breakdown_record(
    tab: str, key: int, name: str, m: Measures, series: Sequence[Measures], units: str
) -> dict[str, Any]:
    """One table row of a depot, driver or vehicle (the sparkline follows the tab's headline)."""
    values = kpi_values(m)
    distance = m.km / KM_PER_MILE if units == "mi" else m.km
    record: dict[str, Any] = {"key": key, "name": name, "distance": round(distance, 1)}
    for column, _, _ in _BREAKDOWN[tab]:
        if column in values:
            record[column] = values[column]
        elif hasattr(m, column):
            record[column] = getattr(m, column)
    headline = "fleet_utilization" if tab == "vehicles" else "on_time_rate"
    record["trend"] = sparkline([KPI_BY_KEY[headline].value(p) for p in series])
    return record


def create_data_table(table_id: str, columns: list[dict[str, Any]] | None = None) -> Any:
    """A natively sorted table with the app's look."""
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=table_id,
        columns=columns or [],
        data=[],
        sort_action="native",
        page_action="native",
        page_size=15,
        cell_selectable=True,
        style_as_list_view=True,
        style_header={"fontWeight": 600, "backgroundColor": "#f8fafc"},
        style_cell={"fontFamily": FONT, "fontSize": 13, "padding": "6px 10px",
                    "textAlign": "left"},
        style_cell_conditional=[
            {"if": {"column_id": "trend"}, "fontFamily": "monospace", "letterSpacing": "1px"}
        ],
    )  # fmt: skip


DRILL_ROUTE_COLUMNS: list[dict[str, Any]] = [
    {"id": "day", "name": "Day"},
    {"id": "depot", "name": "Depot"},
    {"id": "vehicle", "name": "Vehicle"},
    {"id": "driver", "name": "Driver"},
    {"id": "stops", "name": "Stops", "type": "numeric"},
    {"id": "on_time", "name": "On time", "type": "numeric"},
    {"id": "failed", "name": "Failed", "type": "numeric"},
    {"id": "planned_km", "name": "Planned km", "type": "numeric", "format": {"specifier": ",.1f"}},
    {"id": "actual_km", "name": "Driven km", "type": "numeric", "format": {"specifier": ",.1f"}},
    {"id": "planned_min", "name": "Planned min", "type": "numeric",
     "format": {"specifier": ",.0f"}},
    {"id": "actual_min", "name": "Actual min", "type": "numeric", "format": {"specifier": ",.0f"}},
    {"id": "eta_error_min", "name": "ETA error, min", "type": "numeric",
     "format": {"specifier": ",.1f"}},
]  # fmt: skip
DRILL_ORDER_COLUMNS: list[dict[str, Any]] = [
    {"id": "day", "name": "Day"},
    {"id": "reference", "name": "Order"},
    {"id": "customer", "name": "Customer"},
    {"id": "status", "name": "Status"},
    {"id": "reason", "name": "Reason"},
    {"id": "vehicle", "name": "Vehicle"},
]


def table_csv(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> str:
    """A table's rows as CSV with its column headers, in its column order."""
    return to_csv(
        [str(c["name"]) for c in columns], [[r.get(c["id"]) for c in columns] for r in rows]
    )


# The view without its drill-down: what the cards, charts and tables depend on, so that a
# drill-down click redraws only the drill-down card.
FILTERS_STORE = f"{ids.ANALYTICS_VIEW}-filters"
# The "Refresh figures" job: its signed ticket, the poll that follows it while it runs, and
# the store a finished refresh bumps so the cards, charts and table redraw.
REFRESH_JOB_STORE = f"{ids.ANALYTICS_REFRESH}-job"
REFRESH_POLL = f"{ids.ANALYTICS_REFRESH}-poll"
REFRESH_DONE_STORE = f"{ids.ANALYTICS_REFRESH}-done"


def create_refresh_stores() -> list[Any]:
    """The refresh job's ticket store, its poll (off until a job runs) and its done store."""
    return [
        dcc.Store(id=REFRESH_JOB_STORE),
        dcc.Interval(id=REFRESH_POLL, interval=1000, disabled=True),
        dcc.Store(id=REFRESH_DONE_STORE),
    ]


def describe_refresh(status: str | None, result: Mapping[str, Any] | None) -> str:
    """One line on the refresh job: waiting, running, done in N s, or why it failed."""
    if status in (None, "queued"):
        return "Refresh queued…"
    if status == "running":
        return "Refreshing the figures…"
    if status == "completed":
        seconds = (result or {}).get("seconds")
        if isinstance(seconds, int | float):
            return f"Figures refreshed in {seconds:.1f} s."
        return "Figures refreshed."
    error = (result or {}).get("error")
    return f"The refresh {status}" + (f": {error}" if isinstance(error, str) and error else ".")


def view_filters(view: Mapping[str, Any]) -> dict[str, Any]:
    """The view less its drill-down."""
    return {k: v for k, v in view.items() if k != "drill"}


def chart_id(key: str) -> str:
    """The id of chart `key` (analytics-chart-on-time)."""
    return f"{ids.ANALYTICS_CHART}-{key.replace('_', '-')}"


def csv_id(target: str) -> str:
    """The id of the CSV button of `target`, a chart key or table/routes/orders."""
    return f"{ids.ANALYTICS_CSV}-{target.replace('_', '-')}"


CSV_TARGETS = (*(key for key, _ in CHARTS), "table", "routes", "orders")


def csv_button(target: str, label: str = "CSV") -> html.Button:
    """A small button that downloads `target` (a chart key or a table) as CSV."""
    return html.Button(
        label, id=csv_id(target), className="btn btn-small",
        title="Download as CSV", n_clicks=0,
    )  # fmt: skip


def create_chart_card(key: str, title: str) -> html.Section:
    """A chart with its CSV button; points of time charts drill down on click."""
    return html.Section(
        className="card analytics-chart-card",
        children=[
            html.Div(
                [html.Span(title, className="sr-only"), csv_button(key)],
                className="analytics-card-tools",
            ),  # fmt: skip
            dcc.Graph(
                id=chart_id(key),
                figure=_style([], title, ""),
                config={"displaylogo": False, "responsive": True},
                className="chart",
            ),
        ],
    )
