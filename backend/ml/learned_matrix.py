"""Learned travel-time factors by hour and zone, served as one more solver matrix provider.

From history's driven legs, the factor of a (day type, local hour, zone) cell is the median of
actual minutes over the haversine provider's minutes for the same leg (zones are the ETA
model's grid cells at the leg's midpoint; sparse cells fall back to the hour's factor, then
to the overall one). :class:`LearnedMatrixProvider` implements the solver's `MatrixProvider`
protocol: distances as the haversine provider's, durations scaled by the factors of the hour
the plan starts in. Plain NumPy: it runs in the solver's process, never with TensorFlow.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.ml import registry
from backend.ml.eta_data import CELL_LAT_DEG, CELL_LON_DEG, cell
from backend.solver.matrix import HaversineProvider, Matrices, MatrixProvider
from backend.solver.model import Location

EARTH_RADIUS_M = 6_371_008.8
MIN_CELL_LEGS = 12
# Written next to the ETA model's artifacts by its training job: the active ETA version's
# factors are the active learned travel times.
FACTORS_FILE = "travel_factors.json"

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
# (artifact folder, version) -> factors, or None for a file that is missing or unreadable.
_FACTORS: dict[tuple[str, int], TravelFactors | None] = {}


def haversine_seconds(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """The haversine provider's duration (s) for each leg, vectorised over legs."""
    base = HaversineProvider()
    p1, q1, p2, q2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((q2 - q1) / 2) ** 2
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * base.detour
    return np.asarray(base.profile.seconds(metres), dtype=float)


def _day_type(weekday: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(weekday).astype(int) >= 5, "weekend", "weekday")


@dataclass(frozen=True)
class TravelFactors:
    """Median actual/haversine time ratios by (day type, hour, zone), with fallbacks."""

    cells: dict[tuple[str, int, str], float]
    hours: dict[tuple[str, int], float]
    overall: float
    # A constant per leg (parking, finding the door) the ratio alone would miss on short hops.
    leg_overhead_s: float = 0.0

    @classmethod
    def fit(cls, features: pd.DataFrame) -> TravelFactors:
        """Fit from an ETA training frame plus the legs' coordinates (`prev_lat` ... `lon`)."""
        base_s = haversine_seconds(
            features["prev_lat"], features["prev_lon"], features["lat"], features["lon"]
        )
        actual_s = features["leg_min"].to_numpy(float) * 60
        ok = (base_s > 30) & np.isfinite(actual_s)
        # Overhead: the median time of the shortest legs (mostly stopping, not driving).
        short = ok & (base_s < 120)
        overhead = float(np.median(actual_s[short] - base_s[short])) if short.sum() > 20 else 0.0
        overhead = max(0.0, overhead)
        frame = pd.DataFrame(
            {
                "daytype": _day_type(features["weekday"].to_numpy()),
                "hour": np.floor(features["depart_hour"].to_numpy(float)).astype(int),
                "zone": cell(
                    (features["prev_lat"] + features["lat"]) / 2,
                    (features["prev_lon"] + features["lon"]) / 2,
                ),
                "ratio": (actual_s - overhead) / np.maximum(base_s, 1.0),
            }
        )[ok]
        by_cell = frame.groupby(["daytype", "hour", "zone"])["ratio"].agg(["median", "size"])
        by_cell = by_cell[by_cell["size"] >= MIN_CELL_LEGS]
        by_hour = frame.groupby(["daytype", "hour"])["ratio"].median()
        return cls(
            cells={k: float(v) for k, v in by_cell["median"].items()},
            hours={k: float(v) for k, v in by_hour.items()},
            overall=float(frame["ratio"].median()) if len(frame) else 1.0,
            leg_overhead_s=overhead,
        )

    def factor(self, daytype: str, hour: int, zone: str) -> float:
        """The factor of one cell, falling back to the hour's, then the overall one."""
        found = self.cells.get((daytype, hour, zone))
        if found is None:
            found = self.hours.get((daytype, hour), self.overall)
        return found

    def seconds(
        self,
        lat1: np.ndarray,
        lon1: np.ndarray,
        lat2: np.ndarray,
        lon2: np.ndarray,
        hour: np.ndarray,
        weekday: np.ndarray,
    ) -> np.ndarray:
        """Predicted leg seconds for each leg."""
        base = haversine_seconds(lat1, lon1, lat2, lon2)
        # Grid rows and columns as integers (cell()'s "row:col" is built per distinct cell
        # only): a matrix has n² legs, and strings for each were most of its time.
        rows = np.floor((np.asarray(lat1) + np.asarray(lat2)) / 2 / CELL_LAT_DEG).astype(np.int64)
        cols = np.floor((np.asarray(lon1) + np.asarray(lon2)) / 2 / CELL_LON_DEG).astype(np.int64)
        hours = np.floor(np.asarray(hour, dtype=float)).astype(np.int64)
        weekend = (np.asarray(weekday).astype(int) >= 5).astype(np.int64)
        if base.size == 0:
            return base
        # One integer per (day type, hour, row, col), so the distinct cells are a 1-D unique.
        r0, c0, h0 = rows.min(), cols.min(), hours.min()
        nr, nc, nh = rows.max() - r0 + 1, cols.max() - c0 + 1, hours.max() - h0 + 1
        keys = ((weekend * nh + (hours - h0)) * nr + (rows - r0)) * nc + (cols - c0)
        unique, inverse = np.unique(keys, return_inverse=True)
        c, rest = unique % nc + c0, unique // nc
        r, rest = rest % nr + r0, rest // nr
        h, w = rest % nh + h0, rest // nh
        looked = np.array(
            [
                self.factor("weekend" if wi else "weekday", int(hi), f"{ri}:{ci}")
                for wi, hi, ri, ci in zip(w, h, r, c, strict=True)
            ],
            dtype=float,
        )
        return base * looked[inverse.ravel()] + np.where(base > 0, self.leg_overhead_s, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored next to the ETA artifacts)."""
        return {
            "cells": [[d, h, z, f] for (d, h, z), f in self.cells.items()],
            "hours": [[d, h, f] for (d, h), f in self.hours.items()],
            "overall": self.overall,
            "leg_overhead_s": self.leg_overhead_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TravelFactors:
        """Back from :meth:`to_dict`."""
        return cls(
            cells={(d, int(h), z): float(f) for d, h, z, f in data["cells"]},
            hours={(d, int(h)): float(f) for d, h, f in data["hours"]},
            overall=float(data["overall"]),
            leg_overhead_s=float(data.get("leg_overhead_s", 0.0)),
        )


@dataclass(frozen=True)
class LearnedMatrixProvider:
    """Haversine distances; durations from learned factors for a departure hour and weekday."""

    factors: TravelFactors
    depart_hour: float = 9.0
    weekday: int = 1
    base: HaversineProvider = field(default_factory=HaversineProvider)

    def matrices(self, points: Sequence[Location]) -> Matrices:
        """Distance (m) as the haversine provider; duration (s) from the learned factors."""
        plain = self.base.matrices(points)
        n = len(points)
        lat = np.array([p.lat for p in points], dtype=float)
        lon = np.array([p.lon for p in points], dtype=float)
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        seconds = self.factors.seconds(
            lat[i].ravel(),
            lon[i].ravel(),
            lat[j].ravel(),
            lon[j].ravel(),
            np.full(n * n, self.depart_hour),
            np.full(n * n, self.weekday),
        ).reshape(n, n)
        np.fill_diagonal(seconds, 0.0)
        return Matrices(
            distance=plain.distance,
            duration=np.ceil(seconds - 1e-9).astype(np.int64),
        )


def legs_of(frame: pd.DataFrame) -> pd.DataFrame:
    """An ETA training frame (backend.ml.eta_data.training_frame) as the legs `fit` reads."""
    return frame.rename(
        columns={
            "origin_lat": "prev_lat",
            "origin_lon": "prev_lon",
            "dest_lat": "lat",
            "dest_lon": "lon",
        }
    ).assign(weekday=lambda f: f["weekday"].astype(int))


def planned_vs_actual(factors: TravelFactors, legs: pd.DataFrame) -> dict[str, float]:
    """MAE (min) of planned leg times against actual ones: haversine, learned, the plan's own."""
    truth = legs["leg_min"].to_numpy(float)
    learned = factors.seconds(
        legs["prev_lat"], legs["prev_lon"], legs["lat"], legs["lon"],
        legs["depart_hour"], legs["weekday"],
    ) / 60  # fmt: skip
    plain = haversine_seconds(legs["prev_lat"], legs["prev_lon"], legs["lat"], legs["lon"]) / 60
    out = {
        "legs": float(len(legs)),
        "haversine_mae_min": float(np.mean(np.abs(plain - truth))) if len(legs) else float("nan"),
        "learned_mae_min": float(np.mean(np.abs(learned - truth))) if len(legs) else float("nan"),
    }
    if "plan_min" in legs.columns and len(legs):
        out["plan_mae_min"] = float(np.mean(np.abs(legs["plan_min"].to_numpy(float) - truth)))
    return out


def fit_and_save(
    frame: pd.DataFrame, out_dir: Path, *, validation_days: list[str]
) -> dict[str, float]:
    """Fit the factors on the training days of `frame`, write them, score the held-out days.

    Refit on every day afterwards would leak into the figures, so the stored factors are the
    ones the figures describe.
    """
    from backend.ml.eta import held_out

    legs = legs_of(frame)
    test = held_out(legs, validation_days)
    train = legs.drop(index=test.index)
    factors = TravelFactors.fit(train if len(train) else legs)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FACTORS_FILE).write_text(json.dumps(factors.to_dict()))
    return planned_vs_actual(factors, test)


def load_factors(folder: Path) -> TravelFactors:
    """The factors stored in `folder`; OSError or ValueError when missing or unreadable."""
    data = json.loads((folder / FACTORS_FILE).read_text())
    try:
        return TravelFactors.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{FACTORS_FILE} is malformed: {exc}") from exc


def active_factors(session: Session, settings: Settings) -> tuple[int, TravelFactors] | None:
    """The active ETA version's learned factors (loaded once per process), or None."""
    from backend.ml.eta import ETA_MODEL  # the trainer's module: only when factors are asked for

    row = registry.active_version(session, name=ETA_MODEL)
    if row is None:
        return None
    folder = registry.artifact_dir(settings, ETA_MODEL, row.version)
    key = (str(folder), row.version)
    with _LOCK:
        if key not in _FACTORS:
            try:
                _FACTORS[key] = load_factors(folder)
            except (OSError, ValueError) as exc:
                log.warning(
                    "learned travel times of %s v%s unusable: %s", ETA_MODEL, row.version, exc
                )
                _FACTORS[key] = None
        factors = _FACTORS[key]
    return (row.version, factors) if factors is not None else None


def clear_factor_cache() -> None:
    """Forget loaded factors (tests)."""
    with _LOCK:
        _FACTORS.clear()


def _protocol_check(provider: LearnedMatrixProvider) -> MatrixProvider:
    return provider  # mypy proves LearnedMatrixProvider satisfies the solver's protocol
