"""Learned travel-time factors serve as a solver matrix provider, and the demand forecast gives
seven days of per-slot orders with ordered intervals."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from backend.ml import demand
from backend.ml.learned_matrix import LearnedMatrixProvider, TravelFactors, haversine_seconds
from backend.solver.model import Location


def _legs(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    lat1, lon1 = 41.85 + rng.uniform(0, 0.1, rows), -87.7 + rng.uniform(0, 0.1, rows)
    lat2, lon2 = lat1 + rng.uniform(-0.02, 0.02, rows), lon1 + rng.uniform(-0.02, 0.02, rows)
    hour = rng.uniform(7, 18, rows)
    rush = (hour >= 7) & (hour < 9)
    base = haversine_seconds(lat1, lon1, lat2, lon2) / 60
    return pd.DataFrame(
        {
            "prev_lat": lat1, "prev_lon": lon1, "lat": lat2, "lon": lon2,
            "depart_hour": hour, "weekday": "1",
            "leg_min": base * np.where(rush, 2.0, 1.2),
        }
    )  # fmt: skip


def test_learned_factors_slow_the_rush_hour_and_fill_a_matrix() -> None:
    factors = TravelFactors.fit(_legs())
    assert factors.hours[("weekday", 8)] > factors.hours[("weekday", 12)] * 1.4
    points = [Location(41.88, -87.63), Location(41.90, -87.65), Location(41.86, -87.66)]
    rush = LearnedMatrixProvider(factors, depart_hour=8, weekday=1).matrices(points)
    noon = LearnedMatrixProvider(factors, depart_hour=12, weekday=1).matrices(points)
    assert rush.duration.dtype == np.int64 and rush.duration.shape == (3, 3)
    assert (np.diag(rush.duration) == 0).all()
    assert (rush.duration[0, 1:] > noon.duration[0, 1:]).all()
    assert TravelFactors.from_dict(factors.to_dict()) == factors


def test_demand_forecast_covers_seven_days_with_ordered_intervals() -> None:
    rng = np.random.default_rng(2)
    days = pd.date_range("2026-09-01", "2026-11-26")
    rows = []
    for day in days:
        for zone in ("a", "b"):
            for hour in (9, 13):
                rows.append((day, 1, zone, hour, float(rng.poisson(4 if day.weekday() < 5 else 1))))
    counts = pd.DataFrame(rows, columns=["day", "depot_id", "zone", "hour", "orders"])
    ahead = demand.forecast(counts, start=date(2026, 11, 27))
    assert ahead["day"].nunique() == 7 and len(ahead) == 7 * 4
    assert (ahead["p10"] <= ahead["p50"]).all() and (ahead["p50"] <= ahead["p90"]).all()
    weekend = ahead[ahead["day"].dt.day_of_week >= 5]["p50"].mean()
    weekday = ahead[ahead["day"].dt.day_of_week < 5]["p50"].mean()
    assert weekend < weekday


def test_artifact_upload_writes_every_file_under_the_prefix(tmp_path) -> None:
    from backend.ml.storage import upload_artifacts

    (tmp_path / "weights.npz").write_bytes(b"x")
    (tmp_path / "serving.json").write_text("{}")

    class StubS3:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str, str]] = []

        def upload_file(self, *, Filename: str, Bucket: str, Key: str) -> None:  # noqa: N803
            self.calls.append((Filename, Bucket, Key))

    stub = StubS3()
    keys = upload_artifacts(tmp_path, bucket="fleet-models", prefix="/models/eta/3/", client=stub)
    assert keys == ["models/eta/3/serving.json", "models/eta/3/weights.npz"]
    assert {c[1] for c in stub.calls} == {"fleet-models"}
