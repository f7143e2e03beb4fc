"""The ETA features' drift: only legs arrived before a leg starts count, across the whole city,
measured against the plan or against a reference network's minutes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.ml.eta_data import _drift, _hour_slot


def _legs() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    t0 = pd.Timestamp("2026-11-02 13:00", tz="UTC")
    legs = pd.DataFrame(
        {
            "route_id": [1, 1, 2, 2],
            "depot_id": [10, 10, 20, 20],
            "service_date": ["2026-11-02"] * 4,
            "actual_arrival_at": [t0 + pd.Timedelta(minutes=m) for m in (10, 40, 20, 50)],
            "plan_min": [10.0, 10.0, 10.0, 10.0],
        }
    )
    depart = pd.Series([t0, t0 + pd.Timedelta(minutes=30), t0 + pd.Timedelta(minutes=5), t0])
    actual = pd.Series([10.0, 10.0, 15.0, 20.0])
    return legs, depart, actual


def test_first_leg_has_unknown_drift_and_no_legs() -> None:
    legs, depart, actual = _legs()
    out = _drift(legs, depart, actual, legs["plan_min"])
    # Route 1's first leg and route 2's last row leave before anything arrived.
    assert np.isnan(out.loc[0, "vehicle_drift"]) and out.loc[0, "vehicle_drift_legs"] == 0
    assert np.isnan(out.loc[3, "city_drift"]) and out.loc[3, "city_drift_legs"] == 0


def test_city_drift_counts_other_depots_legs_arrived_before_departure() -> None:
    legs, depart, actual = _legs()
    out = _drift(legs, depart, actual, legs["plan_min"])
    # Route 1's second leg leaves at +30: its own first leg (+10) and route 2's (+20) arrived.
    assert out.loc[1, "vehicle_drift"] == 0.0
    assert out.loc[1, "depot_drift"] == 0.0
    assert out.loc[1, "city_drift"] == np.log(25.0 / 20.0)
    assert out.loc[1, "city_drift_legs"] == np.log1p(2)
    # A leg never sees itself or a later arrival: route 2's first leg leaves at +5.
    assert np.isnan(out.loc[2, "city_drift"])


def test_drift_against_a_reference_uses_its_minutes_not_the_plans() -> None:
    legs, depart, actual = _legs()
    reference = pd.Series([8.0, 99.0, 12.0, 99.0])  # rows 1 and 3 never arrive before a query
    out = _drift(legs, depart, actual, reference)
    assert out.loc[1, "vehicle_drift"] == np.log(10.0 / 8.0)
    assert out.loc[1, "city_drift"] == np.log(25.0 / 20.0)
    assert out.loc[1, "depot_drift"] == out.loc[1, "vehicle_drift"]


def test_hour_slot_is_half_hours_by_day_type() -> None:
    slots = _hour_slot(np.array([7.6, 7.6, 12.0]), np.array([0, 6, 2]), np.array([0.0, 0.0, 1.0]))
    assert slots.tolist() == ["wd:15", "we:15", "we:24"]
