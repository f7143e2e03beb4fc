"""The training job on a seeded demo: trains both networks of the two-stage ETA model (each
served by NumPy as Keras computes it) and activates, refuses a worse model, ends a cancelled run
`failed` with the active version untouched; serving measures drift against the plan for a
version without a reference network, and falls back to the plan when an artifact is corrupted."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ml_data import assert_numpy_equals_keras
from sqlalchemy import select

from backend.clock import FixedClock
from backend.config import load_settings
from backend.db.engine import Database
from backend.db.migrate import upgrade
from backend.db.models import ModelVersion, Route, RouteStop
from backend.jobs.context import JobContext
from backend.jobs.control import JobControl
from backend.ml import registry, serving
from backend.ml.eta import REFERENCE_DIR, fast_config, frame_for
from backend.ml.eta_data import load_legs
from backend.ml.jobs import run_training_job
from backend.ml.numpy_model import NumpyModel
from backend.sim.demo import seed_demo

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


class MemoryStore:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self.data[key] = value

    def delete(self, *keys: str) -> None:
        for key in keys:
            self.data.pop(key, None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("mljobs")
    settings = load_settings(DATA_DIR=str(data_dir), DEMO=False)
    db = Database(settings)
    upgrade(db.engine)
    with db.session() as session:
        seed_demo(session, seed=7, today=TODAY, history_days=4)
    yield settings, db
    db.engine.dispose()


def _job(settings, db, config, *, cancel: bool = False) -> tuple[JobContext, int]:
    control = JobControl(MemoryStore())  # type: ignore[arg-type]
    with db.session() as session:
        row = registry.create_version(
            session, name="eta", now=NOW, job_id=f"job-{id(config)}-{cancel}", config=config
        )
        version_id, job_id = row.id, row.job_id
    if cancel:
        control.request_cancel(job_id)
    ctx = JobContext(
        job_id=job_id, settings=settings, database=db, clock=FixedClock(NOW), control=control
    )
    return ctx, version_id


def _row(db, version_id: int) -> ModelVersion:
    with db.session() as session:
        row = session.get(ModelVersion, version_id)
        assert row is not None
        session.expunge(row)
        return row


def test_train_promote_refuse_worse_and_cancel(demo) -> None:
    settings, db = demo
    good = fast_config(epochs=4, hidden=(16,)).to_dict()
    ctx, first = _job(settings, db, good)
    result = run_training_job(ctx)
    assert result["status"] == "active", result
    row = _row(db, first)
    assert row.status == "active" and row.data_from and row.data_to
    assert row.metrics["per_target"]["leg_min"]["mae"] > 0
    folder = registry.artifact_dir(settings, "eta", row.version)
    assert (folder / "weights.npz").exists()
    assert (folder / REFERENCE_DIR / "weights.npz").exists()
    # The learned travel times travel with the version, scored on its held-out days.
    assert (registry.artifact_dir(settings, "eta", row.version) / "travel_factors.json").exists()
    assert row.metrics["travel_times"]["learned_mae_min"] > 0
    assert ctx.control.get_progress(ctx.job_id)["stage"] == "done"

    # A far worse candidate (one tiny epoch at a crawl of a learning rate) is kept, not promoted.
    worse = replace(fast_config(), epochs=1, hidden=(1,), learning_rate=1e-6).to_dict()
    ctx2, second = _job(settings, db, worse)
    assert run_training_job(ctx2)["status"] == "ready"
    assert _row(db, second).status == "ready"
    assert _row(db, first).status == "active"

    ctx3, third = _job(settings, db, good, cancel=True)
    assert run_training_job(ctx3)["status"] == "failed"
    cancelled = _row(db, third)
    assert cancelled.status == "failed" and "cancelled" in cancelled.message
    assert _row(db, first).status == "active"
    assert not registry.partial_dir(settings, "eta", cancelled.version).exists()


def test_numpy_serving_equals_keras_for_both_networks(demo) -> None:
    settings, db = demo
    with db.session() as session:
        active = registry.active_version(session, name="eta")
        if active is None:
            pytest.skip("needs the trained version of the test above")
        legs = load_legs(session)
    folder = registry.artifact_dir(settings, "eta", active.version)
    reference = NumpyModel.load(folder / REFERENCE_DIR)
    sample = frame_for(legs, reference).sample(200, random_state=0)
    assert sample["city_ref_drift"].notna().any()
    assert_numpy_equals_keras(folder / REFERENCE_DIR, sample)
    assert_numpy_equals_keras(folder, sample)


def test_live_etas_then_corrupted_artifact_falls_back_to_the_plan(demo, caplog) -> None:
    settings, db = demo
    with db.session() as session:
        if registry.active_version(session, name="eta") is None:
            pytest.skip("needs the trained version of the test above")
        # Reopen yesterday's last route as if it were being driven now (half its stops open).
        route = session.scalars(select(Route).order_by(Route.id.desc())).first()
        route.status = "active"
        stops = session.scalars(
            select(RouteStop).where(RouteStop.route_id == route.id).order_by(RouteStop.sequence)
        ).all()
        half = len(stops) // 2
        for stop in stops[half:]:
            stop.actual_arrival_at = stop.actual_departure_at = None
        now = stops[half - 1].actual_departure_at + timedelta(minutes=1)
        day = route.service_date
    serving.clear_model_cache()
    with db.session() as session:
        etas = serving.live_etas(session, settings, day=day, now=now, route_ids=[route.id])
    assert len(etas) == len(stops) - half
    assert {e.source for e in etas} == {"model"}
    assert all(e.p10 <= e.p50 <= e.p90 for e in etas)
    assert [e.p50 for e in etas] == sorted(e.p50 for e in etas)

    with db.session() as session:
        active = registry.active_version(session, name="eta")
        folder: Path = registry.artifact_dir(settings, "eta", active.version)
    # A version from before the two-stage model has no reference network: it still serves,
    # with today's drift measured against the plan, and says so once.
    (folder / REFERENCE_DIR).rename(folder.parent / "reference-aside")
    serving.clear_model_cache()
    with caplog.at_level(logging.WARNING, logger="backend.ml.serving"):
        with db.session() as session:
            older = serving.live_etas(session, settings, day=day, now=now, route_ids=[route.id])
    assert {e.source for e in older} == {"model"} and len(older) == len(etas)
    assert "no reference network" in caplog.text
    caplog.clear()
    (folder / "weights.npz").write_bytes(b"not a numpy archive")
    serving.clear_model_cache()
    with caplog.at_level(logging.ERROR, logger="backend.ml.serving"):
        with db.session() as session:
            fallback = serving.live_etas(session, settings, day=day, now=now, route_ids=[route.id])
    assert {e.source for e in fallback} == {"plan"}
    assert all(e.p10 == e.p50 == e.p90 for e in fallback)
    assert "falling back to the plan" in caplog.text
    assert serving.artifact_health(settings, "eta", active.version) is not None
