"""The company's past: baseline plans driven against the hidden traffic model, day by day.

Each past day: orders are drawn, the baseline dispatcher plans them per depot (one
optimization request and response per vehicle), and every route is driven leg by leg with
ground-truth travel times, per-leg noise, lognormal service times, failed deliveries and
occasional incidents. Everything is a pure function of (seed, day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from backend.sim.baseline import PlannedRoute, plan_depot_day, service_start
from backend.sim.city import DEPOTS
from backend.sim.fleet import DIESEL_CO2_KG_PER_L, VehicleSpec
from backend.sim.orders import DayOrders, generate_orders, order_count
from backend.sim.records import IdAllocator, Row, Rows, local_ts, order_row, windows_json
from backend.sim.traffic import daily_weather, road_km, travel_minutes_local

# Manual planning took the dispatcher about 45 minutes each morning (the original baseline).
PLANNING_START_MIN = 5 * 60 + 30
PLANNING_MINUTES = 45.0
LEG_NOISE_SIGMA = 0.12
SERVICE_SIGMA = 0.35
SIGNIFICANT = frozenset(
    {
        "traffic_jam",
        "breakdown",
        "road_closure",
        "weather_alert",
        "delivery_issue",
        "customer_unavailable",
    }
)
_STREAM_ORDERS = 0x0D
_STREAM_DRIVE = 0xD7


@dataclass(frozen=True, slots=True)
class FleetContext:
    """Database ids of the demo's depots, vehicles and users, aligned with the specs."""

    fleet: tuple[VehicleSpec, ...]
    depot_ids: tuple[int, ...]  # aligned with backend.sim.city.DEPOTS
    vehicle_ids: tuple[int, ...]  # aligned with fleet
    driver_ids: tuple[int, ...]  # aligned with fleet
    dispatcher_ids: tuple[int, ...]  # aligned with DEPOTS


@dataclass(slots=True)
class HistoryStats:
    """Totals over the simulated days, for the summary and the tests."""

    days: int = 0
    routes: int = 0
    stops: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    on_time: int = 0
    route_minutes: float = 0.0
    shift_minutes: float = 0.0
    load_kg: float = 0.0
    capacity_kg: float = 0.0
    incidents: dict[str, int] = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float:
        """Share of visited stops reached inside a time window (early arrivals wait)."""
        return self.on_time / self.stops if self.stops else 0.0

    @property
    def failed_rate(self) -> float:
        """Share of visited stops that failed."""
        return self.failed / self.stops if self.stops else 0.0

    @property
    def utilization(self) -> float:
        """Share of rostered shift time spent out of the depot (driving, waiting, serving)."""
        return self.route_minutes / self.shift_minutes if self.shift_minutes else 0.0

    @property
    def load_utilization(self) -> float:
        """Share of rostered weight capacity that left the depot loaded."""
        return self.load_kg / self.capacity_kg if self.capacity_kg else 0.0


def day_orders(seed: int, day: date, *, is_today: bool) -> DayOrders:
    """The orders of `day`: a pure function of (seed, day)."""
    rng = np.random.default_rng([seed, day.toordinal(), _STREAM_ORDERS])
    return generate_orders(rng, day, order_count(rng, day, is_today=is_today))


def simulate_history(
    seed: int, today: date, days: int, ctx: FleetContext, ids: IdAllocator
) -> tuple[Rows, HistoryStats]:
    """Rows and totals of the `days` days before `today`, oldest first."""
    rows = Rows()
    stats = HistoryStats()
    for back in range(days, 0, -1):
        simulate_day(seed, today - timedelta(days=back), ctx, ids, rows, stats)
    return rows, stats


def simulate_day(
    seed: int, day: date, ctx: FleetContext, ids: IdAllocator, rows: Rows, stats: HistoryStats
) -> None:
    """Plan and drive one past day, appending its rows and adding to the totals."""
    orders = day_orders(seed, day, is_today=False)
    rng = np.random.default_rng([seed, day.toordinal(), _STREAM_DRIVE])
    weather = daily_weather(seed, day)
    order_rows = []
    for i in range(len(orders)):
        row = order_row(
            orders,
            i,
            order_id=ids.take("delivery_order"),
            depot_id=ctx.depot_ids[int(orders.depot[i])],
            serial=i + 1,
        )
        order_rows.append(row)
    rows.orders.extend(order_rows)
    stats.days += 1
    for d, depot in enumerate(DEPOTS):
        members = np.flatnonzero(orders.depot == d)
        vehicles = [v for v in ctx.fleet if v.depot_key == depot.key]
        routes = plan_depot_day(orders, members, vehicles, depot)
        session_start = PLANNING_START_MIN + float(rng.uniform(-10, 10))
        session_end = session_start + PLANNING_MINUTES * float(rng.lognormal(0, 0.15))
        if weather.factor < 0.85:
            _weather_alert(day, d, weather.condition, weather.factor, session_start, ctx, ids, rows)
        for route in routes:
            driver = _Driver(orders, order_rows, route, ctx, ids, rows, stats, rng, weather.factor)
            driver.plan_records(session_start, session_end)
            driver.drive(session_end)
        for row in order_rows:
            if row["depot_id"] == ctx.depot_ids[d] and row["status"] == "new":
                # No truck with the skill had room left: customer service rebooks the order.
                cancelled = local_ts(day, session_end)
                row.update(
                    status="cancelled",
                    cancelled_at=cancelled,
                    updated_at=cancelled,
                    failure_reason="not planned: no vehicle capacity",
                )
                stats.cancelled += 1


def _weather_alert(
    day: date,
    d: int,
    condition: str,
    factor: float,
    minute: float,
    ctx: FleetContext,
    ids: IdAllocator,
    rows: Rows,
) -> None:
    event_id = ids.take("route_event")
    at = local_ts(day, minute)
    depot = DEPOTS[d]
    rows.route_events.append(
        _event_row(
            event_id,
            None,
            None,
            None,
            ctx.depot_ids[d],
            None,
            "weather_alert",
            "warning",
            at,
            depot.lat,
            depot.lon,
            {"condition": condition, "speed_factor": factor},
            None,
        )
    )
    rows.notifications.append(
        _notification_row(
            ids.take("notification"),
            ctx.depot_ids[d],
            event_id,
            "weather_alert",
            "warning",
            f"Weather alert: {condition}",
            f"{condition.capitalize()} expected around {depot.name}; allow extra time.",
            at,
            ctx.dispatcher_ids[d],
        )
    )


class _Driver:
    """Drives one planned route through the ground-truth model and records what happened."""

    def __init__(
        self,
        orders: DayOrders,
        order_rows: list[Row],
        route: PlannedRoute,
        ctx: FleetContext,
        ids: IdAllocator,
        rows: Rows,
        stats: HistoryStats,
        rng: np.random.Generator,
        weather: float,
    ) -> None:
        self.orders = orders
        self.order_rows = order_rows
        self.route = route
        self.vehicle = ctx.fleet[route.vehicle]
        self.d = next(i for i, dep in enumerate(DEPOTS) if dep.key == self.vehicle.depot_key)
        self.depot = DEPOTS[self.d]
        self.ctx = ctx
        self.ids = ids
        self.rows = rows
        self.stats = stats
        self.rng = rng
        self.weather = weather
        self.day = orders.day
        self.vehicle_id = ctx.vehicle_ids[self.vehicle.index]
        self.driver_id = ctx.driver_ids[self.vehicle.index]
        self.depot_id = ctx.depot_ids[self.d]
        self.request_id = f"hist-{self.day:%Y%m%d}-{self.vehicle.name}"
        self.response_id = f"{self.request_id}-r1"

    def plan_records(self, session_start: float, session_end: float) -> None:
        """The optimization request, response and events of this vehicle-day."""
        orders, route, v = self.orders, self.route, self.vehicle
        idx = [s.order for s in route.stops]
        created = local_ts(self.day, session_start + 0.2 * v.index)
        done = local_ts(self.day, session_end)
        order_ids = [self.order_rows[i]["id"] for i in idx]
        in_window = sum(1 for s in route.stops if s.arrival <= orders.window_end[s.order])
        shift = v.shift_end_min - v.shift_start_min
        used = min(1.0, (route.end - v.shift_start_min) / shift)
        score = round(0.6 * in_window / max(1, len(idx)) + 0.4 * used, 3)
        fuel = route.distance_km * v.type.fuel_l_per_km
        self.rows.requests.append(
            {
                "request_id": self.request_id,
                "vehicle_id": self.vehicle_id,
                "depot_id": self.depot_id,
                "priority": int(round(float(orders.priority[idx].mean()))),
                "constraints": {
                    "shift_start": v.shift_start.strftime("%H:%M"),
                    "shift_end": v.shift_end.strftime("%H:%M"),
                    "max_route_minutes": int(shift),
                    "capacity_fill": 0.95,
                },
                "delivery_locations": [
                    {
                        "order_id": oid,
                        "lat": self.order_rows[i]["lat"],
                        "lon": self.order_rows[i]["lon"],
                        "demand": self.order_rows[i]["demand"],
                        "service_minutes": float(orders.service_min[i]),
                    }
                    for oid, i in zip(order_ids, idx, strict=True)
                ],
                "time_windows": [
                    {"order_id": oid, "windows": windows_json(orders, i)}
                    for oid, i in zip(order_ids, idx, strict=True)
                ],
                "vehicle_capacity": {"kg": v.type.capacity_kg, "m3": v.type.capacity_m3},
                "special_requirements": sorted({s for i in idx for s in orders.skills(i)}),
                "status": "completed",
                "created_at": created,
                "updated_at": done,
                "meta": {
                    "source": "demo-history",
                    "planner": "sweep-nearest-neighbour",
                    "service_date": self.day.isoformat(),
                },
            }
        )
        self.rows.responses.append(
            {
                "response_id": self.response_id,
                "request_id": self.request_id,
                "optimization_score": score,
                "distance": route.distance_km,
                "duration": round(route.end - route.start, 2),
                "route_sequence": order_ids,
                "vehicle_load": {
                    "kg": round(route.kg, 1),
                    "m3": round(route.m3, 3),
                    "kg_utilization": round(route.kg / v.type.capacity_kg, 3),
                    "m3_utilization": round(route.m3 / v.type.capacity_m3, 3),
                },
                "fuel_consumption": round(fuel, 3),
                "carbon_emissions": round(fuel * DIESEL_CO2_KG_PER_L, 3),
                "created_at": done,
                "meta": {
                    "source": "demo-history",
                    "score": "0.6 x stops planned in window + 0.4 x share of shift used",
                },
            }
        )
        planning = round(session_end - session_start, 1)
        for kind, at, data in (
            ("created", created, {"stops": len(idx)}),
            ("completed", done, {"planning_minutes": planning, "distance_km": route.distance_km}),
        ):
            self.rows.optimization_events.append(
                {
                    "event_id": f"{self.request_id}-{kind}",
                    "request_id": self.request_id,
                    "event_type": kind,
                    "event_data": data,
                    "timestamp": at,
                    "meta": {"source": "demo-history"},
                }
            )
        for i in idx:
            row = self.order_rows[i]
            row["status"] = "planned"
            row["planned_at"] = done
            row["vehicle_id"] = self.vehicle_id

    def drive(self, planned_at: float) -> None:
        """Drive the route leg by leg and record stops, events and final order states."""
        orders, route, v, rng, day = self.orders, self.route, self.vehicle, self.rng, self.day
        n = len(route.stops)
        route_id = self.ids.take("route")
        leg_noise = rng.lognormal(0.0, LEG_NOISE_SIGMA, n + 1)
        service_noise = rng.lognormal(0.0, SERVICE_SIGMA, n)
        fail_draw = rng.random(n)
        incident_draw = rng.random((n + 1, 4))
        extra = rng.uniform(0.0, 1.0, (n + 1, 4))
        breakdown_leg = int(rng.integers(0, n + 1)) if rng.random() < 0.006 else -1
        clock_in = v.shift_start_min
        t = clock_in + 20.0 * float(rng.lognormal(0.0, 0.3))
        depart = t
        load_kg, load_m3 = route.kg, route.m3
        pos = (self.depot.lat, self.depot.lon)
        km_total = 0.0
        geometry: list[list[float]] = [[round(pos[0], 5), round(pos[1], 5)]]
        stops = [
            self._stop_row(
                route_id,
                None,
                0,
                "start",
                pos,
                clock_in,
                route.start,
                clock_in,
                depart,
                "completed",
                load_kg,
                load_m3,
            )
        ]
        prev_departure = depart
        for k, planned in enumerate(route.stops):
            i = planned.order
            target = (float(orders.lat[i]), float(orders.lon[i]))
            minutes, km = self._leg(
                route_id,
                k,
                pos,
                target,
                t,
                leg_noise[k],
                incident_draw[k],
                extra[k],
                k == breakdown_leg,
            )
            arrival = t + minutes
            km_total += km
            _grid_path(geometry, pos, target, k)
            begin = service_start(orders, i, arrival)
            on_time = arrival <= orders.window_end[i] or begin > arrival
            late = max(0.0, arrival - float(orders.window_end[i]))
            business = bool(orders.business[i])
            p_fail = (0.010 if business else 0.026) + (0.04 if late > 0 else 0.0)
            failed = fail_draw[k] < p_fail
            row = self.order_rows[i]
            row["dispatched_at"] = local_ts(day, clock_in)
            row["en_route_at"] = local_ts(day, prev_departure)
            row["arrived_at"] = local_ts(day, arrival)
            self._event(
                route_id,
                row["id"],
                "arrived",
                "info",
                arrival,
                target,
                {"stop_sequence": k + 1, "on_time": bool(on_time), "late_minutes": round(late, 1)},
            )
            if failed:
                reason = _failure_reason(business, late, float(service_noise[k]))
                finish = begin + 3.0 + 5.0 * float(extra[k, 3])
                row.update(status="failed", failed_at=local_ts(day, finish), failure_reason=reason)
                self._event(
                    route_id,
                    row["id"],
                    "failed",
                    "warning",
                    finish,
                    target,
                    {"reason": reason, "stop_sequence": k + 1},
                )
                if reason == "customer_not_home" and incident_draw[k, 3] < 0.6:
                    self._incident(
                        route_id,
                        row["id"],
                        "customer_unavailable",
                        "warning",
                        finish,
                        target,
                        {"reason": reason, "customer": orders.customer[i]},
                    )
                self.stats.failed += 1
            else:
                service = float(orders.service_min[i]) * float(service_noise[k])
                if incident_draw[k, 3] > 0.994:
                    service += 5.0 + 15.0 * float(extra[k, 3])
                    self._incident(
                        route_id,
                        row["id"],
                        "delivery_issue",
                        "warning",
                        begin + service,
                        target,
                        {"issue": "damaged or wrong parcel, resolved on site"},
                    )
                finish = begin + service
                row.update(status="delivered", delivered_at=local_ts(day, finish))
                self._event(
                    route_id,
                    row["id"],
                    "delivered",
                    "info",
                    finish,
                    target,
                    {"stop_sequence": k + 1, "service_minutes": round(service, 1)},
                )
                self.stats.delivered += 1
                load_kg -= float(orders.kg[i])
                load_m3 -= float(orders.m3[i])
            row["updated_at"] = local_ts(day, finish)
            self.stats.stops += 1
            self.stats.on_time += int(on_time)
            stops.append(
                self._stop_row(
                    route_id,
                    row["id"],
                    k + 1,
                    "delivery",
                    target,
                    planned.arrival,
                    planned.departure,
                    arrival,
                    finish,
                    row["status"],
                    max(0.0, load_kg),
                    max(0.0, load_m3),
                )
            )
            pos = target
            t = finish
            prev_departure = finish
        depot_pos = (self.depot.lat, self.depot.lon)
        minutes, km = self._leg(
            route_id,
            n,
            pos,
            depot_pos,
            t,
            leg_noise[n],
            incident_draw[n],
            extra[n],
            n == breakdown_leg,
        )
        _grid_path(geometry, pos, depot_pos, n)
        back = t + minutes
        km_total += km
        stops.append(
            self._stop_row(
                route_id,
                None,
                n + 1,
                "end",
                depot_pos,
                route.end,
                route.end,
                back,
                back,
                "completed",
                0.0,
                0.0,
            )
        )
        self.rows.stops.extend(stops)
        self.rows.routes.append(
            {
                "id": route_id,
                "response_id": self.response_id,
                "vehicle_id": self.vehicle_id,
                "driver_id": self.driver_id,
                "depot_id": self.depot_id,
                "service_date": day,
                "status": "completed",
                "planned_start_at": local_ts(day, route.start),
                "planned_end_at": local_ts(day, route.end),
                "actual_start_at": local_ts(day, depart),
                "actual_end_at": local_ts(day, back),
                "planned_distance_km": route.distance_km,
                "actual_distance_km": round(km_total, 3),
                "planned_duration_min": round(route.end - route.start, 2),
                "geometry": geometry,
                "created_at": local_ts(day, planned_at),
            }
        )
        self.stats.routes += 1
        self.stats.route_minutes += back - depart
        self.stats.shift_minutes += v.shift_end_min - v.shift_start_min
        self.stats.load_kg += route.kg
        self.stats.capacity_kg += v.type.capacity_kg

    def _leg(
        self,
        route_id: int,
        k: int,
        a: tuple[float, float],
        b: tuple[float, float],
        t: float,
        noise: float,
        draw: np.ndarray,
        extra: np.ndarray,
        breakdown: bool,
    ) -> tuple[float, float]:
        # One leg: ground truth x noise, plus whatever incident happens on the way.
        hour = t / 60.0
        minutes = travel_minutes_local(
            a[0], a[1], b[0], b[1], hour, self.day.weekday(), self.weather
        )
        minutes *= float(noise)
        km = road_km(a[0], a[1], b[0], b[1])
        rush = (7.0 <= hour <= 9.0 or 16.0 <= hour <= 18.5) and self.day.weekday() < 5
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        if draw[0] < (0.02 if rush else 0.005):
            delay = 10.0 + 25.0 * float(extra[0])
            minutes += delay
            self._incident(
                route_id,
                None,
                "traffic_jam",
                "warning",
                t + minutes / 2,
                mid,
                {"delay_minutes": round(delay, 1)},
            )
        if draw[1] < 0.002:
            delay = 5.0 + 10.0 * float(extra[1])
            detour = 1.0 + 2.0 * float(extra[1])
            minutes += delay
            km += detour
            self._incident(
                route_id,
                None,
                "road_closure",
                "warning",
                t + minutes / 3,
                mid,
                {"delay_minutes": round(delay, 1), "detour_km": round(detour, 2)},
            )
        if breakdown:
            delay = 45.0 + 105.0 * float(extra[2])
            self._incident(
                route_id,
                None,
                "breakdown",
                "critical",
                t + minutes / 2,
                mid,
                {"delay_minutes": round(delay, 1), "resolved": "roadside repair"},
            )
            minutes += delay
        return minutes, km

    def _event(
        self,
        route_id: int,
        order_id: int | None,
        kind: str,
        severity: str,
        minute: float,
        at: tuple[float, float],
        data: dict[str, object],
    ) -> int:
        event_id = self.ids.take("route_event")
        self.rows.route_events.append(
            _event_row(
                event_id,
                route_id,
                self.vehicle_id,
                order_id,
                self.depot_id,
                self.driver_id,
                kind,
                severity,
                local_ts(self.day, minute),
                at[0],
                at[1],
                data,
                f"sim-{route_id}-{event_id}",
            )
        )
        return event_id

    def _incident(
        self,
        route_id: int,
        order_id: int | None,
        kind: str,
        severity: str,
        minute: float,
        at: tuple[float, float],
        data: dict[str, object],
    ) -> None:
        event_id = self._event(route_id, order_id, kind, severity, minute, at, data)
        self.stats.incidents[kind] = self.stats.incidents.get(kind, 0) + 1
        if kind in SIGNIFICANT:
            title = f"{kind.replace('_', ' ').capitalize()}: {self.vehicle.name}"
            body = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in data.items())
            self.rows.notifications.append(
                _notification_row(
                    self.ids.take("notification"),
                    self.depot_id,
                    event_id,
                    kind,
                    severity,
                    title,
                    body,
                    local_ts(self.day, minute),
                    self.ctx.dispatcher_ids[self.d],
                )
            )

    def _stop_row(
        self,
        route_id: int,
        order_id: int | None,
        seq: int,
        kind: str,
        at: tuple[float, float],
        p_arr: float,
        p_dep: float,
        a_arr: float,
        a_dep: float,
        status: str,
        kg: float,
        m3: float,
    ) -> Row:
        return {
            "id": self.ids.take("route_stop"),
            "route_id": route_id,
            "order_id": order_id,
            "sequence": seq,
            "kind": kind,
            "lat": round(at[0], 6),
            "lon": round(at[1], 6),
            "planned_arrival_at": local_ts(self.day, p_arr),
            "planned_departure_at": local_ts(self.day, p_dep),
            "actual_arrival_at": local_ts(self.day, a_arr),
            "actual_departure_at": local_ts(self.day, a_dep),
            "status": status,
            "load_after": {"kg": round(kg, 1), "m3": round(m3, 3)},
        }


def _failure_reason(business: bool, late: float, draw: float) -> str:
    if business and late > 0:
        return "business_closed"
    if draw > 1.4:
        return "access_problem"
    if draw < 0.55:
        return "refused_damaged" if business else "address_not_found"
    return "customer_not_home" if not business else "access_problem"


def _grid_path(
    geometry: list[list[float]], a: tuple[float, float], b: tuple[float, float], k: int
) -> None:
    # Chicago is a grid: drive along one axis, turn once, drive the other.
    corner = (b[0], a[1]) if k % 2 == 0 else (a[0], b[1])
    geometry.append([round(corner[0], 5), round(corner[1], 5)])
    geometry.append([round(b[0], 5), round(b[1], 5)])


def _event_row(
    event_id: int,
    route_id: int | None,
    vehicle_id: int | None,
    order_id: int | None,
    depot_id: int,
    reported_by: int | None,
    kind: str,
    severity: str,
    at: datetime,
    lat: float,
    lon: float,
    data: dict[str, object],
    client_event_id: str | None,
) -> Row:
    return {
        "id": event_id,
        "route_id": route_id,
        "vehicle_id": vehicle_id,
        "order_id": order_id,
        "depot_id": depot_id,
        "reported_by": reported_by,
        "event_type": kind,
        "severity": severity,
        "occurred_at": at,
        "received_at": at,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "data": data,
        "client_event_id": client_event_id,
    }


def _notification_row(
    notification_id: int,
    depot_id: int,
    event_id: int,
    kind: str,
    severity: str,
    title: str,
    body: str,
    at: datetime,
    dispatcher_id: int,
) -> Row:
    # History's alerts were all handled: a dispatcher acknowledged each within minutes.
    ack = at + timedelta(minutes=2 + (notification_id * 7) % 15)
    return {
        "id": notification_id,
        "depot_id": depot_id,
        "route_event_id": event_id,
        "kind": kind,
        "severity": severity,
        "title": title,
        "body": body,
        "audience": ["dispatcher", "manager"],
        "created_at": at,
        "acknowledged_at": ack,
        "acknowledged_by": dispatcher_id,
    }
