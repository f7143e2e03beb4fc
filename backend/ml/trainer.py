"""The model trainer: a table in, a versioned directory of artifacts out.

Targets are named by configuration; every other column (except the day column used for the
split and any configured `drop` columns) is a feature. Numeric features are imputed and scaled,
categorical ones one-hot encoded (unknown categories become all zeros), then a Keras MLP is fit
with early stopping. With `quantiles` set, each target gets one output per quantile, trained on
the pinball loss, so P10/P50/P90 come from one network.

TensorFlow is imported inside :func:`train_table` only: it must run in the training job's own
process (TensorFlow before OR-Tools in one process aborts OR-Tools' routing, and a forked job
hangs when its parent ran TensorFlow).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from backend.ml.export import export_serving
from backend.ml.tables import TrainerError, check_targets, load_table

log = logging.getLogger(__name__)

ProgressFn = Callable[[dict[str, Any]], None]
StopFn = Callable[[], bool]


class TrainingCancelled(RuntimeError):
    """A stop was asked for during training; nothing was promoted."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train: targets, network shape, optimisation and the validation split."""

    targets: tuple[str, ...]
    hidden: tuple[int, ...] = (64, 32)
    output_activation: str = "linear"
    # "mse", "mae", any Keras loss name, or "pinball" (needs `quantiles`).
    loss: str = "mse"
    quantiles: tuple[float, ...] = ()
    # Per-target weights of the pinball loss (default: all 1). A noisy target (service times)
    # otherwise dominates the loss, and early stopping then follows it, not the others.
    target_weights: tuple[float, ...] = ()
    metrics: tuple[str, ...] = ("mae",)
    learning_rate: float = 1e-3
    l2: float = 1e-5
    dropout: float = 0.1
    epochs: int = 40
    batch_size: int = 256
    patience: int = 6
    validation_share: float = 0.2
    day_column: str | None = "day"
    # Overrides for the dtype-based detection of categorical and numeric features.
    categorical: tuple[str, ...] | None = None
    numeric: tuple[str, ...] | None = None
    drop: tuple[str, ...] = ()
    # Train on log1p(target): times are skewed and multiplicative; quantiles survive the map.
    log_targets: bool = False
    seed: int = 42
    threads: int = 2

    def __post_init__(self) -> None:
        if self.loss == "pinball" and not self.quantiles:
            raise TrainerError("loss 'pinball' needs quantiles, e.g. (0.1, 0.5, 0.9)")
        if any(not 0.0 < q < 1.0 for q in self.quantiles):
            raise TrainerError("quantiles must lie strictly between 0 and 1")
        if not 0.0 < self.validation_share < 1.0:
            raise TrainerError("validation_share must lie strictly between 0 and 1")
        if self.target_weights and (
            len(self.target_weights) != len(self.targets) or min(self.target_weights) <= 0
        ):
            raise TrainerError("target_weights needs one positive weight per target")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise TrainerError("hidden needs one positive size per layer")

    @property
    def outputs_per_target(self) -> int:
        """How many network outputs each target has (one per quantile, or one)."""
        return len(self.quantiles) or 1

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able data."""
        return asdict(self)


@dataclass
class TrainResult:
    """What a training run produced and where it put it."""

    out_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]]
    features: dict[str, Any]
    rows_train: int
    rows_validation: int
    seconds: float
    validation_days: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns are numeric and which categorical features."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """All feature columns, numeric first (the preprocessor's order)."""
        return self.numeric + self.categorical


def detect_features(frame: pd.DataFrame, config: TrainConfig) -> FeatureSpec:
    """Feature columns by dtype (bool and non-numeric are categorical), with the overrides."""
    excluded = set(config.targets) | set(config.drop)
    if config.day_column:
        excluded.add(config.day_column)
    columns = [c for c in frame.columns if c not in excluded]
    if not columns:
        raise TrainerError("no feature columns left once targets and drops are removed")
    forced_cat = set(config.categorical or ())
    forced_num = set(config.numeric or ())
    unknown = (forced_cat | forced_num) - set(columns)
    if unknown:
        raise TrainerError(f"configured feature column(s) {sorted(unknown)} not in the table")
    numeric, categorical = [], []
    for column in columns:
        dtype = frame[column].dtype
        is_num = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if column in forced_cat or (column not in forced_num and not is_num):
            categorical.append(column)
        else:
            if not is_num and not _coercible(frame[column]):
                raise TrainerError(f"feature column {column!r} is declared numeric but is not")
            numeric.append(column)
    return FeatureSpec(tuple(numeric), tuple(categorical))


def _coercible(series: pd.Series) -> bool:
    converted = pd.to_numeric(series, errors="coerce")
    return bool(converted.notna().sum() == series.notna().sum())


def prepare_features(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns with the dtypes the preprocessor was fit on (also used by serving)."""
    out = pd.DataFrame(index=frame.index)
    for column in spec.numeric:
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in spec.categorical:
        values = frame[column]
        out[column] = values.where(values.notna(), "missing").astype(str)
    return out


def build_preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    """Mean-impute and scale numeric features; one-hot categorical ones, ignoring unknowns."""
    numeric = Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())])
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
    return ColumnTransformer(
        [("num", numeric, list(spec.numeric)), ("cat", categorical, list(spec.categorical))],
        remainder="drop",
        sparse_threshold=0.0,
    )


def split_by_day(
    frame: pd.DataFrame, day_column: str | None, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the training and validation sets.

    With a day column, whole days go to one side (no day on both): rows of one day share
    weather and traffic, so a row-level split would leak them into validation. The most
    recent days are not preferred on purpose: a seeded draw keeps every season represented.
    """
    rng = np.random.default_rng(seed)
    n = len(frame)
    if day_column and day_column in frame.columns:
        days = pd.Series(frame[day_column].astype(str).to_numpy())
        unique = np.array(sorted(days.unique()))
        if len(unique) < 2:
            raise TrainerError(f"the day column {day_column!r} needs at least two days to split")
        n_val = min(len(unique) - 1, max(1, round(len(unique) * share)))
        val_days = set(rng.choice(unique, size=n_val, replace=False).tolist())
        is_val = days.isin(val_days).to_numpy()
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)
    if n < 2:
        raise TrainerError("at least two rows are needed to split training and validation")
    order = rng.permutation(n)
    n_val = min(n - 1, max(1, round(n * share)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, targets: Sequence[str]
) -> dict[str, Any]:
    """MAE, MSE, RMSE and R² per target, and pooled over all targets."""
    out: dict[str, Any] = {"per_target": {}}
    for j, name in enumerate(targets):
        t, p = y_true[:, j], y_pred[:, j]
        ok = ~np.isnan(t)
        t, p = t[ok], p[ok]
        err = p - t
        mse = float(np.mean(err**2)) if len(t) else math.nan
        var = float(np.var(t)) if len(t) else math.nan
        out["per_target"][name] = {
            "mae": float(np.mean(np.abs(err))) if len(t) else math.nan,
            "mse": mse,
            "rmse": math.sqrt(mse) if len(t) else math.nan,
            "r2": 1.0 - mse / var if var and var > 0 else math.nan,
            "n": int(len(t)),
        }
    ok = ~np.isnan(y_true)
    err = (y_pred - y_true)[ok]
    mse = float(np.mean(err**2))
    r2s = [m["r2"] for m in out["per_target"].values() if not math.isnan(m["r2"])]
    out.update(
        mae=float(np.mean(np.abs(err))),
        mse=mse,
        rmse=math.sqrt(mse),
        r2=float(np.mean(r2s)) if r2s else math.nan,
    )
    return out


def coverage(y_true: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of (non-missing) values inside [low, high]."""
    ok = ~np.isnan(y_true)
    inside = (y_true >= low) & (y_true <= high)
    return float(inside[ok].mean()) if ok.any() else math.nan


def train(
    source: str | Path | pd.DataFrame,
    config: TrainConfig,
    out_dir: Path,
    *,
    on_epoch: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> TrainResult:
    """Load `source` (file or DataFrame) and train on it; see :func:`train_table`."""
    return train_table(
        load_table(source), config, out_dir, on_epoch=on_epoch, should_stop=should_stop
    )


def train_table(
    frame: pd.DataFrame,
    config: TrainConfig,
    out_dir: Path,
    *,
    on_epoch: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> TrainResult:
    """Fit preprocessor and network on `frame`; write every artifact into `out_dir`.

    Writes ``model.keras`` (the best epoch), ``preprocessor.joblib``, ``features.json``,
    ``history.json``, ``metrics.json`` and the serving export (``serving.json`` +
    ``weights.npz``). Raises :class:`TrainingCancelled` when `should_stop` turns true.
    """
    started = time.perf_counter()
    if frame.empty:
        raise TrainerError("the table has no rows")
    check_targets(frame, config.targets)
    # The pinball loss skips a missing target; other losses need every target of a row.
    how = "all" if config.loss == "pinball" else "any"
    frame = frame.dropna(subset=list(config.targets), how=how).reset_index(drop=True)
    spec = detect_features(frame, config)
    train_idx, val_idx = split_by_day(
        frame, config.day_column, config.validation_share, config.seed
    )
    features = prepare_features(frame, spec)
    y_raw = frame[list(config.targets)].to_numpy(dtype=np.float64)
    if config.log_targets and np.nanmin(y_raw) <= -1.0:
        raise TrainerError("log_targets needs targets above -1")
    y = np.log1p(y_raw) if config.log_targets else y_raw.copy()
    y_mean = np.nanmean(y[train_idx], axis=0)
    y_scale = np.nanstd(y[train_idx], axis=0)
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    y_scaled = (y - y_mean) / y_scale

    preprocessor = build_preprocessor(spec)
    x_train = preprocessor.fit_transform(features.iloc[train_idx]).astype(np.float32)
    x_val = preprocessor.transform(features.iloc[val_idx]).astype(np.float32)

    out_dir.mkdir(parents=True, exist_ok=True)
    model, history = _fit(
        x_train,
        y_scaled[train_idx].astype(np.float32),
        x_val,
        y_scaled[val_idx].astype(np.float32),
        config,
        out_dir,
        on_epoch,
        should_stop,
    )
    raw_val = model.predict(x_val, batch_size=4096, verbose=0)
    predictions = _unscale(raw_val, y_mean, y_scale, config)
    metrics = _evaluate(y_raw[val_idx], predictions, config)
    metrics["rows_train"] = int(len(train_idx))
    metrics["rows_validation"] = int(len(val_idx))

    model.save(out_dir / "model.keras")
    joblib.dump(preprocessor, out_dir / "preprocessor.joblib")
    feature_info = {
        "numeric": list(spec.numeric),
        "categorical": list(spec.categorical),
        "targets": list(config.targets),
        "quantiles": list(config.quantiles),
        "log_targets": config.log_targets,
        "y_mean": y_mean.tolist(),
        "y_scale": y_scale.tolist(),
        "input_width": int(x_train.shape[1]),
        "config": config.to_dict(),
    }
    (out_dir / "features.json").write_text(json.dumps(feature_info, indent=2))
    (out_dir / "history.json").write_text(json.dumps(history, indent=2))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json_float))
    export_serving(model, preprocessor, spec, feature_info, out_dir)
    _write_sample(y_raw[val_idx], predictions, config, out_dir / "validation_sample.json")
    days: list[str] = []
    if config.day_column and config.day_column in frame.columns:
        days = sorted(frame[config.day_column].iloc[val_idx].astype(str).unique().tolist())
    return TrainResult(
        out_dir=out_dir,
        metrics=metrics,
        history=history,
        features=feature_info,
        rows_train=int(len(train_idx)),
        rows_validation=int(len(val_idx)),
        seconds=round(time.perf_counter() - started, 2),
        validation_days=days,
    )


def _write_sample(
    y_true: np.ndarray, predictions: np.ndarray, config: TrainConfig, path: Path, rows: int = 400
) -> None:
    # A fixed slice of held-out rows for the Models page's predicted-vs-actual and calibration.
    pick = np.random.default_rng(config.seed).permutation(len(y_true))[:rows]
    sample: dict[str, Any] = {"quantiles": list(config.quantiles), "targets": {}}
    for j, name in enumerate(config.targets):
        truth = y_true[pick, j]
        ok = ~np.isnan(truth)
        sample["targets"][name] = {
            "actual": np.round(truth[ok], 3).tolist(),
            "predicted": np.round(predictions[pick][ok, j, :], 3).tolist(),
        }
    path.write_text(json.dumps(sample))


def _json_float(value: Any) -> Any:
    return float(value)


def _unscale(
    raw: np.ndarray, y_mean: np.ndarray, y_scale: np.ndarray, config: TrainConfig
) -> np.ndarray:
    """Network outputs (n, targets*q) back to target units, shaped (n, targets, q), sorted."""
    q = config.outputs_per_target
    out = raw.reshape(len(raw), len(config.targets), q).astype(np.float64)
    out = out * y_scale[None, :, None] + y_mean[None, :, None]
    if config.log_targets:
        out = np.expm1(out)
    # Separate quantile heads may cross by a hair; sorting keeps P10 <= P50 <= P90.
    return np.sort(out, axis=2)


def _evaluate(y_true: np.ndarray, predictions: np.ndarray, config: TrainConfig) -> dict[str, Any]:
    quantiles = list(config.quantiles)
    mid = quantiles.index(0.5) if 0.5 in quantiles else predictions.shape[2] // 2
    metrics = regression_metrics(y_true, predictions[:, :, mid], config.targets)
    if len(quantiles) >= 2:
        for j, name in enumerate(config.targets):
            metrics["per_target"][name]["coverage"] = coverage(
                y_true[:, j], predictions[:, j, 0], predictions[:, j, -1]
            )
        metrics["interval"] = [quantiles[0], quantiles[-1]]
    return metrics


def _fit(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig,
    out_dir: Path,
    on_epoch: ProgressFn | None,
    should_stop: StopFn | None,
) -> tuple[Any, dict[str, list[float]]]:
    # Imported here, never at module level: see the module docstring.
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(config.seed)

    n_targets = len(config.targets)
    q = config.outputs_per_target
    model = build_model(x_train.shape[1], n_targets * q, config)
    loss: Any = (
        pinball_loss(config.quantiles, n_targets, config.target_weights)
        if config.loss == "pinball"
        else config.loss
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss=loss,
        # Keras metrics compare one output per target; quantile heads are scored after fit.
        metrics=[] if config.loss == "pinball" else list(config.metrics),
    )
    cancelled = {"flag": False}

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            if on_epoch is not None:
                on_epoch(
                    {
                        "stage": "training",
                        "epoch": epoch + 1,
                        "epochs": config.epochs,
                        "loss": float(logs.get("loss", math.nan)),
                        "val_loss": float(logs.get("val_loss", math.nan)),
                    }
                )
            if should_stop is not None and should_stop():
                cancelled["flag"] = True
                self.model.stop_training = True

    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            str(out_dir / "model.keras"), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(1, config.patience // 2), min_lr=1e-5
        ),
        Progress(),
    ]
    fit = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    if cancelled["flag"]:
        raise TrainingCancelled("training was cancelled")
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    return model, history


def build_model(n_inputs: int, n_outputs: int, config: TrainConfig) -> Any:
    """The MLP: per hidden layer Dense+ReLU (L2), BatchNormalization, Dropout; then the output."""
    import keras

    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, units in enumerate(config.hidden):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_regularizer=keras.regularizers.L2(config.l2),
            name=f"dense_{i}",
        )(x)
        x = keras.layers.BatchNormalization(name=f"norm_{i}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=config.output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="mlp")


def pinball_loss(quantiles: Sequence[float], n_targets: int, weights: Sequence[float] = ()) -> Any:
    """The quantile (pinball) loss over outputs laid out target-major, quantile-minor."""
    import keras
    from keras import ops

    q = np.tile(np.asarray(quantiles, dtype=np.float32), n_targets)
    n_q = len(quantiles)
    w = np.repeat(np.asarray(weights or [1.0] * n_targets, dtype=np.float32), n_q)
    w = w * (len(w) / w.sum())

    def loss(y_true: Any, y_pred: Any) -> Any:
        # Each target is repeated once per quantile head; missing targets (NaN) cost nothing.
        truth = ops.repeat(y_true, n_q, axis=1)
        present = ops.logical_not(ops.isnan(truth))
        truth = ops.where(present, truth, y_pred)
        err = truth - y_pred
        value = w * ops.maximum(q * err, (q - 1.0) * err)
        return ops.mean(value, axis=-1)

    keras.saving.get_custom_objects()["pinball"] = loss
    return loss
