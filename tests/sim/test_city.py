"""The demo city: land check, today's orders on land inside the city, street-like addresses."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Depot, Order
from backend.sim.city import CITY_BOX, DEPOTS, NEIGHBOURHOODS, at_local_minute, is_on_land
from backend.sim.records import local_ts
from tests.sim.seeding import TODAY


def test_land_check_knows_the_lake() -> None:
    assert is_on_land(41.8819, -87.6300)  # the Loop
    assert not is_on_land(41.8900, -87.5800)  # out on Lake Michigan
    assert not is_on_land(41.9200, -87.6000)  # off Lincoln Park
    assert not is_on_land(42.1000, -87.7000)  # Evanston and beyond
    assert all(is_on_land(d.lat, d.lon) for d in DEPOTS)
    assert all(is_on_land(n.lat, n.lon) for n in NEIGHBOURHOODS)


def test_orders_on_land_inside_the_city(session: Session) -> None:
    rows = session.execute(select(Order.lat, Order.lon)).all()
    lat = np.array([r[0] for r in rows])
    lon = np.array([r[1] for r in rows])
    assert is_on_land(lat, lon).all()
    assert (lat >= CITY_BOX["lat_min"]).all() and (lat <= CITY_BOX["lat_max"]).all()


def test_addresses_look_like_chicago_streets(session: Session) -> None:
    addresses = session.scalars(select(Order.address).where(Order.service_date == TODAY)).all()
    pattern = re.compile(r"^\d{3,5} [NSEW] [A-Z0-9].*, Chicago, IL 606\d\d$")
    assert all(pattern.match(a) for a in addresses), addresses[:5]
    assert len(set(addresses)) > 0.8 * len(addresses)


def test_depots_are_stored_with_the_city_time_zone(session: Session) -> None:
    depots = session.scalars(select(Depot)).all()
    assert {d.timezone for d in depots} == {"America/Chicago"}


def test_local_minutes_follow_daylight_saving() -> None:
    summer = at_local_minute(TODAY.replace(month=7), 8 * 60)
    winter = at_local_minute(TODAY, 8 * 60)
    assert (summer.hour, winter.hour) == (13, 14)


def test_fast_local_timestamps_match_the_zone_on_switch_days() -> None:
    for day in (date(2026, 3, 8), date(2026, 11, 1), TODAY):
        for minute in (0.0, 90.0, 181.5, 8 * 60, 17 * 60 + 59.75, 23 * 60 + 59):
            assert local_ts(day, minute) == at_local_minute(day, round(minute * 60) / 60)
