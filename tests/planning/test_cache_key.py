"""The plan cache's key covers everything that changes the answer.

Every field of every part of a solver problem (orders, vehicles, depots, windows, breaks, pairs)
is changed one at a time and each change is a different key; from the database, a vehicle's
maximum route km and minutes and the depot's coordinates (both missed by the old key) are.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from backend.cache import request_hash
from backend.db.models import Depot, Vehicle
from backend.planning import PlanRequest, build_problem
from backend.solver import Break, Location, Order, Problem, TimeWindow
from backend.solver import Depot as SolverDepot
from backend.solver import Vehicle as SolverVehicle
from backend.solver.model import PickupDelivery
from backend.solver.serialize import problem_fingerprint
from factories import DAY, at_hour, seed_small_day


def _base() -> Problem:
    return Problem(
        orders=(
            Order(
                "a",
                Location(41.90, -87.66),
                demand=(2.0,),
                time_windows=(TimeWindow(3600.0, 7200.0),),
                service_time=300.0,
                skills=frozenset({"liftgate"}),
                priority=1,
                drop_penalty=1000.0,
            ),
            Order("b", Location(41.91, -87.65), demand=(1.0,)),
        ),
        vehicles=(
            SolverVehicle(
                "v",
                start_depot="d",
                end_depot="d",
                capacity=(10.0,),
                shift_start=0.0,
                shift_end=36000.0,
                skills=frozenset({"liftgate"}),
                max_duration=30000.0,
                max_distance=100000.0,
                breaks=(Break(10000.0, 20000.0, 1800.0),),
                fixed_cost=50.0,
                cost_per_km=1.0,
                cost_per_hour=20.0,
            ),
        ),
        depots=(SolverDepot("d", Location(41.89, -87.67)),),
        capacity_units=("kg",),
        pairs=(PickupDelivery("a", "b"),),
    )


def _other(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, frozenset):
        return value | {"refrigerated"}
    if value is None:
        return 123.0
    raise TypeError(value)


def _variants(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    """(field path, a copy of obj with that one field changed), for every leaf field."""
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{path}{f.name}"
        if dataclasses.is_dataclass(value):
            out += [
                (n, dataclasses.replace(obj, **{f.name: v}))
                for n, v in _variants(value, name + ".")
            ]
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for n, v in _variants(value[0], f"{name}[0]."):
                out.append((n, dataclasses.replace(obj, **{f.name: (v, *value[1:])})))
        elif isinstance(value, tuple):
            changed = (*value[:-1], _other(value[-1])) if value else (1.0,)
            out.append((name, dataclasses.replace(obj, **{f.name: changed})))
        elif f.name == "coordinates":
            out.append((name, dataclasses.replace(obj, coordinates="plane")))
        else:
            out.append((name, dataclasses.replace(obj, **{f.name: _other(value)})))
    return out


def _key(problem: Problem) -> str:
    return request_hash({"problem": problem_fingerprint(problem)})


def test_every_field_of_the_problem_changes_the_key() -> None:
    base = _base()
    variants = _variants(base)
    # The walk reaches the fields the old, hand-listed key missed.
    names = {name for name, _ in variants}
    assert {
        "vehicles[0].max_distance",
        "vehicles[0].max_duration",
        "depots[0].location.lat",
    } <= names
    assert len(variants) >= 30
    same = [name for name, variant in variants if _key(variant) == _key(base)]
    assert same == []
    assert _key(_base()) == _key(base)


@pytest.mark.parametrize(
    "change",
    ["max_route_km", "max_route_minutes", "depot_lat", "depot_lon", "request_option"],
)
def test_a_change_in_the_database_misses_the_cache(database, change: str) -> None:
    depot_id = seed_small_day(database)
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=5)
    now = at_hour(7)

    def key(req: PlanRequest = request) -> str:
        with database.session() as session:
            return request_hash(build_problem(session, request=req, now=now).payload)

    before = key()
    assert key() == before  # nothing changed, the same key
    with database.session() as session:
        vehicle = session.scalars(select(Vehicle).order_by(Vehicle.id)).first()
        depot = session.get(Depot, depot_id)
        if change == "max_route_km":
            vehicle.max_route_km = 80.0
        elif change == "max_route_minutes":
            vehicle.max_route_minutes = 300
        elif change == "depot_lat":
            depot.lat += 0.01
        elif change == "depot_lon":
            depot.lon += 0.01
    after = key(request.model_copy(update={"seed": 3})) if change == "request_option" else key()
    assert after != before
