"""Turn a validated :class:`Problem` into the integer arrays every engine shares.

Nodes ``0 .. D-1`` are the depots (in ``problem.depots`` order), nodes
``D .. D+N-1`` the orders.  Times are in ticks (``matrices.time_scale`` per
second), distances in the matrix's integer units, demands in
``1 / DEMAND_SCALE`` of their unit and costs in ``1 / COST_SCALE`` currency units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from backend.solver.matrix import Matrices, MatrixProvider, default_provider
from backend.solver.model import Problem, ProblemError

#: Integer cost units per currency unit: fine enough that a cost per hour of a
#: few currency units still rounds to a non-zero cost per second.
COST_SCALE = 1_000_000
#: Demands and capacities are stored in thousandths (demand rounded up,
#: capacity down) so that fractional m3 or kg still fit integer engines.
DEMAND_SCALE = 1000
#: Capacity of a vehicle that states none.
UNLIMITED = 10**12


@dataclass(frozen=True)
class CVehicle:
    """A vehicle in engine units."""

    index: int
    id: str
    start: int
    end: int
    capacity: tuple[int, ...]
    early: int
    late: int
    skills: frozenset[str]
    max_duration: int | None
    max_distance: int | None
    breaks: tuple[tuple[int, int, int], ...]
    fixed: int
    unit_dist: int
    unit_time: int


@dataclass(frozen=True)
class Compiled:
    """The problem in engine units; built once per solve."""

    problem: Problem
    matrices: Matrices
    num_depots: int
    dist: np.ndarray
    dur: np.ndarray
    demand: np.ndarray  # (nodes, units): amount loaded at the depot or picked up
    windows: tuple[tuple[tuple[int, int], ...], ...]  # per node; never empty
    service: np.ndarray
    penalty: tuple[int, ...]  # per order
    mandatory: tuple[bool, ...]  # per order: no explicit drop penalty
    pickup_of: dict[int, int]  # delivery order index -> pickup order index
    delivery_of: dict[int, int]  # pickup order index -> delivery order index
    vehicles: tuple[CVehicle, ...]
    horizon: int

    @cached_property
    def lists(self) -> tuple[list[list[int]], list[list[int]], list[int], list[tuple[int, ...]]]:
        """dist, dur, service and demand as Python lists: scalar reads from numpy are slow."""
        return (
            self.dist.tolist(),
            self.dur.tolist(),
            self.service.tolist(),
            [tuple(row) for row in self.demand.tolist()],
        )

    def __getstate__(self) -> dict[str, object]:
        # The list copies are a per-process cache; rebuilding beats pickling them.
        state = dict(self.__dict__)
        state.pop("lists", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    @property
    def num_orders(self) -> int:
        """Number of orders."""
        return len(self.problem.orders)

    def node(self, order_index: int) -> int:
        """Matrix node of an order."""
        return self.num_depots + order_index

    def can_serve(self, vehicle: CVehicle, order_index: int) -> bool:
        """Whether the vehicle has every skill the order needs."""
        return self.problem.orders[order_index].skills <= vehicle.skills

    def ticks_to_seconds(self, ticks: float) -> float:
        """Convert engine time back to seconds."""
        return ticks / self.matrices.time_scale

    def dist_to_units(self, dist: float) -> float:
        """Convert engine distance back to problem distance units."""
        return dist / self.matrices.dist_scale

    def cost_to_currency(self, cost: float) -> float:
        """Convert engine cost back to currency units."""
        return cost / COST_SCALE


def _ticks(seconds: float, scale: int) -> int:
    return int(round(seconds * scale))


def compile_problem(
    problem: Problem, provider: MatrixProvider | Matrices | None = None
) -> Compiled:
    """Build matrices (once) and integer arrays for ``problem``."""
    points = [d.location for d in problem.depots] + [o.location for o in problem.orders]
    if isinstance(provider, Matrices):
        matrices = provider
    else:
        matrices = (provider or default_provider(problem.coordinates)).matrices(points)
    n = len(points)
    if matrices.distance.shape != (n, n) or matrices.duration.shape != (n, n):
        raise ProblemError("matrix", f"matrix shape {matrices.distance.shape} does not match {n}")
    ts = matrices.time_scale
    num_depots = len(problem.depots)
    depot_index = {d.id: i for i, d in enumerate(problem.depots)}
    units = len(problem.capacity_units)
    order_index = {o.id: i for i, o in enumerate(problem.orders)}

    demand = np.zeros((n, units), dtype=np.int64)
    service = np.zeros(n, dtype=np.int64)
    for i, o in enumerate(problem.orders):
        if o.demand:
            demand[num_depots + i] = [math.ceil(v * DEMAND_SCALE - 1e-9) for v in o.demand]
        service[num_depots + i] = _ticks(o.service_time, ts)

    pickup_of: dict[int, int] = {}
    delivery_of: dict[int, int] = {}
    for p in problem.pairs:
        pi, di = order_index[p.pickup], order_index[p.delivery]
        pickup_of[di] = pi
        delivery_of[pi] = di
        # The pickup's goods ride to the delivery; the delivery's own demand is ignored.
        demand[num_depots + di] = demand[num_depots + pi]

    latest = max([v.shift_end for v in problem.vehicles] + [1.0])
    for o in problem.orders:
        for w in o.time_windows:
            latest = max(latest, w.end)
    horizon = _ticks(latest, ts) + int(service.max(initial=0)) + 1

    windows: list[tuple[tuple[int, int], ...]] = [((0, horizon),)] * num_depots
    for o in problem.orders:
        if o.time_windows:
            ws = sorted((_ticks(w.start, ts), _ticks(w.end, ts)) for w in o.time_windows)
            windows.append(tuple(ws))
        else:
            windows.append(((0, horizon),))

    vehicles = []
    for k, v in enumerate(problem.vehicles):
        cap = (
            tuple(int(math.floor(c * DEMAND_SCALE + 1e-9)) for c in v.capacity)
            if v.capacity
            else (UNLIMITED,) * units
        )
        vehicles.append(
            CVehicle(
                index=k,
                id=v.id,
                start=depot_index[v.start_depot],
                end=depot_index[v.end_depot or v.start_depot],
                capacity=cap,
                early=_ticks(v.shift_start, ts),
                late=_ticks(v.shift_end, ts),
                skills=v.skills,
                max_duration=None if v.max_duration is None else _ticks(v.max_duration, ts),
                max_distance=(
                    None
                    if v.max_distance is None
                    else int(round(v.max_distance * matrices.dist_scale))
                ),
                breaks=tuple(
                    (_ticks(b.earliest, ts), _ticks(b.latest, ts), _ticks(b.duration, ts))
                    for b in v.breaks
                ),
                fixed=int(round(v.fixed_cost * COST_SCALE)),
                unit_dist=int(round(v.cost_per_km * COST_SCALE / matrices.per_km)),
                unit_time=int(round(v.cost_per_hour * COST_SCALE / (3600 * ts))),
            )
        )

    # A mandatory order's penalty must beat any detour it can cause, including
    # waking up the dearest vehicle, so it is only dropped when truly impossible.
    max_arc = int(matrices.distance.max(initial=0))
    worst = max(2 * max_arc * v.unit_dist + horizon * v.unit_time + v.fixed for v in vehicles)
    big = 10 * worst + 1000
    penalty = []
    mandatory = []
    for o in problem.orders:
        factor = 1 + o.priority
        if o.drop_penalty is None:
            penalty.append(big * factor)
            mandatory.append(True)
        else:
            penalty.append(int(round(o.drop_penalty * COST_SCALE)) * factor)
            mandatory.append(False)

    return Compiled(
        problem=problem,
        matrices=matrices,
        num_depots=num_depots,
        dist=np.asarray(matrices.distance, dtype=np.int64),
        dur=np.asarray(matrices.duration, dtype=np.int64),
        demand=demand,
        windows=tuple(windows),
        service=service,
        penalty=tuple(penalty),
        mandatory=tuple(mandatory),
        pickup_of=pickup_of,
        delivery_of=delivery_of,
        vehicles=tuple(vehicles),
        horizon=horizon,
    )


def reserve_breaks(c: Compiled) -> Compiled:
    """The problem the engines search: breaks removed, their time reserved from the shift.

    Each vehicle's shift end and maximum duration shrink by its breaks' total
    duration, and every order window that ends after the earliest break may
    start closes that much earlier, so placing the breaks afterwards
    (:mod:`backend.solver.evaluate`) delays the stops after a break by at most
    its duration and keeps them inside their real windows and shift.  Windows
    are per order, not per vehicle: in a fleet where only some drivers take
    breaks the others plan with the same tighter windows (feasible, a little
    dearer).  Engines that model breaks natively plan them badly (OR-Tools'
    break intervals turned a 30-minute break into hundreds of kilometres and a
    dropped order); with the time merely reserved, 7 of 15 North routes of a demo
    day had no gap left for the break, and repairing them cost 11 %.
    """
    if not any(v.breaks for v in c.vehicles):
        return c
    earliest = min(lo for v in c.vehicles for lo, _, _ in v.breaks)
    total = max(sum(d for _, _, d in v.breaks) for v in c.vehicles)
    windows = tuple(
        ws
        if k < c.num_depots
        else tuple((lo, max(lo, hi - total)) if hi > earliest else (lo, hi) for lo, hi in ws)
        for k, ws in enumerate(c.windows)
    )
    vehicles = []
    for v in c.vehicles:
        total = sum(d for _, _, d in v.breaks)
        vehicles.append(
            replace(
                v,
                breaks=(),
                late=max(v.early, v.late - total),
                max_duration=None if v.max_duration is None else max(0, v.max_duration - total),
            )
        )
    return replace(c, vehicles=tuple(vehicles), windows=windows)
