"""The demo fleet: two vehicle types, 25 vehicles over two depots, shifts and skills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

import numpy as np

DIESEL_CO2_KG_PER_L = 2.68


@dataclass(frozen=True, slots=True)
class VehicleType:
    """Capacities, consumption and costs shared by every vehicle of a type."""

    key: str
    label: str
    capacity_kg: float
    capacity_m3: float
    fuel_l_per_km: float
    cost_per_km: float
    cost_per_hour: float
    fixed_cost: float


CARGO_VAN = VehicleType(
    "cargo_van", "Cargo van (Ford Transit 350 HD)", 1400, 11.0, 0.13, 0.55, 31.0, 55.0
)
BOX_TRUCK = VehicleType(
    "box_truck", "Box truck 16 ft (Isuzu NPR-HD)", 2900, 22.0, 0.21, 0.85, 35.0, 90.0
)


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """One vehicle of the demo fleet and the depot it belongs to."""

    index: int
    name: str
    type: VehicleType
    depot_key: str
    plate: str
    shift_start: time
    shift_end: time
    skills: tuple[str, ...]

    @property
    def shift_start_min(self) -> float:
        """Shift start in minutes after local midnight."""
        return self.shift_start.hour * 60 + self.shift_start.minute

    @property
    def shift_end_min(self) -> float:
        """Shift end in minutes after local midnight."""
        return self.shift_end.hour * 60 + self.shift_end.minute


# (depot, type, count, skills per vehicle in order); the north depot serves the busier side.
_ROSTER: tuple[tuple[str, VehicleType, tuple[tuple[str, ...], ...]], ...] = (
    ("north", CARGO_VAN, ((), (), (), (), (), (), (), (), (), ("refrigerated",))),
    ("north", BOX_TRUCK, (("liftgate",), ("liftgate", "refrigerated"), ("liftgate",), (), ())),
    ("south", CARGO_VAN, ((), (), (), (), (), (), ("refrigerated",))),
    ("south", BOX_TRUCK, (("liftgate",), ("liftgate", "refrigerated"), ())),
)
_SHIFTS = ((time(7, 0), time(17, 0)), (time(8, 0), time(18, 0)))
_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def build_fleet(rng: np.random.Generator) -> tuple[VehicleSpec, ...]:
    """The 25 vehicles of the demo: names, plates (from `rng`), shifts and skills."""
    specs: list[VehicleSpec] = []
    counters = {"cargo_van": 0, "box_truck": 0}
    for depot_key, vtype, skill_sets in _ROSTER:
        for i, skills in enumerate(skill_sets):
            counters[vtype.key] += 1
            prefix = "VAN" if vtype is CARGO_VAN else "TRK"
            letters = "".join(rng.choice(list(_PLATE_LETTERS), size=2))
            plate = f"{letters} {int(rng.integers(10000, 99999))}"
            shift = _SHIFTS[i % 2]
            specs.append(
                VehicleSpec(
                    index=len(specs),
                    name=f"{prefix}-{counters[vtype.key]:02d}",
                    type=vtype,
                    depot_key=depot_key,
                    plate=plate,
                    shift_start=shift[0],
                    shift_end=shift[1],
                    skills=skills,
                )
            )
    return tuple(specs)
