"""The seam between the Train button and the job runner: create the row, start the process.

Until the lead's runner (backend.jobs) takes training jobs, :func:`start_training` starts
``python -m backend.ml run-job <job_id>`` as a subprocess of its own: a fresh interpreter, so
TensorFlow never enters the web process and nothing is forked from a process that ran it.
Replacing this seam means replacing :func:`_spawn` with ``runner.submit("train", job_id)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from backend.config import Settings, settings_environment
from backend.ml import registry
from backend.ml.eta import ETA_CONFIG, ETA_MODEL

ROOT = Path(__file__).resolve().parents[2]


def start_training(
    session: Session, settings: Settings, *, started_by: int | None, now: object
) -> tuple[int, str]:
    """Create a `training` ETA version and start its job; returns (version id, job id).

    The caller commits `session` before the job reads the row: the job is started after the
    flush, and reads the row by job id once it has loaded (seconds later).
    """
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
    _spawn(settings, job_id)
    return row.id, job_id


def _spawn(settings: Settings, job_id: str) -> None:
    env = {**os.environ, **settings_environment(settings)}
    log_dir = registry.models_root(settings)
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"job-{job_id}.log", "ab") as out:
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "backend.ml", "run-job", job_id],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
