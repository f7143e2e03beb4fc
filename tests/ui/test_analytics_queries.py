"""The KPIs on the UI sample fleet agree with the definitions the page always had, and the
Models page's training-data counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sample_data import Sample

from backend.analytics.aggregates import refresh_aggregates
from backend.analytics.kpis import KM_PER_MILE, kpi_values
from backend.analytics.queries import get_overview
from backend.db.queries.analytics import get_training_data


@pytest.fixture(scope="module")
def refreshed(database, sample: Sample) -> Sample:
    refresh_aggregates(database)
    return sample


def _days(session, sample: Sample, depot_ids=None):
    overview = get_overview(
        session,
        depot_ids=depot_ids,
        date_from=sample.today - timedelta(days=sample.history_days),
        date_to=sample.today - timedelta(days=1),
    )
    return {(sample.today - p.start).days: p.measures for p in overview.trend}, overview


def test_every_day_and_on_time(session, refreshed: Sample) -> None:
    """On time is the stop's arrival within the window (14 min into a 1 h window here), even
    when the delivery was only finished after the window (75 min); odd days one stop failed."""
    by_back, overview = _days(session, refreshed)
    assert len(by_back) == refreshed.history_days
    assert all(m.orders == 12 and m.visited == 12 and m.routes == 4 for m in by_back.values())
    assert by_back[1].on_time == 12 and by_back[1].failed == 4
    assert by_back[2].on_time == 12 and by_back[2].failed == 0
    assert kpi_values(by_back[1])["failed_rate"] == pytest.approx(4 / 12)
    assert overview.current.failed_reasons == {"unknown": overview.current.failed}


def test_costs_fuel_and_utilization(session, refreshed: Sample) -> None:
    """South, one day back: 43 km driven in 8.5 h of a 10 h shift."""
    by_back, _ = _days(session, refreshed, depot_ids=frozenset({refreshed.south_id}))
    day = by_back[1]
    values = kpi_values(day)
    assert day.km == pytest.approx(43.0)
    assert day.cost == pytest.approx(55 + 43.0 * 0.55 + 8.5 * 31)
    assert values["cost_per_mile"] == pytest.approx(day.cost / (43.0 / KM_PER_MILE))
    assert day.fuel_l == pytest.approx(43.0 * 0.13)
    assert day.co2_kg == pytest.approx(day.fuel_l * 2.68)
    assert values["fleet_utilization"] == pytest.approx(510 / 600)


def test_training_data_counts(session, sample: Sample) -> None:
    data = get_training_data(session, depot_ids=None)
    # History: 3 stops with actual times per vehicle and day; today: two done stops of VAN-1.
    assert data.stops_with_times == 3 * 4 * sample.history_days + 2
    assert data.first_day == sample.today - timedelta(days=sample.history_days)
    assert data.last_order_day == sample.today
    assert data.order_days == sample.history_days + 1
    south = get_training_data(session, depot_ids={sample.south_id})
    assert south.stops_with_times == 3 * sample.history_days
    assert south.positions == 0
