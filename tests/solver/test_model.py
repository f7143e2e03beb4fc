"""Malformed requests are refused before solving, with a ProblemError naming the field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend.solver import (
    MAX_ORDERS,
    Location,
    Order,
    ProblemError,
    TimeWindow,
    solve,
)
from backend.solver.live import LiveState, VehicleState, reoptimize
from tests.solver.instances import CENTER, square


def refused(problem, field: str, **kw) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        solve(problem, time_limit=kw.pop("time_limit", 1), **kw)
    assert info.value.field == field
    assert field in str(info.value)
    return info.value


def with_order(problem, index: int, **changes):
    orders = list(problem.orders)
    orders[index] = replace(orders[index], **changes)
    return replace(problem, orders=tuple(orders))


def test_no_vehicles() -> None:
    refused(replace(square(), vehicles=()), "vehicles")


def test_negative_demand() -> None:
    refused(with_order(square(), 2, demand=(-5.0,)), "orders[2].demand[0]")


def test_non_numeric_demand() -> None:
    err = refused(with_order(square(), 1, demand=("heavy",)), "orders[1].demand[0]")
    assert "number" in err.message


def test_demand_with_wrong_number_of_units() -> None:
    refused(with_order(square(), 0, demand=(1.0, 2.0)), "orders[0].demand")


def test_window_ending_before_it_starts() -> None:
    refused(
        with_order(square(), 3, time_windows=(TimeWindow(5000, 4000),)), "orders[3].time_windows[0]"
    )


def test_latitude_out_of_range() -> None:
    refused(with_order(square(), 0, location=Location(91.0, 17.0)), "orders[0].location.lat")


def test_longitude_out_of_range() -> None:
    refused(with_order(square(), 0, location=Location(48.0, 181.0)), "orders[0].location.lon")


def test_unknown_depot() -> None:
    p = square()
    vehicles = (replace(p.vehicles[0], start_depot="nowhere"),) + p.vehicles[1:]
    refused(replace(p, vehicles=vehicles), "vehicles[0].start_depot")


def test_unknown_end_depot() -> None:
    p = square()
    vehicles = p.vehicles[:1] + (replace(p.vehicles[1], end_depot="nowhere"),)
    refused(replace(p, vehicles=vehicles), "vehicles[1].end_depot")


def test_unknown_vehicle_in_live_state() -> None:
    p = square()
    plan = solve(p, engine="ortools", time_limit=0.5)
    state = LiveState(now=9 * 3600, vehicles=(VehicleState("ghost", CENTER, 9 * 3600),))
    with pytest.raises(ProblemError) as info:
        reoptimize(p, plan, state, time_limit=0.5)
    assert info.value.field == "state.vehicles[0].vehicle_id"


def test_request_over_size_limit() -> None:
    p = square()
    orders = tuple(replace(p.orders[0], id=f"x{i}") for i in range(MAX_ORDERS + 1))
    refused(replace(p, orders=orders), "orders")


@pytest.mark.parametrize("limit", [0, -1])
def test_time_limit_must_be_positive(limit: float) -> None:
    refused(square(), "time_limit", time_limit=limit)


def test_duplicate_order_ids() -> None:
    p = square()
    refused(replace(p, orders=p.orders + (p.orders[0],)), "orders")


def test_unknown_engine() -> None:
    refused(square(), "engine", engine="magic")


def test_shift_ending_before_it_starts() -> None:
    p = square()
    vehicles = (replace(p.vehicles[0], shift_start=10, shift_end=5),) + p.vehicles[1:]
    refused(replace(p, vehicles=vehicles), "vehicles[0].shift_end")


def test_infeasible_but_well_formed_gives_a_plan() -> None:
    p = square(n_orders=3)
    p = replace(p, orders=p.orders + (Order("huge", CENTER, demand=(10_000.0,)),))
    plan = solve(p, engine="ortools", time_limit=0.5)
    assert [u.order_id for u in plan.unassigned] == ["huge"]


def test_a_plan_survives_json_and_back() -> None:
    """What the result cache stores: every route, stop, break, unassigned order and violation."""
    import json

    from backend.solver import (
        BreakSlot,
        Plan,
        Reason,
        Route,
        Stop,
        Unassigned,
        Violation,
        plan_from_json,
        plan_to_json,
    )

    plan = Plan(
        routes=(
            Route(
                vehicle_id="v1",
                stops=(Stop("o1", 10.0, 12.0, 20.0, (3.0,)),),
                start_time=0.0,
                end_time=30.0,
                distance=1000.0,
                duration=30.0,
                load=(3.0,),
                cost=5.0,
                breaks=(BreakSlot(21.0, 5.0),),
            ),
        ),
        unassigned=(Unassigned("o2", Reason("capacity"), "too heavy"),),
        cost=5.0,
        distance=1000.0,
        duration=30.0,
        engine="ortools",
        solve_time=0.1,
        score=0.9,
        capacity_units=("kg",),
        violations=(Violation("v1", "o1", "window", "late by 2 s"),),
    )
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan
