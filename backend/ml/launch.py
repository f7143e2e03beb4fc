"""Starting a training job from the Train button: create the version row, submit its id.

The job runs on the one job runner (backend/jobs, kind `training`): a fresh subprocess or a
Celery worker, so TensorFlow never enters the web process and nothing is forked from a
process that ran it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from backend.jobs.runner import JobRunner
from backend.ml import registry
from backend.ml.eta import ETA_CONFIG, ETA_MODEL

TRAINING_JOB = "training"


def start_training(
    session: Session, runner: JobRunner, *, started_by: int | None, now: object
) -> tuple[int, str]:
    """Create a `training` ETA version and start its job; returns (version id, job id).

    The row is committed before the job is submitted: the job reads it by its job id.
    Trainings whose job died unseen (its watcher died with it) are failed first, as
    `backend.planning.store.reap_abandoned` does for planning requests.
    """
    registry.fail_stale_trainings(session, now=now)  # type: ignore[arg-type]
    job_id = uuid.uuid4().hex
    row = registry.create_version(
        session,
        name=ETA_MODEL,
        now=now,  # type: ignore[arg-type]
        job_id=job_id,
        started_by=started_by,
        config=ETA_CONFIG.to_dict(),
    )
    session.commit()
    runner.submit(TRAINING_JOB, job_id)
    return row.id, job_id
