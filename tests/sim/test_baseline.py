"""The pre-optimizer dispatcher: plans every order, respects skills and capacity, and is fast."""

from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np
import pytest

from backend.sim.baseline import plan_depot_day
from backend.sim.city import DEPOTS
from backend.sim.fleet import build_fleet
from backend.sim.history import day_orders

FLEET = build_fleet(np.random.default_rng(0))
A_FRIDAY = date(2026, 11, 20)


def _plan(day: date) -> tuple[object, list]:
    orders = day_orders(7, day, is_today=False)
    routes = []
    for d, depot in enumerate(DEPOTS):
        members = np.flatnonzero(orders.depot == d)
        vehicles = [v for v in FLEET if v.depot_key == depot.key]
        routes += plan_depot_day(orders, members, vehicles, depot)
    return orders, routes


def test_every_order_planned_once_with_the_right_skills() -> None:
    orders, routes = _plan(A_FRIDAY)
    planned = [s.order for r in routes for s in r.stops]
    assert sorted(planned) == list(range(len(orders)))  # type: ignore[arg-type]
    for r in routes:
        vehicle = FLEET[r.vehicle]
        for s in r.stops:
            assert set(orders.skills(s.order)) <= set(vehicle.skills)  # type: ignore[attr-defined]
            assert DEPOTS[int(orders.depot[s.order])].key == vehicle.depot_key  # type: ignore[attr-defined]


def test_routes_fit_the_trucks_and_mostly_the_shift() -> None:
    _, routes = _plan(A_FRIDAY)
    for r in routes:
        vehicle = FLEET[r.vehicle]
        assert r.kg <= vehicle.type.capacity_kg and r.m3 <= vehicle.type.capacity_m3
        times = [r.start] + [t for s in r.stops for t in (s.arrival, s.start, s.departure)]
        assert times == sorted(times)
    overtime = [r for r in routes if r.end > FLEET[r.vehicle].shift_end_min + 30]
    assert len(overtime) <= 0.2 * len(routes)


def test_weekends_roster_fewer_drivers() -> None:
    _, weekday = _plan(A_FRIDAY)
    _, sunday = _plan(A_FRIDAY + timedelta(days=2))
    assert len(sunday) < len(weekday)


@pytest.mark.slow
def test_thirty_days_plan_in_a_few_seconds() -> None:
    started = time.perf_counter()
    for back in range(30):
        _plan(A_FRIDAY - timedelta(days=back))
    assert time.perf_counter() - started < 10
