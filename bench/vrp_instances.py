"""Read Solomon / Gehring & Homberger VRPTW files, and generate G&H-format instances."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    # rows: (number, x, y, demand, ready, due, service); row 0 is the depot
    rows: tuple[tuple[int, float, float, float, float, float, float], ...]

    @property
    def depot(self):
        return self.rows[0]

    @property
    def customers(self):
        return self.rows[1:]


def read_instance(path: str | Path) -> Instance:
    lines = [ln.strip() for ln in Path(path).read_text().splitlines()]
    name = lines[0].split()[0] if lines and lines[0] else Path(path).stem
    vehicles = capacity = 0
    rows = []
    mode = None
    for ln in lines[1:]:
        if not ln:
            continue
        up = ln.upper()
        if up.startswith("VEHICLE"):
            mode = "vehicle"
            continue
        if up.startswith("CUSTOMER"):
            mode = "customer"
            continue
        if up.startswith("NUMBER") or up.startswith("CUST"):
            continue
        parts = ln.split()
        if mode == "vehicle" and len(parts) == 2:
            vehicles, capacity = int(parts[0]), int(parts[1])
        elif mode == "customer" and len(parts) >= 7:
            n, x, y, q, r, d, s = parts[:7]
            rows.append((int(n), float(x), float(y), float(q), float(r), float(d), float(s)))
    return Instance(name=name, vehicles=vehicles, capacity=capacity, rows=tuple(rows))


def read_bks(directory: str | Path) -> dict[str, float]:
    path = Path(directory) / "bks.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {k: float(v["distance_only"]["cost"]) for k, v in data.items() if "distance_only" in v}


#: Gehring & Homberger-like classes: (positions, horizon, capacity, window widths, vehicles per
#: customer).  Class 1: short horizon, small vehicles, tight windows; class 2: long horizon,
#: large vehicles, wide windows.  R: uniform, C: clustered, RC: half of each.
GH_CLASSES = {
    "R1": ("R", 3000.0, 200, (60.0, 240.0), 4),
    "C1": ("C", 3000.0, 200, (60.0, 240.0), 4),
    "RC1": ("RC", 3000.0, 200, (60.0, 240.0), 4),
    "R2": ("R", 12000.0, 1000, (300.0, 1500.0), 20),
    "C2": ("C", 12000.0, 700, (300.0, 1500.0), 20),
    "RC2": ("RC", 12000.0, 1000, (300.0, 1500.0), 20),
}


def generate_gh(
    path: str | Path, *, customers: int = 1000, seed: int = 1, kind: str = "R1"
) -> Path:
    """Write a Gehring & Homberger-format instance of class ``kind`` (seeded) and return its path.

    Customers lie in a 500x500 square around a central depot (uniform for R,
    around 25 cluster centres for C, half and half for RC) with demands 1-50 and
    service 10; horizon, capacity and window widths follow the class (see
    ``GH_CLASSES``).  Windows are placed so that each customer is reachable from
    the depot and back within the horizon.  ``kind="R1"`` gives the generator's
    original R1-like instances.
    """
    layout, horizon, capacity, (w_lo, w_hi), per_vehicle = GH_CLASSES[kind]
    rng = random.Random(seed)
    size, service = 500.0, 10.0
    dx, dy = size / 2, size / 2
    # Drawn from their own stream so that R1 instances stay what they were.
    crng = random.Random(seed * 7919 + len(kind))
    centres = [(crng.uniform(40, size - 40), crng.uniform(40, size - 40)) for _ in range(25)]
    lines = [
        f"GEN{customers}_{seed}" if kind == "R1" else f"GEN{kind}_{customers}_{seed}",
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"  {customers // per_vehicle}         {capacity}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    lines.append(f"{0:5d} {dx:9.0f} {dy:9.0f} {0:9d} {0:9d} {horizon:9.0f} {0:9d}")
    for n in range(1, customers + 1):
        # Integer coordinates, as written, so the reachability below is exact.
        clustered = layout == "C" or (layout == "RC" and n % 2 == 0)
        if clustered:
            cx, cy = centres[crng.randrange(len(centres))]
            x = round(min(size, max(0.0, crng.gauss(cx, 12.0))))
            y = round(min(size, max(0.0, crng.gauss(cy, 12.0))))
            rng.uniform(0, size), rng.uniform(0, size)  # keep the main stream aligned
        else:
            x, y = round(rng.uniform(0, size)), round(rng.uniform(0, size))
        d = ((x - dx) ** 2 + (y - dy) ** 2) ** 0.5
        width = rng.uniform(w_lo, w_hi)
        lo_min = d
        lo_max = horizon - d - service - width
        ready = int(rng.uniform(lo_min, max(lo_min, lo_max)))
        due = int(min(ready + width, horizon - d - service))
        q = rng.randint(1, 50)
        lines.append(
            f"{n:5d} {x:9.0f} {y:9.0f} {q:9d} {int(ready):9d} {int(due):9d} {int(service):9d}"
        )
    out = Path(path)
    out.write_text("\n".join(lines) + "\n")
    return out


def to_problem(inst: Instance):
    """The instance as a solver Problem: plane coordinates, distance-only cost."""
    from backend.solver import Depot, Location, Order, Problem, TimeWindow, Vehicle

    d = inst.depot
    orders = tuple(
        Order(
            id=str(r[0]),
            location=Location.xy(r[1], r[2]),
            demand=(r[3],),
            time_windows=(TimeWindow(r[4], r[5]),),
            service_time=r[6],
        )
        for r in inst.customers
    )
    vehicles = tuple(
        Vehicle(
            id=f"v{k}",
            start_depot="depot",
            capacity=(float(inst.capacity),),
            shift_start=d[4],
            shift_end=d[5],
            cost_per_km=1.0,
        )
        for k in range(inst.vehicles)
    )
    return Problem(
        orders=orders,
        vehicles=vehicles,
        depots=(Depot("depot", Location.xy(d[1], d[2])),),
        capacity_units=("demand",),
        coordinates="plane",
    )
