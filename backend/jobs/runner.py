"""The one job runner: submit, status, progress, cancel and result for every job kind.

A fresh subprocess per job by default (`BACKGROUND_JOBS=diskcache`), a Celery task with
`BACKGROUND_JOBS=celery`; chosen here and nowhere else. A job carries its kind and id only.
When a subprocess job ends, this process announces it (its kind's `on_finished`) on its own
bus; a Celery worker announces its jobs itself over Redis. Nobody polls per job.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.config import Settings, settings_environment
from backend.db.engine import Database
from backend.jobs.control import JobControl
from backend.jobs.kinds import job_kind

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
FINAL_STATES = frozenset({"completed", "cancelled", "failed", "skipped"})


class JobRunner:
    """Starts jobs and answers for them, whatever process runs them."""

    def __init__(
        self,
        settings: Settings,
        control: JobControl,
        *,
        database: Database,
        publisher: Callable[[], Any],
        celery: Any | None = None,
    ) -> None:
        self.settings = settings
        self.control = control
        self.database = database
        # A callable: the realtime service is attached after the runner is built.
        self.publisher = publisher
        self.celery = celery

    def submit(self, kind: str, job_id: str) -> str:
        """Start job `job_id` of `kind` (its data is already in the database); returns the id."""
        job_kind(kind)  # an unknown kind fails here, in the caller, not in a worker
        self.control.set_state(job_id, kind=kind, status="queued")
        if self.celery is not None:
            from backend.jobs.celery_app import JOBS_QUEUE, RUN_JOB_TASK

            self.celery.send_task(RUN_JOB_TASK, args=[kind, job_id], queue=JOBS_QUEUE)
            return job_id
        # A fresh interpreter, not a fork: this process has threads and open connections.
        # Settings travel as the child's environment, never as its arguments.
        env = {**os.environ, **settings_environment(self.settings)}
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.jobs.execute", kind, job_id],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        threading.Thread(
            target=self._await_exit,
            args=(process, kind, job_id),
            name=f"job-{job_id[:8]}",
            daemon=True,
        ).start()
        log.info("%s job %s started as pid %s", kind, job_id, process.pid)
        return job_id

    def _await_exit(self, process: subprocess.Popen[bytes], kind: str, job_id: str) -> None:
        # Reaps the child (no zombies) and announces its end from this process's bus.
        from backend.jobs.execute import finish_job

        code = process.wait()
        state = self.control.get_state(job_id) or {}
        result = state.get("result")
        if not isinstance(result, dict):
            result = {"status": "failed", "error": f"the job process exited with code {code}"}
            self.control.set_state(job_id, kind=kind, status="failed", result=result)
        finish_job(kind, job_id, database=self.database, publisher=self.publisher(), result=result)

    def status(self, job_id: str) -> str | None:
        """queued, running, completed, cancelled or failed; None for an unknown id."""
        state = self.control.get_state(job_id)
        return str(state["status"]) if state else None

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """The job's latest progress report, or None."""
        return self.control.get_progress(job_id)

    def result(self, job_id: str) -> dict[str, Any] | None:
        """What a finished job returned, or None while it runs."""
        state = self.control.get_state(job_id)
        result = state.get("result") if state else None
        return result if isinstance(result, dict) else None

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop; it keeps what it found so far."""
        self.control.request_cancel(job_id)

    def wait(
        self,
        job_id: str,
        *,
        timeout_s: float,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        poll_s: float = 0.5,
    ) -> dict[str, Any] | None:
        """Block until the job ends (for a caller that must hold a result, like Dash's panel)."""
        deadline = time.monotonic() + timeout_s
        seen: float | None = None
        while time.monotonic() < deadline:
            if self.status(job_id) in FINAL_STATES:
                return self.result(job_id)
            report = self.progress(job_id)
            if on_progress is not None and report and report.get("updated_at") != seen:
                seen = report.get("updated_at")
                on_progress(report)
            time.sleep(poll_s)
        return None


def make_runner(
    settings: Settings,
    control: JobControl,
    *,
    database: Database,
    publisher: Callable[[], Any],
    celery: Any | None,
) -> JobRunner:
    """The runner for `settings`: Celery when BACKGROUND_JOBS=celery, else subprocesses."""
    return JobRunner(
        settings,
        control,
        database=database,
        publisher=publisher,
        celery=celery if settings.background_jobs == "celery" else None,
    )
