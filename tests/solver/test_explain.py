"""Unassigned orders carry the reason found by checking them against the constraints."""

from __future__ import annotations

import pytest

from backend.solver import Depot, Location, Order, Problem, Reason, TimeWindow, Vehicle, solve

XY = Location.xy


def one_vehicle(order: Order, **vkw) -> Problem:
    base = Order("ok", XY(1, 0), demand=(1.0,))
    return Problem(
        orders=(base, order),
        vehicles=(Vehicle("v", "d", capacity=(10.0,), **vkw),),
        depots=(Depot("d", XY(0, 0)),),
        capacity_units=("kg",),
        coordinates="plane",
    )


def reason_for(problem: Problem, order_id: str, engine: str = "ortools") -> Reason:
    plan = solve(problem, engine=engine, time_limit=0.5)
    (u,) = [u for u in plan.unassigned if u.order_id == order_id]
    assert order_id in u.detail
    return u.reason


def test_capacity() -> None:
    assert reason_for(one_vehicle(Order("big", XY(2, 0), demand=(11.0,))), "big") == "capacity"


def test_time_window_unreachable_from_depot() -> None:
    order = Order("late", XY(100, 0), demand=(1.0,), time_windows=(TimeWindow(0, 50),))
    assert reason_for(one_vehicle(order, shift_end=1000), "late") == Reason.TIME_WINDOW


def test_cannot_return_before_shift_end_is_a_time_window_reason() -> None:
    order = Order("far", XY(300, 0), demand=(1.0,))
    assert reason_for(one_vehicle(order, shift_end=500), "far") == Reason.TIME_WINDOW


def test_skill() -> None:
    order = Order("cold", XY(2, 0), demand=(1.0,), skills=frozenset({"fridge"}))
    assert reason_for(one_vehicle(order), "cold") == Reason.SKILL


def test_shift_length() -> None:
    order = Order("far", XY(100, 0), demand=(1.0,))
    assert reason_for(one_vehicle(order, max_duration=150), "far") == Reason.SHIFT_LENGTH


def test_max_distance() -> None:
    order = Order("far", XY(100, 0), demand=(1.0,))
    assert reason_for(one_vehicle(order, max_distance=150), "far") == Reason.MAX_DISTANCE


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_dropped_for_cost(engine: str) -> None:
    order = Order("remote", XY(300, 0), demand=(1.0,), drop_penalty=1.0)
    assert reason_for(one_vehicle(order), "remote", engine) == Reason.DROPPED_FOR_COST


def test_no_room_when_the_fleet_is_full() -> None:
    orders = tuple(Order(f"o{i}", XY(i + 1, 0), demand=(6.0,)) for i in range(2))
    problem = Problem(
        orders=orders,
        vehicles=(Vehicle("v", "d", capacity=(10.0,)),),
        depots=(Depot("d", XY(0, 0)),),
        capacity_units=("kg",),
        coordinates="plane",
    )
    plan = solve(problem, engine="ortools", time_limit=0.5)
    assert len(plan.unassigned) == 1
    assert plan.unassigned[0].reason == Reason.NO_ROOM


def test_the_last_constraint_to_rule_out_a_vehicle_is_reported() -> None:
    # One vehicle is too small, the other too short-lived: the window/shift rules it out last.
    order = Order("x", XY(100, 0), demand=(5.0,))
    problem = Problem(
        orders=(order,),
        vehicles=(
            Vehicle("small", "d", capacity=(1.0,)),
            Vehicle("short", "d", capacity=(10.0,), shift_end=100),
        ),
        depots=(Depot("d", XY(0, 0)),),
        capacity_units=("kg",),
        coordinates="plane",
    )
    plan = solve(problem, engine="ortools", time_limit=0.5)
    assert plan.unassigned[0].reason == Reason.TIME_WINDOW
