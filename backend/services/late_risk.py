"""At-risk alerts: a stop whose P90 arrival is past its window's end warns its depot.

`refresh_late_risk(session, *, depot_ids, now, settings)` is the business verb. It takes the
live ETAs of the scope's open stops — the active ETA model's P90 where one serves
(`backend.ml.serving.live_etas`), the plan's estimate advanced by the vehicle's progress
(`backend.eta.estimate_arrivals`) otherwise — and, set-based, raises one `late_risk`
notification per stop that has become at risk and clears the open one of every stop that no
longer is (on time again, arrived, delivered, cancelled, or re-planned away). Each alert names
the stop's order and vehicle and suggests re-optimizing the remaining stops.

At most one open alert per stop: a partial unique index (`uq_notification_open_stop`) and an
insert that skips conflicts, so several workers passing over the same depot store one. The
caller commits, then publishes the returned frames (`RealtimeService.publish_notification`).

`LateRiskWatcher` runs it for the realtime service: written position batches and stored stop
events mark their depots, and one pass every few seconds refreshes every marked depot at once
(a fixed handful of statements per pass, never one per position or per stop). The same pass
pushes the live ETAs it judged by to dashboards: one `eta_update` frame per marked depot
(`eta_frames`), from the same forecasts, so the ETAs are computed once per pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings
from backend.db.models import Depot, Notification, Order, Route, RouteStop, Vehicle
from backend.eta import RouteEstimate, estimate_arrivals

log = logging.getLogger(__name__)

LATE_RISK = "late_risk"
LATE_RISK_SEVERITY = "warning"
# "For that depot's dispatchers" (admins see every notification anyway).
LATE_RISK_AUDIENCE = ["dispatcher"]
# The suggested action: the planning panel's "re-optimize remaining" (backend.planning).
REOPTIMIZE_ACTION = "reoptimize_remaining"
REOPTIMIZE_LABEL = "Re-optimize the remaining stops"
# An open alert clears once its P90 is back this far inside the window, so an estimate that
# hovers at the window's end does not raise a new alert on every pass.
CLEAR_MARGIN = timedelta(minutes=2)
# How often the watcher refreshes the depots marked since its last pass, and how often it
# marks every depot it has refreshed before: time alone makes a stop late when its vehicle
# has gone silent (no positions, no events).
WATCH_EVERY_S = 10.0
SWEEP_EVERY_S = 60.0


# The bus kind of the `eta_update` frames: no subscription of its own, so `route_status`
# (backend.realtime.hub); the frame names no vehicle at its top level, so drivers never get it.
ETA_KIND = "etas"
ETA_UPDATE = "eta_update"


@dataclass(frozen=True, slots=True)
class Forecast:
    """An open stop's predicted arrival (P10/P50/P90) and where the figure came from."""

    route_id: int
    p10: datetime
    p50: datetime
    p90: datetime
    source: str  # "model" or "plan"
    late: bool  # the P90 is past the stop's window end
    model_version: int | None = None


@dataclass(frozen=True, slots=True)
class OpenStopForecasts:
    """One pass's forecasts: by stop id, and the plan's view of each route (vehicle, next stop)."""

    stops: dict[int, Forecast]
    routes: dict[int, RouteEstimate]


@dataclass
class LateRiskChanges:
    """What one refresh raised and cleared, as `notification` frames to publish after commit."""

    raised: list[dict[str, Any]] = field(default_factory=list)
    cleared: list[dict[str, Any]] = field(default_factory=list)
    # The `eta_update` frame of each depot, by depot id (filled by `LateRiskWatcher`).
    etas: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Every frame, raised first."""
        return [*self.raised, *self.cleared]


def forecast_open_stops(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    now: datetime,
    settings: Settings | None = None,
) -> OpenStopForecasts:
    """The predicted arrival of every stop still ahead on the routes in force inside the scope.

    The plan's estimate for every stop (one query; its P10 = P50 = P90); where an ETA model
    is active, its P10/P50/P90 replace it for the stops it predicts (`settings` None: the plan
    only).
    """
    plan = estimate_arrivals(session, depot_ids=depot_ids, now=now)
    forecasts = {
        sid: Forecast(est.route_id, est.eta, est.eta, est.eta, "plan", est.at_risk)
        for sid, est in plan.stops.items()
    }
    result = OpenStopForecasts(forecasts, plan.routes)
    if settings is None or not plan.routes:
        return result
    from backend.ml import serving  # pandas and NumPy, never TensorFlow

    if serving.active_model(session, settings) is None:
        return result
    day = now.date()
    for eta in serving.live_etas(
        session,
        settings,
        day=day - timedelta(days=1),
        until=day + timedelta(days=1),
        now=now,
        depot_ids=None if depot_ids is None else sorted(depot_ids),
        route_ids=sorted(plan.routes),
    ):
        if eta.source == "model" and eta.stop_id in forecasts:
            forecasts[eta.stop_id] = Forecast(
                eta.route_id, eta.p10, eta.p50, eta.p90, "model", eta.at_risk, eta.model_version
            )
    return result


def refresh_late_risk(
    session: Session,
    *,
    depot_ids: Collection[int] | None,
    now: datetime,
    settings: Settings | None = None,
    forecasts: OpenStopForecasts | None = None,
) -> LateRiskChanges:
    """Raise and clear the scope's at-risk alerts from its live ETAs; frames to publish.

    A stop is at risk when it has a window end, the vehicle has not reached it yet and its
    P90 arrival is past the window's end (an open alert stays until the P90 is `CLEAR_MARGIN`
    inside it). `forecasts`: the scope's, when the caller has them already (else computed
    here). Does not commit.
    """
    if forecasts is None:
        forecasts = forecast_open_stops(session, depot_ids=depot_ids, now=now, settings=settings)
    by_stop = forecasts.stops
    scope = [] if depot_ids is None else [Notification.depot_id.in_(sorted(depot_ids))]
    open_rows = session.execute(
        select(
            Notification.id,
            Notification.route_stop_id,
            Notification.depot_id,
            Notification.severity,
            Notification.title,
            Notification.body,
            Notification.audience,
            Notification.created_at,
            Notification.data,
        ).where(Notification.kind == LATE_RISK, Notification.resolved_at.is_(None), *scope)
    ).all()
    open_by_stop = {row.route_stop_id: row for row in open_rows}
    # Details for the stops past their window and those with an open alert, not every stop.
    late = {sid for sid, forecast in by_stop.items() if forecast.late}
    wanted = sorted(late | {sid for sid in open_by_stop if sid is not None})
    stops = _stop_details(session, wanted) if wanted else {}
    at_risk: dict[int, tuple[Any, Forecast]] = {}
    for sid, detail in stops.items():
        forecast = by_stop.get(sid)
        if forecast is None or detail.window_end is None or detail.actual_arrival_at is not None:
            continue
        limit = detail.window_end - (CLEAR_MARGIN if sid in open_by_stop else timedelta(0))
        if forecast.p90 > limit:
            at_risk[sid] = (detail, forecast)
    changes = LateRiskChanges()
    new = [sid for sid in at_risk if sid not in open_by_stop]
    if new:
        changes.raised = _raise(session, [at_risk[sid] for sid in new], now=now)
    gone = [row for sid, row in open_by_stop.items() if sid not in at_risk]
    if gone:
        ids = [row.id for row in gone]
        session.execute(
            update(Notification).where(Notification.id.in_(ids)).values(resolved_at=now)
        )
        # Auto-acknowledged (by nobody): a cleared alert no longer waits in the bell.
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.acknowledged_at.is_(None))
            .values(acknowledged_at=now)
        )
        changes.cleared = [_cleared_frame(row, now) for row in gone]
    return changes


def eta_frames(
    session: Session,
    forecasts: OpenStopForecasts,
    *,
    depot_ids: Collection[int] | None,
    now: datetime,
) -> dict[int, dict[str, Any]]:
    """One `eta_update` frame per depot: every open stop's P10/P50/P90 (epoch ms) and lateness.

    Every depot of `depot_ids` gets one, empty when it has no open stop (None: the depots the
    forecasts name). The next stop of each vehicle carries `next: true` and its order's
    reference, so the vehicle list can say which stop its ETA is for. One query (routes'
    depots and zones, the next stops' references); reads only.
    """
    from backend.realtime.protocol import format_timestamp

    routes = forecasts.routes
    next_ids = sorted({r.next_stop_id for r in routes.values() if r.next_stop_id is not None})
    rows = (
        session.execute(
            select(Route.id, Route.depot_id, Depot.timezone, RouteStop.id, Order.reference)
            .join(Depot, Depot.id == Route.depot_id)
            .outerjoin(RouteStop, (RouteStop.route_id == Route.id) & RouteStop.id.in_(next_ids))
            .outerjoin(Order, Order.id == RouteStop.order_id)
            .where(Route.id.in_(sorted(routes)))
        ).all()
        if routes
        else []
    )
    depot_of = {route_id: depot_id for route_id, depot_id, *_rest in rows}
    zone_of = {depot_id: zone for _r, depot_id, zone, *_rest in rows}
    refs = {stop_id: ref for *_rest, stop_id, ref in rows if stop_id is not None}
    wanted = set(depot_of.values()) if depot_ids is None else set(depot_ids)
    found: dict[int, list[tuple[Forecast, dict[str, Any]]]] = {d: [] for d in wanted}
    for stop_id, forecast in forecasts.stops.items():
        depot_id = depot_of.get(forecast.route_id)
        if depot_id is None or depot_id not in found:
            continue
        route = routes[forecast.route_id]
        item: dict[str, Any] = {
            "stopId": stop_id,
            "routeId": forecast.route_id,
            "vehicleId": route.vehicle_id,
            "p10": _epoch_ms(forecast.p10),
            "p50": _epoch_ms(forecast.p50),
            "p90": _epoch_ms(forecast.p90),
            "late": forecast.late,
        }
        if stop_id == route.next_stop_id:
            item.update(next=True, ref=refs.get(stop_id))
        found[depot_id].append((forecast, item))
    at = format_timestamp(now)
    frames: dict[int, dict[str, Any]] = {}
    for depot_id, entries in sorted(found.items()):
        entries.sort(key=lambda e: (e[1]["routeId"], e[1]["p50"], e[1]["stopId"]))
        versions = [f.model_version or 0 for f, _item in entries if f.source == "model"]
        if versions:
            # Stops the model did not predict say so; the frame's `source` covers the rest.
            for f, item in entries:
                if f.source != "model":
                    item["source"] = "plan"
        frames[depot_id] = {
            "type": ETA_UPDATE,
            "depotId": depot_id,
            "at": at,
            "source": f"model v{max(versions)}" if versions else "plan",
            "timezone": zone_of.get(depot_id),
            "stops": [item for _f, item in entries],
        }
    return frames


def _epoch_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _stop_details(session: Session, stop_ids: list[int]) -> dict[int, Any]:
    # Everything an alert names, for the candidate stops only: one query.
    rows = session.execute(
        select(
            RouteStop.id.label("stop_id"),
            RouteStop.actual_arrival_at,
            Route.id.label("route_id"),
            Route.depot_id,
            Route.vehicle_id,
            Vehicle.name.label("vehicle_name"),
            Order.id.label("order_id"),
            Order.reference,
            Order.window_end,
            Depot.timezone,
        )
        .join(Route, Route.id == RouteStop.route_id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .join(Depot, Depot.id == Route.depot_id)
        .outerjoin(Order, Order.id == RouteStop.order_id)
        .where(RouteStop.id.in_(stop_ids))
    ).all()
    return {row.stop_id: row for row in rows}


def _local(at: datetime, timezone: str | None) -> str:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%H:%M")


def _raise(
    session: Session, items: list[tuple[Any, Forecast]], *, now: datetime
) -> list[dict[str, Any]]:
    values = []
    for detail, forecast in items:
        what = f"Order {detail.reference}" if detail.reference else f"Stop {detail.stop_id}"
        values.append(
            {
                "depot_id": detail.depot_id,
                "kind": LATE_RISK,
                "severity": LATE_RISK_SEVERITY,
                "title": f"{what} may be late ({detail.vehicle_name})"[:200],
                "body": (
                    f"Expected by {_local(forecast.p90, detail.timezone)} at the latest (P90); "
                    f"its window ends {_local(detail.window_end, detail.timezone)}. "
                    f"Suggested: {REOPTIMIZE_LABEL.lower()}."
                ),
                "audience": list(LATE_RISK_AUDIENCE),
                "created_at": now,
                "route_stop_id": detail.stop_id,
                "data": {
                    "stopId": detail.stop_id,
                    "routeId": detail.route_id,
                    "vehicleId": detail.vehicle_id,
                    "vehicleName": detail.vehicle_name,
                    "orderId": detail.order_id,
                    "orderReference": detail.reference,
                    "p90": forecast.p90.isoformat(),
                    "windowEnd": detail.window_end.isoformat(),
                    "source": forecast.source,
                    "action": REOPTIMIZE_ACTION,
                    "actionLabel": REOPTIMIZE_LABEL,
                },
            }
        )
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    # Another worker may have raised the same stop's alert a moment ago: its row stands.
    stored = session.execute(
        insert(Notification)
        .values(values)
        .on_conflict_do_nothing()
        .returning(Notification.id, Notification.route_stop_id)
    ).all()
    by_stop = {v["route_stop_id"]: v for v in values}
    return [
        _frame(nid, by_stop[sid], acknowledged_at=None, resolved_at=None) for nid, sid in stored
    ]


def _frame(
    notification_id: int,
    values: dict[str, Any],
    *,
    acknowledged_at: datetime | None,
    resolved_at: datetime | None,
) -> dict[str, Any]:
    from backend.realtime.protocol import format_timestamp

    data = dict(values.get("data") or {})
    return {
        "type": "notification",
        "notification": {
            "id": notification_id,
            "depotId": values["depot_id"],
            "routeEventId": None,
            "vehicleId": data.get("vehicleId"),
            "stopId": data.get("stopId"),
            "kind": LATE_RISK,
            "severity": values["severity"],
            "title": values["title"],
            "body": values["body"],
            "audience": values["audience"],
            "createdAt": format_timestamp(values["created_at"]),
            "acknowledgedAt": format_timestamp(acknowledged_at) if acknowledged_at else None,
            "resolvedAt": format_timestamp(resolved_at) if resolved_at else None,
            "data": data,
        },
    }


def _cleared_frame(row: Any, now: datetime) -> dict[str, Any]:
    return _frame(
        row.id,
        {
            "depot_id": row.depot_id,
            "severity": row.severity,
            "title": row.title,
            "body": row.body,
            "audience": row.audience,
            "created_at": row.created_at,
            "data": row.data,
        },
        acknowledged_at=now,
        resolved_at=now,
    )


class LateRiskWatcher:
    """Refreshes the at-risk alerts of the depots whose ETAs moved, one pass every few seconds.

    `mark(depot_ids)` is cheap (a set union under a lock): the position writer calls it per
    written batch and the event handler per stored stop event. The pass reads the clock,
    forecasts every marked depot's open stops once, refreshes their alerts from those
    forecasts, commits, then publishes the alerts and, with `publish_depot` (the realtime
    service's `publish`), one `eta_update` frame to each marked depot's room. Every `sweep_s`
    the depots refreshed before are marked again, so a silent vehicle's stops are still judged.
    """

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        publish: Callable[[dict[str, Any]], None],
        *,
        publish_depot: Callable[[int | None, str, dict[str, Any]], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        settings: Settings | None = None,
        every_s: float = WATCH_EVERY_S,
        sweep_s: float = SWEEP_EVERY_S,
    ) -> None:
        self._sessions = sessions
        self._publish = publish
        self._publish_depot = publish_depot
        self._clock = clock
        self._settings = settings
        self._every_s = every_s
        self._sweep_s = sweep_s
        self._lock = threading.Lock()
        self._marked: set[int] = set()
        self._seen: set[int] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, depot_ids: Iterable[int | None]) -> None:
        """These depots' ETAs may have moved (positions written, a stop event stored)."""
        with self._lock:
            self._marked.update(d for d in depot_ids if d is not None)

    def run_pending(self) -> LateRiskChanges | None:
        """Refresh the depots marked so far, now; None when none was marked."""
        with self._lock:
            depots, self._marked = self._marked, set()
            self._seen |= depots
        if not depots:
            return None
        now = self._clock.now()
        try:
            with self._sessions() as session:
                forecasts = forecast_open_stops(
                    session, depot_ids=depots, now=now, settings=self._settings
                )
                changes = refresh_late_risk(
                    session, depot_ids=depots, now=now, settings=self._settings,
                    forecasts=forecasts,
                )  # fmt: skip
                if self._publish_depot is not None:
                    changes.etas = eta_frames(session, forecasts, depot_ids=depots, now=now)
        except Exception:
            self.mark(depots)  # tried again on the next pass
            raise
        # Published only now that the session has committed.
        for frame in changes.frames:
            self._publish(frame)
        if self._publish_depot is not None:
            for depot_id, eta_frame in changes.etas.items():
                self._publish_depot(depot_id, ETA_KIND, eta_frame)
        return changes

    def start(self) -> None:
        """Start the pass thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="late-risk", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the pass in progress."""
        self._stopping.set()

    def _run(self) -> None:
        swept = time.monotonic()
        while not self._stopping.wait(self._every_s):
            if time.monotonic() - swept >= self._sweep_s:
                swept = time.monotonic()
                with self._lock:
                    self._marked |= self._seen
            try:
                self.run_pending()
            except Exception:  # noqa: BLE001 - a failed pass is retried on the next marks
                log.exception("refreshing the at-risk alerts failed")
