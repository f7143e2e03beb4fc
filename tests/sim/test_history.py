"""History: final statuses, consistent timestamps and plausible baseline KPIs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import (
    Notification,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    RouteEvent,
    RouteStop,
)
from tests.sim.seeding import TODAY, Seeded, seed_into


def _history(session: Session) -> list[Order]:
    return list(session.scalars(select(Order).where(Order.service_date < TODAY)))


def test_history_orders_are_final_with_consistent_timestamps(session: Session) -> None:
    orders = _history(session)
    assert orders
    cancelled = [o for o in orders if o.status == "cancelled"]
    assert len(cancelled) <= 0.01 * len(orders)
    assert all(o.cancelled_at is not None and o.vehicle_id is None for o in cancelled)
    for o in orders:
        if o.status == "cancelled":
            continue
        assert o.status in {"delivered", "failed"}
        assert o.vehicle_id is not None
        assert o.created_at <= o.planned_at <= o.dispatched_at <= o.en_route_at <= o.arrived_at
        if o.status == "delivered":
            assert o.delivered_at is not None and o.failed_at is None
            assert o.arrived_at <= o.delivered_at
        else:
            assert o.failed_at is not None and o.delivered_at is None and o.failure_reason
            assert o.arrived_at <= o.failed_at


def test_routes_and_stops_are_consistent(session: Session) -> None:
    routes = session.scalars(select(Route)).all()
    assert routes and {r.status for r in routes} == {"completed"}
    for r in routes:
        assert r.actual_start_at is not None and r.actual_end_at is not None
        assert r.planned_start_at < r.planned_end_at and r.actual_start_at < r.actual_end_at
        assert r.actual_distance_km and r.actual_distance_km > 0 and r.planned_distance_km > 0
        assert len(r.geometry) >= 3 and all(len(p) == 2 for p in r.geometry)
        stops = r.stops
        assert [s.kind for s in stops[:1] + stops[-1:]] == ["start", "end"]
        previous = None
        for s in stops:
            assert s.planned_arrival_at <= s.planned_departure_at
            assert s.actual_arrival_at is not None and s.actual_departure_at is not None
            assert s.actual_arrival_at <= s.actual_departure_at
            if previous is not None:
                assert previous <= s.actual_arrival_at
            previous = s.actual_departure_at


def test_one_request_response_and_two_events_per_route(session: Session) -> None:
    n_routes = session.scalar(select(func.count()).select_from(Route))
    assert session.scalar(select(func.count()).select_from(OptimizationRequest)) == n_routes
    assert session.scalar(select(func.count()).select_from(OptimizationResponse)) == n_routes
    kinds = session.scalars(select(OptimizationEvent.event_type)).all()
    assert kinds.count("created") == kinds.count("completed") == n_routes
    response = session.scalars(select(OptimizationResponse)).first()
    assert response is not None and response.route_sequence
    assert response.carbon_emissions == pytest.approx(response.fuel_consumption * 2.68, rel=1e-3)


def test_every_stop_has_arrival_and_outcome_events(session: Session) -> None:
    stops = session.scalar(
        select(func.count()).select_from(RouteStop).where(RouteStop.kind == "delivery")
    )
    events = session.scalars(select(RouteEvent.event_type)).all()
    assert events.count("arrived") == stops
    assert events.count("delivered") + events.count("failed") == stops
    notified = session.scalars(select(Notification.kind)).all()
    assert set(notified) <= {
        "traffic_jam",
        "breakdown",
        "road_closure",
        "weather_alert",
        "delivery_issue",
        "customer_unavailable",
    }


def test_baseline_kpis_are_plausible(seeded: Seeded) -> None:
    s = seeded.summary
    assert 0.80 <= s.on_time_rate <= 0.95
    assert 0.01 <= s.failed_rate <= 0.05
    assert 0.55 <= s.utilization <= 0.85


@pytest.mark.slow
def test_full_ninety_days(tmp_path: Path) -> None:
    full = seed_into(tmp_path / "full.db", seed=7, history_days=90)
    s = full.summary
    assert 28_000 <= s.history_orders <= 40_000
    assert 0.85 <= s.on_time_rate <= 0.92
    assert 0.02 <= s.failed_rate <= 0.04
    assert s.elapsed_s < 60
