"""The Plans queries page, sort, filter and total the optimization history inside the scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sample_data import Sample

from backend.db.queries.plans import list_plans, summarize_plans


def test_pages_cover_every_plan_once(session, sample: Sample) -> None:
    first = list_plans(session, depot_ids=None, page=1, page_size=7)
    assert first.total == sample.history_days * 4
    seen = []
    for page in range(1, -(-first.total // 7) + 1):
        seen += [
            p.request_id for p in list_plans(session, depot_ids=None, page=page, page_size=7).items
        ]
    assert len(seen) == len(set(seen)) == first.total
    newest = first.items[0]
    assert newest.created_at == max(p.created_at for p in first.items)
    assert newest.vehicle_name and newest.depot_name and newest.score is not None


def test_sort_and_scope(session, sample: Sample) -> None:
    by_distance = list_plans(session, depot_ids=None, sort="-distance_km", page_size=100).items
    distances = [p.distance_km for p in by_distance]
    assert distances == sorted(distances, reverse=True)
    south = list_plans(session, depot_ids={sample.south_id}, page_size=100)
    assert south.total == sample.history_days
    assert {p.depot_id for p in south.items} == {sample.south_id}
    with pytest.raises(ValueError, match="sort"):
        list_plans(session, depot_ids=None, sort="password")


def test_date_filter_and_summary(session, sample: Sample) -> None:
    yesterday = sample.today - timedelta(days=1)
    plans = list_plans(session, depot_ids=None, date_from=yesterday, date_to=yesterday)
    assert plans.total == 4
    summary = summarize_plans(session, depot_ids=None, date_from=yesterday, date_to=yesterday)
    assert summary.requests == summary.solved == 4
    assert summary.distance_km == pytest.approx(sum(p.distance_km for p in plans.items))
    assert summary.co2_kg > 0 and summary.avg_score is not None
    empty = summarize_plans(session, depot_ids=set())
    assert empty.requests == 0 and empty.avg_score is None and empty.distance_km == 0
