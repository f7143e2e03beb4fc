"""The benchmark's instance reader, generator and independent checker behave on tiny inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from vrp_checker import check_routes  # noqa: E402
from vrp_instances import generate_gh, read_instance, to_problem  # noqa: E402

from backend.solver import EuclideanProvider, solve  # noqa: E402

TINY = """TINY

VEHICLE
NUMBER     CAPACITY
  2         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0         0          0          0       1000          0
    1      3         4         10          0        100         10
    2      6         8         10         20         25         10
    3     -3        -4         10          0       1000         10
"""


@pytest.fixture()
def tiny(tmp_path: Path):
    path = tmp_path / "TINY.txt"
    path.write_text(TINY)
    return read_instance(path)


def test_reader(tiny) -> None:
    assert (tiny.vehicles, tiny.capacity, len(tiny.customers)) == (2, 20, 3)
    assert tiny.depot[5] == 1000


def test_checker_accepts_a_feasible_plan_and_prices_it(tiny) -> None:
    chk = check_routes(tiny, [[1, 2], [3]])
    assert chk.feasible, chk.errors
    assert chk.cost == pytest.approx(5 + 5 + 10 + 5 + 5)


def test_checker_flags_each_violation(tiny) -> None:
    assert not check_routes(tiny, [[1, 2, 3]]).feasible  # capacity 30 > 20
    assert not check_routes(tiny, [[3, 2], [1]]).feasible  # 2 reached at 30 > due 25
    assert not check_routes(tiny, [[1], [3]]).feasible  # 2 never served
    assert not check_routes(tiny, [[1, 2], [3, 1]]).feasible  # 1 served twice


def test_solver_plan_passes_the_checker(tiny) -> None:
    plan = solve(to_problem(tiny), engine="pyvrp", time_limit=0.5, matrix=EuclideanProvider())
    routes = [[int(s.order_id) for s in r.stops] for r in plan.routes if r.stops]
    assert check_routes(tiny, routes).feasible


def test_generator_is_deterministic_and_readable(tmp_path: Path) -> None:
    a = generate_gh(tmp_path / "a.txt", customers=50, seed=4).read_text()
    b = generate_gh(tmp_path / "b.txt", customers=50, seed=4).read_text()
    assert a == b
    inst = read_instance(tmp_path / "a.txt")
    assert len(inst.customers) == 50
