"""Every constraint type is honoured in the returned plan (checked on the plan itself)."""

from __future__ import annotations

import pytest

from backend.solver import (
    Break,
    Depot,
    Location,
    Order,
    PickupDelivery,
    Problem,
    TimeWindow,
    Vehicle,
    solve,
)
from tests.solver.instances import served

XY = Location.xy


def plane(orders, vehicles, depots=None, **kw) -> Problem:
    depots = depots or (Depot("d", XY(0, 0)),)
    return Problem(
        orders=tuple(orders),
        vehicles=tuple(vehicles),
        depots=tuple(depots),
        coordinates="plane",
        **kw,
    )


def route_of(plan, order_id: str):
    for r in plan.routes:
        if any(s.order_id == order_id for s in r.stops):
            return r
    raise AssertionError(f"{order_id} not served")


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_two_capacity_dimensions(engine: str) -> None:
    orders = [Order(f"o{i}", XY(10 + i, 5), demand=(1.0, 10.0)) for i in range(4)]
    vehicles = [Vehicle(f"v{k}", "d", capacity=(10.0, 20.0)) for k in range(2)]
    plan = solve(
        plane(orders, vehicles, capacity_units=("kg", "m3")), engine=engine, time_limit=0.5
    )
    assert len(served(plan)) == 4
    for r in plan.routes:
        assert r.load[1] <= 20.0
        assert all(s.load[1] <= 20.0 for s in r.stops)
    assert sorted(len(r.stops) for r in plan.routes) == [2, 2]


def test_several_time_windows_per_order() -> None:
    orders = [
        Order(
            "far", XY(50, 0), time_windows=(TimeWindow(0, 10), TimeWindow(500, 600)), service_time=7
        )
    ]
    plan = solve(
        plane(orders, [Vehicle("v", "d", shift_end=2000)]), engine="ortools", time_limit=0.5
    )
    (stop,) = plan.routes[0].stops
    assert 500 <= stop.start <= 600
    assert stop.departure == pytest.approx(stop.start + 7)


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_service_times_and_windows(engine: str) -> None:
    orders = [
        Order(
            f"o{i}",
            XY(10 * i, 0),
            time_windows=(TimeWindow(100 * i, 100 * i + 20),),
            service_time=15,
        )
        for i in range(1, 4)
    ]
    plan = solve(plane(orders, [Vehicle("v", "d", shift_end=1000)]), engine=engine, time_limit=0.5)
    stops = plan.routes[0].stops
    assert [s.order_id for s in stops] == ["o1", "o2", "o3"]
    for s, o in zip(stops, orders, strict=True):
        assert o.time_windows[0].start <= s.start <= o.time_windows[0].end
        assert s.departure == pytest.approx(s.start + 15)


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_shifts_and_separate_start_and_end_depots(engine: str) -> None:
    depots = [Depot("west", XY(-100, 0)), Depot("east", XY(100, 0))]
    orders = [Order("mid", XY(0, 0))]
    vehicles = [Vehicle("v", "west", end_depot="east", shift_start=300, shift_end=600)]
    plan = solve(plane(orders, vehicles, depots), engine=engine, time_limit=0.5)
    route = plan.routes[0]
    assert route.start_time >= 300
    assert route.end_time <= 600
    assert route.distance == pytest.approx(200.0)


def test_shift_too_short_leaves_order_out() -> None:
    orders = [Order("far", XY(100, 0))]
    plan = solve(
        plane(orders, [Vehicle("v", "d", shift_start=0, shift_end=150)]),
        engine="ortools",
        time_limit=0.5,
    )
    assert [u.order_id for u in plan.unassigned] == ["far"]


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_max_duration_splits_routes(engine: str) -> None:
    orders = [Order("e", XY(50, 0)), Order("w", XY(-50, 0))]
    vehicles = [Vehicle(f"v{k}", "d", max_duration=150) for k in range(2)]
    plan = solve(plane(orders, vehicles), engine=engine, time_limit=0.5)
    assert len(served(plan)) == 2
    assert plan.vehicles_used == 2
    assert all(r.duration <= 150 for r in plan.routes)


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_max_distance_splits_routes(engine: str) -> None:
    orders = [Order("n", XY(0, 40)), Order("s", XY(0, -40))]
    vehicles = [Vehicle(f"v{k}", "d", max_distance=100) for k in range(2)]
    plan = solve(plane(orders, vehicles), engine=engine, time_limit=0.5)
    assert len(served(plan)) == 2
    assert all(r.distance <= 100 for r in plan.routes)


def test_driver_break_is_planned_and_not_overlapping_service() -> None:
    orders = [Order(f"o{i}", XY(5 * i, 0), service_time=30) for i in range(1, 7)]
    vehicle = Vehicle(
        "v",
        "d",
        shift_start=0,
        shift_end=2000,
        breaks=(Break(earliest=60, latest=120, duration=45),),
    )
    plan = solve(plane(orders, [vehicle]), engine="auto", time_limit=0.5)
    assert plan.engine == "pyvrp"  # breaks are placed after the search, so PyVRP plans them
    assert plan.feasible
    route = plan.routes[0]
    assert len(route.stops) == 6
    (brk,) = route.breaks
    assert 60 <= brk.start <= 120 and brk.duration == 45
    for s in route.stops:
        assert s.departure <= brk.start or s.start >= brk.start + brk.duration


def test_skills() -> None:
    orders = [Order("cold", XY(10, 0), skills=frozenset({"fridge"})), Order("dry", XY(-10, 0))]
    vehicles = [
        Vehicle("plain", "d"),
        Vehicle("reefer", "d", skills=frozenset({"fridge"}), fixed_cost=0),
    ]
    plan = solve(plane(orders, vehicles), engine="auto", time_limit=0.5)
    assert route_of(plan, "cold").vehicle_id == "reefer"


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_priority_decides_which_optional_order_is_served(engine: str) -> None:
    orders = [
        Order("low", XY(10, 0), demand=(1.0,), drop_penalty=100.0),
        Order("high", XY(-10, 0), demand=(1.0,), drop_penalty=100.0, priority=5),
    ]
    vehicles = [Vehicle("v", "d", capacity=(1.0,))]
    plan = solve(plane(orders, vehicles, capacity_units=("pallet",)), engine=engine, time_limit=0.5)
    assert served(plan) == ["high"]
    assert [u.order_id for u in plan.unassigned] == ["low"]


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_cheap_optional_order_is_dropped_for_cost(engine: str) -> None:
    orders = [Order("near", XY(1, 0)), Order("remote", XY(400, 0), drop_penalty=5.0)]
    plan = solve(plane(orders, [Vehicle("v", "d", shift_end=5000)]), engine=engine, time_limit=0.5)
    assert served(plan) == ["near"]
    assert plan.unassigned[0].reason == "dropped_for_cost"


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_fixed_and_per_km_costs_choose_the_vehicle(engine: str) -> None:
    orders = [Order("o", XY(10, 0))]
    vehicles = [
        Vehicle("dear", "d", fixed_cost=500.0),
        Vehicle("cheap", "d", fixed_cost=1.0),
        Vehicle("thirsty", "d", fixed_cost=1.0, cost_per_km=50.0),
    ]
    plan = solve(plane(orders, vehicles), engine=engine, time_limit=0.5)
    assert route_of(plan, "o").vehicle_id == "cheap"
    assert plan.cost == pytest.approx(1.0 + 20.0, rel=1e-3)


def test_pickup_and_delivery_pairs() -> None:
    orders = [
        Order("p1", XY(10, 0), demand=(5.0,)),
        Order("d1", XY(20, 10), demand=(5.0,)),
        Order("p2", XY(-10, 0), demand=(5.0,)),
        Order("d2", XY(-20, -10), demand=(5.0,)),
    ]
    pairs = (PickupDelivery("p1", "d1"), PickupDelivery("p2", "d2"))
    vehicles = [Vehicle(f"v{k}", "d", capacity=(5.0,)) for k in range(2)]
    plan = solve(
        plane(orders, vehicles, capacity_units=("kg",), pairs=pairs), engine="auto", time_limit=0.5
    )
    assert plan.engine == "ortools"
    assert len(served(plan)) == 4
    for p, d in (("p1", "d1"), ("p2", "d2")):
        r = route_of(plan, p)
        ids = [s.order_id for s in r.stops]
        assert d in ids and ids.index(p) < ids.index(d)
        assert all(s.load[0] <= 5.0 for s in r.stops)
