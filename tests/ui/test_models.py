"""components.models: the honest empty state names both models and the data they would use."""

from __future__ import annotations

from datetime import date

from tree import by_class, text

from backend.db.queries.analytics import TrainingData
from components.models import create_models_view


def test_empty_state_with_training_data() -> None:
    data = TrainingData(
        1500, 80, date(2026, 9, 1), date(2026, 11, 26), 12000, 90, date(2026, 8, 29),
        date(2026, 11, 27), 0, 2300,
    )  # fmt: skip
    view = create_models_view(data)
    content = text(view)
    assert "No models trained yet" in content
    assert "ETA model" in content and "Demand forecast" in content
    assert "1,500" in content and "12,000" in content and "Sep 01, 2026 – Nov 26, 2026" in content
    assert [p.children for p in by_class(view, "pill")] == ["Ready", "Ready"]


def test_not_enough_data_yet() -> None:
    view = create_models_view(TrainingData(10, 1, None, None, 30, 1, None, None, 0, 0))
    assert [p.children for p in by_class(view, "pill")] == ["Waiting", "Waiting"]
    assert "none yet" in text(view)


def test_registry_and_charts_replace_the_empty_state() -> None:
    from datetime import UTC, datetime

    from backend.ml.overview import VersionDetail, VersionRow
    from components.models import describe_progress

    row = VersionRow(
        3, "eta", 2, "active", datetime(2026, 11, 27, 9, tzinfo=UTC), date(2026, 9, 1),
        date(2026, 11, 26), 1.64, 0.82, "held-out P50 MAE 1.64 min; promoted",
    )  # fmt: skip
    sample = {
        "quantiles": [0.1, 0.5, 0.9],
        "targets": {"leg_min": {"actual": [3.0, 5.0], "predicted": [[2, 3, 4], [4, 6, 7]]}},
    }
    detail = VersionDetail(2, {"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]}, sample, [])
    view = create_models_view(
        TrainingData(10, 1, None, None, 30, 1, None, None, 0, 0), [row], detail
    )
    content = text(view)
    assert "No models trained yet" not in content
    assert "Model registry" in content and "v2" in content and "1.64 min" in content
    assert "82%" in content and "ETA v2" in content
    assert describe_progress({"stage": "training", "epoch": 2, "epochs": 60, "val_loss": 0.08})
    assert describe_progress({"stage": "failed", "message": "training was cancelled"}).startswith(
        "Failed"
    )
