"""Dead jobs are failed by a reaper on the schedule's ticks, not by the next request or GET.

A planning request silent past its budget and a training version stuck `training` (their
processes lost with their worker) both end `failed`; the active model version stays active,
and the schedule thread runs the reapers at every tick with nothing else happening.
"""

from __future__ import annotations

import time
from datetime import timedelta

from backend.auth.permissions import make_principal
from backend.clock import FixedClock
from backend.db.models import ModelVersion, OptimizationRequest
from backend.jobs.kinds import JOB_KINDS
from backend.jobs.reaper import reap_dead_jobs
from backend.jobs.schedule import DailySchedule, ScheduleThread
from backend.ml import registry
from backend.planning import ABANDONED_AFTER_S, PlanRequest, record_pending
from factories import DAY, at_hour, seed_small_day

ADMIN = make_principal(user_id=1, username="admin", role="admin")
MORNING = at_hour(7)
LATER = MORNING + timedelta(seconds=10 + ABANDONED_AFTER_S + 1, hours=2)


def _dead_jobs(database) -> tuple[int, int]:
    depot_id = seed_small_day(database)
    request = PlanRequest(depot_id=depot_id, service_date=DAY, time_limit_s=10)
    with database.session() as session:
        record_pending(
            session, request_id="dead-plan", request=request, principal=ADMIN, now=MORNING
        )
        active = registry.create_version(session, name="eta", now=MORNING, job_id="job-1")
        registry.activate(session, active)
        stuck = registry.create_version(session, name="eta", now=MORNING, job_id="job-2")
        return active.id, stuck.id


def test_every_kind_that_can_die_has_a_reaper() -> None:
    assert {k.name for k in JOB_KINDS.values() if k.reap} >= {"planning", "training", "forecast"}


def test_the_reapers_fail_dead_jobs_and_keep_the_active_version(database) -> None:
    active_id, stuck_id = _dead_jobs(database)
    assert reap_dead_jobs(database, now=MORNING + timedelta(seconds=30)) == {}
    reaped = reap_dead_jobs(database, now=LATER)
    assert sum(reaped.values()) == 2, reaped
    with database.session() as session:
        assert session.get(OptimizationRequest, "dead-plan").status == "failed"
        assert session.get(ModelVersion, stuck_id).status == "failed"
        assert session.get(ModelVersion, active_id).status == "active"
    assert reap_dead_jobs(database, now=LATER) == {}  # nothing twice


class IdleRunner:
    """The schedule's runner: nothing is due in this test, so nothing is submitted."""

    def submit(self, kind: str, job_id: str) -> str:
        raise AssertionError(f"nothing should be submitted, got {kind} {job_id}")

    def status(self, job_id: str) -> str | None:
        return "completed"


def test_the_schedule_thread_reaps_at_every_tick(database) -> None:
    _, stuck_id = _dead_jobs(database)
    from backend.db.models import ScheduledRun

    schedule = DailySchedule(
        database=database, jobs=IdleRunner(), clock=FixedClock(LATER), refresh_hour=2
    )
    # The closed day's jobs already ran: this tick only reaps.
    with database.session() as session:
        from backend.jobs.schedule import closed_day

        day = closed_day(LATER, ["America/Chicago"], 2)
        for kind in ("analytics_refresh", "retention"):
            session.add(ScheduledRun(kind=kind, day=day, job_id=f"{kind}-x", claimed_at=LATER))
    thread = ScheduleThread(schedule, poll_s=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with database.session() as session:
                # Both reapers have run (they commit one after the other).
                if (
                    session.get(OptimizationRequest, "dead-plan").status == "failed"
                    and session.get(ModelVersion, stuck_id).status == "failed"
                ):
                    break
            time.sleep(0.05)
    finally:
        thread.stop()
    with database.session() as session:
        assert session.get(OptimizationRequest, "dead-plan").status == "failed"
        assert session.get(ModelVersion, stuck_id).status == "failed"
