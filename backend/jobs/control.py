"""Job control shared by web workers and job processes: state, progress and stop requests.

Stored in the result cache's key-value store (diskcache or Redis), so a stop request made by
any web worker reaches the job wherever it runs.
"""

from __future__ import annotations

import json
import time
from typing import Any

from backend.cache import KeyValueStore

JOB_TTL_S = 6 * 3600
# A running job checks for a stop request at most this often (each check is a store read).
CANCEL_POLL_S = 0.5


class JobControl:
    """Progress and cancellation flags per job id."""

    def __init__(self, store: KeyValueStore) -> None:
        self.store = store

    def request_cancel(self, job_id: str) -> None:
        """Ask the job to stop; it keeps the best result found so far."""
        self.store.set(f"job:cancel:{job_id}", "1", JOB_TTL_S)

    def is_cancelled(self, job_id: str) -> bool:
        """Whether a stop was requested."""
        return self.store.get(f"job:cancel:{job_id}") == "1"

    def set_progress(self, job_id: str, report: dict[str, Any]) -> None:
        """Record the latest progress report of a job."""
        payload = json.dumps({**report, "updated_at": time.time()}, default=str)
        self.store.set(f"job:progress:{job_id}", payload, JOB_TTL_S)

    def get_progress(self, job_id: str) -> dict[str, Any] | None:
        """The latest progress report, or None."""
        raw = self.store.get(f"job:progress:{job_id}")
        return json.loads(raw) if raw else None

    def set_state(
        self, job_id: str, *, kind: str, status: str, result: dict[str, Any] | None = None
    ) -> None:
        """Record where a job stands (queued, running, completed, cancelled, failed)."""
        payload = {"kind": kind, "status": status, "result": result, "updated_at": time.time()}
        self.store.set(f"job:state:{job_id}", json.dumps(payload, default=str), JOB_TTL_S)

    def get_state(self, job_id: str) -> dict[str, Any] | None:
        """The job's recorded state, or None for an id the runner never saw."""
        raw = self.store.get(f"job:state:{job_id}")
        return json.loads(raw) if raw else None

    def cancel_checker(self, job_id: str) -> Any:
        """A cheap callable for the solver: polls the stop flag at most every CANCEL_POLL_S."""
        state = {"next": 0.0, "cancelled": False}

        def cancelled() -> bool:
            now = time.monotonic()
            if not state["cancelled"] and now >= state["next"]:
                state["next"] = now + CANCEL_POLL_S
                state["cancelled"] = self.is_cancelled(job_id)
            return bool(state["cancelled"])

        return cancelled
