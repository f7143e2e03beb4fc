"""The one Celery app: Dash's background callbacks and the runner's jobs, on the Redis broker."""

from __future__ import annotations

from functools import cache
from typing import Any

from backend.config import Settings, load_settings

RUN_JOB_TASK = "fleet.run_job"
# The runner's jobs have a queue of their own: Dash's background callbacks (which may wait on a
# job) stay on Celery's default queue, so a waiting callback can never hold the job's worker.
JOBS_QUEUE = "jobs"


def make_celery(settings: Settings) -> Any:
    """The Celery app (Redis broker and result backend); build it once per process."""
    from celery import Celery

    celery_app = Celery("fleet", broker=settings.redis_url, backend=settings.redis_url)
    celery_app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)

    @celery_app.task(name=RUN_JOB_TASK)
    def run_job_task(kind: str, job_id: str) -> dict[str, Any]:
        # Only the kind and the id travel through Redis; the worker has its own settings.
        from backend.jobs.execute import execute_job, finish_job

        worker = _worker()
        result = execute_job(str(kind), str(job_id), settings=worker.settings)
        finish_job(
            str(kind),
            str(job_id),
            database=worker.database,
            publisher=worker.publisher,
            result=result,
        )
        return result

    return celery_app


class _Worker:
    """What a Celery worker process keeps between jobs: its settings, database and bus."""

    def __init__(self) -> None:
        from backend.db.engine import Database
        from backend.realtime.bus import make_bus
        from backend.realtime.publisher import BusPublisher

        self.settings = load_settings()
        self.database = Database(self.settings)
        self.publisher = BusPublisher(make_bus(self.settings))


@cache
def _worker() -> _Worker:
    return _Worker()
