"""Every KPI on the hand-made fleet equals the number worked out by hand, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from handmade_fleet import DAY, Handmade

from backend.analytics.kpis import KPIS, LITRES_PER_US_GALLON, Measures, Targets, kpi_values
from backend.analytics.queries import (
    effective_depots,
    get_breakdown,
    get_overview,
    list_drill_orders,
    list_drill_routes,
    measures_by,
)

KM_PER_MILE = 1.609344
# By hand from handmade_fleet's docstring.
EXPECTED = {
    "cost_per_km": 375 / 110,  # 50 fixed + 110 km x 0.5 + 9 h x 30
    "cost_per_mile": 375 / (110 / KM_PER_MILE),
    "on_time_rate": 2 / 4,  # O1 and O4
    "fleet_utilization": 540 / 600,  # 9 h out of a 10 h shift
    "load_utilization": 500 / 1000,
    "distance_km": 110.0,
    "driving_hours": (540 - 40) / 60,  # 40 min standing at the four stops
    "stops_per_hour": 4 / 9,
    "distance_per_stop": 110 / 4,
    "fuel_l": 11.0,
    "mpg": (110 / KM_PER_MILE) / (11 / LITRES_PER_US_GALLON),
    "l_per_100km": 10.0,
    "co2_t": 0.0275,
    "planning_minutes": (0.75 + 45) / 2,  # REQ-A accepted after 45 s; REQ-B manual, 45 min
    "optimization_score": 0.8,
    "failed_rate": 1 / 4,
    "failed": 1,
    "cancelled": 1,
    "avg_lateness_min": (10 + 40) / 2,
    "km_vs_plan": 0.1,
    "duration_vs_plan": 540 / 480 - 1,
    "eta_error_min": (30 + 40 + 40 + 10) / 4,
    "incidents": 1,  # the breakdown; "arrived" is not an incident
    "customer_rating": (5 + 4) / 2,  # O1 and O2 rated; O4 not
    "ratings": 2,
}


def _north(session, fleet: Handmade):
    return get_overview(
        session, depot_ids=frozenset({fleet.north_id}), date_from=DAY, date_to=DAY
    ).current


def test_every_kpi_by_hand(database, handmade: Handmade) -> None:
    """Each KPI of the README on the hand-made day, on SQLite and PostgreSQL alike."""
    assert {k.key for k in KPIS} == set(EXPECTED)
    with database.session() as session:
        values = kpi_values(_north(session, handmade))
    for key, expected in EXPECTED.items():
        assert values[key] == pytest.approx(expected, rel=1e-6), key


def test_lateness_reasons_and_orders(database, handmade: Handmade) -> None:
    """Lateness buckets, failed and cancelled reasons and order counts."""
    with database.session() as session:
        m = _north(session, handmade)
    assert (m.on_time, m.late_15, m.late_30, m.late_60, m.late_over_60) == (2, 1, 0, 1, 0)
    assert (m.orders, m.delivered, m.failed, m.cancelled) == (5, 3, 1, 1)
    assert m.failed_reasons == {"customer_not_home": 1}
    assert m.cancelled_reasons == {"no capacity": 1}
    assert (m.requests, m.routes, m.stops, m.visited) == (2, 1, 4, 4)


def test_previous_period_and_trend(database, handmade: Handmade) -> None:
    """The previous range of the same length is empty; the trend has one point per period."""
    with database.session() as session:
        overview = get_overview(
            session, depot_ids=None, date_from=DAY - timedelta(days=6), date_to=DAY, grain="day"
        )
        monthly = get_overview(
            session, depot_ids=None, date_from=DAY - timedelta(days=6), date_to=DAY, grain="month"
        )
    assert overview.previous.routes == 0 and overview.current.routes == 2
    assert [p.start for p in overview.trend][-1] == DAY and len(overview.trend) == 7
    assert [p.start.isoformat() for p in monthly.trend] == ["2026-02-01", "2026-03-01"]
    assert monthly.trend[1].measures.km == pytest.approx(150.0)


def test_scope_keeps_a_dispatcher_to_their_depots(database, handmade: Handmade) -> None:
    """A North dispatcher never sees South, even when asking for it; a manager sees both."""
    north = frozenset({handmade.north_id})
    assert effective_depots(north, [handmade.south_id]) == frozenset()
    assert effective_depots(north, None) == north
    assert effective_depots(None, None) is None
    with database.session() as session:
        rows = get_breakdown(
            session, dimension="depot", depot_ids=effective_depots(north, None),
            date_from=DAY, date_to=DAY,
        )  # fmt: skip
        everything = get_breakdown(
            session, dimension="depot", depot_ids=None, date_from=DAY, date_to=DAY
        )
        none = get_overview(
            session, depot_ids=effective_depots(north, [handmade.south_id]), date_from=DAY,
            date_to=DAY,
        )  # fmt: skip
    assert [r.name for r in rows] == ["North"]
    assert [r.name for r in everything] == ["North", "South"]
    assert none.current.routes == 0


def test_breakdown_by_driver_and_vehicle(database, handmade: Handmade) -> None:
    """Driver scorecard and vehicle view read the same sums as the overview."""
    with database.session() as session:
        drivers = get_breakdown(
            session, dimension="driver", depot_ids=None, date_from=DAY, date_to=DAY
        )
        vehicles = get_breakdown(
            session, dimension="vehicle", depot_ids=None, date_from=DAY, date_to=DAY, grain="day"
        )
    dana = next(r for r in drivers if r.key == handmade.driver_id)
    assert dana.name == "Dana"
    values = kpi_values(dana.measures)
    assert values["on_time_rate"] == pytest.approx(0.5)
    assert values["stops_per_hour"] == pytest.approx(4 / 9)
    assert values["distance_per_stop"] == pytest.approx(27.5)
    assert values["failed_rate"] == pytest.approx(0.25)
    assert [r.name for r in drivers if r.key == 0] == ["unassigned"]
    van = next(r for r in vehicles if r.key == handmade.vehicle_id)
    assert van.name == "VAN-1" and van.measures.incidents == 1 and len(van.series) == 1
    assert kpi_values(van.measures)["cost_per_km"] == pytest.approx(375 / 110)


def test_drill_down_lists_plan_against_actual(database, handmade: Handmade) -> None:
    """The routes and orders behind a vehicle's point."""
    with database.session() as session:
        routes = list_drill_routes(
            session, depot_ids=None, date_from=DAY, date_to=DAY, dimension="vehicle",
            key=handmade.vehicle_id,
        )  # fmt: skip
        orders = list_drill_orders(session, depot_ids=None, date_from=DAY, date_to=DAY)
    (route,) = routes
    assert (route.route_id, route.vehicle, route.driver) == (handmade.route_id, "VAN-1", "Dana")
    assert (route.stops, route.visited, route.on_time, route.failed) == (4, 4, 2, 1)
    assert (route.planned_km, route.actual_km) == (100.0, 110.0)
    assert route.actual_min == pytest.approx(540) and route.planned_min == 480
    assert route.eta_error_min == pytest.approx(30.0)
    assert {(o.reference, o.status, o.reason) for o in orders} == {
        ("O3", "failed", "customer_not_home"),
        ("O5", "cancelled", "no capacity"),
    }


def test_grouping_never_averages_ratios(database, handmade: Handmade) -> None:
    """The fleet's on-time rate is the sum of on-time stops over the sum of visited ones."""
    with database.session() as session:
        rows = measures_by(
            session, keys=("vehicle_id",), date_from=DAY, date_to=DAY, depot_ids=None
        )
    total = Measures.total(rows.values())
    assert total.routes == 2 and total.km == pytest.approx(150.0)
    assert Measures.from_dict(total.as_dict()) == total


def test_targets_are_the_original_design_values() -> None:
    """Defaults from settings: $1.20/mile, 98 %, 90 %, 1 min, 7.8 MPG; km and l/100 km derived."""
    from backend.config import load_settings

    targets = Targets.from_settings(load_settings())
    assert targets.as_dict()["cost_per_mile"] == 1.20
    assert targets.for_kpi("cost_per_km") == pytest.approx(1.20 / KM_PER_MILE)
    assert targets.for_kpi("on_time_rate") == 0.98
    assert targets.for_kpi("fleet_utilization") == 0.90
    assert targets.for_kpi("planning_minutes") == 1.0
    assert targets.for_kpi("l_per_100km") == pytest.approx(235.2146 / 7.8, rel=1e-4)
    assert targets.for_kpi("customer_rating") == 4.8
    assert targets.for_kpi("distance_km") is None


def test_customer_rating_per_driver_vehicle_and_day(database, handmade: Handmade) -> None:
    """Dana's two ratings (5 and 4) are hers, VAN-1's and the North depot's; South has none."""
    with database.session() as session:
        by_driver = measures_by(
            session, keys=("driver_id", "day"), date_from=DAY, date_to=DAY, depot_ids=None
        )
        by_depot = measures_by(
            session, keys=("depot_id",), date_from=DAY, date_to=DAY, depot_ids=None
        )
        drivers = get_breakdown(
            session, dimension="driver", depot_ids=None, date_from=DAY, date_to=DAY
        )
    dana = by_driver[(handmade.driver_id, DAY)]
    assert (dana.ratings, dana.rating_sum) == (2, 9.0)
    assert kpi_values(dana)["customer_rating"] == pytest.approx(4.5)
    assert by_depot[(handmade.north_id,)].ratings == 2
    assert by_depot[(handmade.south_id,)].ratings == 0
    assert kpi_values(by_depot[(handmade.south_id,)])["customer_rating"] is None
    [row] = [r for r in drivers if r.key == handmade.driver_id]
    assert kpi_values(row.measures)["customer_rating"] == pytest.approx(4.5)


def test_a_new_rating_counts_after_the_refresh(database, handmade: Handmade) -> None:
    """record_rating on O4 (1 star): (5 + 4 + 1) / 3 once the aggregates are refreshed."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from backend.analytics.aggregates import refresh_aggregates
    from backend.db.models import Order
    from backend.services.ratings import record_rating

    with database.session() as session:
        o4 = session.scalar(select(Order.id).where(Order.reference == "O4"))
        record_rating(
            session, order_id=o4, rating=1, comment="late", now=datetime(2026, 3, 3, tzinfo=UTC)
        )
    with database.session() as session:
        assert kpi_values(_north(session, handmade))["customer_rating"] == pytest.approx(4.5)
    refresh_aggregates(database)
    with database.session() as session:
        values = kpi_values(_north(session, handmade))
    assert values["customer_rating"] == pytest.approx(10 / 3) and values["ratings"] == 3


@pytest.mark.parametrize("grain", ["week", "month"])
def test_database_periods_match_python_periods(database, handmade: Handmade, grain) -> None:
    """Weeks (from Monday) and months summed by the database start where period_start says."""
    from backend.analytics.queries import period_start

    with database.session() as session:
        rows = measures_by(
            session, keys=("day",), date_from=DAY - timedelta(days=40), date_to=DAY,
            depot_ids=None, grain=grain,
        )  # fmt: skip
    assert list(rows) == [(period_start(DAY, grain),)]
    assert rows[(period_start(DAY, grain),)].km == pytest.approx(150.0)
