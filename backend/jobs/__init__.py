"""Background jobs: the Celery app (Dash background callbacks and planning tasks)."""

from __future__ import annotations

from typing import Any

from backend.config import Settings


def make_celery(settings: Settings) -> Any:
    """The Celery app (Redis broker and result backend) for background callbacks."""
    from celery import Celery

    celery_app = Celery("fleet", broker=settings.redis_url, backend=settings.redis_url)
    celery_app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)

    @celery_app.task(name="fleet.plan_routes")
    def plan_routes_task(request_id: str) -> dict[str, Any]:
        # Only the id travels through Redis; the worker has its own settings and database.
        from backend.jobs.planning import execute_plan_job

        return execute_plan_job(str(request_id))

    return celery_app
