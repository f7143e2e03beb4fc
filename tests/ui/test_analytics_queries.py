"""The Analytics queries: daily KPIs from a few set-based queries, by the documented formulas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sample_data import Sample

from backend.db.queries.analytics import KM_PER_MILE, get_analytics, get_training_data


def _history(session, sample: Sample, depot_ids=None, depot_id=None):
    return get_analytics(
        session,
        depot_ids=depot_ids,
        depot_id=depot_id,
        date_from=sample.today - timedelta(days=sample.history_days),
        date_to=sample.today - timedelta(days=1),
    )


def test_every_day_of_the_range_is_there(session, sample: Sample) -> None:
    report = _history(session, sample)
    assert len(report.days) == sample.history_days
    assert [k.day for k in report.days] == sorted(k.day for k in report.days)
    assert all(k.orders == 12 and k.visited == 12 and k.routes == 4 for k in report.days)


def test_on_time_and_failures(session, sample: Sample) -> None:
    report = _history(session, sample)
    by_back = {(sample.today - k.day).days: k for k in report.days}
    # Odd days back: the third stop failed early (on time); even: it was delivered late.
    assert by_back[1].on_time == 8 and by_back[1].failed == 4
    assert by_back[2].on_time == 4 and by_back[2].failed == 0
    assert by_back[2].on_time_rate == pytest.approx(4 / 12)
    assert report.failure_reasons == {"unknown": report.totals.failed}


def test_costs_fuel_and_utilization(session, sample: Sample) -> None:
    report = _history(session, sample, depot_ids={sample.south_id})
    day = next(k for k in report.days if (sample.today - k.day).days == 1)
    km = 43.0  # actual distance of the route one day back
    assert day.km == pytest.approx(km)
    assert day.cost == pytest.approx(55 + km * 0.55 + 8.5 * 31)
    assert day.cost_per_mile == pytest.approx(day.cost / (km / KM_PER_MILE))
    assert day.fuel_l == pytest.approx(km * 0.13)
    assert day.co2_kg == pytest.approx(day.fuel_l * 2.68)
    assert day.utilization == pytest.approx(510 / 600)
    assert day.vehicle_utilization == 1.0


def test_scope_and_depot_filter_agree(session, sample: Sample) -> None:
    scoped = _history(session, sample, depot_ids={sample.north_id}).totals
    filtered = _history(session, sample, depot_id=sample.north_id).totals
    everything = _history(session, sample).totals
    assert scoped.orders == filtered.orders == 9 * sample.history_days
    assert everything.orders == 12 * sample.history_days
    assert _history(session, sample, depot_ids=set()).totals.orders == 0


def test_today_has_orders_but_no_driven_route_costs_from_planned_ones(session, sample) -> None:
    report = get_analytics(session, depot_ids=None, date_from=sample.today, date_to=sample.today)
    (today,) = report.days
    assert today.orders == sample.today_orders_north + sample.today_orders_south
    assert today.routes == 1  # the active route of VAN-1


def test_bad_range_is_refused(session, sample: Sample) -> None:
    with pytest.raises(ValueError, match="date_to"):
        get_analytics(
            session,
            depot_ids=None,
            date_from=sample.today,
            date_to=sample.today - timedelta(days=1),
        )


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
