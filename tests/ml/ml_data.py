"""A small generated training table: two targets, numeric and categorical features, days."""

from __future__ import annotations

import numpy as np
import pandas as pd


def small_table(rows: int = 600, days: int = 12, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0, 10, rows)
    x2 = rng.normal(0, 1, rows)
    zone = rng.choice(["north", "south", "loop"], rows)
    effect = np.select([zone == "loop", zone == "north"], [4.0, 1.0], 0.0)
    return pd.DataFrame(
        {
            "day": [f"2026-10-{1 + d:02d}" for d in rng.integers(0, days, rows)],
            "x1": x1,
            "x2": x2,
            "zone": zone,
            "travel": 3 + 2 * x1 + effect + rng.normal(0, 0.5, rows),
            "service": 5 + x2 + rng.normal(0, 0.3, rows),
        }
    )
