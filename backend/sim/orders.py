"""One day's delivery orders in the demo city: where, what, when, for whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from backend.sim.city import (
    NEIGHBOURHOODS,
    depot_territory,
    full_address,
    is_on_land,
    is_public_holiday,
    snap_to_street,
)
from backend.sim.names import customer_names
from backend.sim.traffic import KM_PER_DEG_LAT, KM_PER_DEG_LON

# Mean orders per weekday (Monday = 0): weekends are quieter, Fridays busier.
WEEKDAY_VOLUME = (405.0, 400.0, 410.0, 415.0, 430.0, 320.0, 240.0)
HOLIDAY_SHARE = 0.3  # on public holidays only businesses that stay open order
TODAY_MIN_ORDERS, TODAY_MAX_ORDERS = 300, 500
HEAVY_KG = 250.0

_NOTES = (
    "Call on arrival",
    "Loading dock in the alley",
    "Leave with the doorman",
    "Buzzer broken, knock loudly",
    "Deliver to the back door",
    "Ring twice",
    "Fragile: glassware",
    "Use the freight elevator",
)


@dataclass(frozen=True, slots=True)
class DayOrders:
    """A day's orders as parallel arrays; times are minutes after local midnight."""

    day: date
    lat: np.ndarray
    lon: np.ndarray
    depot: np.ndarray  # index into backend.sim.city.DEPOTS
    neighbourhood: np.ndarray
    business: np.ndarray
    kg: np.ndarray
    m3: np.ndarray
    service_min: np.ndarray
    w1_start: np.ndarray
    w1_end: np.ndarray
    w2_start: np.ndarray  # NaN when the order has one window
    w2_end: np.ndarray
    window_end: np.ndarray  # the last minute any window allows
    priority: np.ndarray
    needs_liftgate: np.ndarray
    needs_cold: np.ndarray
    created_min: np.ndarray  # minutes relative to local midnight of `day` (negative: day before)
    customer: list[str]
    address: list[str]
    notes: list[str]

    def __len__(self) -> int:
        return len(self.lat)

    def skills(self, i: int) -> list[str]:
        """The skills order `i` needs from its vehicle."""
        out = []
        if self.needs_liftgate[i]:
            out.append("liftgate")
        if self.needs_cold[i]:
            out.append("refrigerated")
        return out


def order_count(rng: np.random.Generator, day: date, *, is_today: bool) -> int:
    """How many orders a day gets; the demo day always has a full workload."""
    mean = WEEKDAY_VOLUME[day.weekday()] * (HOLIDAY_SHARE if is_public_holiday(day) else 1.0)
    n = int(round(rng.normal(mean, 22.0)))
    if is_today:
        n = int(np.clip(n, TODAY_MIN_ORDERS + 20, TODAY_MAX_ORDERS - 20))
    return max(n, 50)


def generate_orders(rng: np.random.Generator, day: date, count: int) -> DayOrders:
    """Draw `count` orders for `day` from `rng` (locations, demand, windows, names)."""
    weights = np.array([h.weight for h in NEIGHBOURHOODS])
    hood = rng.choice(len(NEIGHBOURHOODS), size=count, p=weights / weights.sum())
    business = rng.random(count) < np.array([NEIGHBOURHOODS[h].business_share for h in hood])
    lat, lon, address = _locations(rng, hood)

    depot = depot_territory(lat)

    # Parcels: businesses order more; a few pallets need a liftgate truck.
    kg = np.where(
        business, rng.lognormal(np.log(52.0), 0.75, count), rng.lognormal(np.log(21.0), 0.7, count)
    )
    heavy = rng.random(count) < 0.025
    kg = np.where(heavy, rng.uniform(HEAVY_KG, 650.0, count), np.minimum(kg, HEAVY_KG - 10))
    cold = (rng.random(count) < np.where(business, 0.12, 0.03)) & ~heavy
    density = rng.uniform(110.0, 260.0, count)  # kg per m3
    m3 = np.round(kg / density, 3)
    kg = np.round(kg, 1)
    service = 4.0 + 0.035 * kg + np.where(business, 2.0, 0.0) + rng.exponential(1.0, count)
    service = np.round(np.clip(np.where(heavy, service + 8.0, service), 3.0, 35.0) * 2) / 2

    w1s, w1e, w2s, w2e = _windows(rng, business)
    priority = np.clip(np.round(rng.normal(5.0, 1.8, count)) + cold * 2 + heavy, 1, 10).astype(int)
    # Order cut-off is 05:00, before the morning planning session.
    created = rng.uniform(-16 * 60, 5 * 60, count)  # from yesterday 08:00 to today 05:00
    names = customer_names(rng, business, cold)
    note_pick = rng.integers(0, len(_NOTES), count)
    has_note = rng.random(count) < 0.15
    notes = [_NOTES[note_pick[i]] if has_note[i] else "" for i in range(count)]
    return DayOrders(
        day=day,
        lat=lat,
        lon=lon,
        depot=depot,
        neighbourhood=hood,
        business=business,
        kg=kg,
        m3=m3,
        service_min=service,
        w1_start=w1s,
        w1_end=w1e,
        w2_start=w2s,
        w2_end=w2e,
        window_end=np.where(np.isnan(w2e), w1e, w2e),
        priority=priority,
        needs_liftgate=heavy,
        needs_cold=cold,
        created_min=np.round(created, 1),
        customer=names,
        address=address,
        notes=notes,
    )


def _locations(
    rng: np.random.Generator, hood: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    # Gaussian scatter around the centre, snapped to a grid street; off-land draws are redrawn.
    n = len(hood)
    lat = np.empty(n)
    lon = np.empty(n)
    address: list[str] = [""] * n
    todo = np.arange(n)
    while todo.size:
        centres = [NEIGHBOURHOODS[h] for h in hood[todo]]
        spread = np.array([c.spread_km for c in centres])
        cand_lat = (
            np.array([c.lat for c in centres])
            + rng.normal(0, 1, todo.size) * spread / KM_PER_DEG_LAT
        )
        cand_lon = (
            np.array([c.lon for c in centres])
            + rng.normal(0, 1, todo.size) * spread / KM_PER_DEG_LON
        )
        along_ns = rng.random(todo.size) < 0.5
        retry = []
        for k, i in enumerate(todo):
            s_lat, s_lon, line = snap_to_street(cand_lat[k], cand_lon[k], bool(along_ns[k]))
            if not is_on_land(s_lat, s_lon):
                retry.append(i)
                continue
            lat[i], lon[i] = s_lat, s_lon
            address[i] = full_address(line, s_lat, s_lon)
        todo = np.array(retry, dtype=int)
    return lat, lon, address


def _windows(
    rng: np.random.Generator, business: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Kinds: 0 morning 08-12, 1 afternoon 12-17, 2 all day 08-18, 3 two-hour slot, 4 two windows.
    n = len(business)
    p_business = np.array([0.34, 0.12, 0.14, 0.30, 0.10])
    p_home = np.array([0.14, 0.18, 0.12, 0.52, 0.04])
    u = rng.random(n)
    kind = np.where(
        business,
        np.searchsorted(np.cumsum(p_business), u * p_business.sum()),
        np.searchsorted(np.cumsum(p_home), u * p_home.sum()),
    )
    kind = np.minimum(kind, 4)
    slot = rng.integers(8, 16, n) * 60.0
    first_start = rng.choice([480.0, 540.0], n)
    second_start = rng.choice([840.0, 900.0], n)
    w1s = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3], [480.0, 720.0, 480.0, slot], first_start
    )
    w1e = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [720.0, 1020.0, 1080.0, slot + 120],
        first_start + 120,
    )
    w2s = np.where(kind == 4, second_start, np.nan)
    w2e = np.where(kind == 4, second_start + 120, np.nan)
    return w1s, w1e, w2s, w2e
