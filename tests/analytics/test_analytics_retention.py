"""Retention thins old fixes to a track, purges older ones, resumes after a stop, keeps KPIs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from handmade_fleet import DAY, Handmade, add_positions, at
from sqlalchemy import func, select

from backend.analytics.aggregates import refresh_aggregates
from backend.analytics.kpis import kpi_values
from backend.analytics.queries import get_overview
from backend.analytics.retention import RetentionPolicy, keep_fix, run_retention
from backend.db.models import Position

POLICY = RetentionPolicy(raw_days=30, track_days=365, interval_s=30, heading_change_deg=15,
                         batch_size=100)  # fmt: skip
OLD_DAY = DAY - timedelta(days=400)  # past the track's lifetime when now is 40 days after DAY
NOW = at(12, day=DAY + timedelta(days=40))


def _count(database, day=None) -> int:
    with database.session() as session:
        stmt = select(func.count(Position.id))
        if day is not None:
            start, end = at(0, day=day), at(0, day=day + timedelta(days=1))
            stmt = stmt.where(Position.recorded_at >= start, Position.recorded_at < end)
        return int(session.scalar(stmt) or 0)


def _fill(database, fleet: Handmade) -> int:
    with database.session() as session:
        n = add_positions(session, fleet.vehicle_id, DAY)  # 2 h at one fix per 5 s
        add_positions(session, fleet.vehicle_id, OLD_DAY, every_s=60, hours=1, first_seq=10_000)
        add_positions(session, fleet.south_vehicle_id, DAY + timedelta(days=35), every_s=60,
                      hours=1)  # fmt: skip
        return n


def test_keep_rule() -> None:
    """A fix stays every 30 s and on every heading change of 15 degrees or more."""
    assert keep_fix(None, None, at(8), 0.0, POLICY)
    assert not keep_fix(at(8), 0.0, at(8, 0, 29), 10.0, POLICY)
    assert keep_fix(at(8), 0.0, at(8, 0, 30), 0.0, POLICY)
    assert keep_fix(at(8), 350.0, at(8, 0, 5), 10.0, POLICY)  # 20 degrees across north
    assert not keep_fix(at(8), 350.0, at(8, 0, 5), 355.0, POLICY)


def test_retention_keeps_kpis_and_resumes(database, handmade: Handmade) -> None:
    """Thinned to one fix per 30 s plus turns, the 400-day-old drive purged, KPIs unchanged."""
    raw = _fill(database, handmade)
    with database.session() as session:
        before = kpi_values(get_overview(session, depot_ids=None, date_from=DAY,
                                         date_to=DAY).current)  # fmt: skip
    # A first run stopped after 3 batches (as if it crashed), then a full run resumes.
    partial = run_retention(database, now=NOW, policy=POLICY, max_batches=3)
    assert not partial.finished and partial.batches == 3
    report = run_retention(database, now=NOW, policy=POLICY)
    assert report.finished
    # 2 h at 5 s = 1440 fixes -> one per 30 s = 240 (turns fall on 30 s marks already).
    assert raw == 1440 and _count(database, DAY) == 240
    assert _count(database, OLD_DAY) == 0
    recent = DAY + timedelta(days=35)
    assert _count(database, recent) == 60  # younger than raw_days: untouched
    assert report.max_batch_ms < 1000
    again = run_retention(database, now=NOW, policy=POLICY)
    assert again.thinned == 0 and again.purged == 0 and _count(database, DAY) == 240
    refresh_aggregates(database)
    with database.session() as session:
        after = kpi_values(get_overview(session, depot_ids=None, date_from=DAY,
                                        date_to=DAY).current)  # fmt: skip
    assert after == pytest.approx(before)


def test_now_must_be_aware(database) -> None:
    """The clock is a parameter, and an aware one."""
    with pytest.raises(ValueError, match="now"):
        run_retention(database, now=NOW.replace(tzinfo=None))
