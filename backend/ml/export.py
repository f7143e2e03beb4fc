"""Export a trained network and its preprocessing as plain arrays for NumPy serving.

``serving.json`` holds the feature layout (numeric fill values, means and scales; categorical
levels), the layer list and the target scaling; ``weights.npz`` holds the arrays. Nothing in
it needs TensorFlow or scikit-learn to be read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from backend.ml.trainer import FeatureSpec

SERVING_FORMAT = 1


def export_serving(
    model: Any,
    preprocessor: ColumnTransformer,
    spec: FeatureSpec,
    feature_info: dict[str, Any],
    out_dir: Path,
) -> None:
    """Write ``serving.json`` and ``weights.npz`` for :class:`backend.ml.numpy_model.NumpyModel`."""
    arrays: dict[str, np.ndarray] = {}
    layers: list[dict[str, Any]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
            arrays[f"{layer.name}.kernel"] = kernel
            arrays[f"{layer.name}.bias"] = bias
            activation = layer.get_config()["activation"]
            layers.append({"kind": "dense", "name": layer.name, "activation": activation})
        elif kind == "BatchNormalization":
            gamma, beta, mean, var = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
            # Inference-time batch norm is an affine map: fold it into one scale and shift.
            scale = gamma / np.sqrt(var + float(layer.epsilon))
            arrays[f"{layer.name}.scale"] = scale
            arrays[f"{layer.name}.shift"] = beta - mean * scale
            layers.append({"kind": "affine", "name": layer.name})
        elif kind in ("InputLayer", "Dropout"):
            continue  # identity at inference
        else:
            raise ValueError(f"cannot export layer {layer.name!r} of kind {kind}")
    numeric_pipe = preprocessor.named_transformers_["num"]
    numeric: dict[str, Any] = {"columns": list(spec.numeric)}
    if spec.numeric:
        arrays["numeric.fill"] = numeric_pipe.named_steps["impute"].statistics_.astype(np.float64)
        scaler = numeric_pipe.named_steps["scale"]
        arrays["numeric.mean"] = scaler.mean_.astype(np.float64)
        arrays["numeric.scale"] = scaler.scale_.astype(np.float64)
    categorical: list[dict[str, Any]] = []
    if spec.categorical:
        encoder = preprocessor.named_transformers_["cat"]
        for column, levels in zip(spec.categorical, encoder.categories_, strict=True):
            categorical.append({"column": column, "levels": [str(v) for v in levels]})
    description = {
        "format": SERVING_FORMAT,
        "numeric": numeric,
        "categorical": categorical,
        "layers": layers,
        "targets": feature_info["targets"],
        "quantiles": feature_info["quantiles"],
        "log_targets": feature_info["log_targets"],
        "y_mean": feature_info["y_mean"],
        "y_scale": feature_info["y_scale"],
        "input_width": feature_info["input_width"],
    }
    np.savez(out_dir / "weights.npz", **arrays)  # type: ignore[arg-type]
    (out_dir / "serving.json").write_text(json.dumps(description, indent=2))
