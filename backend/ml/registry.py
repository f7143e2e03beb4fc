"""The model registry: `model_version` rows and their artifact folders under DATA_DIR/models.

A version is created `training`, becomes `ready` when its artifacts are complete, `active`
when promoted (the previous active one is `retired`), or `failed` with a message. Artifacts
are written to a `.partial` folder first and renamed when complete, so a killed run never
leaves a half-written version for serving to find.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings
from backend.db.engine import Database
from backend.db.models import ModelStatus, ModelVersion

if TYPE_CHECKING:
    from backend.realtime.publisher import Publisher

# A `training` version this old has lost its job: training 90 days of history takes minutes
# (README, bench/ml.py), so an hour leaves a wide margin before the sweep calls it dead.
ABANDONED_TRAINING_AFTER = timedelta(hours=1)
JOB_ENDED_MESSAGE = "training stopped without finishing (the job process ended)"


def models_root(settings: Settings) -> Path:
    """DATA_DIR/models."""
    return settings.data_dir / "models"


def artifact_dir(settings: Settings, name: str, version: int) -> Path:
    """Where a finished version's artifacts live."""
    return models_root(settings) / name / str(version)


def partial_dir(settings: Settings, name: str, version: int) -> Path:
    """Where a version's artifacts are written while it trains."""
    return models_root(settings) / name / f"{version}.partial"


def create_version(
    session: Session,
    *,
    name: str,
    now: datetime,
    job_id: str | None = None,
    started_by: int | None = None,
    config: dict[str, Any] | None = None,
) -> ModelVersion:
    """A new `training` version numbered one past the highest of `name`."""
    highest = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.name == name)
    )
    row = ModelVersion(
        name=name,
        version=(highest or 0) + 1,
        status=ModelStatus.TRAINING.value,
        created_at=now,
        job_id=job_id,
        started_by=started_by,
        config=config or {},
        metrics={},
        message="",
    )
    session.add(row)
    session.flush()
    return row


def get_version(session: Session, *, version_id: int) -> ModelVersion | None:
    """A version by its id."""
    return session.get(ModelVersion, version_id)


def get_version_for_job(session: Session, *, job_id: str) -> ModelVersion | None:
    """The version a training job works on."""
    return session.scalar(select(ModelVersion).where(ModelVersion.job_id == job_id))


def active_version(session: Session, *, name: str) -> ModelVersion | None:
    """The active version of `name`, if any."""
    return session.scalar(
        select(ModelVersion).where(
            ModelVersion.name == name, ModelVersion.status == ModelStatus.ACTIVE.value
        )
    )


def list_versions(
    session: Session, *, name: str | None = None, limit: int = 50
) -> list[ModelVersion]:
    """Versions, newest first."""
    query = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    if name is not None:
        query = query.where(ModelVersion.name == name)
    return list(session.scalars(query.limit(limit)))


def mark_failed(session: Session, row: ModelVersion, *, message: str, now: datetime) -> None:
    """End a version `failed` with the reason; the active version is not touched."""
    row.status = ModelStatus.FAILED.value
    row.message = message[:2000]
    row.finished_at = now


def mark_ready(
    session: Session,
    row: ModelVersion,
    *,
    metrics: dict[str, Any],
    data_from: date | None,
    data_to: date | None,
    now: datetime,
    message: str = "",
) -> None:
    """A version whose artifacts are complete and evaluated."""
    row.status = ModelStatus.READY.value
    row.metrics = metrics
    row.data_from = data_from
    row.data_to = data_to
    row.finished_at = now
    row.message = message


def activate(session: Session, row: ModelVersion) -> None:
    """Make `row` the active version of its name, retiring the one active before."""
    session.execute(
        update(ModelVersion)
        .where(
            ModelVersion.name == row.name,
            ModelVersion.status == ModelStatus.ACTIVE.value,
            ModelVersion.id != row.id,
        )
        .values(status=ModelStatus.RETIRED.value)
    )
    row.status = ModelStatus.ACTIVE.value


def should_promote(candidate_mae: float, incumbent_mae: float | None) -> bool:
    """A candidate replaces the incumbent only with a strictly lower held-out error."""
    return incumbent_mae is None or candidate_mae < incumbent_mae


def fail_stale_trainings(
    session: Session, *, now: datetime, older_than: timedelta = ABANDONED_TRAINING_AFTER
) -> int:
    """Mark `training` versions started before `now - older_than` failed (their job died).

    A training process that is killed (SIGKILL, out of memory, machine restart) cannot record
    its own end, and when the process that watched it died too nobody else can; this sweep,
    run whenever a training is recorded (`backend.ml.launch.start_training`), does, so the
    registry never shows a training that will not finish. Only those rows change.
    """
    result = session.execute(
        update(ModelVersion)
        .where(
            ModelVersion.status == ModelStatus.TRAINING.value,
            ModelVersion.created_at < now - older_than,
        )
        .values(status=ModelStatus.FAILED.value, message=JOB_ENDED_MESSAGE, finished_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def fail_training_of_job(session: Session, *, job_id: str, message: str, now: datetime) -> bool:
    """End the version of job `job_id` `failed` if it is still `training`; True if it did.

    A version the job already ended (ready, active, failed) is left as it is, and no other
    version changes: the active one stays active.
    """
    result = session.execute(
        update(ModelVersion)
        .where(ModelVersion.job_id == job_id, ModelVersion.status == ModelStatus.TRAINING.value)
        .values(status=ModelStatus.FAILED.value, message=message[:2000], finished_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def training_finished(
    *,
    database: Database,
    publisher: Publisher,
    job_id: str,
    result: dict[str, Any],
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """The training kind's `on_finished`: a job that ended with its version still `training`.

    The runner calls it once the job's process has exited (or a Celery worker once the task
    returned). A body that ran to its end has already recorded ready/active/failed; a process
    that was killed has not, and its version ends `failed` here with the runner's reason.
    Nothing is published: the Models page follows the job's progress.
    """
    reason = str(result.get("message") or result.get("error") or "")
    message = JOB_ENDED_MESSAGE + (f": {reason}" if reason else "")
    with database.session() as session:
        fail_training_of_job(session, job_id=job_id, message=message, now=clock.now())


def finish_artifacts(settings: Settings, name: str, version: int) -> Path:
    """Move a completed `.partial` folder to its final place and return it."""
    source = partial_dir(settings, name, version)
    target = artifact_dir(settings, name, version)
    if target.exists():
        shutil.rmtree(target)
    source.rename(target)
    return target


def discard_partial(settings: Settings, name: str, version: int) -> None:
    """Remove what a failed run left behind."""
    shutil.rmtree(partial_dir(settings, name, version), ignore_errors=True)
