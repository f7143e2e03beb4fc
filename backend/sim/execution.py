"""Driving one planned route through the hidden traffic model, and recording what happened."""

from __future__ import annotations

import numpy as np

from backend.db.models import SIGNIFICANT_EVENT_TYPES, RouteStatus
from backend.sim.baseline import PlannedRoute, service_start
from backend.sim.city import DEPOTS, depot_index, traffic_weekday
from backend.sim.context import FleetContext, HistoryStats
from backend.sim.orders import DayOrders
from backend.sim.records import IdAllocator, Row, Rows, event_row, local_ts, notification_row
from backend.sim.traffic import road_km, travel_minutes_local

LEG_NOISE_SIGMA = 0.12
SERVICE_SIGMA = 0.35


class RouteRun:
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
        self.d = depot_index(self.vehicle.depot_key)
        self.depot = DEPOTS[self.d]
        self.ctx = ctx
        self.ids = ids
        self.rows = rows
        self.stats = stats
        self.rng = rng
        self.weather = weather
        self.day = orders.day
        self.weekday = traffic_weekday(self.day)
        self.vehicle_id = ctx.vehicle_ids[self.vehicle.index]
        self.driver_id = ctx.driver_ids[self.vehicle.index]
        self.depot_id = ctx.depot_ids[self.d]

    def drive(self, response_id: str, *, planned_at: float) -> None:
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
            on_time = arrival <= orders.window_end[i]  # early arrivals wait: still on time
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
                reason = _failure_reason(business, late, float(fail_draw[k]) / p_fail)
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
                "response_id": response_id,
                "vehicle_id": self.vehicle_id,
                "driver_id": self.driver_id,
                "depot_id": self.depot_id,
                "service_date": day,
                "status": RouteStatus.COMPLETED.value,
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
        minutes = travel_minutes_local(a[0], a[1], b[0], b[1], hour, self.weekday, self.weather)
        minutes *= float(noise)
        km = road_km(a[0], a[1], b[0], b[1])
        rush = (7.0 <= hour <= 9.0 or 16.0 <= hour <= 18.5) and self.weekday < 5
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
            event_row(
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
        if kind in SIGNIFICANT_EVENT_TYPES:
            title = f"{kind.replace('_', ' ').capitalize()}: {self.vehicle.name}"
            body = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in data.items())
            self.rows.notifications.append(
                notification_row(
                    self.ids.take("notification"),
                    self.depot_id,
                    event_id,
                    kind,
                    severity,
                    title,
                    body,
                    local_ts(self.day, minute),
                    self.ctx.dispatcher_ids[self.d],
                    2.0 + 13.0 * float(self.rng.random()),
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


def _failure_reason(business: bool, late: float, u: float) -> str:
    # `u` is uniform on [0, 1): the failure draw rescaled, so reasons cost no extra randomness.
    if business:
        if late > 0:
            return "business_closed"
        return "access_problem" if u < 0.6 else "refused_damaged" if u < 0.85 else "wrong_address"
    return "customer_not_home" if u < 0.7 else "access_problem" if u < 0.9 else "wrong_address"


def _grid_path(
    geometry: list[list[float]], a: tuple[float, float], b: tuple[float, float], k: int
) -> None:
    # Chicago is a grid: drive along one axis, turn once, drive the other.
    corner = (b[0], a[1]) if k % 2 == 0 else (a[0], b[1])
    geometry.append([round(corner[0], 5), round(corner[1], 5)])
    geometry.append([round(b[0], 5), round(b[1], 5)])
