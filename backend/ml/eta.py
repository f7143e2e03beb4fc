"""The ETA model: its training set and settings; how a candidate is judged against the active."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend.ml.eta_data import QUANTILES, TARGETS, build_features, training_frame
from backend.ml.numpy_model import NumpyModel
from backend.ml.trainer import ProgressFn, StopFn, TrainConfig, TrainResult, train_table

ETA_MODEL = "eta"
# Small on purpose: ~35k legs of 90 days train in well under a minute on two cores, and a
# narrow network overfits the per-leg noise less (its P10-P90 stays honest on unseen days).
ETA_CONFIG = TrainConfig(
    targets=TARGETS,
    loss="pinball",
    quantiles=QUANTILES,
    # Service times are far noisier than legs: at equal weight they drive the validation loss,
    # and early stopping would follow them rather than the leg-time fit.
    target_weights=(1.0, 0.2),
    log_targets=True,
    hidden=(64, 32),
    dropout=0.05,
    learning_rate=3e-3,
    epochs=80,
    batch_size=256,
    patience=8,
    day_column="day",
    # Two-kilometre cells one-hot are ~130 sparse inputs the network memorises noise with;
    # the coordinates of both ends and the midpoint carry the same geography smoothly.
    drop=("origin_cell", "dest_cell"),
)
MIN_TRAINING_LEGS = 500
# The reference network (trained without today's drift) lives in this sub-folder of a version.
REFERENCE_DIR = "reference"


def train_eta(
    legs: pd.DataFrame,
    out_dir: Path,
    *,
    config: TrainConfig = ETA_CONFIG,
    with_drift: bool = True,
    on_epoch: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> tuple[TrainResult, pd.DataFrame]:
    """Train the ETA model on history's legs in two stages; returns the main result and frame.

    First a reference network without today's drift (written to ``out_dir/reference``); then
    today's drift is measured as actual over the reference's predicted minutes on the legs
    done so far, and the main network (``out_dir``) trains with that drift next to the
    plan-based one. The plan's estimate alone is a poor yardstick for the day's weather: the
    mix of legs behind it changes through the day, and the reference network takes that mix
    out. (Bench: the reference drift instead of the plan's scored worse, 1.37 vs 1.35 min;
    both together better on each of three seeds.) The reference's figures for the training
    days are in-sample, as they are for the legs of today in serving.
    """
    base = training_frame(legs, with_drift=False)
    if len(base) < MIN_TRAINING_LEGS:
        from backend.ml.tables import TrainerError

        raise TrainerError(
            f"only {len(base)} driven legs in history; the ETA model needs {MIN_TRAINING_LEGS}"
        )
    if not with_drift:
        result = train_table(base, config, out_dir, on_epoch=on_epoch, should_stop=should_stop)
        return result, base
    train_table(base, config, out_dir / REFERENCE_DIR, on_epoch=on_epoch, should_stop=should_stop)
    reference = NumpyModel.load(out_dir / REFERENCE_DIR)
    frame = training_frame(legs, reference=reference_minutes(reference, legs))
    result = train_table(frame, config, out_dir, on_epoch=on_epoch, should_stop=should_stop)
    return result, frame


def reference_minutes(
    reference: NumpyModel, legs: pd.DataFrame, *, depart: pd.Series | None = None, **kw: Any
) -> np.ndarray:
    """The reference network's P50 leg minutes for every row of `legs` (drift's yardstick)."""
    features = build_features(legs, depart=depart, **kw)
    predicted = reference.predict(features)
    leg = reference.targets.index("leg_min")
    mid = reference.quantiles.index(0.5) if 0.5 in reference.quantiles else predicted.shape[2] // 2
    return np.asarray(predicted[:, leg, mid], dtype=float)


def held_out(frame: pd.DataFrame, days: list[str]) -> pd.DataFrame:
    """The rows of `frame` on the given (held-out) days."""
    return frame[frame["day"].astype(str).isin(set(days))]


def median_mae(model: NumpyModel, frame: pd.DataFrame) -> dict[str, float]:
    """P50 mean absolute error per target and pooled, on rows with observed targets."""
    predicted = model.predict(frame)
    mid = model.quantiles.index(0.5) if 0.5 in model.quantiles else predicted.shape[2] // 2
    out: dict[str, float] = {}
    errors = []
    for j, target in enumerate(model.targets):
        truth = frame[target].to_numpy(dtype=float)
        ok = ~np.isnan(truth)
        err = np.abs(predicted[ok, j, mid] - truth[ok])
        out[target] = float(err.mean()) if ok.any() else float("nan")
        errors.append(err)
    out["mae"] = float(np.concatenate(errors).mean())
    return out


def frame_for(legs: pd.DataFrame, reference: NumpyModel | None) -> pd.DataFrame:
    """The training frame with drift measured against `reference` (None: against the plan)."""
    minutes = None if reference is None else reference_minutes(reference, legs)
    return training_frame(legs, reference=minutes)


def compare_on_held_out(
    candidate: NumpyModel,
    incumbent: NumpyModel | None,
    frame: pd.DataFrame,
    days: list[str],
    *,
    incumbent_frame: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Both models' P50 errors on the candidate's held-out days.

    `incumbent_frame` is the same legs with the incumbent's own drift (its reference network's,
    or the plan's for a version without one); default `frame`. The incumbent may have trained
    on some of those days, which favours it: promotion errs on the side of keeping what works.
    """
    rows = held_out(frame, days)
    result: dict[str, Any] = {"days": len(days), "rows": len(rows), "candidate": {}}
    result["candidate"] = median_mae(candidate, rows)
    if incumbent is not None:
        try:
            theirs = rows if incumbent_frame is None else held_out(incumbent_frame, days)
            result["incumbent"] = median_mae(incumbent, theirs)
        except KeyError as exc:  # an older feature set: it cannot be scored, so it loses
            result["incumbent"] = None
            result["incumbent_error"] = str(exc)
    return result


def fast_config(**overrides: Any) -> TrainConfig:
    """ETA_CONFIG made tiny (tests)."""
    base = dict(hidden=(16,), epochs=3, batch_size=128, patience=2)
    base.update(overrides)
    return replace(ETA_CONFIG, **base)  # type: ignore[arg-type]
