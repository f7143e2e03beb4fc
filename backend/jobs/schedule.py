"""The daily schedule: once a day has closed, refresh the analytics aggregates, then run retention.

A day has closed when, in the time zone of every active depot, the local clock has passed
ANALYTICS_REFRESH_HOUR (02:00) of the next day, so late drivers and the night's last events are
in. Every web worker runs a `DailySchedule` in a thread (`start_schedule`, from `create_app`;
ANALYTICS_SCHEDULE=false turns it off). Each tick reads the injected clock; the first worker to
insert the `scheduled_run` row of (kind, day) submits that job through the runner, the others'
inserts fail on the unique key, so each job runs exactly once per closed day however many
workers or hosts share the database. Retention is submitted only once that day's refresh has
ended, so the two never compete for the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.clock import Clock
from backend.db.engine import Database
from backend.db.models import Depot, ScheduledRun
from backend.jobs.reaper import reap_dead_jobs
from backend.jobs.runner import FINAL_STATES, JobRunner

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)

REFRESH_KIND = "analytics_refresh"
RETENTION_KIND = "retention"
# A claimed refresh whose state the store no longer knows (it expired, or the worker that
# claimed it died before submitting) no longer holds retention back after this long.
STALE_CLAIM = timedelta(minutes=15)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def closed_day(now: datetime, timezones: Iterable[str], refresh_hour: int) -> date:
    """The latest day that has closed in every zone: local time is past `refresh_hour` after it.

    With no zone at all (no depot yet), UTC's.
    """
    if now.tzinfo is None:
        raise ValueError("now: must be an aware datetime")
    days = []
    for name in set(timezones) or {"UTC"}:
        local = now.astimezone(_zone(name))
        days.append(local.date() - timedelta(days=1 if local.hour >= refresh_hour else 2))
    return min(days)


def scheduled_job_id(kind: str, day: date) -> str:
    """The id of the scheduled job of `kind` for closed day `day` (one per kind and day)."""
    return f"{kind}-{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Submitted:
    """A job this tick submitted."""

    kind: str
    day: date
    job_id: str


class DailySchedule:
    """At each `tick`: is the closed day's refresh, or then its retention, due? Start it."""

    def __init__(
        self, *, database: Database, jobs: JobRunner, clock: Clock, refresh_hour: int
    ) -> None:
        self.database = database
        self.jobs = jobs
        self.clock = clock
        self.refresh_hour = refresh_hour

    def tick(self) -> list[Submitted]:
        """Submit what is due now (at most one job a tick); returns what was submitted."""
        now = self.clock.now()
        with self.database.session() as session:
            zones = session.scalars(select(Depot.timezone).where(Depot.active.is_(True))).all()
            day = closed_day(now, zones, self.refresh_hour)
            rows = session.execute(
                select(ScheduledRun.kind, ScheduledRun.job_id, ScheduledRun.claimed_at).where(
                    ScheduledRun.day == day
                )
            ).all()
        claims = {kind: (job_id, claimed_at) for kind, job_id, claimed_at in rows}
        if REFRESH_KIND not in claims:
            return self._claim_and_submit(REFRESH_KIND, day, now)
        if RETENTION_KIND not in claims and self._ended(claims[REFRESH_KIND], now):
            return self._claim_and_submit(RETENTION_KIND, day, now)
        return []

    def _ended(self, claim: tuple[str, datetime], now: datetime) -> bool:
        job_id, claimed_at = claim
        status = self.jobs.status(job_id)
        if status is None:
            return now - claimed_at >= STALE_CLAIM
        return status in FINAL_STATES

    def _claim_and_submit(self, kind: str, day: date, now: datetime) -> list[Submitted]:
        job_id = scheduled_job_id(kind, day)
        try:
            with self.database.session() as session:
                session.add(ScheduledRun(kind=kind, day=day, job_id=job_id, claimed_at=now))
        except IntegrityError:
            return []  # another worker claimed it first: it submits
        self.jobs.submit(kind, job_id)
        log.info("scheduled %s job %s for %s", kind, job_id, day)
        return [Submitted(kind, day, job_id)]


class ScheduleThread:
    """A daemon thread that, every `poll_s` seconds until `stop()`, ticks a `DailySchedule`
    and reaps the jobs whose process died (backend.jobs.reaper)."""

    def __init__(self, schedule: DailySchedule, poll_s: float) -> None:
        self.schedule = schedule
        self.poll_s = poll_s
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="daily-schedule", daemon=True)

    def start(self) -> ScheduleThread:
        """Start ticking (the first tick after one period: the schema may still be migrating)."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current tick."""
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.poll_s):
            try:
                self.schedule.tick()
            except Exception:  # noqa: BLE001 - a failed tick is retried at the next one
                log.exception("the daily schedule's tick failed")
            try:
                reap_dead_jobs(self.schedule.database, now=self.schedule.clock.now())
            except Exception:  # noqa: BLE001 - retried at the next tick
                log.exception("reaping dead jobs failed")


def start_schedule(runtime: Runtime) -> ScheduleThread:
    """Start this process's schedule thread on the runtime's database, runner and clock."""
    settings = runtime.settings
    schedule = DailySchedule(
        database=runtime.db,
        jobs=runtime.jobs,
        clock=runtime.clock,
        refresh_hour=settings.analytics_refresh_hour,
    )
    return ScheduleThread(schedule, settings.analytics_schedule_poll_s).start()
