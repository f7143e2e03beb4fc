"""Running one job in this process: the entry point of job subprocesses and Celery workers.

The process builds its own settings (from its environment), database and clock; the job
gets its id and reads everything else from the database. What it returns is its result.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from backend.clock import SYSTEM_CLOCK, Clock
from backend.config import Settings, load_settings
from backend.db.engine import Database
from backend.jobs.context import JobContext
from backend.jobs.control import JobControl
from backend.jobs.kinds import job_kind, load

if TYPE_CHECKING:
    from backend.realtime.publisher import Publisher

log = logging.getLogger(__name__)


def execute_job(
    kind: str, job_id: str, *, settings: Settings | None = None, clock: Clock = SYSTEM_CLOCK
) -> dict[str, Any]:
    """Run job `job_id` of `kind` here; record its state and result; never raise."""
    # OR-Tools must be loaded before anything could import TensorFlow.
    import ortools.constraint_solver.pywrapcp  # noqa: F401

    from backend.cache import make_store

    settings = settings or load_settings()
    control = JobControl(make_store(settings))
    database = Database(settings)
    control.set_state(job_id, kind=kind, status="running")
    try:
        result = dict(
            load(job_kind(kind).body)(JobContext(job_id, settings, database, clock, control))
        )
    except Exception as exc:  # noqa: BLE001 - a crashed job is recorded as failed, never lost
        log.exception("%s job %s crashed", kind, job_id)
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    finally:
        database.engine.dispose()
    control.set_state(
        job_id, kind=kind, status=str(result.get("status", "completed")), result=result
    )
    return result


def finish_job(
    kind: str, job_id: str, *, database: Database, publisher: Publisher, result: dict[str, Any]
) -> None:
    """Announce a finished job (its kind's `on_finished`), after its last commit."""
    hook = job_kind(kind).on_finished
    if hook is None:
        return
    try:
        load(hook)(database=database, publisher=publisher, job_id=job_id, result=result)
    except Exception:  # noqa: BLE001 - an announcement must not fail the job
        log.exception("announcing the end of %s job %s failed", kind, job_id)


if __name__ == "__main__":
    execute_job(sys.argv[1], sys.argv[2])
