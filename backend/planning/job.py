"""The planning job kind: the body the runner executes for a stored request id."""

from __future__ import annotations

from typing import Any

from backend.cache import make_result_cache
from backend.jobs.context import JobContext
from backend.planning.request import PlanningError
from backend.planning.run import run_plan


def run_planning_job(ctx: JobContext) -> dict[str, Any]:
    """Run the pending request `ctx.job_id`; the result is its outcome (status, plan summary)."""
    try:
        outcome = run_plan(
            ctx.database,
            make_result_cache(ctx.settings),
            request_id=ctx.job_id,
            clock=ctx.clock,
            on_progress=ctx.report,
            cancel=ctx.cancelled,
        )
    except PlanningError as exc:
        # Not pending (already run, reaped or unknown): nothing was run, nothing changed.
        return {"status": "skipped", "error": exc.message}
    ctx.report({"status": outcome.status, **outcome.summary})
    return {
        "status": outcome.status,
        "response_id": outcome.response_id,
        "error": outcome.error,
        **outcome.summary,
    }
