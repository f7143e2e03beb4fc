"""Jobs whose process died: each kind's reaper ends them `failed`, on the schedule's ticks.

A job's own runner notices a process that exits without finishing (`on_finished`), but not
one lost with its web worker, its host or a killed Celery worker. Each kind names a reaper
(`JobKind.reap`, `(session, *, now) -> count or ids`) that fails what has been silent too long;
the schedule thread of every worker runs them all at each tick, so nothing waits for the
next request of the same kind to be cleaned up.
"""

from __future__ import annotations

import logging
from datetime import datetime

from backend.db.engine import Database
from backend.jobs.kinds import JOB_KINDS, load

log = logging.getLogger(__name__)


def reap_dead_jobs(database: Database, *, now: datetime) -> dict[str, int]:
    """Run every kind's reaper once; returns how many jobs each reaper failed (non-zero only)."""
    counts: dict[str, int] = {}
    # Kinds sharing one reaper (training and forecast share the model registry's) run it once.
    for path in dict.fromkeys(k.reap for k in JOB_KINDS.values() if k.reap is not None):
        with database.session() as session:
            reaped = load(path)(session, now=now)
        count = reaped if isinstance(reaped, int) else len(reaped)
        if count:
            counts[path] = count
            log.warning("reaped %d dead job(s) with %s", count, path)
    return counts
