"""A trained MLP evaluated with NumPy alone: what the web process serves predictions with."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from backend.ml.export import SERVING_FORMAT


class ArtifactError(RuntimeError):
    """A model directory is missing, incomplete or corrupted."""


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "exponential": np.exp,
}


_BLAS = ThreadpoolController()


def _single_thread() -> Any:
    return _BLAS.limit(limits=1, user_api="blas")


def _level_codes(raw: pd.Series, levels: pd.Index) -> np.ndarray:
    """Each value's index among the fitted levels; -1 for a level the model never saw.

    Missing values are the "missing" level, as the fitted encoder saw them; values are
    compared as text, as the encoder fitted them.
    """
    values = raw.to_numpy()
    # Text without gaps (what build_features makes) is looked up as it is: the cast to text
    # and the missing-value fill cost more than the lookup itself.
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.asarray(levels.get_indexer(values))
    text = raw.where(raw.notna(), "missing").astype(str)
    return np.asarray(levels.get_indexer(text))


@dataclass(frozen=True)
class NumpyModel:
    """Preprocessing and forward pass from the exported arrays (see backend.ml.export)."""

    description: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @classmethod
    def load(cls, directory: Path) -> NumpyModel:
        """Read ``serving.json`` and ``weights.npz``; raise ArtifactError when unusable."""
        try:
            description = json.loads((directory / "serving.json").read_text())
            with np.load(directory / "weights.npz", allow_pickle=False) as data:
                arrays = {key: np.asarray(data[key]) for key in data.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{directory}: cannot load the serving export: {exc}") from exc
        if description.get("format") != SERVING_FORMAT:
            raise ArtifactError(f"{directory}: unknown serving format {description.get('format')}")
        model = cls(description, arrays)
        model._check()
        return model

    @cached_property
    def _levels(self) -> list[pd.Index]:
        # Built once per loaded model: an Index is a hash table, worth keeping between calls.
        return [pd.Index(item["levels"]) for item in self.description["categorical"]]

    def _check(self) -> None:
        width = self.description["input_width"]
        for layer in self.description["layers"]:
            name = layer["name"]
            if layer["kind"] == "dense":
                kernel = self.arrays.get(f"{name}.kernel")
                if kernel is None or kernel.ndim != 2 or kernel.shape[0] != width:
                    raise ArtifactError(f"layer {name}: kernel missing or of the wrong shape")
                width = kernel.shape[1]
            elif f"{name}.scale" not in self.arrays or self.arrays[f"{name}.scale"].shape != (
                width,
            ):
                raise ArtifactError(f"layer {name}: normalisation missing or of the wrong shape")
        expected = len(self.targets) * max(1, len(self.quantiles))
        if width != expected:
            raise ArtifactError(f"the network has {width} outputs, the targets need {expected}")
        if not all(np.isfinite(v).all() for v in self.arrays.values()):
            raise ArtifactError("the exported weights hold NaN or infinite values")

    @property
    def targets(self) -> list[str]:
        """Target names, in output order."""
        return list(self.description["targets"])

    @property
    def quantiles(self) -> list[float]:
        """Quantile levels per target (empty for a point model)."""
        return list(self.description["quantiles"])

    @property
    def feature_columns(self) -> list[str]:
        """The input columns this model needs."""
        return list(self.description["numeric"]["columns"]) + [
            c["column"] for c in self.description["categorical"]
        ]

    def transform(self, features: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """The preprocessed input matrix, equal to the fitted ColumnTransformer's output."""
        frame = features if isinstance(features, pd.DataFrame) else pd.DataFrame(features)
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"features missing: {missing}")
        parts = []
        columns = self.description["numeric"]["columns"]
        if columns:
            values = np.column_stack(
                [pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64) for c in columns]
            )
            values = np.where(np.isnan(values), self.arrays["numeric.fill"], values)
            parts.append((values - self.arrays["numeric.mean"]) / self.arrays["numeric.scale"])
        for item in self.description["categorical"]:
            levels = item["levels"]
            codes = _level_codes(frame[item["column"]], pd.Index(levels))
            onehot = np.zeros((len(codes), len(levels) + 1))
            onehot[np.arange(len(codes)), codes] = 1.0  # unknowns land in the extra last column
            parts.append(onehot[:, : len(levels)])
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's raw outputs for a preprocessed matrix (scaled target space)."""
        for layer in self.description["layers"]:
            name = layer["name"]
            if layer["kind"] == "dense":
                x = x @ self.arrays[f"{name}.kernel"] + self.arrays[f"{name}.bias"]
                x = _ACTIVATIONS[layer["activation"]](x)
            else:
                x = x * self.arrays[f"{name}.scale"] + self.arrays[f"{name}.shift"]
        return x

    def _encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[np.ndarray]]:
        # Scaled numeric block and, per categorical column, each row's level index (-1: unknown).
        columns = self.description["numeric"]["columns"]
        block = frame[columns]
        # Already numbers (the live path): no per-column coercion to pay for.
        if not all(pd.api.types.is_numeric_dtype(dtype) for dtype in block.dtypes):
            block = block.apply(pd.to_numeric, errors="coerce")
        values = block.to_numpy(np.float64)
        values = np.where(np.isnan(values), self.arrays["numeric.fill"], values)
        numeric = (values - self.arrays["numeric.mean"]) / self.arrays["numeric.scale"]
        codes = [
            _level_codes(frame[item["column"]], levels)
            for item, levels in zip(self.description["categorical"], self._levels, strict=True)
        ]
        return numeric, codes

    def _forward_fast(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`forward` of :meth:`transform` without building the one-hot matrix.

        The first layer's product with a one-hot block is a row lookup in its kernel, so the
        categorical part costs a gather instead of a wide matrix product.
        """
        numeric, codes = self._encode(frame)
        layers = self.description["layers"]
        first = layers[0]["name"]
        kernel = self.arrays[f"{first}.kernel"]
        n_num = numeric.shape[1]
        x = numeric @ kernel[:n_num] + self.arrays[f"{first}.bias"]
        offset = n_num
        for item, code in zip(self.description["categorical"], codes, strict=True):
            width = len(item["levels"])
            block = np.vstack([kernel[offset : offset + width], np.zeros((1, kernel.shape[1]))])
            x = x + block[code]  # code -1 picks the zero row: an unknown level adds nothing
            offset += width
        x = _ACTIVATIONS[layers[0]["activation"]](x)
        for layer in layers[1:]:
            name = layer["name"]
            if layer["kind"] == "dense":
                x = x @ self.arrays[f"{name}.kernel"] + self.arrays[f"{name}.bias"]
                x = _ACTIVATIONS[layer["activation"]](x)
            else:
                x = x * self.arrays[f"{name}.scale"] + self.arrays[f"{name}.shift"]
        return x

    def predict(self, features: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Predictions in target units, shaped (rows, targets, quantiles), quantiles sorted."""
        frame = features if isinstance(features, pd.DataFrame) else pd.DataFrame(features)
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"features missing: {missing}")
        # Multi-threaded BLAS on matrices this small costs more in thread wake-ups than it
        # saves (10x slower on a busy two-core host): serve single-threaded.
        with _single_thread():
            raw = self._forward_fast(frame)
        n_targets = len(self.targets)
        out = raw.reshape(len(raw), n_targets, -1)
        out = out * np.asarray(self.description["y_scale"])[None, :, None]
        out = out + np.asarray(self.description["y_mean"])[None, :, None]
        if self.description["log_targets"]:
            out = np.expm1(out)
        return np.sort(out, axis=2)
