"""The optimization request, response and events that record one baseline plan."""

from __future__ import annotations

from datetime import date

from backend.sim.baseline import PlannedRoute
from backend.sim.fleet import DIESEL_CO2_KG_PER_L, VehicleSpec
from backend.sim.orders import DayOrders
from backend.sim.records import Row, Rows, local_ts, windows_json


def request_id_for(day: date, vehicle: VehicleSpec) -> str:
    """The id of a history request: readable, and unique per vehicle and day."""
    return f"hist-{day:%Y%m%d}-{vehicle.name}"


def record_plan(
    rows: Rows,
    orders: DayOrders,
    order_rows: list[Row],
    route: PlannedRoute,
    vehicle: VehicleSpec,
    *,
    vehicle_id: int,
    depot_id: int,
    session_start: float,
    session_end: float,
) -> str:
    """Append the request, response and events of a vehicle-day; returns the response id."""
    day = orders.day
    request_id = request_id_for(day, vehicle)
    response_id = f"{request_id}-r1"
    v = vehicle
    idx = [s.order for s in route.stops]
    created = local_ts(day, session_start + 0.2 * v.index)
    done = local_ts(day, session_end)
    order_ids = [order_rows[i]["id"] for i in idx]
    in_window = sum(1 for s in route.stops if s.arrival <= orders.window_end[s.order])
    shift = v.shift_end_min - v.shift_start_min
    used = min(1.0, (route.end - v.shift_start_min) / shift)
    score = round(0.6 * in_window / max(1, len(idx)) + 0.4 * used, 3)
    fuel = route.distance_km * v.type.fuel_l_per_km
    rows.requests.append(
        {
            "request_id": request_id,
            "vehicle_id": vehicle_id,
            "depot_id": depot_id,
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
                    "lat": order_rows[i]["lat"],
                    "lon": order_rows[i]["lon"],
                    "demand": order_rows[i]["demand"],
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
                "service_date": day.isoformat(),
            },
        }
    )
    rows.responses.append(
        {
            "response_id": response_id,
            "request_id": request_id,
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
        rows.optimization_events.append(
            {
                "event_id": f"{request_id}-{kind}",
                "request_id": request_id,
                "event_type": kind,
                "event_data": data,
                "timestamp": at,
                "meta": {"source": "demo-history"},
            }
        )
    for i in idx:
        row = order_rows[i]
        row["status"] = "planned"
        row["planned_at"] = done
        row["vehicle_id"] = vehicle_id
    return response_id
