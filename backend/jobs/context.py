"""What a job's body receives: its id, its own settings, database and clock, and its controls.

A job runs in a process of its own (a fresh subprocess or a Celery worker). The runner builds
this context there from the worker's own environment; the job reads everything else it needs
from the database by its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.clock import Clock
from backend.config import Settings
from backend.db.engine import Database
from backend.jobs.control import JobControl


@dataclass
class JobContext:
    """One running job: report progress with `report`, stop early when `cancelled()`."""

    job_id: str
    settings: Settings
    database: Database
    clock: Clock
    control: JobControl

    def __post_init__(self) -> None:
        self._cancelled = self.control.cancel_checker(self.job_id)

    def report(self, progress: dict[str, Any]) -> None:
        """Record the job's latest progress (the UI polls it; keep it small)."""
        self.control.set_progress(self.job_id, progress)

    def cancelled(self) -> bool:
        """Whether a stop was asked for (cheap: polls the store at most twice a second)."""
        return bool(self._cancelled())
