"""What a simulated day needs to know (database ids) and what it adds up (totals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.sim.fleet import VehicleSpec


@dataclass(frozen=True, slots=True)
class FleetContext:
    """Database ids of the demo's depots, vehicles and users, aligned with the specs."""

    fleet: tuple[VehicleSpec, ...]
    depot_ids: tuple[int, ...]  # aligned with backend.sim.city.DEPOTS
    vehicle_ids: tuple[int, ...]  # aligned with fleet
    driver_ids: tuple[int, ...]  # aligned with fleet
    dispatcher_ids: tuple[int, ...]  # aligned with DEPOTS


@dataclass(slots=True)
class HistoryStats:
    """Totals over the simulated days, for the summary and the tests."""

    days: int = 0
    routes: int = 0
    stops: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    on_time: int = 0
    route_minutes: float = 0.0
    shift_minutes: float = 0.0
    load_kg: float = 0.0
    capacity_kg: float = 0.0
    incidents: dict[str, int] = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float:
        """Share of visited stops reached inside a time window (early arrivals wait)."""
        return self.on_time / self.stops if self.stops else 0.0

    @property
    def failed_rate(self) -> float:
        """Share of visited stops that failed."""
        return self.failed / self.stops if self.stops else 0.0

    @property
    def utilization(self) -> float:
        """Share of rostered shift time spent out of the depot (driving, waiting, serving)."""
        return self.route_minutes / self.shift_minutes if self.shift_minutes else 0.0

    @property
    def load_utilization(self) -> float:
        """Share of rostered weight capacity that left the depot loaded."""
        return self.load_kg / self.capacity_kg if self.capacity_kg else 0.0
