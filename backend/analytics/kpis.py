"""Every KPI, defined once: the additive sums it needs (`Measures`) and its formula (`KPIS`).

The aggregates store only sums and counts, so any grouping (a day, a month, a depot, a driver)
adds rows and then divides: a ratio is never averaged. README.md in this package lists each
formula; the targets come from settings (backend/config.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

KM_PER_MILE = 1.609344
LITRES_PER_US_GALLON = 3.785411784


@dataclass(slots=True)
class Measures:
    """Sums over a group of aggregate rows; every KPI is a function of these."""

    # analytics_route_daily
    routes: int = 0
    km: float = 0.0
    km_planned: float = 0.0
    route_min: float = 0.0
    planned_min: float = 0.0
    drive_min: float = 0.0
    shift_min: float = 0.0
    cost: float = 0.0
    fuel_l: float = 0.0
    co2_kg: float = 0.0
    load_kg: float = 0.0
    capacity_kg: float = 0.0
    stops: int = 0
    visited: int = 0
    on_time: int = 0
    failed_stops: int = 0
    late_15: int = 0
    late_30: int = 0
    late_60: int = 0
    late_over_60: int = 0
    late_min: float = 0.0
    eta_abs_min: float = 0.0
    eta_n: int = 0
    incidents: int = 0
    # analytics_order_daily
    orders: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    failed_reasons: dict[str, int] = field(default_factory=dict)
    cancelled_reasons: dict[str, int] = field(default_factory=dict)
    # mv_route_performance_analytics
    requests: int = 0
    score_sum: float = 0.0
    score_n: int = 0
    planning_n: int = 0
    planning_min: float = 0.0
    # analytics_rating_daily
    ratings: int = 0
    rating_sum: float = 0.0

    def add(self, other: Measures) -> Measures:
        """Add `other` into this one (returns self)."""
        for name in _NUMBERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _REASONS:
            mine = getattr(self, name)
            for key, n in getattr(other, name).items():
                mine[key] = mine.get(key, 0) + n
        return self

    @classmethod
    def total(cls, parts: Iterable[Measures]) -> Measures:
        """The sum of `parts`."""
        result = cls()
        for part in parts:
            result.add(part)
        return result

    def as_dict(self) -> dict[str, Any]:
        """The sums as plain JSON values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measures:
        """Measures from `as_dict` output (unknown keys ignored, bad values refused)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name.endswith("_reasons"):
                if not isinstance(value, dict) or not all(
                    isinstance(k, str) and _is_count(v) for k, v in value.items()
                ):
                    raise ValueError(f"{f.name}: must map reasons to counts")
                values[f.name] = dict(value)
            elif not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{f.name}: must be a number")
            else:
                values[f.name] = value
        return cls(**values)


_REASONS = tuple(f.name for f in fields(Measures) if f.name.endswith("_reasons"))
_NUMBERS = tuple(f.name for f in fields(Measures) if f.name not in _REASONS)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI: a key, how people call it, its unit, formula and whether higher is better."""

    key: str
    label: str
    unit: str  # "$", "%", "km", "h", "l", "t", "min", "mpg", "l/100km", "/h", "/5", "" (a count)
    formula: str
    compute: Callable[[Measures], float | None]
    higher_is_better: bool = True
    target_setting: str | None = None

    def value(self, m: Measures) -> float | None:
        """This KPI over the measures (None where its denominator is zero)."""
        return self.compute(m)


def _lateness_avg(m: Measures) -> float | None:
    late = m.late_15 + m.late_30 + m.late_60 + m.late_over_60
    return _ratio(m.late_min, late)


KPIS: tuple[Kpi, ...] = (
    Kpi("cost_per_km", "Cost per km", "$", "cost / km", lambda m: _ratio(m.cost, m.km),
        False, "target_cost_per_km"),
    Kpi("cost_per_mile", "Cost per mile", "$", "cost / (km / 1.609344)",
        lambda m: _ratio(m.cost, m.km / KM_PER_MILE), False, "target_cost_per_mile"),
    Kpi("on_time_rate", "On-time rate", "%", "on_time / visited",
        lambda m: _ratio(m.on_time, m.visited), True, "target_on_time_rate"),
    Kpi("fleet_utilization", "Fleet utilization", "%", "route_min / shift_min",
        lambda m: _ratio(m.route_min, m.shift_min), True, "target_fleet_utilization"),
    Kpi("load_utilization", "Load utilization", "%", "load_kg / capacity_kg",
        lambda m: _ratio(m.load_kg, m.capacity_kg)),
    Kpi("distance_km", "Distance", "km", "km", lambda m: m.km if m.routes else None),
    Kpi("driving_hours", "Driving time", "h", "drive_min / 60",
        lambda m: m.drive_min / 60 if m.routes else None),
    Kpi("stops_per_hour", "Stops per hour", "/h", "visited / (route_min / 60)",
        lambda m: _ratio(m.visited, m.route_min / 60)),
    Kpi("distance_per_stop", "Distance per stop", "km", "km / visited",
        lambda m: _ratio(m.km, m.visited), False),
    Kpi("fuel_l", "Fuel used", "l", "fuel_l", lambda m: m.fuel_l if m.routes else None, False),
    Kpi("mpg", "Fuel economy", "mpg", "(km / 1.609344) / (fuel_l / 3.785411784)",
        lambda m: _ratio(m.km / KM_PER_MILE, m.fuel_l / LITRES_PER_US_GALLON), True,
        "target_mpg"),
    Kpi("l_per_100km", "Fuel per 100 km", "l/100km", "100 x fuel_l / km",
        lambda m: _ratio(100 * m.fuel_l, m.km), False, "target_l_per_100km"),
    Kpi("co2_t", "CO2", "t", "co2_kg / 1000", lambda m: m.co2_kg / 1000 if m.routes else None,
        False),
    Kpi("planning_minutes", "Route-planning time", "min", "planning_min / planning_n",
        lambda m: _ratio(m.planning_min, m.planning_n), False, "target_planning_minutes"),
    Kpi("optimization_score", "Optimization score", "", "score_sum / score_n",
        lambda m: _ratio(m.score_sum, m.score_n)),
    Kpi("failed_rate", "Failed share", "%", "failed_stops / visited",
        lambda m: _ratio(m.failed_stops, m.visited), False),
    Kpi("failed", "Failed deliveries", "", "orders with status failed",
        lambda m: m.failed if m.orders else None, False),
    Kpi("cancelled", "Cancelled deliveries", "", "orders with status cancelled",
        lambda m: m.cancelled if m.orders else None, False),
    Kpi("avg_lateness_min", "Average lateness", "min", "late_min / late stops",
        _lateness_avg, False),
    Kpi("km_vs_plan", "Distance vs plan", "%", "(km - km_planned) / km_planned",
        lambda m: _ratio(m.km - m.km_planned, m.km_planned), False),
    Kpi("duration_vs_plan", "Duration vs plan", "%", "(route_min - planned_min) / planned_min",
        lambda m: _ratio(m.route_min - m.planned_min, m.planned_min), False),
    Kpi("eta_error_min", "ETA error", "min", "eta_abs_min / eta_n",
        lambda m: _ratio(m.eta_abs_min, m.eta_n), False),
    Kpi("incidents", "Incidents", "", "incident events on routes",
        lambda m: m.incidents if m.routes else None, False),
    Kpi("customer_rating", "Customer rating", "/5", "rating_sum / ratings",
        lambda m: _ratio(m.rating_sum, m.ratings), True, "target_rating"),
    Kpi("ratings", "Ratings", "", "ratings given", lambda m: m.ratings if m.ratings else None),
)  # fmt: skip
KPI_BY_KEY = {k.key: k for k in KPIS}

# Stops by lateness after their window: label -> the Measures field holding the count.
LATENESS_BINS = (
    ("on time", "on_time"),
    ("0-15 min", "late_15"),
    ("15-30 min", "late_30"),
    ("30-60 min", "late_60"),
    ("> 60 min", "late_over_60"),
)


def kpi_values(m: Measures) -> dict[str, float | None]:
    """Every KPI over `m`, by key."""
    return {k.key: k.value(m) for k in KPIS}


@dataclass(frozen=True, slots=True)
class Targets:
    """The business targets (settings; the original design's values by default)."""

    cost_per_mile: float = 1.20
    on_time_rate: float = 0.98
    fleet_utilization: float = 0.90
    planning_minutes: float = 1.0
    mpg: float = 7.8
    rating: float = 4.8

    @classmethod
    def from_settings(cls, settings: Any) -> Targets:
        """The targets of `settings` (backend.config.Settings)."""
        return cls(
            cost_per_mile=settings.target_cost_per_mile,
            on_time_rate=settings.target_on_time_rate,
            fleet_utilization=settings.target_fleet_utilization,
            planning_minutes=settings.target_planning_minutes,
            mpg=settings.target_mpg,
            rating=settings.target_rating,
        )

    def for_kpi(self, key: str) -> float | None:
        """The target of KPI `key`, converted where the KPI is the target in other units."""
        derived = {
            "cost_per_mile": self.cost_per_mile,
            "cost_per_km": self.cost_per_mile / KM_PER_MILE,
            "on_time_rate": self.on_time_rate,
            "fleet_utilization": self.fleet_utilization,
            "planning_minutes": self.planning_minutes,
            "mpg": self.mpg,
            "l_per_100km": 100 * LITRES_PER_US_GALLON / (self.mpg * KM_PER_MILE),
            "customer_rating": self.rating,
        }
        return derived.get(key)

    def as_dict(self) -> dict[str, float]:
        """Targets by KPI key (only KPIs that have one)."""
        return {k.key: t for k in KPIS if (t := self.for_kpi(k.key)) is not None}
