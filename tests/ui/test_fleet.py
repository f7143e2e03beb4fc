"""components.fleet: vehicle and driver tables and the fleet KPIs from query rows."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace

from tree import by_class, text

from backend.db.queries.dispatch import VehicleMarker
from backend.db.queries.drivers import DriverRow
from components.fleet import (
    create_drivers_table,
    create_fleet_kpis,
    create_vehicles_table,
    fmt_capacity,
    fmt_shift,
)


def vehicle(i: int, vtype: str = "cargo_van", active: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        id=i, name=f"V{i}", plate=f"P{i}", vehicle_type=vtype, depot_id=1,
        capacity={"kg": 1400, "m3": 11}, cost_per_km=0.55, cost_per_hour=31.0, fixed_cost=55.0,
        fuel_l_per_km=0.13, shift_start=time(7), shift_end=time(17), skills=["liftgate"],
        active=active,
    )  # fmt: skip


def state(i: int, activity: str) -> VehicleMarker:
    return VehicleMarker(
        i, f"V{i}", "cargo_van", "P", 1, "North", "UTC", 41.9, -87.6, None, None, "idle",
        None, 6, 2, 4, activity,
    )  # fmt: skip


def test_formatting_helpers() -> None:
    assert fmt_capacity({"m3": 11, "kg": 1400}) == "1,400 kg · 11 m3"
    assert fmt_capacity({}) == "–"
    assert fmt_shift(time(7), time(17, 30)) == "07:00–17:30"


def test_vehicles_table_rows() -> None:
    table = create_vehicles_table(
        [vehicle(1), vehicle(2, "box_truck", active=False)], {1: state(1, "moving")}, {1: "North"}
    )
    rows = [c for c in by_class(table, "data-table")[0].children[1].children]
    assert len(rows) == 2
    first, second = text(rows[0]), text(rows[1])
    assert "Cargo van" in first and "North" in first and "1,400 kg" in first
    assert "$0.55/km" in first and "13.0" in first and "07:00–17:00" in first
    assert "liftgate" in first and "Moving" in first and "2/6" in first
    assert "Box truck" in second and "Inactive" in second


def test_empty_tables_say_so() -> None:
    assert "No vehicles" in text(create_vehicles_table([], {}, {}))
    assert "No drivers" in text(create_drivers_table([]))


def test_drivers_table() -> None:
    driver = DriverRow(
        1, "d1", "Dee", "+1 312", True, 3, "VAN-3", ("North",),
        datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    table = create_drivers_table([driver])
    assert "Dee d1 VAN-3 North +1 312 Active 2026-11-27 08:00" in text(table)


def test_kpis() -> None:
    kpis = create_fleet_kpis(
        [vehicle(1), vehicle(2, "box_truck"), vehicle(3, active=False)],
        {1: state(1, "moving"), 2: state(2, "parked")},
    )
    values = [c.children for c in by_class(kpis, "kpi-value")]
    assert values == ["2", "2,800 kg", "1", "12"]
