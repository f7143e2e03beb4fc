"""A training whose job process is gone ends `failed` with a message, the active version kept.

Two ways a job dies: its process is killed while the runner watches it (the runner's
`on_finished` hook for the training kind fails the version), or the watcher died too (the
sweep that runs whenever a training is started fails versions stuck past the limit).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from backend.clock import FixedClock
from backend.db.models import ModelVersion
from backend.jobs.control import JobControl
from backend.jobs.kinds import job_kind
from backend.jobs.runner import JobRunner
from backend.ml import launch, registry

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


class MemoryStore:
    """The job control's key-value store, in memory."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self.data[key] = value

    def delete(self, *keys: str) -> None:
        for key in keys:
            self.data.pop(key, None)


class RecordingRunner:
    """Stands in for the runner in `start_training`: remembers what it was asked to start."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str]] = []

    def submit(self, kind: str, job_id: str) -> str:
        self.submitted.append((kind, job_id))
        return job_id


def _versions(db) -> tuple[int, int]:
    # v1 active, v2 training under job "job-2".
    with db.session() as session:
        active = registry.create_version(session, name="eta", now=NOW, job_id="job-1")
        registry.activate(session, active)
        training = registry.create_version(session, name="eta", now=NOW, job_id="job-2")
        return active.id, training.id


def _status(db, version_id: int) -> tuple[str, str]:
    with db.session() as session:
        row = session.get(ModelVersion, version_id)
        assert row is not None
        return row.status, row.message


def test_the_training_kind_fails_its_version_when_the_job_process_is_killed(database) -> None:
    active_id, training_id = _versions(database)
    assert job_kind("training").on_finished == "backend.ml.registry:training_finished"
    runner = JobRunner(
        database.settings,
        JobControl(MemoryStore()),  # type: ignore[arg-type]
        database=database,
        publisher=lambda: None,
    )
    # The job's process, killed mid-run (SIGKILL: it records nothing itself).
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    process.kill()
    runner._await_exit(process, "training", "job-2")

    status, message = _status(database, training_id)
    assert status == "failed"
    assert "job process ended" in message and "exited with code" in message
    assert _status(database, active_id)[0] == "active"
    assert runner.status("job-2") == "failed"


def test_the_hook_leaves_a_version_its_job_already_ended(database) -> None:
    active_id, training_id = _versions(database)
    with database.session() as session:
        row = session.get(ModelVersion, training_id)
        assert row is not None
        registry.mark_ready(session, row, metrics={}, data_from=None, data_to=None, now=NOW)
    registry.training_finished(
        database=database,
        publisher=None,
        job_id="job-2",
        result={"status": "ready"},
        clock=FixedClock(NOW),
    )
    assert _status(database, training_id)[0] == "ready"
    assert _status(database, active_id)[0] == "active"


def test_starting_a_training_fails_the_ones_stuck_past_the_limit(database) -> None:
    active_id, stuck_id = _versions(database)
    later = NOW + registry.ABANDONED_TRAINING_AFTER + timedelta(minutes=1)
    with database.session() as session:
        # A training started a minute ago is alive and is left alone.
        recent = registry.create_version(
            session, name="eta", now=later - timedelta(minutes=1), job_id="job-3"
        )
        recent_id = recent.id
    runner = RecordingRunner()
    with database.session() as session:
        new_id, job_id = launch.start_training(
            session,
            runner,  # type: ignore[arg-type]
            started_by=None,
            now=later,
        )
    status, message = _status(database, stuck_id)
    assert status == "failed" and message == registry.JOB_ENDED_MESSAGE
    assert _status(database, recent_id)[0] == "training"
    assert _status(database, new_id)[0] == "training"
    assert _status(database, active_id)[0] == "active"
    assert runner.submitted == [("training", job_id)]
