"""The analytics job kinds the runner executes: `analytics_refresh` and `retention`.

Each body gets a `JobContext` built in the job's own process (its own settings, database and
clock) and nothing else: the job id is all that travelled. The scheduler
(`backend.jobs.schedule`) submits both after each day closes; the Analytics page's "Refresh
figures" button submits a refresh on demand.
"""

from __future__ import annotations

from typing import Any

from backend.analytics.aggregates import refresh_aggregates
from backend.analytics.retention import RetentionPolicy, run_retention
from backend.jobs.context import JobContext


def run_refresh_job(ctx: JobContext) -> dict[str, Any]:
    """Refresh every daily aggregate (CONCURRENTLY on PostgreSQL); the result says how long."""
    ctx.report({"stage": "refreshing"})
    report = refresh_aggregates(ctx.database)
    result = {
        "status": "completed",
        "seconds": round(report.total_seconds, 3),
        "rows": report.rows,
    }
    ctx.report({"stage": "done", "seconds": result["seconds"]})
    return result


def run_retention_job(ctx: JobContext) -> dict[str, Any]:
    """Thin and purge positions as of the job's clock, with the worker's POSITION_* settings."""
    ctx.report({"stage": "retention"})
    report = run_retention(
        ctx.database,
        now=ctx.clock.now(),
        policy=RetentionPolicy.from_settings(ctx.settings),
        cancelled=ctx.cancelled,
    )
    result = {
        "status": "completed" if report.finished else "cancelled",
        "examined": report.examined,
        "thinned": report.thinned,
        "purged": report.purged,
        "batches": report.batches,
        "max_batch_ms": round(report.max_batch_ms, 1),
        "seconds": round(report.seconds, 3),
    }
    ctx.report({"stage": "done", **result})
    return result
