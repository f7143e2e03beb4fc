"""Demand features: a slot's long-run levels only use days at least a week old."""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.ml import demand
from backend.ml.holidays import holiday_flags


def _counts(days: int = 42, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2026-09-01", periods=days)
    rows = [
        {"day": d, "depot_id": depot, "zone": "1:1", "hour": 9, "orders": float(rng.poisson(4))}
        for d in dates
        for depot in (1, 2)
    ]
    return pd.DataFrame(rows)


def test_levels_ignore_the_last_seven_days() -> None:
    counts = _counts()
    base = demand.features(counts)
    changed = counts.copy()
    last = changed["day"] > changed["day"].max() - pd.Timedelta(days=7)
    changed.loc[last, "orders"] = 100.0
    again = demand.features(changed)
    final = base["day"] == base["day"].max()
    for column in demand.LEVEL_COLUMNS:
        np.testing.assert_allclose(base.loc[final, column], again.loc[final, column])


def test_slot_mean_is_the_mean_of_days_a_week_or_more_old() -> None:
    counts = _counts()
    frame = demand.features(counts)
    day = counts["day"].max()
    row = frame[(frame["day"] == day) & (frame["depot_id"] == 1)].iloc[0]
    old = counts[(counts["depot_id"] == 1) & (counts["day"] <= day - pd.Timedelta(days=7))]
    old = old[holiday_flags(old["day"]) == 0]  # Labor Day is no ordinary day
    assert row["slot_mean"] == old["orders"].mean()
    same = old[old["day"].dt.day_of_week == day.day_of_week]
    assert row["slot_weekday_mean"] == same["orders"].mean()


def test_forecast_keeps_its_columns_and_ordered_intervals() -> None:
    ahead = demand.forecast(_counts(), start=pd.Timestamp("2026-10-13").date())
    assert list(ahead.columns) == ["day", "depot_id", "zone", "hour", "p10", "p50", "p90"]
    assert len(ahead) == 14
    assert ((ahead["p10"] <= ahead["p50"]) & (ahead["p50"] <= ahead["p90"])).all()
