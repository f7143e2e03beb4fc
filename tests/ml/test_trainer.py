"""The trainer: fits a small table in seconds, saves its artifacts; NumPy serving equals Keras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ml_data import assert_numpy_equals_keras, small_table

from backend.ml.numpy_model import NumpyModel
from backend.ml.tables import TrainerError, load_table
from backend.ml.trainer import TrainConfig, split_by_day, train

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FAST = dict(hidden=(16, 8), epochs=6, batch_size=64, patience=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("model") / "v1"
    progress: list[dict] = []
    config = TrainConfig(
        targets=("travel", "service"), loss="pinball", quantiles=(0.1, 0.5, 0.9), **FAST
    )
    result = train(small_table(), config, out, on_epoch=progress.append)
    return result, progress


def test_training_writes_every_artifact_and_reports_each_epoch(trained) -> None:
    result, progress = trained
    names = {p.name for p in result.out_dir.iterdir()}
    expected = {"model.keras", "preprocessor.joblib", "features.json", "history.json"}
    assert expected | {"metrics.json", "serving.json", "weights.npz"} <= names
    assert [p["epoch"] for p in progress] == list(range(1, len(progress) + 1))
    metrics = json.loads((result.out_dir / "metrics.json").read_text())
    for target in ("travel", "service"):
        assert set(metrics["per_target"][target]) >= {"mae", "mse", "rmse", "r2", "coverage"}
    assert {"mae", "mse", "rmse", "r2"} <= set(metrics)
    assert result.features["numeric"] == ["x1", "x2"]
    assert result.features["categorical"] == ["zone"]


def test_numpy_serving_equals_keras_within_1e_5(trained) -> None:
    result, _ = trained
    assert_numpy_equals_keras(result.out_dir, small_table(rows=200, seed=11))


def test_save_then_load_reproduces_predictions(trained) -> None:
    result, _ = trained
    sample = small_table(rows=50, seed=5)
    first = NumpyModel.load(result.out_dir).predict(sample)
    again = NumpyModel.load(result.out_dir).predict(sample)
    assert first.shape == (50, 2, 3)
    np.testing.assert_array_equal(first, again)
    assert (np.diff(first, axis=2) >= 0).all()  # P10 <= P50 <= P90


def test_unknown_category_is_ignored_not_an_error(trained) -> None:
    result, _ = trained
    sample = small_table(rows=5, seed=8).assign(zone="airport")
    assert np.isfinite(NumpyModel.load(result.out_dir).predict(sample)).all()


def test_day_split_keeps_every_day_on_one_side() -> None:
    table = small_table(rows=500, days=15)
    train_idx, val_idx = split_by_day(table, "day", 0.2, seed=1)
    train_days = set(table["day"].iloc[train_idx])
    val_days = set(table["day"].iloc[val_idx])
    assert train_days.isdisjoint(val_days)
    assert len(train_idx) + len(val_idx) == len(table)
    assert len(val_days) == 3
    again = split_by_day(table, "day", 0.2, seed=1)
    np.testing.assert_array_equal(again[1], val_idx)  # fixed seed, same split


def test_formats_load_the_same_table(tmp_path: Path) -> None:
    table = small_table(rows=20)
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet")
    table.to_json(tmp_path / "t.json", orient="records")
    for name in ("t.csv", "t.parquet", "t.json"):
        loaded = load_table(tmp_path / name)
        assert list(loaded.columns) == list(table.columns)
        np.testing.assert_allclose(loaded["travel"], table["travel"])


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("", "empty.csv", "empty"),
        ("day,x1\n", "header.csv", "no rows"),
        ("\x00\x01garbage{", "bad.json", "cannot read"),
        ("not parquet", "bad.parquet", "cannot read"),
    ],
)
def test_unreadable_inputs_say_why(tmp_path: Path, content: str, name: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(TrainerError, match=message):
        train(tmp_path / name, TrainConfig(targets=("travel",), **FAST), tmp_path / "out")


def test_missing_file_and_bad_targets_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(TrainerError, match="no such file"):
        train(tmp_path / "nope.csv", TrainConfig(targets=("travel",)), out)
    with pytest.raises(TrainerError, match=r"target column\(s\) \['eta'\] not in the table"):
        train(small_table(rows=20), TrainConfig(targets=("eta",)), out)
    with pytest.raises(TrainerError, match="'zone' is not numeric"):
        train(small_table(rows=20), TrainConfig(targets=("zone",)), out)
    with pytest.raises(TrainerError, match="no rows"):
        train(pd.DataFrame({"travel": []}), TrainConfig(targets=("travel",)), out)


def test_categorical_lookup_is_the_same_for_text_and_other_dtypes(trained) -> None:
    result, _ = trained
    sample = small_table(rows=40, seed=9)
    served = NumpyModel.load(result.out_dir)
    as_category = sample.assign(zone=sample["zone"].astype("category"))
    np.testing.assert_array_equal(served.predict(sample), served.predict(as_category))
    # A gap takes the slow path; the row lookup still equals the full one-hot product.
    with_gap = sample.assign(zone=sample["zone"].where(sample.index != 0, None))
    np.testing.assert_allclose(
        served._forward_fast(with_gap), served.forward(served.transform(with_gap)), atol=1e-9
    )


def test_target_weights_need_one_positive_weight_per_target() -> None:
    with pytest.raises(TrainerError, match="one positive weight per target"):
        TrainConfig(targets=("travel", "service"), target_weights=(1.0,))
    with pytest.raises(TrainerError, match="one positive weight per target"):
        TrainConfig(targets=("travel", "service"), target_weights=(1.0, 0.0))
