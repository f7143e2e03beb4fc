"""components.analytics: the report store, KPI tiles in km or miles, and the five figures."""

from __future__ import annotations

from datetime import date

from tree import by_class, text

from backend.db.queries.analytics import AnalyticsReport, DailyKpis
from components.analytics import (
    create_analytics_kpis,
    figure_cost,
    figure_emissions,
    figure_failures,
    figure_on_time,
    figure_orders,
    figure_utilization,
    has_data,
    report_to_store,
)


def report() -> AnalyticsReport:
    busy = DailyKpis(
        date(2026, 11, 25), orders=10, delivered=8, failed=2, visited=10, on_time=9, routes=2,
        km=100.0, route_minutes=600, fuel_l=13.0, co2_kg=34.84, cost=400.0, vehicles=4,
        shift_minutes=1200,
    )  # fmt: skip
    quiet = DailyKpis(date(2026, 11, 26))
    empty_tail = DailyKpis(date(2026, 11, 27))
    return AnalyticsReport(
        busy.day, empty_tail.day, [busy, quiet, busy, empty_tail], busy, {"customer_not_home": 2}
    )


def test_store_is_json_with_gaps_for_empty_days() -> None:
    store = report_to_store(report())
    busy, quiet, _, _ = store["days"]
    assert busy["on_time_rate"] == 0.9 and busy["cost_per_km"] == 4.0
    assert busy["utilization"] == 0.5 and busy["vehicle_utilization"] == 0.5
    assert "on_time_rate" not in quiet
    assert has_data(store) and not has_data(None)


def test_kpis_in_km_and_miles() -> None:
    store = report_to_store(report())
    km = create_analytics_kpis(store, "km")
    assert [c.children for c in by_class(km, "kpi-value")][:3] == ["90.0%", "$4.00", "50.0%"]
    miles = create_analytics_kpis(store, "mi")
    assert "Cost per mile" in text(miles) and "$6.44" in text(miles)
    assert "No history" in text(create_analytics_kpis({"totals": {}}, "km"))


def test_figures_have_one_point_per_day() -> None:
    store = report_to_store(report())
    on_time = figure_on_time(store)
    # A quiet day inside the range is a gap; empty days at the ends are cut.
    assert list(on_time.data[0].y) == [0.9, None, 0.9]
    cost = figure_cost(store, "mi")
    assert cost.data[1].name == "Cost per mi"
    assert len(figure_utilization(store).data) == 2
    assert len(figure_emissions(store).data) == 2
    failures = figure_failures(store)
    assert list(failures.data[0].y) == [2, None, 2]
    assert "customer not home 2" in failures.layout.title.subtitle.text
    outcomes = figure_orders(store)
    assert [t.name for t in outcomes.data] == ["Delivered", "Failed", "Cancelled", "Open"]
    assert list(outcomes.data[0].y) == [8, None, 8] and list(outcomes.data[3].y) == [0, None, 0]
