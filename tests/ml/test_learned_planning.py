"""Learned travel times in planning: a "learned" request plans on the active ETA version's
factors (its durations are haversine's scaled the way the factors say, the plan records it),
falls back to haversine with a warning when there are none, and REST and the socket take the
field and name it when its value is wrong. The ETA training job stores the factors and how
close planned leg times come to actual ones with and without them."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from backend.auth.permissions import make_principal
from backend.db.models import OptimizationEvent
from backend.ml import learned_matrix, registry
from backend.ml.learned_matrix import FACTORS_FILE, TravelFactors, haversine_seconds
from backend.planning import PlanningError, PlanRequest, parse_plan_request, plan_in_process
from backend.planning import run as planning_run
from backend.solver import HaversineProvider, Location
from factories import DAY, at_hour, seed_small_day

ADMIN = make_principal(user_id=1, username="admin", role="admin")
NOW = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
# DAY (Fri Nov 27) is a weekday and the vans start at 08:00: their plan uses the 08:00 factor.
FACTORS = TravelFactors(cells={}, hours={("weekday", 8): 1.5}, overall=3.0, leg_overhead_s=0.0)


def _activate_factors(db, factors: TravelFactors | None) -> int:
    """An active ETA version whose folder holds `factors` (None: a version without them)."""
    with db.session() as session:
        row = registry.create_version(session, name="eta", now=NOW)
        registry.activate(session, row)
        version = row.version
    folder = registry.artifact_dir(db.settings, "eta", version)
    folder.mkdir(parents=True, exist_ok=True)
    if factors is not None:
        (folder / FACTORS_FILE).write_text(json.dumps(factors.to_dict()))
    learned_matrix.clear_factor_cache()
    return version


def _plan(db, depot_id: int, monkeypatch, **fields):
    used = []
    real = planning_run.solve

    def spy(problem, **options):
        used.append(options.get("matrix"))
        return real(problem, **options)

    monkeypatch.setattr(planning_run, "solve", spy)
    request = PlanRequest(
        depot_id=depot_id, service_date=DAY, time_limit_s=1, engine="ortools", **fields
    )
    from backend.clock import FixedClock

    outcome = plan_in_process(
        db, None, request=request, principal=ADMIN, clock=FixedClock(at_hour(7))
    )
    return outcome, used


def test_a_learned_request_plans_on_the_learned_factors(database, monkeypatch) -> None:
    depot_id = seed_small_day(database)
    version = _activate_factors(database, FACTORS)
    outcome, used = _plan(database, depot_id, monkeypatch, travel_times="learned")
    assert outcome.status == "completed", outcome
    assert outcome.summary["travel_times"] == f"learned (ETA v{version})"
    assert outcome.summary["warnings"] == []
    (provider,) = used
    assert provider.depart_hour == 8.0 and provider.weekday == DAY.weekday()
    points = [Location(41.86, -87.70), Location(41.89, -87.66), Location(41.88, -87.69)]
    learned = provider.matrices(points)
    plain = HaversineProvider().matrices(points)
    # Distances unchanged; durations the 08:00 weekday factor (1.5) times haversine's.
    assert np.array_equal(learned.distance, plain.distance)
    base = haversine_seconds(
        np.array([points[0].lat]), np.array([points[0].lon]),
        np.array([points[1].lat]), np.array([points[1].lon]),
    )[0]  # fmt: skip
    assert learned.duration[0, 1] == math.ceil(base * 1.5 - 1e-9)
    assert learned.duration[0, 1] > plain.duration[0, 1]

    # The same day on haversine: no provider given, shorter planned driving.
    haversine, used_plain = _plan(database, depot_id, monkeypatch)
    assert used_plain == [None] and haversine.summary["travel_times"] == "haversine"
    assert outcome.summary["duration_min"] > haversine.summary["duration_min"]


def test_no_learned_model_falls_back_to_haversine_with_a_warning(database, monkeypatch) -> None:
    depot_id = seed_small_day(database)
    _activate_factors(database, None)  # an ETA version trained before factors were stored
    outcome, used = _plan(database, depot_id, monkeypatch, travel_times="learned")
    assert outcome.status == "completed" and used == [None]
    assert outcome.summary["travel_times"] == "haversine"
    assert outcome.summary["warnings"] == [planning_run.NO_LEARNED_TRAVEL_TIMES]
    with database.session() as session:
        events = session.scalars(
            select(OptimizationEvent).where(
                OptimizationEvent.request_id == outcome.request_id,
                OptimizationEvent.event_type == "warning",
            )
        ).all()
    assert [e.event_data["field"] for e in events] == ["travel_times"]


def test_a_bad_travel_times_value_names_the_field() -> None:
    assert (
        parse_plan_request(
            {"depot_id": 1, "service_date": "2026-11-27", "travel_times": "learned"}
        ).travel_times
        == "learned"
    )
    with pytest.raises(PlanningError) as caught:
        parse_plan_request({"depot_id": 1, "service_date": "2026-11-27", "travel_times": "osrm"})
    assert caught.value.field == "travel_times"


def test_rest_and_socket_take_the_field_and_refuse_a_bad_value(data_dir) -> None:
    from backend.auth.tokens import issue_token
    from backend.auth.users import create_user, principal_for
    from backend.realtime import get_realtime, handle_frame
    from backend.realtime.hub import Connection
    from backend.realtime.protocol import RealtimeConfig
    from backend.realtime.service import initial_rooms, initial_subscriptions
    from factories import build_app

    dash_app, runtime = build_app(data_dir)
    depot_id = seed_small_day(runtime.db)
    with runtime.db.session() as session:
        user = create_user(
            session, username="disp", password="pw-long-enough", role="dispatcher",
            depot_ids=[depot_id],
        )  # fmt: skip
        token = issue_token(session, user=user)
        principal = principal_for(user)
    client = dash_app.server.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"depot_id": depot_id, "service_date": DAY.isoformat(), "travel_times": "osrm"}
    bad = client.post("/api/v1/plans", headers=headers, json=body)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "travel_times"
    schema = client.get("/api/v1/openapi.json", headers=headers)
    if schema.status_code == 200:
        assert "travel_times" in json.dumps(schema.json)

    service = get_realtime(runtime)
    connection = Connection(principal=principal, config=RealtimeConfig(), service=service)
    service.hub.register(connection, initial_rooms(principal, None))
    connection.subscriptions |= initial_subscriptions(connection)
    message = {
        "type": "route_optimization_request",
        "depotId": depot_id,
        "serviceDate": DAY.isoformat(),
        "travelTimes": "fastest",
    }
    frames = handle_frame(connection, json.dumps(message))
    (reply,) = [json.loads(f) if isinstance(f, str) else f for f in frames]
    assert reply["type"] == "error" and reply["errorCode"] == "invalid_message"
    assert reply["field"] == "travelTimes"

    from backend.realtime.optimize import _plan_request

    accepted = _plan_request({**message, "travelTimes": "learned"})
    assert accepted.travel_times == "learned"
    runtime.db.engine.dispose()


def test_training_stores_factors_that_bring_planned_times_closer(tmp_path) -> None:
    """On legs 1.6× slower than haversine at 08:00, the learned factors cut the error."""
    rng = np.random.default_rng(2)
    n = 400
    lat1, lon1 = 41.85 + rng.uniform(0, 0.1, n), -87.70 + rng.uniform(0, 0.1, n)
    lat2, lon2 = lat1 + rng.uniform(-0.02, 0.02, n), lon1 + rng.uniform(-0.02, 0.02, n)
    base_min = haversine_seconds(lat1, lon1, lat2, lon2) / 60
    frame = pd.DataFrame(
        {
            "day": [f"2026-11-{1 + i % 10:02d}" for i in range(n)],
            "origin_lat": lat1, "origin_lon": lon1, "dest_lat": lat2, "dest_lon": lon2,
            "depart_hour": 8.0, "weekday": "2",
            "leg_min": base_min * 1.6 + rng.normal(0, 0.2, n), "plan_min": base_min,
        }
    )  # fmt: skip
    figures = learned_matrix.fit_and_save(frame, tmp_path, validation_days=["2026-11-10"])
    assert figures["legs"] == 40
    assert figures["learned_mae_min"] < 0.5 * figures["haversine_mae_min"]
    stored = learned_matrix.load_factors(tmp_path)
    assert stored.factor("weekday", 8, "none") == pytest.approx(1.6, abs=0.05)


def test_the_models_page_says_how_much_closer_planned_times_come() -> None:
    """The figures of the active version, in words; an honest note when there are none."""
    from components.models import create_travel_times_card

    card = str(
        create_travel_times_card(
            {"legs": 812.0, "haversine_mae_min": 2.0, "learned_mae_min": 1.5, "plan_mae_min": 1.9},
            4,
        )
    )
    assert "Learned travel times (ETA v4)" in card
    assert "25% closer to actual times with the learned matrix" in card
    assert "1.50 min vs 2.00 min with haversine, on 812 legs of held-out days" in card
    assert "Not measured yet" in str(create_travel_times_card(None, None))
