"""Today's orders: 300-500, status new, well-formed windows inside the day, sane demand."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Order
from backend.sim.city import CITY_TZ
from backend.sim.orders import order_count
from tests.sim.seeding import TODAY


def _today(session: Session) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.service_date == TODAY)))


def test_today_has_300_to_500_new_unplanned_orders(session: Session) -> None:
    orders = _today(session)
    assert 300 <= len(orders) <= 500
    assert {o.status for o in orders} == {"new"}
    assert all(o.vehicle_id is None and o.planned_at is None for o in orders)


def test_time_windows_well_formed_and_inside_the_day(session: Session) -> None:
    two_windows = 0
    for o in _today(session):
        windows = [
            (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
            for w in o.time_windows
        ]
        two_windows += len(windows) == 2
        for start, end in windows:
            assert start < end
            local_start, local_end = start.astimezone(CITY_TZ), end.astimezone(CITY_TZ)
            assert local_start.date() == local_end.date() == TODAY
            assert 7 <= local_start.hour and local_end.hour <= 18
        assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:], strict=False))
        assert o.window_start == windows[0][0] and o.window_end == windows[-1][1]
    assert two_windows > 0


def test_demand_priorities_and_skills(session: Session) -> None:
    orders = _today(session)
    assert all(o.demand["kg"] > 0 and o.demand["m3"] > 0 for o in orders)
    assert all(1 <= o.priority <= 10 for o in orders)
    assert all(o.service_minutes >= 3 for o in orders)
    heavy = [o for o in orders if "liftgate" in o.required_skills]
    assert heavy and all(o.demand["kg"] >= 250 for o in heavy)
    assert any("refrigerated" in o.required_skills for o in orders)
    assert len({o.customer_name for o in orders}) > 0.5 * len(orders)


def test_volume_follows_the_calendar() -> None:
    def mean_count(day: date) -> float:
        rng = np.random.default_rng(1)
        return float(np.mean([order_count(rng, day, is_today=False) for _ in range(50)]))

    friday, sunday, thanksgiving = date(2026, 11, 20), date(2026, 11, 22), date(2026, 11, 26)
    assert mean_count(friday) > mean_count(sunday) > mean_count(thanksgiving)
    assert 300 <= order_count(np.random.default_rng(1), thanksgiving, is_today=True) <= 500
