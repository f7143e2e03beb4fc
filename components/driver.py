"""The Driver page's parts: the route header and the ordered stop cards, phone-sized."""

from __future__ import annotations

from dash import html

from backend.db.queries.driver import DriverDay, DriverStop
from components.ui import aria, create_empty_state, create_status_pill, fmt_window, local_time

DONE_STATUSES = frozenset({"done", "delivered", "completed", "arrived"})
FAILED_STATUSES = frozenset({"failed", "skipped"})


def directions_url(lat: float, lon: float) -> str:
    """A maps link that phones open in their navigation app (universal Google Maps URL)."""
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}"


def _stop_title(stop: DriverStop) -> str:
    if stop.customer_name:
        return stop.customer_name
    return {"start": "Leave the depot", "end": "Back at the depot", "break": "Break"}.get(
        stop.kind, stop.kind.capitalize()
    )


def create_stop_card(stop: DriverStop, timezone: str) -> html.Li:
    """One stop: number, customer, address, time window, planned arrival and status."""
    status = stop.order_status if stop.status == "pending" and stop.order_status else stop.status
    tone = (
        "stop-done"
        if stop.status in DONE_STATUSES
        else "stop-failed"
        if stop.status in FAILED_STATUSES
        else ""
    )
    times = []
    if stop.window_start or stop.window_end:
        times.append(
            html.Span(["Window ", html.B(fmt_window(stop.window_start, stop.window_end, timezone))])
        )
    if stop.planned_arrival_at:
        times.append(html.Span(["ETA ", html.B(local_time(stop.planned_arrival_at, timezone))]))
    if stop.actual_arrival_at:
        times.append(html.Span(["Arrived ", html.B(local_time(stop.actual_arrival_at, timezone))]))
    return html.Li(
        className=f"stop {tone}".strip(),
        children=[
            html.Div(str(stop.sequence), className="stop-seq", **aria(label="Stop number")),
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(_stop_title(stop), className="stop-name"),
                            create_status_pill(status),
                        ],
                        className="stop-top",
                    ),
                    html.Div(
                        " · ".join(p for p in (stop.reference, stop.address) if p),
                        className="stop-address",
                    ),
                    html.Div(times, className="stop-times"),
                    html.A(
                        "Directions",
                        href=directions_url(stop.lat, stop.lon),
                        target="_blank",
                        rel="noopener",
                        className="stop-directions",
                        title=f"Directions to stop {stop.sequence} in your maps app",
                    ),
                ]
            ),
        ],
    )


def create_driver_view(day: DriverDay | None) -> html.Div:
    """The whole driver view: header, then the route stops or the assigned orders, or a message."""
    if day is None:
        return create_empty_state(
            "No vehicle assigned",
            "Your account is not linked to a vehicle. Ask your dispatcher to assign one.",
        )
    date_label = day.service_date.strftime("%a %d %b %Y")
    if day.has_route:
        done = sum(1 for s in day.stops if s.status in DONE_STATUSES)
        summary = (
            f"Route {day.route_status} · {len(day.stops)} stops · {done} done · "
            f"{day.planned_distance_km or 0:.0f} km · "
            f"{local_time(day.planned_start_at, day.timezone)}–"
            f"{local_time(day.planned_end_at, day.timezone)}"
        )
    elif day.stops:
        summary = f"No route yet · {len(day.stops)} orders assigned to you today"
    else:
        summary = "No route yet"
    header = html.Div(
        className="driver-head",
        children=[
            html.H1(f"{day.vehicle_name} · {date_label}"),
            html.P(f"{day.depot_name} · {day.plate}"),
            html.P(summary, className="driver-summary"),
        ],
    )
    if not day.stops:
        body = create_empty_state(
            "No route yet",
            "Your dispatcher has not planned a route or assigned orders for today. "
            "This page updates by itself when they do.",
        )
    else:
        note = (
            []
            if day.has_route
            else [
                html.P(
                    "Not yet planned: these are your assigned orders by time window.",
                    className="muted",
                )
            ]
        )
        body = html.Div(
            [
                *note,
                html.Ol(
                    [create_stop_card(s, day.timezone) for s in day.stops], className="stop-list"
                ),
            ]
        )
    return html.Div([header, body], className="driver-view")
