"""A small generated training table: two targets, numeric and categorical features, days;
and the check that a version folder's NumPy export equals its Keras network."""

from __future__ import annotations

from pathlib import Path

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


def assert_numpy_equals_keras(folder: Path, sample: pd.DataFrame) -> None:
    """NumPy's preprocessing equals scikit-learn's and its forward pass Keras' within 1e-5."""
    import joblib
    import keras

    from backend.ml.numpy_model import NumpyModel
    from backend.ml.trainer import FeatureSpec, prepare_features

    served = NumpyModel.load(folder)
    info = served.description
    spec = FeatureSpec(
        tuple(info["numeric"]["columns"]), tuple(c["column"] for c in info["categorical"])
    )
    pre = joblib.load(folder / "preprocessor.joblib")
    x_sklearn = pre.transform(prepare_features(sample, spec))
    x_numpy = served.transform(sample)
    np.testing.assert_allclose(x_numpy, x_sklearn, atol=1e-9)
    model = keras.models.load_model(folder / "model.keras", compile=False)
    keras_out = model.predict(np.asarray(x_sklearn, dtype=np.float32), verbose=0)
    np.testing.assert_allclose(served.forward(x_numpy), keras_out, atol=1e-5)
    # The serving path (row lookups for the one-hots) equals the plain forward pass.
    np.testing.assert_allclose(served._forward_fast(sample), served.forward(x_numpy), atol=1e-9)
