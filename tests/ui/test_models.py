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
