"""Planning a depot's day for real: problem from the database, solve, store, cache, accept."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.auth.permissions import make_principal
from backend.auth.users import create_user
from backend.cache import make_result_cache
from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.models import (
    Depot,
    OptimizationEvent,
    OptimizationRequest,
    OptimizationResponse,
    Order,
    Route,
    VehicleState,
)
from backend.planning import (
    ABANDONED_AFTER_S,
    PlanningError,
    PlanRequest,
    accept_plan,
    build_problem,
    parse_plan_request,
    plan_in_process,
    reap_abandoned,
    record_pending,
    request_fields,
    run_plan,
    stored_request,
)
from factories import DAY, add_other_depot, at_hour, seed_small_day

ADMIN = make_principal(user_id=1, username="admin", role="admin")
# Every test plans DAY as seen early that morning, whatever the date the suite runs on.
MORNING = at_hour(7)


def _plan(db: Database, cache, depot_id: int, *, clock=None, **kw) -> object:
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=1, **kw)
    return plan_in_process(
        db, cache, request=request, principal=ADMIN, clock=clock or FixedClock(MORNING)
    )


@pytest.fixture
def cache(data_dir):
    return make_result_cache(load_settings(DATA_DIR=str(data_dir), REDIS_URL=None))


def test_plans_every_order_inside_its_window_and_stores_the_plan(database, cache) -> None:
    depot_id = seed_small_day(database)
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    assert outcome.status == "completed" and not outcome.cache_hit
    assert outcome.summary["orders"] == 12 and outcome.summary["unassigned"] == 0
    with database.session() as session:
        response = session.get(OptimizationResponse, outcome.response_id)
        assert 0 < response.optimization_score <= 1 and response.distance > 0
        assert response.fuel_consumption == pytest.approx(response.distance * 0.11, rel=0.01)
        assert response.carbon_emissions == pytest.approx(
            response.fuel_consumption * 2.68, rel=0.01
        )
        routes = session.scalars(
            select(Route).where(Route.response_id == outcome.response_id)
        ).all()
        orders = {o.id: o for o in session.scalars(select(Order))}
        served = [s.order_id for r in routes for s in r.stops if s.kind == "delivery"]
        assert sorted(served) == sorted(orders)
        for route in routes:
            assert route.status == "proposed" and route.stops[0].kind == "start"
            assert route.stops[-1].kind == "end"
            for stop in route.stops:
                if stop.kind == "delivery":
                    order = orders[stop.order_id]
                    assert order.window_start <= stop.planned_departure_at
                    assert stop.planned_arrival_at <= order.window_end + timedelta(minutes=1)
        request = session.get(OptimizationRequest, outcome.request_id)
        assert request.status == "completed" and len(request.delivery_locations) == 12
        events = [
            e.event_type
            for e in session.scalars(
                select(OptimizationEvent)
                .where(OptimizationEvent.request_id == outcome.request_id)
                .order_by(OptimizationEvent.timestamp)
            )
        ]
        # One pinned clock stamps them all alike: check the set, not the order.
        assert {"requested", "created", "started", "completed"} <= set(events)


def test_same_request_hits_the_cache(database, cache) -> None:
    depot_id = seed_small_day(database)
    first = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    second = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    assert not first.cache_hit and second.cache_hit
    assert second.summary["distance_km"] == first.summary["distance_km"]
    assert second.summary["version"] == first.summary["version"] + 1
    third = _plan(database, cache, depot_id, engine="ortools", breaks=True)
    assert not third.cache_hit  # a different request, a different key


def test_cancel_keeps_the_best_plan_so_far(database, cache) -> None:
    depot_id = seed_small_day(database)
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=30, engine="ortools")
    outcome = plan_in_process(
        database,
        cache,
        request=request,
        principal=ADMIN,
        clock=FixedClock(MORNING),
        cancel=lambda: True,
    )
    assert outcome.status == "cancelled" and outcome.response_id is not None
    assert outcome.summary["solve_s"] < 10


def test_an_order_no_vehicle_can_serve_comes_back_with_its_reason(database, cache) -> None:
    depot_id = seed_small_day(database, skill_for_last="refrigerated")
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    assert outcome.status == "completed" and outcome.summary["unassigned"] == 1
    with database.session() as session:
        meta = session.get(OptimizationResponse, outcome.response_id).meta
    assert meta["unassigned_orders"][0]["reason"] == "skill"


def test_breaks_are_planned_for_long_shifts(database, cache) -> None:
    depot_id = seed_small_day(database)
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=True)
    with database.session() as session:
        routes = session.scalars(select(Route).where(Route.response_id == outcome.response_id))
        kinds = [[s.kind for s in r.stops] for r in routes]
    assert all(k.count("break") == 1 for k in kinds)


def test_accept_activates_routes_assigns_orders_and_supersedes(database, cache) -> None:
    depot_id = seed_small_day(database)
    first = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    second = _plan(database, cache, depot_id, engine="pyvrp", breaks=False)
    with database.session() as session:
        accepted = accept_plan(session, response_id=first.response_id, principal=ADMIN, now=MORNING)
    assert accepted.orders_planned == 12 and accepted.depot_id == depot_id
    with database.session() as session:
        accept_plan(session, response_id=second.response_id, principal=ADMIN, now=MORNING)
    with database.session() as session:
        statuses = {r.response_id: r.status for r in session.scalars(select(Route))}
        orders = session.scalars(select(Order)).all()
    assert {s for rid, s in statuses.items() if rid == first.response_id} == {"superseded"}
    assert {s for rid, s in statuses.items() if rid == second.response_id} == {"active"}
    assert all(o.status == "planned" and o.vehicle_id for o in orders)


def test_dispatcher_of_another_depot_cannot_accept(database, cache) -> None:
    depot_id = seed_small_day(database)
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    other = make_principal(user_id=2, username="d", role="dispatcher", depot_ids=[depot_id + 1])
    with pytest.raises(PlanningError, match="unknown plan"), database.session() as session:
        accept_plan(session, response_id=outcome.response_id, principal=other, now=MORNING)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"engine": "magic"}, "engine"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": 1000}, "time_limit_s"),
        ({"priority": 11}, "priority"),
        ({"depot_id": 2**31}, "depot_id"),
        ({"vehicle_ids": [1, "2"]}, "vehicle_ids"),
        ({"mode": "partial"}, "mode"),
        ({"breaks": "yes"}, "breaks"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_requests_name_the_field(fields: dict, field: str) -> None:
    with pytest.raises(PlanningError) as raised:
        parse_plan_request({"depot_id": 1, "service_date": DAY, **fields})
    assert raised.value.field == field


def test_one_request_model_for_every_entry_point() -> None:
    """The REST body, the socket and the panel all validate through PlanRequest."""
    from backend.api.plans import create_plan_view
    from backend.realtime.optimize import _plan_request

    assert create_plan_view.__annotations__["body"] in ("PlanRequest", PlanRequest)
    from_socket = _plan_request(
        {"type": "route_optimization_request", "depotId": 3, "serviceDate": "2026-11-27"}
    )
    from_panel = parse_plan_request({"depot_id": 3, "service_date": DAY})
    assert from_socket == from_panel == PlanRequest(depot_id=3, service_date=DAY)


def test_a_stored_request_reads_back_as_the_same_request() -> None:
    request = PlanRequest(
        depot_id=4,
        service_date=DAY,
        vehicle_ids=(7, 8),
        engine="pyvrp",
        time_limit_s=3,
        mode="remaining",
    )
    row = OptimizationRequest(
        request_id="r", depot_id=4, priority=request.priority, constraints=request_fields(request)
    )
    assert stored_request(row) == request


def test_unknown_depot_and_empty_fleet_are_refused(database, cache) -> None:
    with pytest.raises(PlanningError) as raised:
        _plan(database, cache, 999)
    assert raised.value.field == "depot_id"
    with database.session() as session:
        session.add(Depot(name="Empty", lat=41.8, lon=-87.6))
    with database.session() as session:
        empty_id = session.scalar(select(Depot.id).where(Depot.name == "Empty"))
    with pytest.raises(PlanningError) as raised:
        _plan(database, cache, empty_id)
    assert raised.value.field == "vehicle_ids"


def test_remaining_stops_are_replanned_from_the_live_day(database, cache) -> None:
    depot_id = seed_small_day(database)
    first = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    with database.session() as session:
        accept_plan(session, response_id=first.response_id, principal=ADMIN, now=MORNING)
    with database.session() as session:
        route = session.scalars(select(Route).where(Route.status == "active")).first()
        served = [s for s in route.stops if s.kind == "delivery"]
        delivered, cancelled = served[0].order_id, served[-1].order_id
        vehicle_id = route.vehicle_id
        session.get(Order, delivered).status = "delivered"
        session.get(Order, cancelled).status = "cancelled"
        session.add(
            VehicleState(
                vehicle_id=vehicle_id,
                seq=1,
                recorded_at=at_hour(10),
                lat=served[0].lat,
                lon=served[0].lon,
                status="en_route",
            )
        )
        session.add(
            Order(
                reference="O-new",
                depot_id=depot_id,
                service_date=DAY,
                customer_name="Late",
                lat=41.88,
                lon=-87.68,
                demand={"kg": 10},
                service_minutes=5,
                priority=9,
                time_windows=[{"start": at_hour(12).isoformat(), "end": at_hour(17).isoformat()}],
                window_start=at_hour(12),
                window_end=at_hour(17),
            )
        )
    with database.session() as session:
        new_id = session.scalar(select(Order.id).where(Order.reference == "O-new"))
    request = PlanRequest(
        depot_id=depot_id,
        service_date=DAY,
        time_limit_s=1,
        engine="ortools",
        breaks=False,
        mode="remaining",
    )
    with database.session() as session:
        live = build_problem(session, request=request, now=at_hour(10.5))
    assert live.live_state.new_orders[0].id == str(new_id)
    assert live.live_state.cancelled == (str(cancelled),)
    assert live.live_state.now == 10.5 * 3600
    # The job reads "now" from the clock it is given, never from the wall clock.
    outcome = plan_in_process(
        database, cache, request=request, principal=ADMIN, clock=FixedClock(at_hour(10.5))
    )
    assert outcome.status == "completed" and not outcome.cache_hit
    with database.session() as session:
        routes = session.scalars(select(Route).where(Route.response_id == outcome.response_id))
        sequences = {
            r.vehicle_id: [s.order_id for s in r.stops if s.kind == "delivery"] for r in routes
        }
    planned = [o for seq in sequences.values() for o in seq]
    assert new_id in planned and cancelled not in planned
    assert sequences[vehicle_id][0] == delivered  # the done stop stays first on its vehicle


def test_remaining_needs_an_active_plan(database, cache) -> None:
    depot_id = seed_small_day(database)
    with pytest.raises(PlanningError) as raised:
        _plan(database, cache, depot_id, mode="remaining")
    assert raised.value.field == "mode"


def test_a_job_that_went_silent_is_failed_by_the_reaper(database) -> None:
    depot_id = seed_small_day(database)
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=10)
    with database.session() as session:
        record_pending(session, request_id="job-1", request=request, principal=ADMIN, now=MORNING)
    with database.session() as session:
        assert reap_abandoned(session, now=MORNING + timedelta(seconds=60)) == []
        later = MORNING + timedelta(seconds=10 + ABANDONED_AFTER_S + 1)
        assert reap_abandoned(session, now=later) == ["job-1"]
    with database.session() as session:
        assert session.get(OptimizationRequest, "job-1").status == "failed"
        events = session.scalars(
            select(OptimizationEvent.event_type)
            .where(OptimizationEvent.request_id == "job-1")
            .order_by(OptimizationEvent.timestamp)
        ).all()
        assert events == ["requested", "failed"]


def _dispatcher(database, depot_ids: list[int], name: str = "ana"):
    from backend.auth.users import principal_for

    with database.session() as session:
        user = create_user(
            session,
            username=name,
            password="pw-long-enough",
            role="dispatcher",
            depot_ids=depot_ids,
        )
        return principal_for(user)


def test_a_vehicle_of_another_depot_is_refused_like_an_unknown_one(database, cache) -> None:
    """The probe: depot A's dispatcher named depot B's van in a plan of depot A."""
    depot_id = seed_small_day(database)
    _, south_van = add_other_depot(database)
    north_dispatcher = _dispatcher(database, [depot_id])
    request = PlanRequest(
        depot_id=depot_id, service_date=DAY, time_limit_s=1, vehicle_ids=(south_van,)
    )
    for vehicle_ids in ((south_van,), (2**31 - 1,)):
        with pytest.raises(PlanningError) as raised, database.session() as session:
            record_pending(
                session,
                request_id=uuid.uuid4().hex,
                request=request.model_copy(update={"vehicle_ids": vehicle_ids}),
                principal=north_dispatcher,
                now=MORNING,
            )
        assert raised.value.field == "vehicle_ids"
    with database.session() as session:
        assert session.scalar(select(OptimizationRequest.request_id)) is None  # nothing stored


def test_the_job_reads_the_stored_request_and_checks_the_requester_again(database, cache) -> None:
    """A job gets an id only; the requester losing the depot before it runs fails the job."""
    from backend.db.models import User

    depot_id = seed_small_day(database)
    south_id, _ = add_other_depot(database)
    dispatcher = _dispatcher(database, [depot_id])
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=1, engine="ortools")
    with database.session() as session:
        record_pending(
            session, request_id="job-2", request=request, principal=dispatcher, now=MORNING
        )
    with database.session() as session:
        user = session.get(User, dispatcher.user_id)
        user.depots = [session.get(Depot, south_id)]  # moved to the other depot meanwhile
    outcome = run_plan(database, cache, request_id="job-2", clock=FixedClock(MORNING))
    assert outcome.status == "failed" and "depot" in outcome.error
    # The id cannot be run twice, nor can an id nobody recorded.
    for request_id in ("job-2", "never-recorded"):
        with pytest.raises(PlanningError):
            run_plan(database, cache, request_id=request_id, clock=FixedClock(MORNING))


def test_the_requesters_job_runs_with_what_was_stored(database, cache) -> None:
    depot_id = seed_small_day(database)
    dispatcher = _dispatcher(database, [depot_id])
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=1, engine="ortools")
    with database.session() as session:
        record_pending(
            session, request_id="job-3", request=request, principal=dispatcher, now=MORNING
        )
    outcome = run_plan(database, cache, request_id="job-3", clock=FixedClock(MORNING))
    assert outcome.status == "completed"
    with database.session() as session:
        row = session.get(OptimizationRequest, "job-3")
        assert row.meta["requested_by"] == "ana" and row.constraints["engine"] == "ortools"
        events = session.scalars(
            select(OptimizationEvent.timestamp).where(OptimizationEvent.request_id == "job-3")
        ).all()
    assert set(events) == {MORNING}  # every event stamped by the given clock


def test_a_crashed_solve_ends_failed(database, cache, monkeypatch) -> None:
    """Not pending forever after a traceback: the request ends "failed" with the reason."""
    import backend.planning.run as planning

    def boom(*_args, **_kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(planning, "solve", boom)
    depot_id = seed_small_day(database)
    outcome = _plan(database, cache, depot_id, engine="ortools")
    assert outcome.status == "failed" and "RuntimeError" in outcome.error
    with database.session() as session:
        assert session.get(OptimizationRequest, outcome.request_id).status == "failed"


def test_the_next_job_start_fails_a_dead_one(database) -> None:
    """No GET needed: recording any new request fails the jobs whose process died."""
    depot_id = seed_small_day(database)
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=10)
    with database.session() as session:
        record_pending(session, request_id="dead", request=request, principal=ADMIN, now=MORNING)
    later = MORNING + timedelta(seconds=10 + ABANDONED_AFTER_S + 1)
    with database.session() as session:
        record_pending(session, request_id="next", request=request, principal=ADMIN, now=later)
    with database.session() as session:
        assert session.get(OptimizationRequest, "dead").status == "failed"
        assert session.get(OptimizationRequest, "next").status == "pending"


def test_accept_supersedes_routes_made_without_a_plan(database, cache) -> None:
    """A route with no response id (history, hand-made) does not stay active beside the plan."""
    depot_id = seed_small_day(database)
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    with database.session() as session:
        template = session.scalars(
            select(Route).where(Route.response_id == outcome.response_id)
        ).first()
        session.add(
            Route(
                vehicle_id=template.vehicle_id,
                depot_id=depot_id,
                service_date=DAY,
                status="active",
                planned_start_at=template.planned_start_at,
                planned_end_at=template.planned_end_at,
            )
        )
    with database.session() as session:
        accept_plan(session, response_id=outcome.response_id, principal=ADMIN, now=MORNING)
    with database.session() as session:
        loose = session.scalars(select(Route).where(Route.response_id.is_(None))).one()
        assert loose.status == "superseded"


def test_accept_refuses_a_plan_on_another_depots_vehicle(database, cache) -> None:
    """A plan stored before the vehicle check cannot move orders onto another depot's van."""
    depot_id = seed_small_day(database)
    _, south_van = add_other_depot(database)
    outcome = _plan(database, cache, depot_id, engine="ortools", breaks=False)
    with database.session() as session:
        route = session.scalars(
            select(Route).where(Route.response_id == outcome.response_id)
        ).first()
        route.vehicle_id = south_van
    with pytest.raises(PlanningError, match="another depot"), database.session() as session:
        accept_plan(session, response_id=outcome.response_id, principal=ADMIN, now=MORNING)
    with database.session() as session:
        assert {o.status for o in session.scalars(select(Order))} == {"new"}
