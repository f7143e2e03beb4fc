"""The company's dispatcher before the optimizer: sweep by angle, then nearest neighbour.

It plans with what a dispatcher knows: straight-line distance times a detour factor at one
average city speed, nominal service times, no rush hours and no weather. History is then
driven against the hidden traffic model, which is why the baseline arrives late now and then.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.sim.city import DepotSite
from backend.sim.fleet import VehicleSpec
from backend.sim.orders import DayOrders
from backend.sim.traffic import KM_PER_DEG_LAT, KM_PER_DEG_LON

PLANNER_KMH = 30.0
PLANNER_DETOUR = 1.3
PLANNER_KERB_MIN = 1.0
LOADING_MIN = 20.0  # loading at the depot before the first departure
TARGET_STOPS = 16  # the dispatcher rosters one driver per ~16 stops
CAPACITY_FILL = 0.95
_MIN_PER_KM = 60.0 / PLANNER_KMH


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """A stop as the dispatcher planned it (minutes after local midnight)."""

    order: int
    arrival: float
    start: float
    departure: float
    km_from_prev: float


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One vehicle's planned day."""

    vehicle: int
    stops: tuple[PlannedStop, ...]
    start: float
    end: float
    distance_km: float
    kg: float
    m3: float


def estimate_km(
    lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: float, lon2: float
) -> np.ndarray:
    """The dispatcher's distance estimate: straight line times a detour factor, in km."""
    dy = (np.asarray(lat1) - lat2) * KM_PER_DEG_LAT
    dx = (np.asarray(lon1) - lon2) * KM_PER_DEG_LON
    return np.hypot(dx, dy) * PLANNER_DETOUR


def estimate_km_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """`estimate_km` for two single points, without numpy's per-call overhead."""
    return (
        math.hypot((lat1 - lat2) * KM_PER_DEG_LAT, (lon1 - lon2) * KM_PER_DEG_LON) * PLANNER_DETOUR
    )


def plan_depot_day(
    orders: DayOrders, members: np.ndarray, vehicles: Sequence[VehicleSpec], depot: DepotSite
) -> list[PlannedRoute]:
    """Plan the orders `members` (indices into `orders`) of one depot onto its vehicles."""
    if members.size == 0:
        return []
    chosen = _roster(orders, members, vehicles)
    lat = orders.lat[members]
    lon = orders.lon[members]
    angle = np.arctan2((lat - depot.lat) * KM_PER_DEG_LAT, (lon - depot.lon) * KM_PER_DEG_LON)
    radius = estimate_km(lat, lon, depot.lat, depot.lon) / PLANNER_DETOUR
    sectors = _sector_angles(angle, len(chosen))
    owner = _reserve_skilled(orders, members, chosen, angle, sectors)
    free = np.ones(members.size, dtype=bool)
    sequences: list[list[int]] = []
    for slot, vehicle in enumerate(chosen):
        quota = math.ceil(free.sum() / (len(chosen) - slot))
        sequences.append(
            _nearest_neighbour(
                orders,
                members,
                free,
                vehicle,
                depot,
                angle,
                radius,
                sectors[slot],
                quota,
                owner == slot,
                (owner >= 0) & (owner != slot),
            )
        )
    for local in np.flatnonzero(free):
        _insert_leftover(orders, members, int(local), sequences, chosen, depot)
    routes = []
    for vehicle, seq in zip(chosen, sequences, strict=True):
        if seq:
            routes.append(schedule(orders, [int(members[i]) for i in seq], vehicle, depot))
    return routes


def schedule(
    orders: DayOrders, sequence: Sequence[int], vehicle: VehicleSpec, depot: DepotSite
) -> PlannedRoute:
    """Planned times of a fixed stop sequence, with the dispatcher's estimates."""
    t = vehicle.shift_start_min + LOADING_MIN
    start = t
    pos = (depot.lat, depot.lon)
    stops = []
    total = 0.0
    for i in sequence:
        km = estimate_km_scalar(float(orders.lat[i]), float(orders.lon[i]), *pos)
        arrival = t + km * _MIN_PER_KM + PLANNER_KERB_MIN
        begin = service_start(orders, i, arrival)
        departure = begin + float(orders.service_min[i])
        stops.append(PlannedStop(i, arrival, begin, departure, km))
        total += km
        t = departure
        pos = (float(orders.lat[i]), float(orders.lon[i]))
    back = estimate_km_scalar(depot.lat, depot.lon, *pos)
    total += back
    end = t + back * _MIN_PER_KM + PLANNER_KERB_MIN
    idx = list(sequence)
    return PlannedRoute(
        vehicle=vehicle.index,
        stops=tuple(stops),
        start=start,
        end=end,
        distance_km=round(total, 3),
        kg=float(orders.kg[idx].sum()),
        m3=float(orders.m3[idx].sum()),
    )


def service_start(orders: DayOrders, i: int, arrival: float) -> float:
    """When service can begin at order `i` for an arrival time (waits for the next window)."""
    if arrival <= orders.w1_end[i]:
        return max(arrival, float(orders.w1_start[i]))
    if not math.isnan(orders.w2_end[i]) and arrival <= orders.w2_end[i]:
        return max(arrival, float(orders.w2_start[i]))
    return arrival


def _roster(
    orders: DayOrders, members: np.ndarray, vehicles: Sequence[VehicleSpec]
) -> list[VehicleSpec]:
    # Enough drivers for the volume; skilled trucks always come when skilled orders exist.
    needed = max(1, math.ceil(members.size / TARGET_STOPS))
    must: list[VehicleSpec] = []
    for skill, flags in (("liftgate", orders.needs_liftgate), ("refrigerated", orders.needs_cold)):
        if flags[members].any():
            must += [v for v in vehicles if skill in v.skills and v not in must]
    rest = [v for v in vehicles if v not in must]
    chosen = must + rest[: max(0, needed - len(must))]
    return chosen


def _reserve_skilled(
    orders: DayOrders,
    members: np.ndarray,
    chosen: Sequence[VehicleSpec],
    angle: np.ndarray,
    sectors: np.ndarray,
) -> np.ndarray:
    # Orders needing a skill go to the capable vehicle whose sector is nearest, so that vans
    # never strand them and skilled trucks do not fill up before reaching them.
    owner = np.full(members.size, -1)
    reserved = [0.0] * len(chosen)
    for local, i in enumerate(members):
        needs = set(orders.skills(int(i)))
        if not needs:
            continue
        capable = [s for s, v in enumerate(chosen) if needs <= set(v.skills)]
        if not capable:
            continue
        gaps = np.abs(np.angle(np.exp(1j * (angle[local] - sectors[capable]))))
        ranked = [capable[j] for j in np.argsort(gaps, kind="stable")]
        weight = float(orders.kg[i])
        # The nearest sector first, unless its truck would be over half full of reserved freight.
        roomy = [s for s in ranked if reserved[s] + weight <= 0.5 * chosen[s].type.capacity_kg]
        slot = roomy[0] if roomy else min(ranked, key=lambda s: reserved[s])
        owner[local] = slot
        reserved[slot] += weight
    return owner


def _sector_angles(angle: np.ndarray, k: int) -> np.ndarray:
    # Split the sorted angles into k equal-count chunks and aim each vehicle at a chunk's middle.
    ordered = np.sort(angle)
    centres = (np.arange(k) + 0.5) / k * ordered.size
    return ordered[np.minimum(centres.astype(int), ordered.size - 1)]


def _nearest_neighbour(
    orders: DayOrders,
    members: np.ndarray,
    free: np.ndarray,
    vehicle: VehicleSpec,
    depot: DepotSite,
    angle: np.ndarray,
    radius: np.ndarray,
    sector: float,
    quota: int,
    mine: np.ndarray,
    blocked: np.ndarray,
) -> list[int]:
    lat = orders.lat[members]
    lon = orders.lon[members]
    kg = orders.kg[members]
    m3 = orders.m3[members]
    service = orders.service_min[members]
    w1s, w1e = orders.w1_start[members], orders.w1_end[members]
    w2s, w2e = orders.w2_start[members], orders.w2_end[members]
    lift = orders.needs_liftgate[members]
    cold = orders.needs_cold[members]
    ok_skill = np.ones(members.size, dtype=bool)
    bonus = np.zeros(members.size)
    for skill, flags in (("liftgate", lift), ("refrigerated", cold)):
        if skill in vehicle.skills:
            bonus -= np.where(flags, 25.0, 0.0)
        else:
            ok_skill &= ~flags
    # How far off the vehicle's sector each order lies, as km of arc.
    off = np.abs(np.angle(np.exp(1j * (angle - sector)))) * radius
    cap_kg = vehicle.type.capacity_kg * CAPACITY_FILL
    cap_m3 = vehicle.type.capacity_m3 * CAPACITY_FILL
    t = vehicle.shift_start_min + LOADING_MIN
    pos = (depot.lat, depot.lon)
    load_kg = load_m3 = 0.0
    back = estimate_km(lat, lon, depot.lat, depot.lon) * _MIN_PER_KM
    w2e_or_never = np.nan_to_num(w2e, nan=-1.0)
    last_end = np.where(np.isnan(w2e), w1e, w2e)
    seq: list[int] = []
    quota = max(quota, int(mine.sum()))
    while len(seq) < quota:
        # Room stays kept for this vehicle's reserved skilled orders still to come.
        pending = mine & free
        keep_kg = np.where(mine, 0.0, float(kg[pending].sum()))
        keep_m3 = np.where(mine, 0.0, float(m3[pending].sum()))
        cand = (
            free
            & ok_skill
            & ~blocked
            & (kg + load_kg + keep_kg <= cap_kg)
            & (m3 + load_m3 + keep_m3 <= cap_m3)
        )
        reserved_left = int((mine & free).sum())
        if reserved_left and quota - len(seq) <= reserved_left:
            cand &= mine
        if not cand.any():
            break
        travel = estimate_km(lat, lon, *pos) * _MIN_PER_KM + PLANNER_KERB_MIN
        arrival = t + travel
        in_first = arrival <= w1e
        in_second = ~in_first & (arrival <= w2e_or_never)
        begin = np.where(
            in_first,
            np.maximum(arrival, w1s),
            np.where(in_second, np.maximum(arrival, w2s), arrival),
        )
        late = np.where(in_first | in_second, 0.0, arrival - last_end)
        fits_shift = begin + service + back <= vehicle.shift_end_min
        cand &= fits_shift & (late <= 0.0)
        if not cand.any():
            break
        score = travel + 0.3 * (begin - arrival) + 3.0 * late + 2.5 * off + bonus - 40.0 * mine
        pick = int(np.argmin(np.where(cand, score, np.inf)))
        seq.append(pick)
        free[pick] = False
        load_kg += float(kg[pick])
        load_m3 += float(m3[pick])
        t = float(begin[pick] + service[pick])
        pos = (float(lat[pick]), float(lon[pick]))
    return seq


def _insert_leftover(
    orders: DayOrders,
    members: np.ndarray,
    local: int,
    sequences: list[list[int]],
    vehicles: Sequence[VehicleSpec],
    depot: DepotSite,
) -> None:
    # Cheapest insertion into a route with the skills and room: added driving, lateness of the
    # order itself and of the stops after it, and overtime all count. No room: not planned.
    i = int(members[local])
    needs = set(orders.skills(i))
    wend = float(orders.window_end[i])
    oi_lat, oi_lon = float(orders.lat[i]), float(orders.lon[i])
    choices: list[tuple[float, int, int]] = []
    for r, (seq, vehicle) in enumerate(zip(sequences, vehicles, strict=True)):
        if not needs <= set(vehicle.skills):
            continue
        idx = [int(members[j]) for j in seq]
        if orders.kg[idx].sum() + orders.kg[i] > vehicle.type.capacity_kg or (
            orders.m3[idx].sum() + orders.m3[i] > vehicle.type.capacity_m3
        ):
            continue
        plan = schedule(orders, idx, vehicle, depot)
        arrivals = np.array([st.arrival for st in plan.stops])
        ends = orders.window_end[idx] if idx else np.zeros(0)
        late_now = np.maximum(0.0, arrivals - ends)
        points = [(depot.lat, depot.lon)] + [
            (float(orders.lat[j]), float(orders.lon[j])) for j in idx
        ]
        points.append((depot.lat, depot.lon))
        for p in range(len(points) - 1):
            a, b = points[p], points[p + 1]
            to_i = estimate_km_scalar(a[0], a[1], oi_lat, oi_lon)
            delta_km = (
                to_i
                + estimate_km_scalar(oi_lat, oi_lon, b[0], b[1])
                - estimate_km_scalar(a[0], a[1], b[0], b[1])
            )
            leave = plan.start if p == 0 else plan.stops[p - 1].departure
            late = max(0.0, leave + to_i * _MIN_PER_KM + PLANNER_KERB_MIN - wend)
            push = delta_km * _MIN_PER_KM + float(orders.service_min[i])
            overtime = max(0.0, plan.end + push - vehicle.shift_end_min)
            # Later stops slide by `push` (waiting slack ignored: the dispatcher is cautious).
            knock_on = float((np.maximum(0.0, arrivals[p:] + push - ends[p:]) - late_now[p:]).sum())
            cost = delta_km * _MIN_PER_KM + 3.0 * (late + knock_on) + 2.0 * overtime
            choices.append((cost, r, p))
    if choices:
        _, r, p = min(choices)
        sequences[r].insert(p, local)
