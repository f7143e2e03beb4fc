"""components.plans: formatted plan rows and the summary tiles."""

from __future__ import annotations

from datetime import UTC, datetime

from tree import by_class

from backend.db.queries.plans import PlanRow, PlanSummary
from components.plans import PLAN_COLUMNS, create_plan_summary, plan_rows


def test_rows_are_formatted_and_match_the_columns() -> None:
    solved = PlanRow(
        "req-1", "resp-1", datetime(2026, 11, 27, 6, 5, tzinfo=UTC), 1, "North", 3, "VAN-3",
        "completed", 5, 12, 0.91234, 41.26, 390.0, 5.4, 14.47, 2580.0,
    )  # fmt: skip
    pending = PlanRow(
        "req-2", None, datetime(2026, 11, 27, 7, 0, tzinfo=UTC), 1, "North", None, None,
        "pending", 5, 0, None, None, None, None, None,
    )  # fmt: skip
    rows = plan_rows([solved, pending])
    assert rows[0]["created_at"] == "2026-11-27 06:05"
    assert rows[0]["score"] == "0.912" and rows[0]["duration_min"] == "6.5"
    assert rows[0]["vehicle"] == "VAN-3"
    assert rows[1]["score"] == "–" and rows[1]["vehicle"] == "all"
    assert rows[0]["planning"] == "43 min" and rows[1]["planning"] == "–"
    # Every column is filled; the response id rides along for the compare view.
    assert set(rows[0]) == {c["id"] for c in PLAN_COLUMNS} | {"response_id"}


def test_summary_tiles() -> None:
    tiles = create_plan_summary(PlanSummary(10, 9, 0.85, 400.0, 600.0, 52.0, 139.4))
    values = [c.children for c in by_class(tiles, "kpi-value")]
    assert values == ["10", "0.850", "400 km", "52 l", "139 kg"]
    empty = create_plan_summary(PlanSummary(0, 0, None, 0.0, 0.0, 0.0, 0.0))
    assert by_class(empty, "kpi-value")[1].children == "–"
