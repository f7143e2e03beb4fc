"""A stored, unaccepted plan is not the driver's route; once the dispatcher accepts it, it is.

Optimize stores its routes as `proposed` next to the day's accepted ones; the driver page and
the dispatch map keep showing the accepted routes until `accept_plan` makes the proposal
active (and supersedes what it replaces).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sample_data import Sample
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.permissions import make_principal
from backend.db.models import (
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    RouteStatus,
    RouteStop,
)
from backend.db.queries.dispatch import list_route_lines
from backend.db.queries.driver import get_driver_day
from backend.planning import accept_plan

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
ADMIN = make_principal(user_id=1, username="admin", role="admin")


def _propose(session: Session, sample: Sample, vehicle: str, response_id: str) -> int:
    """Store a plan with one proposed route for `vehicle` through two of its orders."""
    vehicle_id = sample.vehicle_ids[vehicle]
    orders = session.scalars(
        select(Order)
        .where(Order.vehicle_id == vehicle_id, Order.service_date == sample.today)
        .order_by(Order.id)
        .limit(2)
    ).all()
    depot_id = orders[0].depot_id
    session.add(
        OptimizationRequest(
            request_id=f"req-{response_id}",
            depot_id=depot_id,
            status="completed",
            meta={"service_date": sample.today.isoformat()},
        )
    )
    session.add(
        OptimizationResponse(
            response_id=response_id,
            request_id=f"req-{response_id}",
            optimization_score=0.9,
            distance=12.0,
            duration=120.0,
        )
    )
    session.flush()
    start = orders[0].window_start
    route = Route(
        response_id=response_id,
        vehicle_id=vehicle_id,
        depot_id=depot_id,
        service_date=sample.today,
        status=RouteStatus.PROPOSED,
        planned_start_at=start,
        planned_end_at=start + timedelta(hours=3),
        planned_distance_km=12.0,
        planned_duration_min=180.0,
        geometry=[[o.lat, o.lon] for o in orders],
        # Newer than the accepted route (stamped when the sample was built), as a fresh plan is.
        created_at=datetime.now(UTC) + timedelta(hours=1),
    )
    for seq, order in enumerate(orders, start=1):
        at = start + timedelta(minutes=30 * seq)
        route.stops.append(
            RouteStop(
                order_id=order.id,
                sequence=seq,
                lat=order.lat,
                lon=order.lon,
                planned_arrival_at=at,
                planned_departure_at=at,
            )
        )
    session.add(route)
    session.flush()
    return route.id


def test_a_proposal_is_not_the_drivers_route_until_accepted(database, sample: Sample) -> None:
    van1 = sample.vehicle_ids["VAN-1"]
    with database.session() as session:
        proposed_id = _propose(session, sample, "VAN-1", "resp-proposal-van1")

    with database.session() as session:
        before = get_driver_day(session, vehicle_id=van1, service_date=sample.today, now=NOW)
        lines = list_route_lines(session, depot_ids=None, service_date=sample.today)
    assert before is not None and before.route_id == sample.route_id
    assert before.route_status == RouteStatus.ACTIVE and len(before.stops) == 5
    assert proposed_id not in {line.id for line in lines}

    with database.session() as session:
        accept_plan(session, response_id="resp-proposal-van1", principal=ADMIN, now=NOW)

    with database.session() as session:
        after = get_driver_day(session, vehicle_id=van1, service_date=sample.today, now=NOW)
        lines = list_route_lines(session, depot_ids=None, service_date=sample.today)
    assert after is not None and after.route_id == proposed_id
    assert after.route_status == RouteStatus.ACTIVE and len(after.stops) == 2
    assert proposed_id in {line.id for line in lines}


def test_a_vehicle_with_only_a_proposal_has_no_route_yet(database, sample: Sample) -> None:
    van3 = sample.vehicle_ids["VAN-3"]
    with database.session() as session:
        _propose(session, sample, "VAN-3", "resp-proposal-van3")
    with database.session() as session:
        day = get_driver_day(session, vehicle_id=van3, service_date=sample.today, now=NOW)
    assert day is not None and not day.has_route
    # The driver still sees the orders assigned to the vehicle, by time window.
    assert day.stops and all(s.order_id for s in day.stops)
