"""Background jobs: the Celery app used when BACKGROUND_JOBS=celery."""

from __future__ import annotations

from typing import Any

from backend.config import Settings


def make_celery(settings: Settings) -> Any:
    """The Celery app (Redis broker and result backend) for background callbacks."""
    from celery import Celery

    celery_app = Celery("fleet", broker=settings.redis_url, backend=settings.redis_url)
    celery_app.conf.update(task_acks_late=True, worker_prefetch_multiplier=1)
    return celery_app
